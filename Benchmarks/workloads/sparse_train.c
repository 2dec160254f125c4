/* sparse_train.c — a sparse training step of an EmbeddingBag (sum, W2 sizes), three ways:
 *   W5      bag forward + the sparse backward fused with the SGD step (the N x D gradient is never written)
 *   W5-coo  bag forward + sparse backward to a COO gradient + scatter-add(-lr) (the gradient as PyTorch's)
 *   W5-sgd  bag forward + sparse backward + coalesce + the optimizer API's SGD update
 * All three step the same table, bit for bit; each check starts from the pristine table. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define LR 0.01f

typedef struct {
    const bench_workload *w;
    bench_table_inputs in;
    float *out, *grad_out;      /* bags x dim */
    int64_t *sp_rows, *co_rows; /* COO gradient (n entries) and its coalesced form */
    float *sp_vals, *co_vals;
    int64_t nnz;
} sparse_data;

enum { FUSED_SGD, COO_SCATTER, COALESCE_SGD };
static void fused_sgd_call(void *data, int b);
static void coo_scatter_call(void *data, int b);
static int variant(const bench_workload *w) {
    return w->call == fused_sgd_call ? FUSED_SGD : w->call == coo_scatter_call ? COO_SCATTER : COALESCE_SGD;
}

static void *sparse_setup(const bench_workload *w) {
    sparse_data *d = calloc(1, sizeof *d);
    int64_t N = w->n, D = w->dim, B = w->bags;
    d->w = w;
    bench_table_inputs_init(&d->in, w, 1);
    d->out = ALLOC(float, B * D);
    d->grad_out = ALLOC(float, B * D);
    fill_uniform(d->grad_out, B * D, BENCH_SEED + 300, -1.0f, 1.0f);
    if (variant(w) != FUSED_SGD) {
        d->sp_rows = ALLOC(int64_t, N);
        d->sp_vals = ALLOC(float, N * D);
    }
    if (variant(w) == COALESCE_SGD) {
        d->co_rows = ALLOC(int64_t, N);
        d->co_vals = ALLOC(float, N * D);
    }
    return d;
}

static void sparse_release(void *data) {
    sparse_data *d = data;
    bench_table_inputs_free(&d->in);
    free(d->out), free(d->grad_out), free(d->sp_rows), free(d->sp_vals), free(d->co_rows), free(d->co_vals);
    free(d);
}

static void forward(sparse_data *d, int b) {
    const bench_workload *w = d->w;
    bench_ok(pos_embedding_bag_forward_i64(w->rows, w->dim, w->n, w->bags, 0, d->in.table, d->in.idx[b],
                                           d->in.offsets, 0, NULL, EK_BAG_SUM, EK_NO_PADDING, d->out, NULL, NULL),
             "ek_bag_forward");
}

static void backward_to_coo(sparse_data *d, int b) {
    const bench_workload *w = d->w;
    bench_ok(pos_embedding_bag_backward_sparse_i64(w->rows, w->dim, w->n, w->bags, 0, d->in.idx[b], d->in.offsets, 0,
                                                   NULL, EK_BAG_SUM, EK_NO_PADDING, 0, NULL, d->grad_out, d->sp_rows,
                                                   d->sp_vals, &d->nnz),
             "ek_bag_backward_sparse");
}

static void fused_sgd_call(void *data, int b) {
    sparse_data *d = data;
    const bench_workload *w = d->w;
    forward(d, b);
    bench_ok(pos_embedding_bag_backward_sgd_i64(w->rows, w->dim, w->n, w->bags, 0, d->in.idx[b], d->in.offsets, 0, NULL,
                                                EK_BAG_SUM, EK_NO_PADDING, 0, NULL, d->grad_out, LR, d->in.table),
             "ek_bag_backward_update (SGD)");
}

static void coo_scatter_call(void *data, int b) {
    sparse_data *d = data;
    const bench_workload *w = d->w;
    forward(d, b);
    backward_to_coo(d, b);
    bench_ok(ek_coo_scatter_add_f32(w->rows, w->dim, d->nnz, d->sp_rows, d->sp_vals, -LR, d->in.table),
             "ek_coo_scatter_add_f32");
}

static void coalesce_sgd_call(void *data, int b) {
    sparse_data *d = data;
    const bench_workload *w = d->w;
    forward(d, b);
    backward_to_coo(d, b);
    int64_t cnnz = 0;
    bench_ok(ek_coo_coalesce_f32(w->rows, w->dim, d->nnz, d->sp_rows, d->sp_vals, d->co_rows, d->co_vals, &cnnz),
             "ek_coo_coalesce_f32");
    bench_ok(ek_sgd_update_f32(w->rows, w->dim, cnnz, d->co_rows, d->co_vals, LR, 0, 0, 0, 0, d->in.table, NULL),
             "ek_sgd_update_f32");
}

static void sparse_check(void *data, const int *threads, int nthreads) {
    sparse_data *d = data;
    const bench_workload *w = d->w;
    int64_t R = w->rows, D = w->dim, N = w->n, B = w->bags;
    const char *id = w->id;
    float *ref_table = ALLOC(float, R * D), *ref_out = ALLOC(float, B * D), *ref_vals = ALLOC(float, N * D);
    int64_t *ref_rows = ALLOC(int64_t, N);
    memcpy(ref_table, d->in.table0, sizeof(float) * (size_t)(R * D));
    ekref_bag_forward(R, D, N, B, ref_table, d->in.idx[0], d->in.csr, NULL, EK_BAG_SUM, -1, ref_out, NULL, NULL);
    int64_t nnz = ekref_bag_backward_sparse(R, D, N, B, d->in.idx[0], d->in.csr, NULL, EK_BAG_SUM, -1, 0, NULL,
                                            d->grad_out, ref_rows, ref_vals);
    if (variant(w) != COALESCE_SGD) {
        ekref_coo_scatter_add(R, D, nnz, ref_rows, ref_vals, -LR, ref_table);
    } else {
        int64_t *crow = ALLOC(int64_t, N);
        float *cval = ALLOC(float, N * D);
        int64_t cnnz = ekref_coo_coalesce(R, D, nnz, ref_rows, ref_vals, crow, cval);
        ekref_sgd(D, cnnz, crow, cval, LR, 0, 0, 0, 0, ref_table, NULL);
        free(crow), free(cval);
    }
    for (int k = 0; k < nthreads; k++) {
        ek_set_num_threads(threads[k]);
        bench_restore_table(&d->in, w);
        w->call(d, 0);
        check_close(id, "bag forward output", threads[k], d->out, ref_out, B * D, 1e-5, 1e-5);
        if (variant(w) == FUSED_SGD) { /* fused: no gradient to check, only the table it stepped */
            check_close(id, "updated table", threads[k], d->in.table, ref_table, R * D, 1e-6, 1e-5);
            continue;
        }
        if (d->nnz != nnz)
            bench_die(2, "%s: sparse gradient has %lld entries at %d thread(s), reference %lld", id,
                      (long long)d->nnz, threads[k], (long long)nnz);
        check_equal_i64(id, "sparse gradient rows", threads[k], d->sp_rows, ref_rows, nnz);
        check_close(id, "sparse gradient values", threads[k], d->sp_vals, ref_vals, nnz * D, 1e-6, 1e-5);
        check_close(id, "updated table", threads[k], d->in.table, ref_table, R * D, 1e-6, 1e-5);
    }
    bench_restore_table(&d->in, w); /* time from the pristine table */
    free(ref_table), free(ref_out), free(ref_vals), free(ref_rows);
}

#define W5_SIZES .rows = 1000000, .dim = 64, .n = 4096 * 40, .bags = 4096, .mode = EK_BAG_SUM, .unit = UNIT_ELEMS
#define SPARSE_FUNCS                                                                                          \
    .setup = sparse_setup, .check = sparse_check, .release = sparse_release,            \
    .work = work_index_elems

static const bench_workload sparse_train_workloads[] = {
    {.order = 50, .id = "W5", .name = "sparse train step", .params = "W2 fwd + sparse bwd + SGD step on the table",
     .peer_call = "EmbeddingBag(sparse=True)+optim.SGD", W5_SIZES, .target_ratio = 5.0, .target_text = ">= 5x",
     .peer_id = "W5",
     .note = "C ABI: bag forward + pos_embedding_bag_backward_sgd_i64 (the sparse backward fused with the SGD step)",
     .call = fused_sgd_call, SPARSE_FUNCS},
    {.order = 54, .id = "W5-thp", .name = "sparse train step, PyTorch with huge pages", .params = "as W5",
     .peer_call = "W5's PyTorch step, THP_MEM_ALLOC_ENABLE=1", W5_SIZES, .target_text = "(info)",
     .peer_id = "W5+thp", .reuse_ek = "W5", .work = work_index_elems,
     .note = THP_NOTE},
    {.order = 52, .id = "W5-coo", .name = "sparse train step, COO gradient", .params = "as W5",
     .peer_call = "(the W5 PyTorch figure)", W5_SIZES, .target_text = "(info)", .peer_id = "W5",
     .note = "the gradient materialised as PyTorch's is: pos_embedding_bag_backward_sparse_i64 + ek_coo_scatter_add_f32",
     .call = coo_scatter_call, SPARSE_FUNCS},
    {.order = 53, .id = "W5-sgd", .name = "sparse train step, coalesce + sgd_update", .params = "as W5",
     .peer_call = "(the W5 PyTorch figure)", W5_SIZES, .target_text = "(info)", .peer_id = "W5",
     .note = "the optimizer-API path: ek_coo_coalesce_f32 + ek_sgd_update_f32 in place of the scatter-add",
     .call = coalesce_sgd_call, SPARSE_FUNCS},
};
BENCH_FAMILY(sparse_train_workloads);
