/* lookup.c — plain lookups: W1 (gather), W1-out (W1 against PyTorch into a preallocated out) and W7
 * (max_norm lookup: renorm in place, then gather). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct {
    const bench_workload *w;
    bench_table_inputs in;
    float *out; /* n x dim, reused */
} lookup_data;

static void maxnorm_call(void *data, int b);

static void *lookup_setup(const bench_workload *w) {
    lookup_data *d = calloc(1, sizeof *d);
    d->w = w;
    bench_table_inputs_init(&d->in, w, w->call == maxnorm_call);
    d->out = ALLOC(float, w->n * w->dim);
    return d;
}

static void lookup_release(void *data) {
    lookup_data *d = data;
    bench_table_inputs_free(&d->in);
    free(d->out), free(d);
}

static void gather_call(void *data, int b) {
    lookup_data *d = data;
    const bench_workload *w = d->w;
    bench_ok(pos_embedding_forward_i64(w->rows, w->dim, w->n, d->in.table, d->in.idx[b], d->out), "ek_lookup_forward");
}

static void gather_check(void *data, const int *threads, int nthreads) {
    lookup_data *d = data;
    const bench_workload *w = d->w;
    int64_t cells = w->n * w->dim;
    float *ref = ALLOC(float, cells);
    ekref_embedding_forward(w->rows, w->dim, w->n, d->in.table, d->in.idx[0], ref);
    for (int k = 0; k < nthreads; k++) {
        ek_set_num_threads(threads[k]);
        memset(d->out, 0xff, sizeof(float) * (size_t)cells); /* NaN: an unwritten cell cannot pass */
        gather_call(d, 0);
        check_close(w->id, "output", threads[k], d->out, ref, cells, 1e-5, 1e-5);
    }
    free(ref);
}

/* W7: the table is renormed in place and reused across calls, as training would. */
static void maxnorm_call(void *data, int b) {
    lookup_data *d = data;
    const bench_workload *w = d->w;
    bench_ok(pos_embedding_renorm_i64(w->rows, w->dim, w->n, d->in.idx[b], 1.0, 2.0, d->in.table), "ek_renorm");
    bench_ok(pos_embedding_forward_i64(w->rows, w->dim, w->n, d->in.table, d->in.idx[b], d->out), "ek_lookup_forward");
}

/* Each check starts from a fresh copy of the pristine table; timing too. */
static void maxnorm_check(void *data, const int *threads, int nthreads) {
    lookup_data *d = data;
    const bench_workload *w = d->w;
    int64_t R = w->rows, D = w->dim, N = w->n;
    float *ref_table = ALLOC(float, R * D), *ref_out = ALLOC(float, N * D);
    memcpy(ref_table, d->in.table0, sizeof(float) * (size_t)(R * D));
    ekref_renorm(R, D, N, d->in.idx[0], 1.0, 2.0, ref_table);
    ekref_embedding_forward(R, D, N, ref_table, d->in.idx[0], ref_out);
    for (int k = 0; k < nthreads; k++) {
        ek_set_num_threads(threads[k]);
        bench_restore_table(&d->in, w);
        memset(d->out, 0xff, sizeof(float) * (size_t)(N * D));
        maxnorm_call(d, 0);
        check_close(w->id, "renormed lookup output", threads[k], d->out, ref_out, N * D, 1e-6, 1e-5);
        check_close(w->id, "renormed table", threads[k], d->in.table, ref_table, R * D, 1e-6, 1e-5);
    }
    bench_restore_table(&d->in, w);
    free(ref_table), free(ref_out);
}

static const bench_workload lookup_workloads[] = {
    {.order = 10, .id = "W1", .name = "embedding gather", .params = "table 1M x 128, 65,536 indices",
     .peer_call = "F.embedding", .rows = 1000000, .dim = 128, .n = 65536, .unit = UNIT_BYTES, .share = SHARE_COPY,
     .target_ratio = 3.0, .target_text = ">= 3x", .peer_id = "W1",
     .setup = lookup_setup, .call = gather_call, .check = gather_check, .release = lookup_release,
     .work = work_rows_read},
    {.order = 11, .id = "W1-out", .name = "gather, PyTorch into a preallocated out", .params = "as W1",
     .peer_call = "torch.index_select(out=)", .rows = 1000000, .dim = 128, .n = 65536, .unit = UNIT_BYTES,
     .share = SHARE_COPY, .target_text = "(info)", .peer_id = "W1-out", .reuse_ek = "W1",
     .note = "PyTorch without its per-call 32 MiB output allocation: the kernel-to-kernel ratio",
     .work = work_rows_read},
    {.order = 70, .id = "W7", .name = "max_norm lookup", .params = "W1 with max_norm 1.0 (in-place renorm)",
     .peer_call = "F.embedding(max_norm=1.0)", .rows = 1000000, .dim = 128, .n = 65536, .unit = UNIT_BYTES,
     .share = SHARE_NONE, .target_ratio = 20.0, .target_text = ">= 20x", .peer_id = "W7",
     .note = "ek_renorm + gather; the table is renormed in place and reused across calls",
     .setup = lookup_setup, .call = maxnorm_call, .check = maxnorm_check, .release = lookup_release,
     .work = work_rows_read},
};
BENCH_FAMILY(lookup_workloads);
