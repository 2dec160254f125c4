/* test_special_values.c — NaN and Inf in gradients and optimizer inputs (issue 6's bad-input matrix).
 *
 * They are not errors: like PyTorch, the kernels apply them arithmetically. What the tests pin down:
 * the call succeeds, the elements computed from a NaN / Inf are NaN / Inf, the finite elements next
 * to them are the ordinary finite result, and every row the call does not touch (lazy sparse
 * updates), with its optimizer state, stays bit-identical. */
#include <math.h>

#include "ek_test.h"

enum { ROWS = 5, DIM = 2 };

/* The rows of `table` not in {1, 3} are bit-identical to `before`. */
static int others_untouched(const float *table, const float *before) {
    for (int r = 0; r < ROWS; r++)
        if (r != 1 && r != 3 && memcmp(table + r * DIM, before + r * DIM, DIM * sizeof(float)) != 0) return 0;
    return 1;
}

TEST(nan_and_inf_gradients_reach_only_their_rows) {
    /* gradient rows 1 and 3: element 0 is NaN / +Inf, element 1 is finite */
    const int64_t rows[2] = {1, 3};
    const float values[4] = {NAN, 0.5f, INFINITY, -0.25f};
    float w[ROWS * DIM], before[ROWS * DIM], s1[ROWS * DIM], s2[ROWS * DIM], s1_before[ROWS * DIM];
    for (int i = 0; i < ROWS * DIM; i++) before[i] = (float)i / 4 - 1;

    /* SGD: W[r] -= lr * g element by element */
    memcpy(w, before, sizeof w);
    CHECK_OK(ek_sgd_update_f32(ROWS, DIM, 2, rows, values, 0.1f, 0, 0, 0, 0, w, NULL));
    CHECK(isnan(w[1 * DIM]) && w[3 * DIM] == -INFINITY);
    CHECK(w[1 * DIM + 1] == before[1 * DIM + 1] - 0.1f * 0.5f && w[3 * DIM + 1] == before[3 * DIM + 1] - 0.1f * -0.25f);
    CHECK(others_untouched(w, before));

    /* SGD with momentum: the buffer of the NaN / Inf element becomes NaN / Inf too, other rows' buffers stay */
    memcpy(w, before, sizeof w);
    for (int i = 0; i < ROWS * DIM; i++) s1[i] = s1_before[i] = 1.0f;
    CHECK_OK(ek_sgd_update_f32(ROWS, DIM, 2, rows, values, 0.1f, 0.9f, 0, 0, 0, w, s1));
    CHECK(isnan(s1[1 * DIM]) && isinf(s1[3 * DIM]) && isfinite(s1[1 * DIM + 1]) && isfinite(s1[3 * DIM + 1]));
    CHECK(isnan(w[1 * DIM]) && isinf(w[3 * DIM]) && isfinite(w[1 * DIM + 1]) && isfinite(w[3 * DIM + 1]));
    CHECK(others_untouched(w, before) && others_untouched(s1, s1_before));

    /* Adagrad: state += g * g (NaN, +Inf), W -= lr * g / (sqrt(state) + eps): NaN for both (Inf / Inf) */
    memcpy(w, before, sizeof w);
    for (int i = 0; i < ROWS * DIM; i++) s1[i] = s1_before[i] = 0.5f;
    CHECK_OK(ek_adagrad_update_f32(ROWS, DIM, 2, rows, values, 0.1f, 1e-10f, 0, w, s1));
    CHECK(isnan(s1[1 * DIM]) && s1[3 * DIM] == INFINITY);
    CHECK(isnan(w[1 * DIM]) && isnan(w[3 * DIM]) && isfinite(w[1 * DIM + 1]) && isfinite(w[3 * DIM + 1]));
    CHECK(others_untouched(w, before) && others_untouched(s1, s1_before));

    /* Adam: m and v take the NaN / Inf; the weight element becomes NaN (Inf / Inf); finite ones stay finite */
    memcpy(w, before, sizeof w);
    for (int i = 0; i < ROWS * DIM; i++) s1[i] = s1_before[i] = 0.0f, s2[i] = 0.0f;
    CHECK_OK(ek_adam_update_f32(ROWS, DIM, 2, rows, values, 0.01f, 0.9f, 0.999f, 1e-8f, 0, 1, w, s1, s2));
    CHECK(isnan(s1[1 * DIM]) && isnan(s2[1 * DIM]) && s1[3 * DIM] == INFINITY && s2[3 * DIM] == INFINITY);
    CHECK(isnan(w[1 * DIM]) && isnan(w[3 * DIM]) && isfinite(w[1 * DIM + 1]) && isfinite(w[3 * DIM + 1]));
    CHECK(others_untouched(w, before) && others_untouched(s1, s1_before) && others_untouched(s2, s1_before));
}

TEST(nan_and_inf_in_grad_out_reach_only_the_looked_up_rows) {
    /* indices {1, 3, 1}: row 1 gets grad rows 0 and 2 (NaN + 1 = NaN), row 3 gets Inf; others 0 */
    const int64_t idx[3] = {1, 3, 1};
    const float grad_out[6] = {NAN, 1, INFINITY, 2, 1, 1};
    float grad[ROWS * DIM] = {0}, zero[ROWS * DIM] = {0};   /* the dense gradient is accumulated into */
    CHECK_OK(pos_embedding_backward_dense_i64(ROWS, DIM, 3, idx, grad_out, EK_NO_PADDING, 0, grad));
    CHECK(isnan(grad[1 * DIM]) && grad[1 * DIM + 1] == 2 && grad[3 * DIM] == INFINITY && grad[3 * DIM + 1] == 2);
    CHECK(others_untouched(grad, zero));
    /* the sparse (uncoalesced) form carries them as they are; coalescing adds NaN + 1 = NaN into row 1 */
    int64_t out_rows[3], nnz = -1, c_rows[3], c_nnz = -1;
    float out_values[6], c_values[6];
    CHECK_OK(pos_embedding_backward_sparse_i64(ROWS, DIM, 3, idx, grad_out, EK_NO_PADDING, 0, out_rows, out_values, &nnz));
    CHECK_EQ_I64(nnz, 3);
    CHECK(out_rows[0] == 1 && out_rows[1] == 3 && out_rows[2] == 1 && isnan(out_values[0]) && out_values[2] == INFINITY
          && out_values[4] == 1);
    CHECK_OK(ek_coo_coalesce_f32(ROWS, DIM, nnz, out_rows, out_values, c_rows, c_values, &c_nnz));
    CHECK_EQ_I64(c_nnz, 2);
    CHECK(c_rows[0] == 1 && c_rows[1] == 3 && isnan(c_values[0]) && c_values[1] == 2 && c_values[2] == INFINITY && c_values[3] == 2);
}
