/* test_reduce.c — ek_sum_dim_f32, ek_sum_to_f32, ek_max_dim_f32 and its backward, ek_norm_f32 against sequential
 * loops, bit for bit, 1 and 2 threads; the errors. */
#include <math.h>
#include <stdlib.h>

#include "tensor_ref.h"

TEST(sum_dim_is_the_sequential_sum) {
    ek_rng rng = {21};
    int64_t cases[][3] = {{1, 100000, 1}, {1, 2000, 64}, {37, 50, 300}, {1000, 40, 1}, {3, 0, 4}, {0, 5, 5}, {2, 3, 0},
                          {5, 1, 1}, {1, 1, 70000}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t outer = cases[c][0], n = cases[c][1], inner = cases[c][2];
        float *x = tref_random(&rng, outer * n * inner), *want = calloc((size_t)(outer * inner + 1), sizeof(float)),
              *got = malloc(sizeof(float) * (size_t)(outer * inner + 1));
        if (outer * n * inner > 0) x[0] = -0.0f;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t k = 0; k < n; k++)
                for (int64_t i = 0; i < inner; i++) want[o * inner + i] += x[(o * n + k) * inner + i];
        for (int threads = 1; threads <= 2; threads++) {
            ek_set_num_threads(threads);
            CHECK_OK(ek_sum_dim_f32(outer, n, inner, x, got));
            CHECK_MSG(memcmp(got, want, sizeof(float) * (size_t)(outer * inner)) == 0, "case %zu threads %d", c, threads);
        }
        free(x), free(want), free(got);
    }
    float x = 1, y;
    CHECK_ERROR(ek_sum_dim_f32(-1, 1, 1, &x, &y), EK_ERR_INVALID_ARGUMENT, "outer=-1");
    CHECK_ERROR(ek_sum_dim_f32(1, 1, 1, &x, NULL), EK_ERR_NULL_POINTER, "y is NULL");
    CHECK_ERROR(ek_sum_dim_f32(INT64_MAX, 2, 1, &x, &y), EK_ERR_OVERFLOW, "overflows");
    ek_set_num_threads(1);
}

TEST(sum_to_undoes_broadcast_like_the_sequential_loop) {
    ek_rng rng = {22};
    for (int trial = 0; trial < 300; trial++) {
        int rank = (int)ek_rng_int(&rng, 0, 4), keep[4];
        int64_t shape[4], target[4], ys[4];
        int big = trial % 10 == 0;
        for (int d = 0; d < rank; d++) {
            shape[d] = ek_rng_int(&rng, 0, 12) == 0 ? 0 : ek_rng_int(&rng, 1, big ? 50 : 6);
            keep[d] = ek_rng_int(&rng, 0, 2) != 0;
            target[d] = keep[d] ? shape[d] : 1;
        }
        tref_strides(rank, shape, keep, ys);
        int64_t n = tref_count(rank, shape), m = tref_count(rank, target);
        float *x = tref_random(&rng, n), *want = calloc((size_t)(m + 1), sizeof(float)),
              *got = malloc(sizeof(float) * (size_t)(m + 1));
        for (int64_t i = 0; i < n; i++) want[tref_offset(rank, shape, ys, i)] += x[i];
        for (int threads = 1; threads <= 2; threads++) {
            ek_set_num_threads(threads);
            memset(got, 0xff, sizeof(float) * (size_t)(m + 1));
            CHECK_OK(ek_sum_to_f32(rank, shape, x, got, m, ys));
            CHECK_MSG(n == 0 || memcmp(got, want, sizeof(float) * (size_t)m) == 0, "trial %d threads %d", trial, threads);
        }
        free(x), free(want), free(got);
    }
    int64_t shape[2] = {2, 2}, ys[2] = {1, 1};
    float x[4] = {0}, y[4] = {7, 7, 7, 7};
    CHECK_ERROR(ek_sum_to_f32(2, shape, x, y, 4, ys), EK_ERR_INVALID_ARGUMENT, "y's strides[1]=1 write some elements twice");
    int64_t far[2] = {4, 1};
    CHECK_ERROR(ek_sum_to_f32(2, shape, x, y, 4, far), EK_ERR_INDEX_OUT_OF_RANGE, "y's strides[0]=4");
    CHECK(y[0] == 7 && y[3] == 7);
    ek_set_num_threads(1);
}

TEST(max_dim_and_backward) {
    ek_rng rng = {23};
    int64_t cases[][3] = {{1, 5000, 1}, {7, 9, 300}, {200, 3, 70}, {1, 1, 1}, {0, 3, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t outer = cases[c][0], n = cases[c][1], inner = cases[c][2], kept = outer * inner, total = kept * n;
        float *x = tref_random(&rng, total);
        for (int64_t i = 0; i < total; i += 7) x[i] = x[i / 2]; /* ties */
        if (total > 20) x[13] = NAN, x[17] = NAN;
        float *vals = malloc(sizeof(float) * (size_t)(kept + 1)), *want = malloc(sizeof(float) * (size_t)(kept + 1));
        int64_t *at = malloc(sizeof(int64_t) * (size_t)(kept + 1)), *want_at = malloc(sizeof(int64_t) * (size_t)(kept + 1));
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                float m = x[o * n * inner + i];
                int64_t k0 = 0;
                for (int64_t k = 1; k < n; k++) {
                    float v = x[(o * n + k) * inner + i];
                    if (v > m || (isnan(v) && !isnan(m))) m = v, k0 = k;
                }
                want[o * inner + i] = m, want_at[o * inner + i] = k0;
            }
        float *g = tref_random(&rng, kept), *gx = malloc(sizeof(float) * (size_t)(total + 1)),
              *want_gx = calloc((size_t)(total + 1), sizeof(float));
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) want_gx[(o * n + want_at[o * inner + i]) * inner + i] = g[o * inner + i];
        for (int threads = 1; threads <= 2; threads++) {
            ek_set_num_threads(threads);
            CHECK_OK(ek_max_dim_f32(outer, n, inner, x, vals, at));
            CHECK_MSG(memcmp(vals, want, sizeof(float) * (size_t)kept) == 0, "values, case %zu", c);
            CHECK_MSG(memcmp(at, want_at, sizeof(int64_t) * (size_t)kept) == 0, "indices, case %zu", c);
            memset(gx, 0xff, sizeof(float) * (size_t)(total + 1));
            CHECK_OK(ek_max_dim_backward_f32(outer, n, inner, want_at, g, gx));
            CHECK_MSG(memcmp(gx, want_gx, sizeof(float) * (size_t)total) == 0, "backward, case %zu", c);
        }
        free(x), free(vals), free(want), free(at), free(want_at), free(g), free(gx), free(want_gx);
    }
    float x[2] = {1, 2}, v, gx[2] = {5, 5}, g = 1;
    int64_t i, bad = 2;
    CHECK_ERROR(ek_max_dim_f32(1, 0, 1, x, &v, &i), EK_ERR_SHAPE, "n=0");
    CHECK_ERROR(ek_max_dim_backward_f32(1, 2, 1, &bad, &g, gx), EK_ERR_INDEX_OUT_OF_RANGE, "index 2 at position 0");
    CHECK(gx[0] == 5 && gx[1] == 5);
    ek_set_num_threads(1);
}

TEST(norm_is_the_sequential_double_loop) {
    ek_rng rng = {23};
    int64_t sizes[] = {0, 1, 7, 1000, 100000};
    float ps[] = {1, 2, 3, 0.5f, 2.5f, INFINITY};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        int64_t n = sizes[c];
        float *x = tref_random(&rng, n);
        if (n > 1) x[0] = -0.0f, x[1] = -7.5f;
        for (size_t q = 0; q < sizeof ps / sizeof ps[0]; q++) {
            double want = 1.25, got = 1.25; /* a running value continues */
            for (int64_t i = 0; i < n; i++)
                want = isinf(ps[q]) ? fmax(want, fabs((double)x[i])) : want + pow(fabs((double)x[i]), (double)ps[q]);
            CHECK_OK(ek_norm_f32(n, x, ps[q], &got));
            CHECK_MSG(memcmp(&got, &want, sizeof want) == 0, "n %lld p %g: %.17g vs %.17g", (long long)n, (double)ps[q],
                      got, want);
        }
        free(x);
    }
    float x[4] = {1, NAN, INFINITY, -2};
    for (int inf = 0; inf < 2; inf++) {
        double acc = 0;
        CHECK_OK(ek_norm_f32(4, x, inf ? INFINITY : 2, &acc));
        CHECK(isnan(acc)); /* NaN propagates, after an infinite element too */
        acc = 0;
        CHECK_OK(ek_norm_f32(1, x + 2, inf ? INFINITY : 2, &acc));
        CHECK(isinf(acc) && acc > 0);
        acc = NAN;
        CHECK_OK(ek_norm_f32(1, x, inf ? INFINITY : 2, &acc));
        CHECK(isnan(acc));
    }
    double acc = 0;
    CHECK_ERROR(ek_norm_f32(1, x, 0, &acc), EK_ERR_INVALID_ARGUMENT, "p=0");
    CHECK_ERROR(ek_norm_f32(1, x, NAN, &acc), EK_ERR_INVALID_ARGUMENT, "must be positive");
    CHECK_ERROR(ek_norm_f32(1, x, 2, NULL), EK_ERR_NULL_POINTER, "acc");
    CHECK_ERROR(ek_norm_f32(-1, x, 2, &acc), EK_ERR_INVALID_ARGUMENT, "n=-1");
    CHECK(acc == 0);
}
