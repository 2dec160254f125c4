/* half_train.c — W12: W5's sparse training step with a bf16 table: bag forward (bf16 rows widened
 * to float32) + the sparse backward fused with the SGD step, float32 arithmetic, stochastic rounding
 * on the write (ek_optimizer.rounding; the coin is keyed by seed, step, row and column).
 * Check: the forward and the stepped table against the fp32 reference on the widened table (the
 * table within one bf16 step), and the stepped table bit for bit the same at every thread count. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define LR 0.01f
#define SEED 12

typedef struct {
    const bench_workload *w;
    bench_table_inputs in; /* the f32 table (its values, rounded, are the bf16 table's) and the inputs */
    uint16_t *table, *table0;
    float *out, *grad_out;
    int64_t step;
} half_data;

static void *half_setup(const bench_workload *w) {
    half_data *d = calloc(1, sizeof *d);
    int64_t R = w->rows, D = w->dim, B = w->bags;
    d->w = w;
    bench_table_inputs_init(&d->in, w, 0);
    d->table = bench_table_alloc(R * D, sizeof(uint16_t)); /* the tables' policy: ek_alloc */
    d->table0 = ALLOC(uint16_t, R * D);
    bench_ok(ek_half_from_f32(EK_DTYPE_BF16, R * D, d->in.table, d->table0), "ek_half_from_f32");
    memcpy(d->table, d->table0, sizeof(uint16_t) * (size_t)(R * D));
    d->out = ALLOC(float, B * D);
    d->grad_out = ALLOC(float, B * D);
    fill_uniform(d->grad_out, B * D, BENCH_SEED + 300, -1.0f, 1.0f);
    return d;
}

static void half_release(void *data) {
    half_data *d = data;
    bench_table_inputs_free(&d->in);
    bench_table_free(d->table);
    free(d->table0), free(d->out), free(d->grad_out);
    free(d);
}

static void half_step_call(void *data, int b) {
    half_data *d = data;
    const bench_workload *w = d->w;
    ek_table t = {.struct_size = sizeof t, .rows = w->rows, .dim = w->dim, .dtype = EK_DTYPE_BF16, .data = d->table};
    ek_bag_input in = {.struct_size = sizeof in, .indices = d->in.idx[b], .num_indices = w->n,
                       .offsets = d->in.offsets, .num_bags = w->bags};
    ek_optimizer o = {.struct_size = sizeof o, .kind = EK_OPT_SGD, .lr = LR, .rounding = EK_ROUND_STOCHASTIC,
                      .seed = SEED, .step = ++d->step};
    bench_ok(ek_bag_forward(&t, &in, NULL, d->out, NULL, NULL), "ek_bag_forward (bf16)");
    bench_ok(ek_bag_backward_update(&t, &in, NULL, NULL, d->grad_out, &o), "ek_bag_backward_update (bf16, SGD)");
}

static void half_check(void *data, const int *threads, int nthreads) {
    half_data *d = data;
    const bench_workload *w = d->w;
    int64_t R = w->rows, D = w->dim, N = w->n, B = w->bags;
    float *wide = ALLOC(float, R * D), *ref_out = ALLOC(float, B * D), *ref_vals = ALLOC(float, N * D),
          *cval = ALLOC(float, N * D), *got = ALLOC(float, R * D);
    int64_t *ref_rows = ALLOC(int64_t, N), *crow = ALLOC(int64_t, N);
    uint16_t *first = ALLOC(uint16_t, R * D);
    bench_ok(ek_half_to_f32(EK_DTYPE_BF16, R * D, d->table0, wide), "ek_half_to_f32");
    ekref_bag_forward(R, D, N, B, wide, d->in.idx[0], d->in.csr, NULL, EK_BAG_SUM, -1, ref_out, NULL, NULL);
    int64_t nnz = ekref_bag_backward_sparse(R, D, N, B, d->in.idx[0], d->in.csr, NULL, EK_BAG_SUM, -1, 0, NULL,
                                            d->grad_out, ref_rows, ref_vals);
    int64_t cnnz = ekref_coo_coalesce(R, D, nnz, ref_rows, ref_vals, crow, cval);
    ekref_sgd(D, cnnz, crow, cval, LR, 0, 0, 0, 0, wide, NULL);
    for (int k = 0; k < nthreads; k++) {
        ek_set_num_threads(threads[k]);
        memcpy(d->table, d->table0, sizeof(uint16_t) * (size_t)(R * D));
        d->step = 0;
        w->call(d, 0);
        check_close(w->id, "bag forward output", threads[k], d->out, ref_out, B * D, 1e-5, 1e-5);
        bench_ok(ek_half_to_f32(EK_DTYPE_BF16, R * D, d->table, got), "ek_half_to_f32");
        check_close(w->id, "updated table (within one bf16 step)", threads[k], got, wide, R * D, 1e-30, 1.0 / 128);
        if (k == 0) memcpy(first, d->table, sizeof(uint16_t) * (size_t)(R * D));
        else if (memcmp(first, d->table, sizeof(uint16_t) * (size_t)(R * D)) != 0)
            bench_die(2, "%s: the stepped bf16 table differs between %d and %d thread(s)", w->id, threads[0], threads[k]);
    }
    memcpy(d->table, d->table0, sizeof(uint16_t) * (size_t)(R * D)); /* time from the pristine table */
    d->step = 0;
    free(wide), free(ref_out), free(ref_vals), free(cval), free(got), free(ref_rows), free(crow), free(first);
}

static const bench_workload half_train_workloads[] = {
    {.order = 55, .id = "W12", .name = "bf16 sparse train step", .params = "W5 with a bf16 table, stochastic rounding",
     .peer_call = "EmbeddingBag(sparse=True, bf16)+optim.SGD", .rows = 1000000, .dim = 64, .n = 4096 * 40,
     .bags = 4096, .mode = EK_BAG_SUM, .unit = UNIT_ELEMS, .target_ratio = 5.0, .target_text = ">= 5x",
     .peer_id = "W12",
     .note = "C ABI: ek_bag_forward + ek_bag_backward_update on an EK_DTYPE_BF16 table (EK_ROUND_STOCHASTIC); "
             "PyTorch's table is bf16 if its sparse bf16 step runs, else fp32 (peers.py says which)",
     .setup = half_setup, .call = half_step_call, .check = half_check, .release = half_release,
     .work = work_index_elems},
    {.order = 57, .id = "W12-thp", .name = "bf16 sparse train step, PyTorch with huge pages", .params = "as W12",
     .peer_call = "W12's PyTorch step, THP_MEM_ALLOC_ENABLE=1", .rows = 1000000, .dim = 64, .n = 4096 * 40,
     .bags = 4096, .mode = EK_BAG_SUM, .unit = UNIT_ELEMS, .target_text = "(info)", .peer_id = "W12+thp",
     .reuse_ek = "W12", .work = work_index_elems, .note = THP_NOTE},
    {.order = 56, .id = "W12-vs-fp32", .name = "bf16 sparse train step vs fp32 PyTorch", .params = "as W12",
     .peer_call = "(the W5 PyTorch figure, fp32 table)", .rows = 1000000, .dim = 64, .n = 4096 * 40, .bags = 4096,
     .mode = EK_BAG_SUM, .unit = UNIT_ELEMS, .target_text = "(info)", .peer_id = "W5", .reuse_ek = "W12",
     .note = "W12's figure against PyTorch's fp32 W5: the comparison WORKLOADS.md asks for when PyTorch's bf16 "
             "sparse step does not run",
     .work = work_index_elems},
};
BENCH_FAMILY(half_train_workloads);
