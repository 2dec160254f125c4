/* test_call_regions.c — tiny calls enter no OpenMP region, and taking the serial path changes nothing.
 *
 * A parallel region costs its entry even when its `if` clause is false (issue 16, W0: most of a tiny
 * call), so every kernel decides before the region (EKI_PARALLEL_FOR, internal.h). This file counts
 * the region entries of the library: it defines the OpenMP runtime's entry points the compilers emit
 * for a region (gcc: GOMP_parallel; clang: __kmpc_push_num_threads, which every region of ours passes
 * through as they all name their team size, and __kmpc_serialized_parallel, an `if` that is false),
 * counts, and forwards to the runtime's own (dlsym RTLD_NEXT). The library is linked statically into
 * this program, so its calls resolve here.
 *
 * Then: a large call (parallel at 2 threads) gives the bits of the same work done by tiny calls
 * (serial), at 1 and 2 threads, for each family whose parallel site changed; and calls made from the
 * caller's own parallel region (where omp_get_thread_num() is the caller's, not ours) are right. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ek_test.h"
#include "half_ref.h"

int omp_get_thread_num(void); /* the OpenMP runtime's (the test's own region below) */

/* ---- the region counter ---- */

static atomic_long regions;

typedef void (*gomp_parallel_fn)(void (*)(void *), void *, unsigned, unsigned);
typedef void (*kmpc_push_fn)(void *, int32_t, int32_t);
typedef void (*kmpc_serialized_fn)(void *, int32_t);

void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags) {
    gomp_parallel_fn real = (gomp_parallel_fn)dlsym(RTLD_NEXT, "GOMP_parallel");
    if (!real) abort();
    atomic_fetch_add(&regions, 1);
    real(fn, data, num_threads, flags);
}
void __kmpc_push_num_threads(void *loc, int32_t gtid, int32_t num_threads);
void __kmpc_push_num_threads(void *loc, int32_t gtid, int32_t num_threads) {
    kmpc_push_fn real = (kmpc_push_fn)dlsym(RTLD_NEXT, "__kmpc_push_num_threads");
    if (!real) abort();
    atomic_fetch_add(&regions, 1);
    real(loc, gtid, num_threads);
}
void __kmpc_serialized_parallel(void *loc, int32_t gtid);
void __kmpc_serialized_parallel(void *loc, int32_t gtid) {
    kmpc_serialized_fn real = (kmpc_serialized_fn)dlsym(RTLD_NEXT, "__kmpc_serialized_parallel");
    if (!real) abort();
    atomic_fetch_add(&regions, 1);
    real(loc, gtid);
}

/* The call succeeds and enters no region. */
#define NO_REGION(call)                                                                            \
    do {                                                                                           \
        atomic_store(&regions, 0);                                                                 \
        CHECK_OK(call);                                                                            \
        long n_ = atomic_load(&regions);                                                           \
        CHECK_MSG(n_ == 0, "%s entered %ld OpenMP region(s)", #call, n_);                          \
    } while (0)

static ek_table table_f32(int64_t rows, int64_t dim, float *data) {
    return (ek_table){.struct_size = sizeof(ek_table), .rows = rows, .dim = dim, .dtype = EK_DTYPE_F32, .data = data};
}
static ek_table table_f16(int64_t rows, int64_t dim, uint16_t *data) {
    return (ek_table){.struct_size = sizeof(ek_table), .rows = rows, .dim = dim, .dtype = EK_DTYPE_F16, .data = data};
}
static ek_bag_input lookup_input(const int64_t *idx, int64_t n) {
    return (ek_bag_input){.struct_size = sizeof(ek_bag_input), .indices = idx, .num_indices = n};
}
/* n indices in bags of `len` (offsets = NULL: fixed-length bags) */
static ek_bag_input bag_input(const int64_t *idx, int64_t n, int64_t len, const float *weights) {
    ek_bag_input in = lookup_input(idx, n);
    in.num_bags = n / len;
    in.per_sample_weights = weights, in.num_weights = weights ? n : 0;
    return in;
}
static ek_optimizer adagrad(float *state) {
    return (ek_optimizer){.struct_size = sizeof(ek_optimizer), .kind = EK_OPT_ADAGRAD, .lr = 0.1f, .eps = 1e-10f,
                          .state_sum = state};
}

TEST(tiny_calls_enter_no_parallel_region) {
    int32_t saved = ek_get_num_threads();
    CHECK_OK(ek_set_num_threads(2));
    enum { R = 10, D = 4, N = 4, BIG = 1 << 17 };
    /* the counter sees the library's regions (else the checks below would prove nothing) */
    float *big = calloc(BIG, sizeof(float));
    atomic_store(&regions, 0);
    CHECK_OK(ek_relu_forward_f32(BIG, big, big));
    CHECK_MSG(atomic_load(&regions) > 0, "a relu of %d elements at 2 threads entered no region: the counter is blind", BIG);
    free(big);

    float w[R * D], state[R * D], m[R * D], v[R * D], g[N * D], out[N * D], vals[N * D], gw[R * D], gx[N * D];
    float x[16], y[16], mean[4], rstd[4], lw[4] = {1, 1, 1, 1}, lb[4] = {0}, loss[4], gws[N];
    uint16_t wh[R * D];
    uint8_t mask[16];
    int64_t idx[N] = {3, 1, 3, 7}, rows[N] = {0, 2, 5, 9}, out_rows[N], nnz, maxi[N * D], at[16], tgt[4] = {1, 0, 2, 1};
    for (int i = 0; i < R * D; i++) w[i] = (float)(i % 7) - 3.0f, state[i] = m[i] = v[i] = 0.0f, wh[i] = to_f16(w[i]);
    for (int i = 0; i < N * D; i++) g[i] = (float)(i % 5) * 0.25f;
    for (int i = 0; i < 16; i++) x[i] = (float)(i % 6) - 2.5f;
    ek_table t = table_f32(R, D, w), th = table_f16(R, D, wh);
    ek_bag_input in = lookup_input(idx, N), bag = bag_input(idx, N, 2, NULL), wbag = bag_input(idx, N, 2, x);
    ek_bag_options freq = {.struct_size = sizeof freq, .scale_grad_by_freq = 1}, maxo = {.struct_size = sizeof maxo, .mode = EK_BAG_MAX};
    ek_optimizer ada = adagrad(state), sgd = {.struct_size = sizeof sgd, .kind = EK_OPT_SGD, .lr = 0.1f};

    /* 2. lookup */
    NO_REGION(ek_lookup_forward(&t, &in, out));
    NO_REGION(ek_lookup_forward(&th, &in, out));
    NO_REGION(ek_lookup_backward_dense(&t, &in, &freq, g, gw));
    NO_REGION(ek_lookup_backward_dense(&t, &in, NULL, g, gw));
    NO_REGION(ek_lookup_backward_sparse(&t, &in, &freq, g, out_rows, vals, &nnz));
    NO_REGION(ek_renorm(&t, &in, 1.0, 2.0));
    /* 3. COO */
    NO_REGION(ek_coo_coalesce_f32(R, D, N, idx, g, out_rows, vals, &nnz));
    NO_REGION(ek_coo_scatter_add_f32(R, D, N, idx, g, -0.1f, w));
    /* 4. bags */
    NO_REGION(ek_bag_forward(&t, &bag, NULL, out, NULL, NULL));
    NO_REGION(ek_bag_forward(&th, &bag, NULL, out, NULL, NULL));
    NO_REGION(ek_bag_forward(&t, &bag, &maxo, out, NULL, maxi));
    NO_REGION(ek_bag_backward_dense(&t, &bag, NULL, NULL, g, gw));
    NO_REGION(ek_bag_backward_sparse(&t, &bag, NULL, NULL, g, out_rows, vals, &nnz));
    NO_REGION(ek_bag_backward_update(&t, &bag, NULL, NULL, g, &ada));
    NO_REGION(ek_bag_backward_update(&t, &bag, NULL, NULL, g, &sgd));
    NO_REGION(ek_bag_per_sample_weights_backward(&t, &wbag, NULL, g, gws));
    /* 1 and 12: half conversions, quantized tables */
    NO_REGION(ek_half_from_f32(EK_DTYPE_BF16, R * D, w, wh));
    NO_REGION(ek_half_to_f32(EK_DTYPE_F16, R * D, wh, gw));
    static uint8_t q8[R * (D + 8)];
    NO_REGION(ek_quantize(EK_DTYPE_Q8, R, D, w, q8));
    NO_REGION(ek_dequantize(EK_DTYPE_Q8, R, D, q8, gw));
    ek_table tq = {.struct_size = sizeof tq, .rows = R, .dim = D, .dtype = EK_DTYPE_Q8, .data = q8};
    NO_REGION(ek_lookup_forward(&tq, &in, out));
    NO_REGION(ek_bag_forward(&tq, &bag, NULL, out, NULL, NULL));
    NO_REGION(ek_bag_forward(&tq, &bag, &maxo, out, NULL, maxi));
    /* 5. softmax and cross-entropy, 9. losses */
    NO_REGION(ek_softmax_forward_f32(1, 10, x, y));
    NO_REGION(ek_log_softmax_forward_f32(1, 10, x, y));
    NO_REGION(ek_softmax_backward_f32(1, 10, y, x, gx));
    NO_REGION(ek_cross_entropy_f32_i64(4, 4, x, tgt, -100, 0.0f, EK_REDUCTION_MEAN, loss, gx));
    NO_REGION(ek_mse_loss_f32(16, x, y, EK_REDUCTION_MEAN, loss, gx));
    /* 6. optimizers */
    NO_REGION(ek_sgd_update_f32(R, D, N, rows, g, 0.1f, 0.0f, 0.0f, 0.0f, 0, w, NULL));
    NO_REGION(ek_adagrad_update_f32(R, D, N, rows, g, 0.1f, 1e-10f, 0.0f, w, state));
    NO_REGION(ek_rowwise_adagrad_update_f32(R, D, N, rows, g, 0.1f, 1e-10f, 0.0f, w, state));
    NO_REGION(ek_adam_update_f32(R, D, N, rows, g, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1, w, m, v));
    NO_REGION(ek_optimizer_update(&th, N, rows, g, &ada));
    /* 7. matmul, 8. layers */
    NO_REGION(ek_matmul_f32(1, 4, 4, x, 0, x, 0, 1.0f, 0.0f, y));
    NO_REGION(ek_layer_norm_forward_f32(4, 4, x, lw, lb, 1e-5, y, mean, rstd));
    NO_REGION(ek_layer_norm_backward_f32(4, 4, x, mean, rstd, lw, x, gx, lw, lb));
    NO_REGION(ek_relu_forward_f32(16, x, y));
    NO_REGION(ek_relu_backward_f32(16, x, x, y));
    NO_REGION(ek_gelu_forward_f32(16, x, 0, y));
    NO_REGION(ek_gelu_backward_f32(16, x, 1, x, y));
    NO_REGION(ek_dropout_forward_f32(16, x, 0.5, 7, y, mask));
    NO_REGION(ek_dropout_backward_f32(16, mask, 0.5, x, y));
    /* 10. tensors */
    int64_t shape[1] = {16}, unit[1] = {1}, zero[1] = {0};
    NO_REGION(ek_unary_f32(EK_UNARY_NEG, 16, x, 0.0f, y));
    NO_REGION(ek_binary_f32(EK_BINARY_ADD, 1, shape, x, 16, unit, x, 16, unit, 0.0f, y, 16, unit));
    NO_REGION(ek_i64_to_f32(4, tgt, y));
    NO_REGION(ek_sum_dim_f32(1, 16, 1, x, y));
    NO_REGION(ek_sum_dim_f32(2, 4, 2, x, y));
    NO_REGION(ek_sum_to_f32(1, shape, x, y, 1, zero));
    NO_REGION(ek_max_dim_f32(2, 4, 2, x, y, at));
    NO_REGION(ek_max_dim_backward_f32(2, 4, 2, at, x, y));
    NO_REGION(ek_strided_copy(4, 1, shape, x, 16, unit, y, 16, unit));
    NO_REGION(ek_zero_masked_rows_f32(4, 4, x, y));
    ek_set_num_threads(saved);
}

/* ---- small and large calls agree ---- */

enum { BAGS = 4096, LEN = 8, DIM = 16, ROWS = BAGS * LEN }; /* BAGS * LEN * DIM: 16x the serial cut-off */

typedef struct {
    int64_t *idx;       /* a permutation of the rows: every row once (the updates are then per bag) */
    int64_t *seq;       /* 0, 1, ..., ROWS - 1 (ek_optimizer_update takes coalesced rows) */
    float *w, *g, *x;   /* table ROWS x DIM, grad_out BAGS x DIM, x ROWS x DIM */
    uint16_t *wh;       /* the table in fp16 */
} data;

static data make_data(void) {
    data d = {malloc(sizeof(int64_t) * ROWS), malloc(sizeof(int64_t) * ROWS), malloc(sizeof(float) * ROWS * DIM), malloc(sizeof(float) * BAGS * DIM),
              malloc(sizeof(float) * ROWS * DIM), malloc(sizeof(uint16_t) * ROWS * DIM)};
    ek_rng rng = {42};
    for (int64_t i = 0; i < ROWS; i++) d.idx[i] = d.seq[i] = i;
    for (int64_t i = ROWS - 1; i > 0; i--) {
        int64_t j = ek_rng_int(&rng, 0, i), s = d.idx[i];
        d.idx[i] = d.idx[j], d.idx[j] = s;
    }
    for (int64_t i = 0; i < ROWS * DIM; i++) d.w[i] = ek_rng_float(&rng, -2, 2), d.x[i] = ek_rng_float(&rng, -4, 4);
    for (int64_t i = 0; i < ROWS * DIM; i++) d.wh[i] = to_f16(d.w[i]);
    for (int64_t i = 0; i < BAGS * DIM; i++) d.g[i] = ek_rng_float(&rng, -1, 1);
    return d;
}
static void free_data(data d) { free(d.idx), free(d.seq), free(d.w), free(d.g), free(d.x), free(d.wh); }

/* Every family in one pass: `small` = 1: bag by bag (row by row), each call far below the cut-off;
 * 0: one call. Writes every output into o (sized for the largest). */
typedef struct {
    float *lookup, *lookup_h, *bag, *bag_h, *values, *table, *state, *half_state, *renorm, *softmax, *neg, *sum, *norm;
    uint16_t *half_table;
    int64_t *rows;
} outputs;

static outputs make_outputs(void) {
    size_t big = sizeof(float) * ROWS * DIM;
    outputs o = {malloc(big), malloc(big), malloc(big), malloc(big), malloc(big), malloc(big), malloc(big),
                 malloc(big), malloc(big), malloc(big), malloc(big), malloc(big), malloc(big), malloc(sizeof(uint16_t) * ROWS * DIM),
                 malloc(sizeof(int64_t) * ROWS)};
    return o;
}
static void free_outputs(outputs o) {
    free(o.lookup), free(o.lookup_h), free(o.bag), free(o.bag_h), free(o.values), free(o.table), free(o.state);
    free(o.half_state);
    free(o.renorm), free(o.softmax), free(o.neg), free(o.sum), free(o.norm), free(o.half_table), free(o.rows);
}

static void run_all(const data *d, int small, outputs *o) {
    memcpy(o->table, d->w, sizeof(float) * ROWS * DIM);
    memcpy(o->renorm, d->w, sizeof(float) * ROWS * DIM);
    memcpy(o->half_table, d->wh, sizeof(uint16_t) * ROWS * DIM);
    memset(o->state, 0, sizeof(float) * ROWS * DIM);
    memset(o->half_state, 0, sizeof(float) * ROWS * DIM);
    ek_table t = table_f32(ROWS, DIM, d->w), th = table_f16(ROWS, DIM, d->wh);
    ek_table upd = table_f32(ROWS, DIM, o->table), ren = table_f32(ROWS, DIM, o->renorm);
    ek_table half_upd = table_f16(ROWS, DIM, o->half_table);
    ek_optimizer ada = adagrad(o->state), half_ada = adagrad(o->half_state);
    float *lw = malloc(sizeof(float) * DIM), *lb = calloc(DIM, sizeof(float)), *mean = malloc(sizeof(float) * ROWS),
          *rstd = malloc(sizeof(float) * ROWS);
    for (int i = 0; i < DIM; i++) lw[i] = 1.0f + 0.125f * (float)i;
    int64_t step = small ? 1 : BAGS; /* bags per call */
    for (int64_t b0 = 0; b0 < BAGS; b0 += step) {
        int64_t n = step * LEN, j0 = b0 * LEN, nnz = -1;
        const int64_t *idx = d->idx + j0;
        ek_bag_input lk = lookup_input(idx, n), bag = bag_input(idx, n, LEN, NULL);
        CHECK_OK(ek_lookup_forward(&t, &lk, o->lookup + j0 * DIM));
        CHECK_OK(ek_lookup_forward(&th, &lk, o->lookup_h + j0 * DIM));
        CHECK_OK(ek_bag_forward(&t, &bag, NULL, o->bag + b0 * DIM, NULL, NULL));
        CHECK_OK(ek_bag_forward(&th, &bag, NULL, o->bag_h + b0 * DIM, NULL, NULL));
        CHECK_OK(ek_bag_backward_sparse(&t, &bag, NULL, NULL, d->g + b0 * DIM, o->rows + j0, o->values + j0 * DIM, &nnz));
        CHECK_EQ_I64(nnz, n);
        CHECK_OK(ek_bag_backward_update(&upd, &bag, NULL, NULL, d->g + b0 * DIM, &ada));
        /* the half update: rows j0 ..< j0 + n, each with a row of x as its gradient */
        CHECK_OK(ek_optimizer_update(&half_upd, n, d->seq + j0, d->x + j0 * DIM, &half_ada));
        CHECK_OK(ek_renorm(&ren, &lk, 1.5, 2.0));
        /* row-wise families over the same rows of x: softmax, neg, sum over a row, layer norm */
        CHECK_OK(ek_softmax_forward_f32(n, DIM, d->x + j0 * DIM, o->softmax + j0 * DIM));
        CHECK_OK(ek_unary_f32(EK_UNARY_NEG, n * DIM, d->x + j0 * DIM, 0.0f, o->neg + j0 * DIM));
        CHECK_OK(ek_sum_dim_f32(n, DIM, 1, d->x + j0 * DIM, o->sum + j0));
        CHECK_OK(ek_layer_norm_forward_f32(n, DIM, d->x + j0 * DIM, lw, lb, 1e-5, o->norm + j0 * DIM, mean + j0, rstd + j0));
    }
    free(lw), free(lb), free(mean), free(rstd);
}

static void same(const void *a, const void *b, size_t bytes, const char *what, int threads) {
    CHECK_MSG(memcmp(a, b, bytes) == 0, "%s: one large call and tiny calls differ at %d thread(s)", what, threads);
}

TEST(small_and_large_calls_agree) {
    int32_t saved = ek_get_num_threads();
    data d = make_data();
    outputs tiny = make_outputs(), large = make_outputs();
    size_t f = sizeof(float) * ROWS * DIM;
    for (int threads = 1; threads <= 2; threads++) {
        CHECK_OK(ek_set_num_threads(threads));
        run_all(&d, 1, &tiny);
        atomic_store(&regions, 0);
        run_all(&d, 0, &large);
        if (threads == 2) CHECK_MSG(atomic_load(&regions) > 0, "the large calls entered no region at 2 threads");
        same(tiny.lookup, large.lookup, f, "lookup forward", threads);
        same(tiny.lookup_h, large.lookup_h, f, "lookup forward (fp16 table)", threads);
        same(tiny.bag, large.bag, sizeof(float) * BAGS * DIM, "bag forward", threads);
        same(tiny.bag_h, large.bag_h, sizeof(float) * BAGS * DIM, "bag forward (fp16 table)", threads);
        same(tiny.rows, large.rows, sizeof(int64_t) * ROWS, "bag backward sparse (rows)", threads);
        same(tiny.values, large.values, f, "bag backward sparse (values)", threads);
        same(tiny.table, large.table, f, "bag backward + Adagrad (table)", threads);
        same(tiny.state, large.state, f, "bag backward + Adagrad (state)", threads);
        same(tiny.half_table, large.half_table, sizeof(uint16_t) * ROWS * DIM, "optimizer update (fp16 table)", threads);
        same(tiny.renorm, large.renorm, f, "renorm", threads);
        same(tiny.softmax, large.softmax, f, "softmax", threads);
        same(tiny.neg, large.neg, f, "unary neg", threads);
        same(tiny.sum, large.sum, sizeof(float) * ROWS, "sum over a dimension", threads);
        same(tiny.norm, large.norm, f, "layer norm", threads);
    }
    free_outputs(tiny), free_outputs(large), free_data(d);
    ek_set_num_threads(saved);
}

/* A program's own parallel region calling the library: omp_get_thread_num() there is the caller's,
 * so a kernel that sized or split its work by it outside a region of its own would skip or overrun
 * work. Each of the caller's 2 threads does its own tiny and large calls; the results must be those
 * of the same calls made outside. */
TEST(calls_from_a_callers_parallel_region) {
    int32_t saved = ek_get_num_threads();
    CHECK_OK(ek_set_num_threads(2));
    data d = make_data();
    outputs want = make_outputs(), got[2] = {make_outputs(), make_outputs()};
    run_all(&d, 1, &want);
    int done[2] = {0, 0};
#pragma omp parallel num_threads(2)
    {
        int me = omp_get_thread_num();
        if (me < 2) run_all(&d, 1, &got[me]), done[me] = 1;
    }
    size_t f = sizeof(float) * ROWS * DIM;
    for (int k = 0; k < 2; k++) {
        if (!done[k]) continue; /* a runtime may give fewer threads than asked */
        CHECK_MSG(memcmp(got[k].bag, want.bag, sizeof(float) * BAGS * DIM) == 0, "caller thread %d: bag forward", k);
        CHECK_MSG(memcmp(got[k].bag_h, want.bag_h, sizeof(float) * BAGS * DIM) == 0, "caller thread %d: bag forward fp16", k);
        CHECK_MSG(memcmp(got[k].lookup, want.lookup, f) == 0, "caller thread %d: lookup", k);
        CHECK_MSG(memcmp(got[k].values, want.values, f) == 0, "caller thread %d: sparse backward", k);
        CHECK_MSG(memcmp(got[k].table, want.table, f) == 0, "caller thread %d: fused Adagrad", k);
        CHECK_MSG(memcmp(got[k].half_table, want.half_table, sizeof(uint16_t) * ROWS * DIM) == 0,
                  "caller thread %d: half update", k);
        CHECK_MSG(memcmp(got[k].renorm, want.renorm, f) == 0, "caller thread %d: renorm", k);
    }
    CHECK(done[0]);
    /* and one large call per caller thread (nested: our region gets one thread, which runs every slot) */
    outputs large[2] = {make_outputs(), make_outputs()};
    run_all(&d, 0, &want);
#pragma omp parallel num_threads(2)
    {
        int me = omp_get_thread_num();
        if (me < 2) run_all(&d, 0, &large[me]);
    }
    for (int k = 0; k < 2; k++) {
        if (!done[k]) continue;
        CHECK_MSG(memcmp(large[k].bag, want.bag, sizeof(float) * BAGS * DIM) == 0, "caller thread %d: large bag forward", k);
        CHECK_MSG(memcmp(large[k].table, want.table, f) == 0, "caller thread %d: large fused Adagrad", k);
    }
    free_outputs(large[0]), free_outputs(large[1]);
    free_outputs(got[0]), free_outputs(got[1]), free_outputs(want), free_data(d);
    ek_set_num_threads(saved);
}
