/* dense_backward.c — the lookup's dense gradient: W6 (forward gather + a fresh zeroed gradient +
 * backward, the same work PyTorch does) and W6-bwd (zeroing + the backward kernel alone). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct {
    const bench_workload *w;
    bench_table_inputs in;
    float *out, *grad_out; /* n x dim */
    float *grad_weight;    /* rows x dim */
} dense_data;

static void *dense_setup(const bench_workload *w) {
    dense_data *d = calloc(1, sizeof *d);
    int64_t R = w->rows, D = w->dim, N = w->n;
    d->w = w;
    bench_table_inputs_init(&d->in, w, 0);
    d->out = ALLOC(float, N * D);
    d->grad_out = ALLOC(float, N * D);
    fill_uniform(d->grad_out, N * D, BENCH_SEED + 300, -1.0f, 1.0f);
    d->grad_weight = bench_table_alloc(R * D, sizeof(float)); /* a table-sized gradient: the tables' policy */
    return d;
}

static void dense_release(void *data) {
    dense_data *d = data;
    bench_table_inputs_free(&d->in);
    bench_table_free(d->grad_weight);
    free(d->out), free(d->grad_out), free(d);
}

static void backward_call(void *data, int b) {
    dense_data *d = data;
    const bench_workload *w = d->w;
    memset(d->grad_weight, 0, sizeof(float) * (size_t)(w->rows * w->dim));
    bench_ok(pos_embedding_backward_dense_i64(w->rows, w->dim, w->n, d->in.idx[b], d->grad_out, EK_NO_PADDING, 0,
                                              d->grad_weight),
             "ek_lookup_backward_dense");
}

static void forward_backward_call(void *data, int b) {
    dense_data *d = data;
    const bench_workload *w = d->w;
    bench_ok(pos_embedding_forward_i64(w->rows, w->dim, w->n, d->in.table, d->in.idx[b], d->out), "ek_lookup_forward");
    backward_call(d, b);
}

static void dense_check(void *data, const int *threads, int nthreads) {
    dense_data *d = data;
    const bench_workload *w = d->w;
    int64_t R = w->rows, D = w->dim, N = w->n;
    int with_forward = w->call == forward_backward_call;
    float *ref_out = ALLOC(float, N * D), *ref_grad = ALLOC(float, R * D);
    ekref_embedding_forward(R, D, N, d->in.table, d->in.idx[0], ref_out);
    memset(ref_grad, 0, sizeof(float) * (size_t)(R * D));
    ekref_embedding_backward_dense(R, D, N, d->in.idx[0], d->grad_out, -1, 0, ref_grad);
    for (int k = 0; k < nthreads; k++) {
        ek_set_num_threads(threads[k]);
        memset(d->out, 0xff, sizeof(float) * (size_t)(N * D));
        w->call(d, 0);
        if (with_forward) check_close(w->id, "forward output", threads[k], d->out, ref_out, N * D, 0, 0);
        check_close(w->id, "dense gradient", threads[k], d->grad_weight, ref_grad, R * D, 1e-5, 1e-5);
    }
    free(ref_out), free(ref_grad);
}

#define W6_SIZES .rows = 100000, .dim = 64, .n = 65536, .unit = UNIT_ELEMS, .work = work_index_elems
#define DENSE_FUNCS .setup = dense_setup, .check = dense_check, .release = dense_release

static const bench_workload dense_backward_workloads[] = {
    {.order = 60, .id = "W6", .name = "dense backward", .params = "table 100k x 64, 65,536 indices",
     .peer_call = "F.embedding(...).backward(g)", W6_SIZES, .target_ratio = 3.0, .target_text = ">= 3x",
     .peer_id = "W6", .note = "same work on both sides: forward gather + fresh (zeroed) dense gradient + backward",
     .call = forward_backward_call, DENSE_FUNCS},
    {.order = 61, .id = "W6-bwd", .name = "dense backward kernel only", .params = "as W6",
     .peer_call = "aten.embedding_dense_backward", W6_SIZES, .target_text = "(info)", .peer_id = "W6-bwd",
     .note = "EK: memset(grad) + pos_embedding_backward_dense; PyTorch: the backward op alone (allocates zeros)",
     .call = backward_call, DENSE_FUNCS},
};
BENCH_FAMILY(dense_backward_workloads);
