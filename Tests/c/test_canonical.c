/* PyTorch's canonical cases, with expected values worked out by hand from PyTorch's semantics
 * (W = arange(1, 11).view(5, 2): row r is (2r + 1, 2r + 2)), and the seeds' examples. */
#include <math.h>

#include "ek_test.h"

static const float W[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const int64_t INPUT[6] = {3, 1, 1, 1, 4, 0};
static const int64_t OFFSETS[5] = {0, 0, 3, 3, 6}; /* bags: [], [3,1,1], [], [1,4,0], [] */
/* grad_out row b = (b + 1, 10 (b + 1)) so every bag's contribution is recognisable. */
static const float GRAD_OUT[10] = {1, 10, 2, 20, 3, 30, 4, 40, 5, 50};

static void bag(ek_bag_mode mode, int64_t padding_idx, const float *psw, float *out, int64_t *size, int64_t *argmax) {
    CHECK_OK(pos_embedding_bag_forward_i64(5, 2, 6, 5, psw ? 6 : 0, W, INPUT, OFFSETS, 0, psw, mode, padding_idx,
                                              out, size, argmax));
}

TEST(canonical_bag_sum_mean_max_forward) {
    float out[10];
    int64_t size[5], argmax[10];
    bag(EK_BAG_SUM, EK_NO_PADDING, NULL, out, size, NULL);
    CHECK_CLOSE(out, ((float[]){0, 0, 13, 16, 0, 0, 13, 16, 0, 0}), 10, 0, 0);
    CHECK_SAME_BYTES(size, ((int64_t[]){0, 3, 0, 3, 0}), sizeof size);
    bag(EK_BAG_MEAN, EK_NO_PADDING, NULL, out, size, NULL);
    CHECK_CLOSE(out, ((float[]){0, 0, 13.f / 3, 16.f / 3, 0, 0, 13.f / 3, 16.f / 3, 0, 0}), 10, 1e-6, 0);
    bag(EK_BAG_MAX, EK_NO_PADDING, NULL, out, size, argmax);
    CHECK_CLOSE(out, ((float[]){0, 0, 7, 8, 0, 0, 9, 10, 0, 0}), 10, 0, 0);
    CHECK_SAME_BYTES(argmax, ((int64_t[]){-1, -1, 3, 3, -1, -1, 4, 4, -1, -1}), sizeof argmax);
}

TEST(canonical_bag_padding_and_weights) {
    float out[10];
    int64_t size[5];
    bag(EK_BAG_SUM, 1, NULL, out, size, NULL); /* row 1 skipped: bags [3], [4, 0] */
    CHECK_CLOSE(out, ((float[]){0, 0, 7, 8, 0, 0, 10, 12, 0, 0}), 10, 0, 0);
    CHECK_SAME_BYTES(size, ((int64_t[]){0, 1, 0, 2, 0}), sizeof size);
    bag(EK_BAG_MEAN, -4, NULL, out, size, NULL); /* -4 wraps to row 1 */
    CHECK_CLOSE(out, ((float[]){0, 0, 7, 8, 0, 0, 5, 6, 0, 0}), 10, 0, 0);
    const float psw[6] = {1, 2, 3, 4, 5, 6};
    bag(EK_BAG_SUM, EK_NO_PADDING, psw, out, size, NULL);
    CHECK_CLOSE(out, ((float[]){0, 0, 22, 28, 0, 0, 63, 78, 0, 0}), 10, 0, 0);
    /* weighted mean (EmbeddingKit): bag1 (22, 28) / 6, bag3 (63, 78) / 15 */
    bag(EK_BAG_MEAN, EK_NO_PADDING, psw, out, size, NULL);
    CHECK_CLOSE(out, ((float[]){0, 0, 22.f / 6, 28.f / 6, 0, 0, 63.f / 15, 78.f / 15, 0, 0}), 10, 1e-6, 0);
}

TEST(canonical_bag_gradients) {
    float grad[10] = {0};
    CHECK_OK(pos_embedding_bag_backward_dense_i64(5, 2, 6, 5, 0, INPUT, OFFSETS, 0, NULL, EK_BAG_SUM, EK_NO_PADDING, 0,
                                                     NULL, GRAD_OUT, grad));
    CHECK_CLOSE(grad, ((float[]){4, 40, 8, 80, 0, 0, 2, 20, 4, 40}), 10, 0, 0);

    memset(grad, 0, sizeof grad);
    CHECK_OK(pos_embedding_bag_backward_dense_i64(5, 2, 6, 5, 0, INPUT, OFFSETS, 0, NULL, EK_BAG_MEAN, EK_NO_PADDING,
                                                     0, NULL, GRAD_OUT, grad));
    CHECK_CLOSE(grad, ((float[]){4.f / 3, 40.f / 3, 8.f / 3, 80.f / 3, 0, 0, 2.f / 3, 20.f / 3, 4.f / 3, 40.f / 3}), 10,
                1e-5, 1e-6);

    int64_t argmax[10] = {-1, -1, 3, 3, -1, -1, 4, 4, -1, -1};
    memset(grad, 0, sizeof grad);
    CHECK_OK(pos_embedding_bag_backward_dense_i64(5, 2, 6, 5, 0, INPUT, OFFSETS, 0, NULL, EK_BAG_MAX, EK_NO_PADDING, 0,
                                                     argmax, GRAD_OUT, grad));
    CHECK_CLOSE(grad, ((float[]){0, 0, 0, 0, 0, 0, 2, 20, 4, 40}), 10, 0, 0);

    /* scale_grad_by_freq with the true per-index counts: row 1 occurs 3 times */
    memset(grad, 0, sizeof grad);
    CHECK_OK(pos_embedding_bag_backward_dense_i64(5, 2, 6, 5, 0, INPUT, OFFSETS, 0, NULL, EK_BAG_SUM, EK_NO_PADDING, 1,
                                                     NULL, GRAD_OUT, grad));
    CHECK_CLOSE(grad, ((float[]){4, 40, 8.f / 3, 80.f / 3, 0, 0, 2, 20, 4, 40}), 10, 1e-5, 1e-6);

    /* sparse, max mode: one entry per non-padding input, only the winners carry gradient */
    int64_t rows[6], nnz = -1;
    float values[12];
    CHECK_OK(pos_embedding_bag_backward_sparse_i64(5, 2, 6, 5, 0, INPUT, OFFSETS, 0, NULL, EK_BAG_MAX, EK_NO_PADDING,
                                                      0, argmax, GRAD_OUT, rows, values, &nnz));
    CHECK_EQ_I64(nnz, 6);
    CHECK_SAME_BYTES(rows, INPUT, sizeof rows);
    CHECK_CLOSE(values, ((float[]){2, 20, 0, 0, 0, 0, 0, 0, 4, 40, 0, 0}), 12, 0, 0);

    /* per-sample-weight gradient (sum): dot(grad_out[bag], W[row]) */
    const float psw[6] = {1, 2, 3, 4, 5, 6};
    float gw[6];
    CHECK_OK(pos_embedding_bag_per_sample_weights_backward_i64(5, 2, 6, 5, 6, W, INPUT, OFFSETS, 0, psw, EK_BAG_SUM,
                                                                  EK_NO_PADDING, GRAD_OUT, gw));
    CHECK_CLOSE(gw, ((float[]){174, 86, 86, 172, 436, 84}), 6, 0, 0);
}

TEST(canonical_bag_include_last_offset_and_fixed_length) {
    /* include_last_offset: offsets [0, 3, 6] are 2 bags (CSR) */
    const int64_t csr[3] = {0, 3, 6};
    float out[4];
    CHECK_OK(pos_embedding_bag_forward_i64(5, 2, 6, 2, 0, W, INPUT, csr, 1, NULL, EK_BAG_SUM, EK_NO_PADDING, out, NULL,
                                              NULL));
    CHECK_CLOSE(out, ((float[]){13, 16, 13, 16}), 4, 0, 0);
    /* 2-D input [[3, 1, 1], [1, 4, 0]]: fixed-length bags, no offsets */
    CHECK_OK(pos_embedding_bag_forward_i64(5, 2, 6, 2, 0, W, INPUT, NULL, 0, NULL, EK_BAG_SUM, EK_NO_PADDING, out, NULL,
                                              NULL));
    CHECK_CLOSE(out, ((float[]){13, 16, 13, 16}), 4, 0, 0);
    const int32_t input32[6] = {3, 1, 1, 1, 4, 0}, csr32[3] = {0, 3, 6};
    CHECK_OK(pos_embedding_bag_forward_i32(5, 2, 6, 2, 0, W, input32, csr32, 1, NULL, EK_BAG_MAX, EK_NO_PADDING, out,
                                              NULL, NULL));
    CHECK_CLOSE(out, ((float[]){7, 8, 9, 10}), 4, 0, 0);
}

TEST(bag_max_ties_and_nan) {
    /* rows 0 and 1 tie in column 0 (first wins); row 2 has a NaN in column 1 (NaN wins, as torch.max) */
    const float w[6] = {5, 1, 5, 2, 0, NAN};
    const int64_t idx[3] = {0, 1, 2}, off[1] = {0};
    float out[2];
    int64_t argmax[2];
    CHECK_OK(pos_embedding_bag_forward_i64(3, 2, 3, 1, 0, w, idx, off, 0, NULL, EK_BAG_MAX, EK_NO_PADDING, out, NULL,
                                              argmax));
    CHECK(out[0] == 5 && argmax[0] == 0);
    CHECK(isnan(out[1]) && argmax[1] == 2);
}

TEST(canonical_embedding_lookup_and_gradients) {
    const int64_t idx[4] = {3, 1, 1, 0};
    const float g[8] = {1, 1, 2, 2, 3, 3, 4, 4};
    float out[8], grad[10] = {0};
    CHECK_OK(pos_embedding_forward_i64(5, 2, 4, W, idx, out));
    CHECK_CLOSE(out, ((float[]){7, 8, 3, 4, 3, 4, 1, 2}), 8, 0, 0);
    CHECK_OK(pos_embedding_backward_dense_i64(5, 2, 4, idx, g, EK_NO_PADDING, 0, grad));
    CHECK_CLOSE(grad, ((float[]){4, 4, 5, 5, 0, 0, 1, 1, 0, 0}), 10, 0, 0);
    memset(grad, 0, sizeof grad);
    CHECK_OK(pos_embedding_backward_dense_i64(5, 2, 4, idx, g, 1, 0, grad)); /* padding row 1: no gradient */
    CHECK_CLOSE(grad, ((float[]){4, 4, 0, 0, 0, 0, 1, 1, 0, 0}), 10, 0, 0);
    memset(grad, 0, sizeof grad);
    CHECK_OK(pos_embedding_backward_dense_i64(5, 2, 4, idx, g, EK_NO_PADDING, 1, grad)); /* row 1 seen twice */
    CHECK_CLOSE(grad, ((float[]){4, 4, 2.5f, 2.5f, 0, 0, 1, 1, 0, 0}), 10, 0, 0);

    /* the sparse gradient: uncoalesced, input order, padding dropped (seed 000's print) */
    int64_t rows[4], nnz = -1;
    float values[8];
    CHECK_OK(pos_embedding_backward_sparse_i64(5, 2, 4, idx, g, 0, 0, rows, values, &nnz));
    CHECK_EQ_I64(nnz, 3);
    CHECK_SAME_BYTES(rows, ((int64_t[]){3, 1, 1}), 3 * sizeof(int64_t));
    CHECK_CLOSE(values, g, 6, 0, 0);
    /* ... and coalesced on demand */
    int64_t crows[3], cnnz = -1;
    float cvalues[6];
    CHECK_OK(ek_coo_coalesce_f32(5, 2, 3, rows, values, crows, cvalues, &cnnz));
    CHECK_EQ_I64(cnnz, 2);
    CHECK_SAME_BYTES(crows, ((int64_t[]){1, 3}), 2 * sizeof(int64_t));
    CHECK_CLOSE(cvalues, ((float[]){5, 5, 1, 1}), 4, 0, 0);
}

TEST(seed_002_max_norm_renormalises_only_looked_up_rows) {
    float w[10];
    memcpy(w, W, sizeof w);
    const int64_t idx[3] = {1, 3, 1};
    CHECK_OK(pos_embedding_renorm_i64(5, 2, 3, idx, 1.0, 2.0, w));
    for (int r = 0; r < 5; r++) {
        double norm = sqrt((double)w[2 * r] * w[2 * r] + (double)w[2 * r + 1] * w[2 * r + 1]);
        if (r == 1 || r == 3) CHECK_MSG(fabs(norm - 1.0) < 1e-4, "row %d norm %g", r, norm);
        else CHECK_MSG(w[2 * r] == W[2 * r] && w[2 * r + 1] == W[2 * r + 1], "row %d changed", r);
    }
    /* row 1 = (3, 4) has norm 5: scaled by 1 / (5 + 1e-7) */
    CHECK_CLOSE(w + 2, ((float[]){0.6f, 0.8f}), 2, 1e-6, 0);
    /* a row under the norm is left alone, and so is a row exactly at it (strict >) */
    float small[4] = {0.3f, 0.4f, 0.0f, -1.0f};
    CHECK_OK(pos_embedding_renorm_i64(2, 2, 2, (const int64_t[]){0, 1}, 1.0, 2.0, small));
    CHECK_CLOSE(small, ((float[]){0.3f, 0.4f, 0.0f, -1.0f}), 4, 0, 0);
    /* p = 1 and p = inf */
    float p1[2] = {3, 4}, pinf[2] = {3, -4};
    CHECK_OK(pos_embedding_renorm_i64(1, 2, 1, (const int64_t[]){0}, 1.0, 1.0, p1));
    CHECK_CLOSE(p1, ((float[]){3.f / 7, 4.f / 7}), 2, 1e-6, 0);
    CHECK_OK(pos_embedding_renorm_i64(1, 2, 1, (const int64_t[]){0}, 2.0, INFINITY, pinf));
    CHECK_CLOSE(pinf, ((float[]){1.5f, -2.f}), 2, 1e-6, 0);
}

TEST(canonical_softmax_and_cross_entropy) {
    const float x[3] = {1, 2, 3};
    float y[3], gx[3], loss, grad[3];
    CHECK_OK(ek_softmax_forward_f32(1, 3, x, y));
    CHECK_CLOSE(y, ((float[]){0.09003057f, 0.24472847f, 0.66524096f}), 3, 1e-7, 1e-6);
    CHECK_OK(ek_log_softmax_forward_f32(1, 3, x, y));
    CHECK_CLOSE(y, ((float[]){-2.40760596f, -1.40760596f, -0.40760596f}), 3, 1e-6, 1e-6);
    CHECK_OK(ek_log_softmax_backward_f32(1, 3, y, (const float[]){0, 0, -1}, gx)); /* = d(-lp[2]) */
    CHECK_CLOSE(gx, ((float[]){0.09003057f, 0.24472847f, -0.33475904f}), 3, 1e-6, 1e-6);
    CHECK_OK(ek_cross_entropy_f32_i64(1, 3, x, (const int64_t[]){2}, -100, 0.0f, EK_REDUCTION_MEAN, &loss, grad));
    CHECK_CLOSE(&loss, ((float[]){0.40760596f}), 1, 1e-6, 1e-6);
    CHECK_CLOSE(grad, gx, 3, 1e-6, 1e-6);
    /* every target ignored: mean is NaN (0 / 0), as PyTorch; the gradient is zero */
    CHECK_OK(ek_cross_entropy_f32_i64(1, 3, x, (const int64_t[]){-100}, -100, 0.0f, EK_REDUCTION_MEAN, &loss, grad));
    CHECK(isnan(loss));
    CHECK_CLOSE(grad, ((float[]){0, 0, 0}), 3, 0, 0);
}

TEST(version_and_threads) {
    CHECK_EQ_I64(ek_version(), EK_VERSION);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", EK_VERSION_MAJOR, EK_VERSION_MINOR, EK_VERSION_PATCH);
    CHECK(strcmp(ek_version_string(), expect) == 0);
    CHECK_OK(ek_set_num_threads(2));
    CHECK_EQ_I64(ek_get_num_threads(), 2);
    CHECK_OK(ek_set_num_threads(1));
    CHECK_EQ_I64(ek_get_num_threads(), 1);
    CHECK(strcmp(ek_status_string(EK_ERR_SHAPE), "EK_ERR_SHAPE") == 0);
}
