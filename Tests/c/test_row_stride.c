/* test_row_stride.c — tables whose rows are row_stride > dim apart (a row padded for alignment, or
 * weight[:, c0:c0+dim] of a wider matrix, as FBGEMM and PyTorch allow). Every verb that reads or
 * writes rows must give, bit for bit, what it gives on a dense copy of the table, and must neither
 * read nor write the gap between dim and row_stride: the gap is filled with 0xFF bytes (NaN in
 * f32, f16 and bf16), so a read would show in the results (a NaN in a sum, the winner of a max) and
 * a write in the gap's bytes. Both index widths, 1 and 2 threads; main.c repeats the run on every
 * ISA the CPU has. Expected values: the same call on the dense copy (itself tested against the
 * reference kernels and PyTorch fixtures elsewhere). */
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"

enum { R = 300, N = 1200, B = 100, LEAD = 3 };
static const int64_t dims[2] = {37, 130}; /* a tail in every ISA's vectors; a row wider than 64 floats */

/* A table twice: dense (row_stride 0) and strided, rows `sb` bytes apart after LEAD elements of
 * gap (a column slice), every byte of gap 0xFF. */
typedef struct {
    ek_dtype dt;
    int64_t dim, rb, sb, lead; /* rb: bytes of a row; sb: bytes between rows; lead: bytes before row 0 */
    size_t wide_bytes;
    uint8_t *dense, *wide;
} twin;

static int is_quant(ek_dtype dt) { return dt >= EK_DTYPE_Q8; }
static size_t elem(ek_dtype dt) { return dt == EK_DTYPE_F32 ? 4 : 2; }

static twin make_twin(ek_dtype dt, int64_t dim, int64_t extra, ek_rng *rng) {
    twin t = {.dt = dt, .dim = dim};
    float *src = malloc(sizeof(float) * R * (size_t)dim);
    for (int64_t k = 0; k < R * dim; k++) src[k] = ek_rng_float(rng, -1, 1);
    if (is_quant(dt)) {
        ek_quant_row_bytes(dt, dim, &t.rb);
        t.sb = t.rb + extra, t.lead = 0; /* quantized rows hold floats: keep them where a packed table has them */
    } else {
        t.rb = (int64_t)elem(dt) * dim, t.sb = (int64_t)elem(dt) * (dim + extra), t.lead = LEAD * (int64_t)elem(dt);
    }
    t.dense = malloc((size_t)(R * t.rb));
    if (dt == EK_DTYPE_F32) memcpy(t.dense, src, (size_t)(R * t.rb));
    else if (is_quant(dt)) ek_quantize(dt, R, dim, src, t.dense);
    else ek_half_from_f32(dt, R * dim, src, (uint16_t *)t.dense);
    t.wide_bytes = (size_t)(t.lead + R * t.sb);
    t.wide = malloc(t.wide_bytes);
    memset(t.wide, 0xFF, t.wide_bytes);
    for (int64_t r = 0; r < R; r++) memcpy(t.wide + t.lead + r * t.sb, t.dense + r * t.rb, (size_t)t.rb);
    free(src);
    return t;
}

static void free_twin(twin *t) { free(t->dense), free(t->wide); }

static ek_table dense_table(const twin *t) {
    return (ek_table){.struct_size = sizeof(ek_table), .rows = R, .dim = t->dim, .dtype = t->dt, .data = t->dense};
}
static ek_table wide_table(const twin *t) {
    int64_t stride = is_quant(t->dt) ? t->sb : t->sb / (int64_t)elem(t->dt);
    return (ek_table){.struct_size = sizeof(ek_table), .rows = R, .dim = t->dim, .dtype = t->dt, .row_stride = stride,
                      .data = t->wide + t->lead};
}

/* The strided rows equal the dense ones and every gap byte is still 0xFF. */
static int rows_match(const twin *t) {
    for (int64_t r = 0; r < R; r++)
        if (memcmp(t->wide + t->lead + r * t->sb, t->dense + r * t->rb, (size_t)t->rb) != 0) return 0;
    return 1;
}
static int gap_intact(const twin *t) {
    for (size_t k = 0; k < t->wide_bytes; k++) {
        int64_t at = (int64_t)k - t->lead;
        if (at >= 0 && at % t->sb < t->rb) continue; /* a row's own byte */
        if (t->wide[k] != 0xFF) return 0;
    }
    return 1;
}

/* One input: indices with duplicates and the padding row, offsets, weights; i64 and i32 copies. */
typedef struct {
    int64_t idx64[N], off64[B + 1];
    int32_t idx32[N], off32[B + 1];
    float psw[N];
} inputs;

static void make_inputs(inputs *x, ek_rng *rng) {
    for (int i = 0; i < N; i++) {
        int64_t r = ek_rng_int(rng, 0, 9) < 2 ? ek_rng_int(rng, 0, 7) : ek_rng_int(rng, 0, R - 1);
        x->idx64[i] = r, x->idx32[i] = (int32_t)r, x->psw[i] = ek_rng_float(rng, -1, 2);
    }
    x->off64[0] = 0;
    for (int b = 1; b <= B; b++) {
        int64_t o = ek_rng_int(rng, x->off64[b - 1], x->off64[b - 1] + 2 * N / B);
        x->off64[b] = o > N || b == B ? N : o;
    }
    for (int b = 0; b <= B; b++) x->off32[b] = (int32_t)x->off64[b];
}

static ek_bag_input lookup_input(const inputs *x, int is32) {
    return (ek_bag_input){.struct_size = sizeof(ek_bag_input), .index_type = is32 ? EK_INDEX_I32 : EK_INDEX_I64,
                          .indices = is32 ? (const void *)x->idx32 : (const void *)x->idx64, .num_indices = N};
}
static ek_bag_input bag_input(const inputs *x, int is32, int weighted, int padded) {
    ek_bag_input in = lookup_input(x, is32);
    in.offsets = is32 ? (const void *)x->off32 : (const void *)x->off64, in.num_bags = B;
    if (weighted) in.per_sample_weights = x->psw, in.num_weights = N;
    if (padded) in.has_padding = 1, in.padding_idx = 3;
    return in;
}

#define ALL_DTYPES for (int dt = EK_DTYPE_F32; dt <= EK_DTYPE_Q2; dt++)
#define TRAIN_DTYPES for (int dt = EK_DTYPE_F32; dt <= EK_DTYPE_BF16; dt++)
#define DIMS_WIDTHS_THREADS                          \
    for (int di = 0; di < 2; di++)                   \
        for (int is32 = 0; is32 < 2; is32++)         \
            for (int threads = 1; threads <= 2; threads++)

TEST(row_stride_forward_every_dtype) {
    ek_rng rng = {41};
    static inputs x;
    static float o1[N * 130], o2[N * 130];
    static int64_t m1[B * 130], m2[B * 130], s1[B], s2[B];
    make_inputs(&x, &rng);
    int cases = 0;
    ALL_DTYPES DIMS_WIDTHS_THREADS {
        twin t = make_twin((ek_dtype)dt, dims[di], 5 + di, &rng);
        ek_table td = dense_table(&t), tw = wide_table(&t);
        int64_t D = t.dim;
        ek_set_num_threads(threads);
        ek_bag_input in = lookup_input(&x, is32);
        memset(o1, 0, sizeof o1), memset(o2, 0x5A, sizeof o2);
        CHECK_OK(ek_lookup_forward(&td, &in, o1));
        CHECK_OK(ek_lookup_forward(&tw, &in, o2));
        CHECK_MSG(memcmp(o1, o2, sizeof(float) * N * (size_t)D) == 0, "lookup dtype %d dim %lld i%d %d threads", dt,
                  (long long)D, is32 ? 32 : 64, threads);
        cases++;
        for (int mode = EK_BAG_SUM; mode <= EK_BAG_MAX; mode++)
            for (int weighted = 0; weighted < 2; weighted++) {
                if (mode == EK_BAG_MAX && weighted) continue;
                ek_bag_input bi = bag_input(&x, is32, weighted, 1);
                ek_bag_options opt = {.struct_size = sizeof opt, .mode = (ek_bag_mode)mode};
                int64_t *mi1 = mode == EK_BAG_MAX ? m1 : NULL, *mi2 = mode == EK_BAG_MAX ? m2 : NULL;
                memset(o1, 0, sizeof o1), memset(o2, 0x5A, sizeof o2), memset(m2, 0x5A, sizeof m2);
                CHECK_OK(ek_bag_forward(&td, &bi, &opt, o1, s1, mi1));
                CHECK_OK(ek_bag_forward(&tw, &bi, &opt, o2, s2, mi2));
                int same = memcmp(o1, o2, sizeof(float) * B * (size_t)D) == 0 && memcmp(s1, s2, sizeof s1) == 0 &&
                           (!mi1 || memcmp(m1, m2, sizeof(int64_t) * B * (size_t)D) == 0);
                CHECK_MSG(same, "bag dtype %d dim %lld mode %d weighted %d i%d %d threads", dt, (long long)D, mode,
                          weighted, is32 ? 32 : 64, threads);
                cases++;
            }
        CHECK_MSG(rows_match(&t) && gap_intact(&t), "a forward wrote the table (dtype %d)", dt);
        free_twin(&t);
    }
    ek_set_num_threads(1);
    CHECK_EQ_I64(cases, 6 * 2 * 2 * 2 * 6);
}

/* Optimizer k of the fused tests, with its state in `state` (R * dim floats each, zeroed). */
static ek_optimizer optimizer_for(int k, ek_dtype dt, float *state, int64_t dim) {
    ek_optimizer o = {.struct_size = sizeof o, .lr = 0.05f, .eps = 1e-3f, .step = 3, .seed = 7,
                      .rounding = dt == EK_DTYPE_BF16 ? EK_ROUND_STOCHASTIC : EK_ROUND_NEAREST};
    size_t cells = (size_t)R * (size_t)dim;
    switch (k) {
    case 0: o.kind = EK_OPT_SGD; break; /* plain: the entry-by-entry scatter on f32 */
    case 1: o.kind = EK_OPT_SGD, o.momentum = 0.9f, o.weight_decay = 0.01f, o.momentum_buffer = state; break;
    case 2: o.kind = EK_OPT_ADAGRAD, o.weight_decay = 0.01f, o.state_sum = state; break;
    case 3: o.kind = EK_OPT_ROWWISE_ADAGRAD, o.state_sum = state; break;
    default: o.kind = EK_OPT_ADAM, o.beta1 = 0.9f, o.beta2 = 0.99f, o.weight_decay = 0.01f, o.exp_avg = state,
             o.exp_avg_sq = state + cells; break;
    }
    return o;
}

TEST(row_stride_fused_backward_update) {
    ek_rng rng = {42};
    static inputs x;
    static float grad_out[B * 130], out[B * 130], st1[2 * R * 130], st2[2 * R * 130];
    static int64_t mi[B * 130];
    make_inputs(&x, &rng);
    for (int k = 0; k < B * 130; k++) grad_out[k] = ek_rng_float(&rng, -1, 1);
    ek_set_tuning(EK_TUNE_SCATTER_MIN_WORK, 0); /* the chunked scatter at 2 threads */
    int cases = 0;
    TRAIN_DTYPES DIMS_WIDTHS_THREADS for (int mode = EK_BAG_SUM; mode <= EK_BAG_MAX; mode++) {
        int64_t D = dims[di];
        ek_set_num_threads(threads);
        twin t = make_twin((ek_dtype)dt, D, 3 + 8 * di, &rng);
        ek_table td = dense_table(&t), tw = wide_table(&t);
        ek_bag_input bi = bag_input(&x, is32, mode == EK_BAG_SUM, 1);
        ek_bag_options opt = {.struct_size = sizeof opt, .mode = (ek_bag_mode)mode};
        const int64_t *m = mode == EK_BAG_MAX ? mi : NULL;
        if (m) CHECK_OK(ek_bag_forward(&td, &bi, &opt, out, NULL, mi));
        for (int k = 0; k < 5; k++) {
            memset(st1, 0, sizeof st1), memset(st2, 0, sizeof st2);
            ek_optimizer o1 = optimizer_for(k, t.dt, st1, D), o2 = optimizer_for(k, t.dt, st2, D);
            CHECK_OK(ek_bag_backward_update(&td, &bi, &opt, m, grad_out, &o1));
            CHECK_OK(ek_bag_backward_update(&tw, &bi, &opt, m, grad_out, &o2));
            CHECK_MSG(rows_match(&t) && gap_intact(&t) && memcmp(st1, st2, sizeof st1) == 0,
                      "fused update dtype %d dim %lld mode %d optimizer %d i%d %d threads: rows %d gap %d", dt,
                      (long long)D, mode, k, is32 ? 32 : 64, threads, rows_match(&t), gap_intact(&t));
            cases++;
        }
        free_twin(&t);
    }
    ek_set_tuning(EK_TUNE_SCATTER_MIN_WORK, -1);
    ek_set_num_threads(1);
    CHECK_EQ_I64(cases, 3 * 2 * 2 * 2 * 3 * 5);
}

TEST(row_stride_optimizer_update) {
    ek_rng rng = {43};
    static float values[R * 130], st1[2 * R * 130], st2[2 * R * 130];
    static int64_t rows[R];
    int64_t nnz = 0;
    for (int64_t r = 0; r < R; r++)
        if (ek_rng_int(&rng, 0, 2) > 0) rows[nnz++] = r;
    for (int k = 0; k < R * 130; k++) values[k] = ek_rng_float(&rng, -1, 1);
    int cases = 0;
    TRAIN_DTYPES for (int di = 0; di < 2; di++) for (int dense_rows = 0; dense_rows < 2; dense_rows++)
        for (int threads = 1; threads <= 2; threads++) {
            int64_t D = dims[di];
            ek_set_num_threads(threads);
            twin t = make_twin((ek_dtype)dt, D, 1 + 20 * di, &rng);
            ek_table td = dense_table(&t), tw = wide_table(&t);
            for (int k = 0; k < 5; k++) {
                memset(st1, 0, sizeof st1), memset(st2, 0, sizeof st2);
                ek_optimizer o1 = optimizer_for(k, t.dt, st1, D), o2 = optimizer_for(k, t.dt, st2, D);
                const int64_t *rw = dense_rows ? NULL : rows;
                CHECK_OK(ek_optimizer_update(&td, nnz, rw, values, &o1));
                CHECK_OK(ek_optimizer_update(&tw, nnz, rw, values, &o2));
                CHECK_MSG(rows_match(&t) && gap_intact(&t) && memcmp(st1, st2, sizeof st1) == 0,
                          "optimizer_update dtype %d dim %lld optimizer %d rows %s %d threads", dt, (long long)D, k,
                          dense_rows ? "NULL" : "sparse", threads);
                cases++;
            }
            free_twin(&t);
        }
    ek_set_num_threads(1);
    CHECK_EQ_I64(cases, 3 * 2 * 2 * 2 * 5);
}

TEST(row_stride_renorm_and_weight_gradient) {
    ek_rng rng = {44};
    static inputs x;
    static float grad_out[B * 130], g1[N], g2[N];
    static const double norms[3] = {2.0, 1.0, INFINITY};
    make_inputs(&x, &rng);
    for (int k = 0; k < B * 130; k++) grad_out[k] = ek_rng_float(&rng, -1, 1);
    int cases = 0;
    DIMS_WIDTHS_THREADS {
        int64_t D = dims[di];
        ek_set_num_threads(threads);
        for (int p = 0; p < 3; p++) {
            twin t = make_twin(EK_DTYPE_F32, D, 4, &rng);
            ek_table td = dense_table(&t), tw = wide_table(&t);
            ek_bag_input in = lookup_input(&x, is32);
            double max_norm = p == 2 ? 0.5 : 2.0; /* below most rows' norms: most touched rows change */
            CHECK_OK(ek_renorm(&td, &in, max_norm, norms[p]));
            CHECK_OK(ek_renorm(&tw, &in, max_norm, norms[p]));
            CHECK_MSG(rows_match(&t) && gap_intact(&t), "renorm dim %lld p %g i%d %d threads", (long long)D, norms[p],
                      is32 ? 32 : 64, threads);
            cases++;
            free_twin(&t);
        }
        twin t = make_twin(EK_DTYPE_F32, D, 9, &rng);
        ek_table td = dense_table(&t), tw = wide_table(&t);
        for (int mode = EK_BAG_SUM; mode <= EK_BAG_MEAN; mode++) {
            ek_bag_input bi = bag_input(&x, is32, 1, 1);
            ek_bag_options opt = {.struct_size = sizeof opt, .mode = (ek_bag_mode)mode};
            memset(g1, 0, sizeof g1), memset(g2, 0x5A, sizeof g2);
            CHECK_OK(ek_bag_per_sample_weights_backward(&td, &bi, &opt, grad_out, g1));
            CHECK_OK(ek_bag_per_sample_weights_backward(&tw, &bi, &opt, grad_out, g2));
            CHECK_MSG(memcmp(g1, g2, sizeof g1) == 0, "per-sample weight gradient dim %lld mode %d i%d %d threads",
                      (long long)D, mode, is32 ? 32 : 64, threads);
            cases++;
        }
        free_twin(&t);
    }
    ek_set_num_threads(1);
    CHECK_EQ_I64(cases, 2 * 2 * 2 * 5);
}

/* The backward to a gradient reads the shape only: a strided descriptor (data NULL too) gives the
 * dense one's gradient. */
TEST(row_stride_shape_only_backward) {
    ek_rng rng = {45};
    static inputs x;
    static float grad_out[N * 37], w1[R * 37], w2[R * 37], v1[N * 37], v2[N * 37];
    static int64_t r1[N], r2[N];
    make_inputs(&x, &rng);
    for (int k = 0; k < N * 37; k++) grad_out[k] = ek_rng_float(&rng, -1, 1);
    TRAIN_DTYPES for (int is32 = 0; is32 < 2; is32++) {
        ek_table td = {.struct_size = sizeof td, .rows = R, .dim = 37, .dtype = (ek_dtype)dt};
        ek_table tw = td;
        tw.row_stride = 40;
        ek_bag_input in = lookup_input(&x, is32), bi = bag_input(&x, is32, 1, 1);
        int64_t n1 = -1, n2 = -2;
        memset(w1, 0, sizeof w1), memset(w2, 0, sizeof w2);
        CHECK_OK(ek_lookup_backward_dense(&td, &in, NULL, grad_out, w1));
        CHECK_OK(ek_lookup_backward_dense(&tw, &in, NULL, grad_out, w2));
        CHECK_OK(ek_lookup_backward_sparse(&td, &in, NULL, grad_out, r1, v1, &n1));
        CHECK_OK(ek_lookup_backward_sparse(&tw, &in, NULL, grad_out, r2, v2, &n2));
        CHECK(memcmp(w1, w2, sizeof w1) == 0 && n1 == n2 && memcmp(r1, r2, sizeof r1) == 0 && memcmp(v1, v2, sizeof v1) == 0);
        memset(w1, 0, sizeof w1), memset(w2, 0, sizeof w2);
        CHECK_OK(ek_bag_backward_dense(&td, &bi, NULL, NULL, grad_out, w1));
        CHECK_OK(ek_bag_backward_dense(&tw, &bi, NULL, NULL, grad_out, w2));
        CHECK_OK(ek_bag_backward_sparse(&td, &bi, NULL, NULL, grad_out, r1, v1, &n1));
        CHECK_OK(ek_bag_backward_sparse(&tw, &bi, NULL, NULL, grad_out, r2, v2, &n2));
        CHECK(memcmp(w1, w2, sizeof w1) == 0 && n1 == n2 && memcmp(r1, r2, sizeof r1) == 0 && memcmp(v1, v2, sizeof v1) == 0);
    }
}

/* A stride below one row, a negative one, and one whose rows overflow: errors naming
 * table->row_stride and its value, from every verb that takes a table, with nothing written. */
TEST(row_stride_bad_values) {
    float w[2 * 4] = {1, 2, 3, 4, 5, 6, 7, 8}, keep_w[8], out[8], keep_out[8], state[8] = {0}, g[8] = {0};
    int64_t idx[2] = {0, 1}, rows[2] = {0, 1}, off[1] = {0};
    memcpy(keep_w, w, sizeof w), memset(out, 0x5A, sizeof out), memcpy(keep_out, out, sizeof out);
    ek_bag_input in = {.struct_size = sizeof in, .indices = idx, .num_indices = 2};
    ek_bag_input bi = {.struct_size = sizeof bi, .indices = idx, .num_indices = 2, .offsets = off, .num_bags = 1};
    ek_optimizer opt = {.struct_size = sizeof opt, .kind = EK_OPT_ADAGRAD, .lr = 0.1f, .state_sum = state};
    static const struct { int64_t rows, stride; ek_status code; const char *needle; } bad[] = {
        {2, -1, EK_ERR_INVALID_ARGUMENT, "table->row_stride=-1 must not be negative"},
        {2, 3, EK_ERR_INVALID_ARGUMENT, "table->row_stride=3 is less than dim=4"},
        {INT64_C(1) << 40, INT64_C(1) << 30, EK_ERR_OVERFLOW, "table->row_stride=1073741824"},
    };
    for (int dt = EK_DTYPE_F32; dt <= EK_DTYPE_BF16; dt++)
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            ek_table t = {.struct_size = sizeof t, .rows = bad[k].rows, .dim = 4, .dtype = (ek_dtype)dt,
                          .row_stride = bad[k].stride, .data = w};
            CHECK_ERROR(ek_lookup_forward(&t, &in, out), bad[k].code, bad[k].needle);
            CHECK_ERROR(ek_bag_forward(&t, &bi, NULL, out, NULL, NULL), bad[k].code, bad[k].needle);
            CHECK_ERROR(ek_bag_backward_update(&t, &bi, NULL, NULL, g, &opt), bad[k].code, bad[k].needle);
            CHECK_ERROR(ek_optimizer_update(&t, 2, rows, g, &opt), bad[k].code, bad[k].needle);
            CHECK_ERROR(ek_lookup_backward_dense(&t, &in, NULL, g, out), bad[k].code, bad[k].needle);
            if (dt == EK_DTYPE_F32) {
                CHECK_ERROR(ek_renorm(&t, &in, 1.0, 2.0), bad[k].code, bad[k].needle);
                CHECK_ERROR(ek_bag_per_sample_weights_backward(&t, &bi, NULL, g, out), bad[k].code, bad[k].needle);
            }
            CHECK_SAME_BYTES(w, keep_w, sizeof w);
            CHECK_SAME_BYTES(out, keep_out, sizeof out);
            CHECK(state[0] == 0 && state[7] == 0);
        }
    /* quantized: bytes, at least the packed row (12 for Q8 of dim 4) */
    uint8_t packed[2 * 16];
    memset(packed, 0, sizeof packed);
    CHECK_OK(ek_quantize(EK_DTYPE_Q8, 2, 4, w, packed));
    ek_table tq = {.struct_size = sizeof tq, .rows = 2, .dim = 4, .dtype = EK_DTYPE_Q8, .row_stride = 11, .data = packed};
    CHECK_ERROR(ek_lookup_forward(&tq, &in, out), EK_ERR_INVALID_ARGUMENT,
                "table->row_stride=11 bytes is less than the packed row size 12");
    tq.row_stride = -12;
    CHECK_ERROR(ek_bag_forward(&tq, &bi, NULL, out, NULL, NULL), EK_ERR_INVALID_ARGUMENT, "table->row_stride=-12");
    tq.rows = INT64_C(1) << 40, tq.row_stride = INT64_C(1) << 30;
    CHECK_ERROR(ek_lookup_forward(&tq, &in, out), EK_ERR_OVERFLOW, "table->row_stride=1073741824");
    CHECK_SAME_BYTES(out, keep_out, sizeof out);
}
