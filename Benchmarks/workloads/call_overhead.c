/* call_overhead.c — W0: the fixed cost of a call, 1,000 tiny bag sums (one bag of 8 indices, D = 16)
 * per timed call, through the C ABI (descriptor decoding, validation, dispatch, the kernel), against
 * the same sums by the reference kernel (no checks, no dispatch: W0-ref) and by F.embedding_bag.
 * What W0 costs beyond W0-ref is all that a prepared "plan" object could save per call (issue 15
 * asks for one only if it measurably would); the index checks stay in either case. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { CALLS = 1000, TINY_N = 8, TINY_D = 16 };

typedef struct {
    const bench_workload *w;
    float *table, *out;
    int64_t *idx; /* CALLS x TINY_N, a fresh bag per call */
    int64_t csr[2];
} tiny_data;

static void *tiny_setup(const bench_workload *w) {
    tiny_data *d = calloc(1, sizeof *d);
    d->w = w;
    d->table = ALLOC(float, w->rows * TINY_D);
    fill_uniform(d->table, w->rows * TINY_D, BENCH_SEED, -1.0f, 1.0f);
    d->idx = ALLOC(int64_t, CALLS * TINY_N);
    fill_indices(d->idx, CALLS * TINY_N, BENCH_SEED + 1, w->rows);
    d->out = ALLOC(float, CALLS * TINY_D);
    d->csr[0] = 0, d->csr[1] = TINY_N;
    return d;
}

static void tiny_release(void *data) {
    tiny_data *d = data;
    free(d->table), free(d->out), free(d->idx), free(d);
}

static void abi_calls(void *data, int b) {
    (void)b;
    tiny_data *d = data;
    ek_table t = {.struct_size = sizeof t, .rows = d->w->rows, .dim = TINY_D, .data = d->table};
    for (int c = 0; c < CALLS; c++) {
        ek_bag_input in = {.struct_size = sizeof in, .indices = d->idx + c * TINY_N, .num_indices = TINY_N,
                           .offsets = d->csr, .num_bags = 1};
        bench_ok(ek_bag_forward(&t, &in, NULL, d->out + c * TINY_D, NULL, NULL), "ek_bag_forward");
    }
}

static void ref_calls(void *data, int b) {
    (void)b;
    tiny_data *d = data;
    for (int c = 0; c < CALLS; c++)
        ekref_bag_forward(d->w->rows, TINY_D, TINY_N, 1, d->table, d->idx + c * TINY_N, d->csr, NULL, EK_BAG_SUM, -1,
                          d->out + c * TINY_D, NULL, NULL);
}

static void tiny_check(void *data, const int *threads, int nthreads) {
    tiny_data *d = data;
    float *ref = ALLOC(float, CALLS * TINY_D);
    ref_calls(d, 0);
    memcpy(ref, d->out, sizeof(float) * CALLS * TINY_D);
    for (int k = 0; k < nthreads; k++) {
        ek_set_num_threads(threads[k]);
        memset(d->out, 0xff, sizeof(float) * CALLS * TINY_D);
        d->w->call(d, 0);
        check_close(d->w->id, "1,000 tiny bags", threads[k], d->out, ref, CALLS * TINY_D, 1e-6, 1e-6);
    }
    free(ref);
}

static double tiny_work(const bench_workload *w) { (void)w; return (double)CALLS * TINY_N * TINY_D; }

#define TINY .rows = 100000, .dim = TINY_D, .n = CALLS * TINY_N, .bags = CALLS, .mode = EK_BAG_SUM, \
             .unit = UNIT_ELEMS, .target_text = "(info)", .setup = tiny_setup, .check = tiny_check, \
             .release = tiny_release, .work = tiny_work

static const bench_workload call_overhead_workloads[] = {
    {.order = 5, .id = "W0", .name = "call overhead: 1,000 tiny bags", .params = "1,000 calls, 1 bag x 8, D 16",
     .peer_call = "1,000 x F.embedding_bag(sum)", .peer_id = "W0", .call = abi_calls, TINY,
     .note = "ms per 1,000 ek_bag_forward calls; minus W0-ref, what a plan object could save at most"},
    {.order = 6, .id = "W0-ref", .name = "the same, reference kernel", .params = "as W0, no checks or dispatch",
     .peer_call = "(the W0 PyTorch figure)", .peer_id = "W0", .call = ref_calls, TINY,
     .note = "ekref_bag_forward: the scalar reference loop alone"},
};
BENCH_FAMILY(call_overhead_workloads);
