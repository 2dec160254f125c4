/* test_elementwise.c — ek_binary_f32, ek_unary_f32, ek_i64_to_f32, ek_zero_masked_rows_f32 against
 * naive loops (bit for bit), for random broadcast layouts, 1 and 2 threads; the errors. */
#include <math.h>
#include <stdlib.h>

#include "tensor_ref.h"

static float ref_binary(ek_binary_op op, float x, float z, float p) {
    switch (op) {
    case EK_BINARY_ADD: return x + z;
    case EK_BINARY_SUB: return x - z;
    case EK_BINARY_MUL: return x * z;
    case EK_BINARY_DIV: return x / z;
    case EK_BINARY_NEG_DIV_SQ: return -x / (z * z);
    case EK_BINARY_DIV_TWICE: return x / (2.0f * z);
    case EK_BINARY_POW_GRAD: return x * p * (float)pow((double)z, (double)(p - 1.0f));
    case EK_BINARY_SIGN_MUL: return z < 0.0f ? -x : (z > 0.0f ? x : 0.0f);
    case EK_BINARY_EQ: return x == z ? 1.0f : 0.0f;
    case EK_BINARY_LT: return x < z ? 1.0f : 0.0f;
    case EK_BINARY_GT: return x > z ? 1.0f : 0.0f;
    }
    return NAN;
}

TEST(binary_broadcast_matches_naive_loop) {
    ek_rng rng = {15};
    for (int trial = 0; trial < 300; trial++) {
        int rank = (int)ek_rng_int(&rng, 0, 4);
        int64_t shape[4];
        int keep_a[4], keep_b[4];
        int big = trial % 10 == 0; /* past the parallel threshold */
        for (int d = 0; d < rank; d++) {
            shape[d] = ek_rng_int(&rng, 0, 9) == 0 ? 0 : ek_rng_int(&rng, 1, big ? 60 : 7);
            keep_a[d] = ek_rng_int(&rng, 0, 3) != 0;
            keep_b[d] = ek_rng_int(&rng, 0, 3) != 0;
        }
        if (trial % 7 == 0) for (int d = 0; d < rank; d++) keep_b[d] = 0; /* a scalar */
        if (trial % 7 == 1) for (int d = 0; d < rank; d++) keep_a[d] = keep_b[d] = 1; /* same shape */
        int64_t sa[4], sb[4], so[4], shape_a[4], shape_b[4];
        for (int d = 0; d < rank; d++) shape_a[d] = keep_a[d] ? shape[d] : 1, shape_b[d] = keep_b[d] ? shape[d] : 1;
        tref_strides(rank, shape, keep_a, sa);
        tref_strides(rank, shape, keep_b, sb);
        tref_strides(rank, shape, NULL, so);
        int64_t n = tref_count(rank, shape), na = tref_count(rank, shape_a), nb = tref_count(rank, shape_b);
        float *a = tref_random(&rng, na), *b = tref_random(&rng, nb);
        if (trial % 3 == 0 && nb > 0) b[0] = a[0]; /* equal elements for the comparisons */
        float *want = malloc(sizeof(float) * (size_t)(n + 1)), *got = malloc(sizeof(float) * (size_t)(n + 1));
        ek_binary_op op = (ek_binary_op)(trial % 11);
        float p = ek_rng_float(&rng, 0.5f, 3.0f);
        for (int64_t i = 0; i < n; i++)
            want[i] = ref_binary(op, a[tref_offset(rank, shape, sa, i)], b[tref_offset(rank, shape, sb, i)], p);
        for (int threads = 1; threads <= 2; threads++) {
            ek_set_num_threads(threads);
            memset(got, 0xff, sizeof(float) * (size_t)(n + 1));
            CHECK_OK(ek_binary_f32(op, rank, shape, a, na, sa, b, nb, sb, p, got, n, so));
            CHECK_MSG(memcmp(got, want, sizeof(float) * (size_t)n) == 0, "trial %d op %d threads %d differs", trial,
                      (int)op, threads);
        }
        free(a), free(b), free(want), free(got);
    }
    ek_set_num_threads(1);
}

/* In place (out = a, contiguous) over random broadcast layouts of b: the runs of rows a thread takes
 * (a bias row into every row, a column, a full operand, a scalar), cut at sizes that leave partial
 * runs and planes, equal the naive loop bit for bit at 1 and 2 threads. */
TEST(binary_in_place_runs_match_naive_loop) {
    ek_rng rng = {27};
    for (int trial = 0; trial < 120; trial++) {
        int rank = (int)ek_rng_int(&rng, 1, 4);
        int64_t shape[4], shape_b[4], sa[4], sb[4];
        int keep_b[4];
        for (int d = 0; d < rank; d++) {
            int inner2 = d >= rank - 2, big = trial % 4 == 0; /* big: past the parallel threshold */
            shape[d] = ek_rng_int(&rng, 1, !inner2 ? 6 : big ? 300 : 40); /* at most 6 * 6 * 300 * 300 */
            keep_b[d] = ek_rng_int(&rng, 0, 2) != 0;
        }
        if (trial % 5 == 0) for (int d = 0; d < rank; d++) keep_b[d] = d == rank - 1; /* a bias row */
        for (int d = 0; d < rank; d++) shape_b[d] = keep_b[d] ? shape[d] : 1;
        tref_strides(rank, shape, NULL, sa);
        tref_strides(rank, shape, keep_b, sb);
        int64_t n = tref_count(rank, shape), nb = tref_count(rank, shape_b);
        float *a = tref_random(&rng, n), *b = tref_random(&rng, nb), *y = malloc(sizeof(float) * (size_t)n),
              *want = malloc(sizeof(float) * (size_t)n);
        ek_binary_op op = (ek_binary_op)(trial % 11);
        float p = ek_rng_float(&rng, 0.5f, 3.0f);
        for (int64_t i = 0; i < n; i++) want[i] = ref_binary(op, a[i], b[tref_offset(rank, shape, sb, i)], p);
        for (int threads = 1; threads <= 2; threads++) {
            ek_set_num_threads(threads);
            memcpy(y, a, sizeof(float) * (size_t)n);
            CHECK_OK(ek_binary_f32(op, rank, shape, y, n, sa, b, nb, sb, p, y, n, sa));
            CHECK_MSG(memcmp(y, want, sizeof(float) * (size_t)n) == 0, "trial %d op %d threads %d differs", trial,
                      (int)op, threads);
        }
        free(a), free(b), free(y), free(want);
    }
    ek_set_num_threads(1);
}

TEST(binary_in_place_and_strided_out) {
    /* y[r, :] += bias, in place: a = out */
    int64_t shape[2] = {300, 130}, sy[2] = {130, 1}, sbias[2] = {0, 1};
    ek_rng rng = {3};
    float *y = tref_random(&rng, 300 * 130), *bias = tref_random(&rng, 130), *want = malloc(sizeof(float) * 300 * 130);
    for (int64_t i = 0; i < 300 * 130; i++) want[i] = y[i] + bias[i % 130];
    ek_set_num_threads(2);
    CHECK_OK(ek_binary_f32(EK_BINARY_ADD, 2, shape, y, 300 * 130, sy, bias, 130, sbias, 0, y, 300 * 130, sy));
    CHECK_SAME_BYTES(y, want, sizeof(float) * 300 * 130);
    /* a transposed output: out[j, i] = a[i, j] * 2 */
    int64_t s2[2] = {3, 1}, st[2] = {1, 2}, sc[2] = {0, 0};
    float a[6] = {1, 2, 3, 4, 5, 6}, two = 2, out[6];
    int64_t sh[2] = {2, 3};
    CHECK_OK(ek_binary_f32(EK_BINARY_MUL, 2, sh, a, 6, s2, &two, 1, sc, 0, out, 6, st));
    float expect[6] = {2, 8, 4, 10, 6, 12};
    CHECK_SAME_BYTES(out, expect, sizeof out);
    ek_set_num_threads(1);
    free(y), free(bias), free(want);
}

TEST(binary_errors_name_argument_and_write_nothing) {
    float a[4] = {1, 2, 3, 4}, b[2] = {1, 2}, out[4] = {9, 9, 9, 9};
    int64_t shape[2] = {2, 2}, s[2] = {2, 1}, sb[2] = {0, 1}, bad[2] = {3, 1}, twice[2] = {0, 1}, neg[2] = {-1, 1};
    const float nines[4] = {9, 9, 9, 9};
    CHECK_ERROR(ek_binary_f32((ek_binary_op)99, 2, shape, a, 4, s, b, 2, sb, 0, out, 4, s), EK_ERR_INVALID_ARGUMENT, "op=99");
    CHECK_ERROR(ek_binary_f32(EK_BINARY_ADD, 17, shape, a, 4, s, b, 2, sb, 0, out, 4, s), EK_ERR_INVALID_ARGUMENT, "rank=17");
    int64_t negshape[2] = {2, -1};
    CHECK_ERROR(ek_binary_f32(EK_BINARY_ADD, 2, negshape, a, 4, s, b, 2, sb, 0, out, 4, s), EK_ERR_INVALID_ARGUMENT, "shape[1]=-1");
    CHECK_ERROR(ek_binary_f32(EK_BINARY_ADD, 2, shape, a, 4, bad, b, 2, sb, 0, out, 4, s), EK_ERR_INDEX_OUT_OF_RANGE,
                "a's strides[1]=1 reach past its 4 elements");
    CHECK_ERROR(ek_binary_f32(EK_BINARY_ADD, 2, shape, a, 4, s, b, 1, sb, 0, out, 4, s), EK_ERR_INDEX_OUT_OF_RANGE, "b's strides[1]=1");
    CHECK_ERROR(ek_binary_f32(EK_BINARY_ADD, 2, shape, a, 4, s, b, 2, neg, 0, out, 4, s), EK_ERR_INVALID_ARGUMENT, "b's strides[0]=-1");
    CHECK_ERROR(ek_binary_f32(EK_BINARY_ADD, 2, shape, a, 4, s, b, 2, sb, 0, out, 4, twice), EK_ERR_INVALID_ARGUMENT,
                "out's strides[0]=0 write some elements twice");
    CHECK_ERROR(ek_binary_f32(EK_BINARY_ADD, 2, shape, a, 4, s, NULL, 2, sb, 0, out, 4, s), EK_ERR_NULL_POINTER, "b is NULL");
    int64_t st[2] = {1, 2};
    CHECK_ERROR(ek_binary_f32(EK_BINARY_ADD, 2, shape, out, 4, s, b, 2, sb, 0, out, 4, st), EK_ERR_INVALID_ARGUMENT, "out is a");
    CHECK_SAME_BYTES(out, nines, sizeof out);
    /* empty: nothing read, nothing written, NULL allowed */
    int64_t empty[2] = {0, 3};
    CHECK_OK(ek_binary_f32(EK_BINARY_ADD, 2, empty, NULL, 0, s, NULL, 0, sb, 0, NULL, 0, s));
}

TEST(unary_and_conversions_match_naive_loops) {
    ek_rng rng = {7};
    int64_t n = 70000;
    float *x = tref_random(&rng, n), *y = malloc(sizeof(float) * (size_t)n);
    x[0] = 0.0f, x[1] = -0.0f, x[2] = NAN, x[3] = -INFINITY;
    for (int op = 0; op <= EK_UNARY_FILL_NONZERO; op++)
        for (int threads = 1; threads <= 2; threads++) {
            ek_set_num_threads(threads);
            CHECK_OK(ek_unary_f32((ek_unary_op)op, n, x, 1.5f, y));
            for (int64_t i = 0; i < n; i++) {
                float v = x[i], w = op == 0 ? -v : op == 1 ? fabsf(v) : op == 2 ? sqrtf(v)
                                    : op == 3 ? (float)pow((double)v, 1.5) : (v != 0.0f ? 1.5f : 0.0f);
                if (memcmp(&w, &y[i], sizeof w) != 0) {
                    CHECK_MSG(0, "op %d element %lld: %g vs %g", op, (long long)i, y[i], w);
                    break;
                }
            }
        }
    CHECK_ERROR(ek_unary_f32((ek_unary_op)9, n, x, 0, y), EK_ERR_INVALID_ARGUMENT, "op=9");
    CHECK_ERROR(ek_unary_f32(EK_UNARY_NEG, -1, x, 0, y), EK_ERR_INVALID_ARGUMENT, "n=-1");
    int64_t ints[5] = {0, -3, 16777217, INT64_MAX, INT64_MIN};
    float f[5];
    CHECK_OK(ek_i64_to_f32(5, ints, f));
    for (int i = 0; i < 5; i++) CHECK(f[i] == (float)ints[i]);
    CHECK_ERROR(ek_i64_to_f32(5, NULL, f), EK_ERR_NULL_POINTER, "x is NULL");
    ek_set_num_threads(1);
    free(x), free(y);
}

TEST(zero_masked_rows) {
    float x[6] = {-INFINITY, -INFINITY, -INFINITY, 1, -INFINITY, 2}, y[6] = {5, 5, 5, 5, 5, 5};
    CHECK_OK(ek_zero_masked_rows_f32(3, 2, x, y));
    float want[6] = {0, 0, 5, 5, 5, 5};
    CHECK_SAME_BYTES(y, want, sizeof y);
    CHECK_ERROR(ek_zero_masked_rows_f32(-1, 2, x, y), EK_ERR_INVALID_ARGUMENT, "rows=-1");
}
