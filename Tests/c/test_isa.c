/* The instruction-set paths (ek_set_isa): selection, and each vector path against the scalar one.
 * (The runner, main.c, also repeats every other test under each ISA the CPU supports.)
 *
 * Tolerances across ISAs, which docs and the header refer to:
 *   - gathers, bag sum / mean / max (values, bag sizes, argmax), scatters: bit-identical (the vector
 *     paths add and multiply lane by lane in the scalar order, without FMA), NaN payloads aside;
 *   - exp (softmax, cross-entropy): within 2 ulp of libm's expf for normal results, and within 2
 *     units of 2^-149 in the denormal range; exp(-inf) = 0, exp(inf) = inf, NaN stays NaN;
 *   - softmax / cross-entropy gradient: |a - b| <= 1e-7 + 4e-6 |b| (the exp, and row sums taken
 *     in vector lanes); cross-entropy loss: 1e-5 relative, 1e-6 absolute;
 *   - max_norm renorm: 1e-6 relative (norms summed in another order, in double).
 * Across thread counts everything stays bit-identical under each ISA. */
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"
#include "ref.h"

void eki_vexp(int isa, int64_t n, const float *x, float *y); /* internal (softmax.c) */

/* Bit-identical floats, except that any NaN matches any NaN (x86 keeps one operand's payload,
 * and the compilers may order a commutative operation either way). */
static int same_floats(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0 && !(isnan(a[i]) && isnan(b[i]))) return 0;
    return 1;
}

static int isa_supported(int isa) {
    ek_isa was = ek_get_isa();
    int ok = ek_set_isa((ek_isa)isa) == EK_OK;
    ek_set_isa(was);
    return ok;
}

TEST(isa_selection) {
    ek_isa was = ek_get_isa();
    CHECK(was >= EK_ISA_SCALAR && was <= EK_ISA_AVX512);
    CHECK_OK(ek_set_isa(EK_ISA_SCALAR));
    CHECK(ek_get_isa() == EK_ISA_SCALAR);
    CHECK_ERROR(ek_set_isa((ek_isa)3), EK_ERR_INVALID_ARGUMENT, "isa=3");
    CHECK_ERROR(ek_set_isa((ek_isa)-1), EK_ERR_INVALID_ARGUMENT, "isa=-1");
    CHECK(ek_get_isa() == EK_ISA_SCALAR); /* unchanged by the failures */
    for (int isa = EK_ISA_AVX2; isa <= EK_ISA_AVX512; isa++) {
        ek_status s = ek_set_isa((ek_isa)isa);
        if (s == EK_OK) CHECK(ek_get_isa() == (ek_isa)isa);
        else CHECK(strstr(ek_last_error(), "does not support") != NULL), CHECK(ek_get_isa() != (ek_isa)isa);
    }
    CHECK(!strcmp(ek_isa_name(EK_ISA_SCALAR), "scalar") && !strcmp(ek_isa_name(EK_ISA_AVX2), "avx2") &&
          !strcmp(ek_isa_name(EK_ISA_AVX512), "avx512") && !strcmp(ek_isa_name((ek_isa)9), "unknown"));
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("fma"))
        CHECK(isa_supported(EK_ISA_AVX512));
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) CHECK(isa_supported(EK_ISA_AVX2));
#endif
    ek_set_isa(was);
}

/* ---- gather: an output over 16 MiB takes the non-temporal path; bits are copied, NaN payloads and
 * signalling NaNs included, aligned or not, for every ISA and thread count ---- */

TEST(isa_large_gather_copies_bits) {
    ek_rng rng = {53};
    int64_t num = 4096, dim = 64, n = 70000; /* 17.9 MB of output */
    uint32_t *w = malloc(sizeof(uint32_t) * (size_t)(num * dim));
    for (int64_t i = 0; i < num * dim; i++) {
        float f = ek_rng_float(&rng, -1, 1);
        memcpy(&w[i], &f, sizeof f);
    }
    w[5] = 0x7f800001u, w[70] = 0xffc12345u, w[dim * 9 + 3] = 0x7fa00000u; /* signalling and payload NaNs */
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) idx[i] = i % 7 == 0 ? 9 : ek_rng_int(&rng, 0, num - 1);
    size_t bytes = sizeof(float) * (size_t)(n * dim);
    char *buf = aligned_alloc(64, bytes + 64);
    ek_isa was = ek_get_isa();
    int32_t threads_was = ek_get_num_threads();
    for (int isa = EK_ISA_SCALAR; isa <= EK_ISA_AVX512; isa++) {
        if (!isa_supported(isa)) continue;
        ek_set_isa((ek_isa)isa);
        for (int threads = 1; threads <= 2; threads++)
            for (int shift = 0; shift <= 16; shift += 16) { /* 64-byte aligned rows, and rows 16 bytes off */
                ek_set_num_threads(threads);
                uint32_t *out = (uint32_t *)(buf + shift);
                memset(out, 0, bytes);
                CHECK_OK(pos_embedding_forward_i64(num, dim, n, (const float *)w, idx, (float *)out));
                int64_t bad = -1;
                for (int64_t i = 0; i < n && bad < 0; i++)
                    if (memcmp(out + i * dim, w + idx[i] * dim, sizeof(float) * (size_t)dim) != 0) bad = i;
                CHECK_MSG(bad < 0, "gather isa=%s threads=%d shift=%d: row %lld differs", ek_isa_name((ek_isa)isa),
                          threads, shift, (long long)bad);
            }
    }
    ek_set_isa(was);
    ek_set_num_threads(threads_was);
    free(buf), free(idx), free(w);
}

/* ---- bag forward: every vector path bit-identical to the scalar one ---- */

static void bag_identity_case(ek_rng *rng, int64_t dim, ek_bag_mode mode, int weighted, int64_t padding_idx,
                              int specials, int threads) {
    int64_t num = 50, B = 37, n = 0;
    int64_t *off = malloc(sizeof(int64_t) * (size_t)B);
    for (int64_t b = 0; b < B; b++) off[b] = n, n += ek_rng_int(rng, 0, 9); /* some bags empty */
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)(n + 1));
    float *psw = malloc(sizeof(float) * (size_t)(n + 1)), *w = malloc(sizeof(float) * (size_t)(num * dim));
    for (int64_t i = 0; i < n; i++) idx[i] = ek_rng_int(rng, 0, num - 1), psw[i] = ek_rng_float(rng, -2, 2);
    for (int64_t i = 0; i < num * dim; i++) {
        w[i] = ek_rng_float(rng, -1, 1);
        if (specials) {
            int k = (int)ek_rng_int(rng, 0, 40);
            if (k == 0) w[i] = NAN;
            else if (k == 1) w[i] = INFINITY;
            else if (k == 2) w[i] = -INFINITY;
            else if (k == 3) w[i] = -0.0f;
            else if (k == 4) w[i] = 0.0f;
            else if (k < 12) w[i] = 0.25f; /* ties */
        }
    }
    size_t cells = (size_t)(B * dim);
    float *out[3];
    int64_t *size[3], *arg[3];
    int have[3] = {0, 0, 0};
    ek_set_num_threads(threads);
    for (int isa = EK_ISA_SCALAR; isa <= EK_ISA_AVX512; isa++) {
        if (!isa_supported(isa)) continue;
        ek_set_isa((ek_isa)isa);
        have[isa] = 1;
        out[isa] = malloc(sizeof(float) * cells), size[isa] = malloc(sizeof(int64_t) * (size_t)B);
        arg[isa] = malloc(sizeof(int64_t) * cells);
        for (size_t i = 0; i < cells; i++) out[isa][i] = 1234.0f, arg[isa][i] = 77;
        CHECK_OK(pos_embedding_bag_forward_i64(num, dim, n, B, weighted ? n : 0, w, idx, off, 0,
                                                  weighted ? psw : NULL, mode, padding_idx, out[isa], size[isa],
                                                  mode == EK_BAG_MAX ? arg[isa] : NULL));
        if (isa == EK_ISA_SCALAR) continue;
        if (!CHECK(same_floats(out[isa], out[0], cells)) ||
            !CHECK_SAME_BYTES(size[isa], size[0], sizeof(int64_t) * (size_t)B) ||
            (mode == EK_BAG_MAX && !CHECK_SAME_BYTES(arg[isa], arg[0], sizeof(int64_t) * cells)))
            CHECK_MSG(0, "bag forward isa=%s dim=%lld mode=%d weighted=%d pad=%lld specials=%d threads=%d",
                      ek_isa_name((ek_isa)isa), (long long)dim, (int)mode, weighted, (long long)padding_idx, specials,
                      threads);
    }
    for (int isa = 0; isa < 3; isa++)
        if (have[isa]) free(out[isa]), free(size[isa]), free(arg[isa]);
    free(off), free(idx), free(psw), free(w);
}

TEST(isa_bag_forward_is_bit_identical_across_isas) {
    ek_isa was = ek_get_isa();
    int32_t threads_was = ek_get_num_threads();
    ek_rng rng = {41};
    const int64_t dims[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 48, 63, 64, 65, 100, 127, 128, 129, 200, 255, 256, 257, 300, 520};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++)
        for (int mode = 0; mode < 3; mode++)
            for (int weighted = 0; weighted <= (mode != EK_BAG_MAX); weighted++) {
                bag_identity_case(&rng, dims[k], (ek_bag_mode)mode, weighted, EK_NO_PADDING, 0, 1);
                bag_identity_case(&rng, dims[k], (ek_bag_mode)mode, weighted, 3, 1, 1);
            }
    bag_identity_case(&rng, 64, EK_BAG_MAX, 0, EK_NO_PADDING, 1, 2);
    bag_identity_case(&rng, 100, EK_BAG_SUM, 1, 5, 0, 2);
    ek_set_num_threads(threads_was);
    ek_set_isa(was);
}

/* The bag prefetch distance is per ISA (issue 16): 48 rows on AVX-512, where it was tuned; on AVX2
 * within the 8-32 rows that read fastest on an AVX2-only Zen 3 (48 was 20 % slower there). */
#include "isa.h"
TEST(isa_bag_prefetch_distance_per_isa) {
    CHECK(eki_kernels_for(EK_ISA_SCALAR)->bag_prefetch_rows > 0);
#if defined(__x86_64__)
    CHECK(eki_kernels_for(EK_ISA_AVX512)->bag_prefetch_rows == 48);
    int avx2 = eki_kernels_for(EK_ISA_AVX2)->bag_prefetch_rows;
    CHECK_MSG(avx2 >= 8 && avx2 <= 32, "avx2 bag prefetch distance %d", avx2);
#endif
}

/* ---- exp ---- */

static double ulp_of(float v) { /* the spacing of floats at |v| (the denormal spacing below FLT_MIN) */
    float a = fabsf(v);
    if (a < 1.17549435e-38f) return ldexp(1.0, -149);
    return (double)nextafterf(a, INFINITY) - (double)a;
}

TEST(isa_exp_accuracy_and_specials) {
    int64_t n = 0, cap = 400000;
    float *x = malloc(sizeof(float) * (size_t)cap), *y = malloc(sizeof(float) * (size_t)cap);
    for (double v = -110.0; v <= 90.0 && n < cap - 16; v += 0.000731) x[n++] = (float)v;
    const float specials[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 88.72f, 88.7228f, 88.73f, 89.0f, 100.0f, -87.33f,
                              -87.34f, -100.0f, -103.97f, -103.98f, -104.0f, -150.0f, INFINITY, -INFINITY, NAN};
    int64_t first_special = n;
    for (size_t k = 0; k < sizeof specials / sizeof specials[0]; k++) x[n++] = specials[k];
    for (int isa = EK_ISA_AVX2; isa <= EK_ISA_AVX512; isa++) {
        if (!isa_supported(isa)) continue;
        eki_vexp(isa, n, x, y);
        double worst = 0.0;
        int64_t worst_at = 0;
        for (int64_t i = 0; i < n; i++) {
            float want = expf(x[i]);
            if (isnan(want)) {
                CHECK_MSG(isnan(y[i]), "isa %s exp(%g) = %g, want NaN", ek_isa_name((ek_isa)isa), (double)x[i], (double)y[i]);
                continue;
            }
            if (isinf(want) || want == 0.0f) {
                /* beyond the range (or exactly at its edge): libm's own rounding decides; allow 2 ulp of
                 * the last finite value / of the denormal spacing */
                double d = fabs((double)y[i] - (double)want);
                CHECK_MSG(y[i] == want || d <= 2 * ulp_of(y[i]), "isa %s exp(%g) = %g, want %g",
                          ek_isa_name((ek_isa)isa), (double)x[i], (double)y[i], (double)want);
                continue;
            }
            double err = fabs((double)y[i] - (double)want) / ulp_of(want);
            if (err > worst) worst = err, worst_at = i;
        }
        CHECK_MSG(worst <= 2.0, "isa %s: exp is %.2f ulp off at x=%.9g (%.9g vs libm %.9g)", ek_isa_name((ek_isa)isa),
                  worst, (double)x[worst_at], (double)y[worst_at], (double)expf(x[worst_at]));
        if (getenv("EK_TEST_VERBOSE")) printf("  isa %s: worst exp error %.3f ulp at x=%g\n", ek_isa_name((ek_isa)isa), worst, (double)x[worst_at]);
        const float *ys = y + first_special;
        CHECK(ys[0] == 1.0f && ys[1] == 1.0f);                 /* exp(±0) = 1 exactly */
        CHECK(isinf(ys[16]) && ys[16] > 0 && ys[17] == 0.0f);  /* exp(inf), exp(-inf) */
        CHECK(isnan(ys[18]));
        CHECK(isinf(ys[8]) && ys[15] == 0.0f);                /* 100 overflows, -150 underflows */
    }
    free(x), free(y);
}

/* ---- softmax / cross-entropy: each vector path close to the scalar one ---- */

TEST(isa_softmax_and_cross_entropy_tolerance) {
    ek_isa was = ek_get_isa();
    ek_rng rng = {43};
    const int64_t colss[] = {1, 5, 8, 15, 16, 17, 31, 32, 33, 100, 1024, 1031};
    for (size_t k = 0; k < sizeof colss / sizeof colss[0]; k++) {
        int64_t rows = 7, cols = colss[k], cells = rows * cols;
        float *x = malloc(sizeof(float) * (size_t)cells);
        int64_t *t = malloc(sizeof(int64_t) * (size_t)rows);
        for (int64_t i = 0; i < cells; i++) x[i] = ek_rng_float(&rng, -30, 30);
        for (int64_t i = 0; i < rows; i++) t[i] = ek_rng_int(&rng, 0, cols - 1);
        float x0 = x[0];
        float *y[3], *g[3], loss[3][8];
        for (int isa = EK_ISA_SCALAR; isa <= EK_ISA_AVX512; isa++) {
            y[isa] = g[isa] = NULL;
            if (!isa_supported(isa)) continue;
            ek_set_isa((ek_isa)isa);
            y[isa] = malloc(sizeof(float) * (size_t)cells), g[isa] = malloc(sizeof(float) * (size_t)cells);
            x[0] = -INFINITY; /* softmax: a -inf logit gives 0 (or NaN when the row has nothing else) */
            CHECK_OK(ek_softmax_forward_f32(rows, cols, x, y[isa]));
            x[0] = x0;
            CHECK_OK(ek_cross_entropy_f32_i64(rows, cols, x, t, -100, 0.1f, EK_REDUCTION_NONE, loss[isa], g[isa]));
            if (isa == EK_ISA_SCALAR) continue;
            if (!CHECK_CLOSE(y[isa], y[0], cells, 1e-7, 4e-6) || !CHECK_CLOSE(g[isa], g[0], cells, 1e-7, 4e-6) ||
                !CHECK_CLOSE(loss[isa], loss[0], rows, 1e-6, 1e-5))
                CHECK_MSG(0, "softmax / cross-entropy isa=%s cols=%lld", ek_isa_name((ek_isa)isa), (long long)cols);
        }
        for (int isa = 0; isa < 3; isa++) free(y[isa]), free(g[isa]);
        free(x), free(t);
    }
    ek_set_isa(was);
}

/* Rows whose entries lie up to 120 below their max: the exp's results cross from normal into the
 * denormal range and to 0 at every lane position (the vector exp takes its one-multiply path only
 * while every lane is within 86.5 of the max); one row holds a NaN, whose row must come out NaN. */
TEST(isa_softmax_far_below_max) {
    ek_isa was = ek_get_isa();
    ek_rng rng = {44};
    const int64_t colss[] = {7, 16, 37, 1024};
    const double denormal_unit = ldexp(1.0, -149);
    for (size_t k = 0; k < sizeof colss / sizeof colss[0]; k++) {
        int64_t rows = 9, cols = colss[k], cells = rows * cols;
        float *x = malloc(sizeof(float) * (size_t)cells);
        int64_t *t = malloc(sizeof(int64_t) * (size_t)rows);
        for (int64_t i = 0; i < rows; i++) {
            float reach = i == 0 ? 80.0f : i == 1 ? 86.4f : i == 2 ? 86.6f : 120.0f; /* how far below the max */
            for (int64_t c = 0; c < cols; c++) x[i * cols + c] = 5.0f - ek_rng_float(&rng, 0, reach);
            x[i * cols + ek_rng_int(&rng, 0, cols - 1)] = 5.0f;
            t[i] = ek_rng_int(&rng, 0, cols - 1);
        }
        x[4 * cols + ek_rng_int(&rng, 0, cols - 1)] = NAN;
        float *y[3], *ly[3], *g[3], loss[3][9];
        for (int isa = EK_ISA_SCALAR; isa <= EK_ISA_AVX512; isa++) {
            y[isa] = ly[isa] = g[isa] = NULL;
            if (!isa_supported(isa)) continue;
            ek_set_isa((ek_isa)isa);
            y[isa] = malloc(sizeof(float) * (size_t)cells), ly[isa] = malloc(sizeof(float) * (size_t)cells);
            g[isa] = malloc(sizeof(float) * (size_t)cells);
            CHECK_OK(ek_softmax_forward_f32(rows, cols, x, y[isa]));
            CHECK_OK(ek_log_softmax_forward_f32(rows, cols, x, ly[isa]));
            CHECK_OK(ek_cross_entropy_f32_i64(rows, cols, x, t, -100, 0.0f, EK_REDUCTION_NONE, loss[isa], g[isa]));
            for (int64_t c = 0; c < cols; c++) CHECK(isnan(y[isa][4 * cols + c]) && isnan(g[isa][4 * cols + c]));
            CHECK(isnan(loss[isa][4]));
            if (isa == EK_ISA_SCALAR) continue;
            if (!CHECK_CLOSE(y[isa], y[0], cells, 4 * denormal_unit, 4e-6) ||
                !CHECK_CLOSE(g[isa], g[0], cells, 4 * denormal_unit, 4e-6) ||
                !CHECK_CLOSE(ly[isa], ly[0], cells, 1e-5, 1e-6) || !CHECK_CLOSE(loss[isa], loss[0], rows, 1e-5, 1e-6))
                CHECK_MSG(0, "softmax far below the max: isa=%s cols=%lld", ek_isa_name((ek_isa)isa), (long long)cols);
        }
        for (int isa = 0; isa < 3; isa++) free(y[isa]), free(ly[isa]), free(g[isa]);
        free(x), free(t);
    }
    ek_set_isa(was);
}

/* ---- scatters and backward passes: bit-identical across ISAs and threads, close to the reference;
 * the large case (> 16 MiB of sparse gradient) takes the non-temporal-store path ---- */

static void scatter_case(ek_rng *rng, int64_t num, int64_t dim, int64_t B, int64_t L) {
    int64_t n = B * L;
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)n), *off = malloc(sizeof(int64_t) * (size_t)(B + 1));
    float *g = malloc(sizeof(float) * (size_t)(B * dim)), *w0 = malloc(sizeof(float) * (size_t)(num * dim));
    for (int64_t i = 0; i < n; i++) idx[i] = ek_rng_int(rng, 0, num - 1);
    for (int64_t b = 0; b <= B; b++) off[b] = b * L;
    for (int64_t i = 0; i < B * dim; i++) g[i] = ek_rng_float(rng, -1, 1);
    for (int64_t i = 0; i < num * dim; i++) w0[i] = ek_rng_float(rng, -1, 1);
    size_t vbytes = sizeof(float) * (size_t)(n * dim), tbytes = sizeof(float) * (size_t)(num * dim);
    float *vals_first = NULL, *table_first = NULL, *dense_first = NULL;
    int64_t *rows_first = NULL, nnz_first = 0;
    ek_isa was = ek_get_isa();
    int32_t threads_was = ek_get_num_threads();
    for (int isa = EK_ISA_SCALAR; isa <= EK_ISA_AVX512; isa++) {
        if (!isa_supported(isa)) continue;
        ek_set_isa((ek_isa)isa);
        for (int threads = 1; threads <= 3; threads++) { /* 3: a team that does not divide the buckets evenly */
            ek_set_num_threads(threads);
            int64_t *rows = malloc(sizeof(int64_t) * (size_t)n), nnz = 0;
            float *vals = aligned_alloc(64, (vbytes + 63) / 64 * 64), *table = malloc(tbytes), *dense = calloc((size_t)(num * dim), sizeof(float));
            memcpy(table, w0, tbytes);
            CHECK_OK(pos_embedding_bag_backward_sparse_i64(num, dim, n, B, 0, idx, off, 0, NULL, EK_BAG_MEAN, EK_NO_PADDING,
                                                              0, NULL, g, rows, vals, &nnz));
            CHECK_OK(ek_coo_scatter_add_f32(num, dim, nnz, rows, vals, -0.3f, table));
            CHECK_OK(pos_embedding_backward_dense_i64(num, dim, n, idx, vals, EK_NO_PADDING, 0, dense));
            if (!vals_first) {
                vals_first = vals, table_first = table, dense_first = dense, rows_first = rows, nnz_first = nnz;
                /* the first (scalar, 1 thread) against the reference kernels */
                float *ref_vals = malloc(vbytes), *ref_table = malloc(tbytes), *ref_dense = calloc((size_t)(num * dim), sizeof(float));
                int64_t *ref_rows = malloc(sizeof(int64_t) * (size_t)n);
                int64_t ref_nnz = ekref_bag_backward_sparse(num, dim, n, B, idx, off, NULL, EK_BAG_MEAN, -1, 0, NULL, g,
                                                            ref_rows, ref_vals);
                CHECK_EQ_I64(ref_nnz, nnz);
                CHECK_CLOSE(vals, ref_vals, nnz * dim, 1e-6, 1e-5);
                memcpy(ref_table, w0, tbytes);
                ekref_coo_scatter_add(num, dim, nnz, rows, vals, -0.3f, ref_table);
                CHECK_CLOSE(table, ref_table, num * dim, 1e-6, 1e-5);
                ekref_embedding_backward_dense(num, dim, n, idx, vals, -1, 0, ref_dense);
                CHECK_CLOSE(dense, ref_dense, num * dim, 1e-5, 1e-5);
                free(ref_vals), free(ref_table), free(ref_dense), free(ref_rows);
                continue;
            }
            CHECK_EQ_I64(nnz, nnz_first);
            if (!CHECK(same_floats(vals, vals_first, (size_t)(nnz * dim))) || !CHECK_SAME_BYTES(rows, rows_first, sizeof(int64_t) * (size_t)nnz) ||
                !CHECK(same_floats(table, table_first, (size_t)(num * dim))) || !CHECK(same_floats(dense, dense_first, (size_t)(num * dim))))
                CHECK_MSG(0, "scatters isa=%s threads=%d num=%lld dim=%lld n=%lld", ek_isa_name((ek_isa)isa), threads,
                          (long long)num, (long long)dim, (long long)n);
            free(rows), free(vals), free(table), free(dense);
        }
    }
    ek_set_isa(was);
    ek_set_num_threads(threads_was);
    free(vals_first), free(table_first), free(dense_first), free(rows_first);
    free(idx), free(off), free(g), free(w0);
}

TEST(isa_scatters_are_bit_identical_across_isas_and_threads) {
    ek_rng rng = {47};
    scatter_case(&rng, 300, 7, 50, 9);
    scatter_case(&rng, 5000, 33, 400, 20);
    scatter_case(&rng, 20000, 64, 2048, 40); /* 21 MB of sparse gradient: non-temporal stores */
}

/* ---- the optimizer row updates: every ISA gives the scalar rows' bits (dims with and without a
 * vector tail; zeros, tiny, huge and non-finite gradients and weights) ---- */

static void optimizer_case(int kind, int64_t num, int64_t dim, int64_t nnz, const int64_t *rows, const float *g,
                           float *w, float *a, float *b) {
    switch (kind) {
    case 0: CHECK_OK(ek_sgd_update_f32(num, dim, nnz, rows, g, 0.1f, 0.0f, 0.0f, 0.0f, 0, w, NULL)); break;
    case 1: CHECK_OK(ek_sgd_update_f32(num, dim, nnz, rows, g, 0.1f, 0.9f, 0.1f, 0.01f, 0, w, a)); break;
    case 2: CHECK_OK(ek_sgd_update_f32(num, dim, nnz, rows, g, 0.1f, 0.5f, 0.0f, 0.0f, 1, w, a)); break;
    case 3: CHECK_OK(ek_adagrad_update_f32(num, dim, nnz, rows, g, 0.1f, 1e-10f, 0.0f, w, a)); break;
    case 4: CHECK_OK(ek_adagrad_update_f32(num, dim, nnz, rows, g, 0.3f, 1e-6f, 0.02f, w, a)); break;
    case 5: CHECK_OK(ek_rowwise_adagrad_update_f32(num, dim, nnz, rows, g, 0.1f, 1e-8f, 0.02f, w, a)); break;
    case 6: CHECK_OK(ek_adam_update_f32(num, dim, nnz, rows, g, 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 3, w, a, b)); break;
    default: CHECK_OK(ek_adam_update_f32(num, dim, nnz, rows, g, 0.01f, 0.8f, 0.99f, 1e-6f, 0.1f, 1, w, a, b)); break;
    }
}

TEST(isa_optimizer_rows_are_bit_identical_across_isas) {
    ek_rng rng = {41};
    ek_isa was = ek_get_isa();
    const float specials[] = {0.0f, -0.0f, 1e-40f, -3e-39f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN, 1.0f};
    int compared = 0;
    for (int64_t dim = 1; dim <= 40; dim += (dim < 18 ? 1 : 7)) {
        const int64_t num = 9;
        int64_t rows[] = {0, 2, 3, 7, 8}, nnz = 5;
        float *g = malloc(sizeof(float) * (size_t)(nnz * dim)), *w0 = malloc(sizeof(float) * (size_t)(num * dim));
        float *a0 = malloc(sizeof(float) * (size_t)(num * dim)), *b0 = malloc(sizeof(float) * (size_t)(num * dim));
        for (int64_t i = 0; i < nnz * dim; i++)
            g[i] = ek_rng_int(&rng, 0, 9) == 0 ? specials[ek_rng_int(&rng, 0, 9)] : ek_rng_float(&rng, -2, 2);
        for (int64_t i = 0; i < num * dim; i++) {
            w0[i] = ek_rng_int(&rng, 0, 19) == 0 ? specials[ek_rng_int(&rng, 0, 9)] : ek_rng_float(&rng, -1, 1);
            a0[i] = ek_rng_float(&rng, 0, 0.5f), b0[i] = ek_rng_float(&rng, 0, 0.5f);
        }
        size_t bytes = sizeof(float) * (size_t)(num * dim);
        float *w[3], *a[3], *b[3];
        for (int kind = 0; kind < 8; kind++) {
            for (int isa = EK_ISA_SCALAR; isa <= EK_ISA_AVX512; isa++) {
                w[isa] = malloc(bytes), a[isa] = malloc(bytes), b[isa] = malloc(bytes);
                memcpy(w[isa], w0, bytes), memcpy(a[isa], a0, bytes), memcpy(b[isa], b0, bytes);
                if (!isa_supported(isa)) continue;
                ek_set_isa((ek_isa)isa);
                optimizer_case(kind, num, dim, nnz, rows, g, w[isa], a[isa], b[isa]);
                if (isa == EK_ISA_SCALAR) continue;
                int same = same_floats(w[isa], w[0], (size_t)(num * dim)) && same_floats(a[isa], a[0], (size_t)(num * dim)) &&
                           same_floats(b[isa], b[0], (size_t)(num * dim));
                CHECK_MSG(same, "optimizer case %d, dim %lld: %s differs from scalar", kind, (long long)dim,
                          ek_isa_name((ek_isa)isa));
                compared++;
            }
            for (int isa = EK_ISA_SCALAR; isa <= EK_ISA_AVX512; isa++) free(w[isa]), free(a[isa]), free(b[isa]);
        }
        free(g), free(w0), free(a0), free(b0);
    }
    ek_set_isa(was);
    CHECK(compared > 0 || !isa_supported(EK_ISA_AVX2));
}
