/* ek_matmul_f32's block grid (blas.c): row blocks, column blocks and both at once, with either operand
 * transposed, bit-identical at 1 and 2 threads and equal to a plain product in double. */
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"

/* C = alpha op(A) op(B) + beta C0, in double. */
static void matmul_ref(int64_t m, int64_t n, int64_t k, const float *a, int ta, const float *b, int tb, float alpha,
                       float beta, const float *c0, double *out) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t t = 0; t < k; t++)
                s += (double)(ta ? a[t * m + i] : a[i * k + t]) * (double)(tb ? b[j * k + t] : b[t * n + j]);
            out[i * n + j] = alpha * s + (double)beta * c0[i * n + j];
        }
}

static float *random_floats(ek_rng *rng, int64_t n) {
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = ek_rng_float(rng, -1, 1);
    return x;
}

static void matmul_case(ek_rng *rng, int64_t m, int64_t n, int64_t k, int ta, int tb, float alpha, float beta) {
    float *a = random_floats(rng, m * k), *b = random_floats(rng, k * n), *c0 = random_floats(rng, m * n);
    float *c[2];
    double *want = malloc(sizeof(double) * (size_t)(m * n));
    matmul_ref(m, n, k, a, ta, b, tb, alpha, beta, c0, want);
    for (int threads = 1; threads <= 2; threads++) {
        float *out = c[threads - 1] = malloc(sizeof(float) * (size_t)(m * n));
        memcpy(out, c0, sizeof(float) * (size_t)(m * n));
        CHECK_OK(ek_set_num_threads(threads));
        CHECK_OK(ek_matmul_f32(m, n, k, a, ta, b, tb, alpha, beta, out));
        int64_t bad = 0;
        for (int64_t i = 0; i < m * n; i++) bad += !(fabs(out[i] - want[i]) <= 1e-5 * sqrt((double)k) * (1 + fabs(want[i])));
        CHECK_MSG(bad == 0, "%lldx%lldx%lld ta=%d tb=%d threads=%d: %lld of %lld elements off the double product",
                  (long long)m, (long long)n, (long long)k, ta, tb, threads, (long long)bad, (long long)(m * n));
    }
    CHECK_MSG(memcmp(c[0], c[1], sizeof(float) * (size_t)(m * n)) == 0, "%lldx%lldx%lld ta=%d tb=%d: 1 and 2 threads differ",
              (long long)m, (long long)n, (long long)k, ta, tb);
    free(a), free(b), free(c0), free(c[0]), free(c[1]), free(want);
}

TEST(matmul_blocks_bit_identical_across_threads) {
    ek_rng rng = {41};
    int32_t saved = ek_get_num_threads();
    /* W9's three products: two row blocks each (the last with 100 rows: 50 + 50) */
    matmul_case(&rng, 256, 100, 64, 0, 1, 1, 0);
    matmul_case(&rng, 256, 64, 100, 0, 0, 1, 0);
    matmul_case(&rng, 100, 64, 256, 1, 0, 1, 0);
    /* few rows: column blocks (4 of 128; 2 of 144 + 156 with B transposed) */
    matmul_case(&rng, 8, 512, 512, 0, 0, 1, 0);
    matmul_case(&rng, 4, 300, 1000, 1, 1, 0.5f, 2);
    /* 2 row blocks x 4 column blocks */
    matmul_case(&rng, 64, 256, 256, 1, 0, 1, 1);
    /* taller than 256 rows: three blocks of at most 256 rows */
    matmul_case(&rng, 700, 40, 50, 1, 0, -1, 0.25f);
    /* too small to split */
    matmul_case(&rng, 33, 17, 9, 0, 1, 1, 0);
    CHECK_OK(ek_set_num_threads(saved));
}
