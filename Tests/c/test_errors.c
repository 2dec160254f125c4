/* Every error the C ABI promises: the status code, a message naming the argument, position and
 * value, and no write to any output or table. Bad values sit late in their arrays, so a kernel that
 * wrote before validating would be caught. */
#include <math.h>

#include "ek_test.h"

#define POISON 0x5A

/* A buffer pre-filled with a byte pattern, to prove that a failed call wrote nothing. */
typedef struct { unsigned char bytes[4096]; } guard;
static void arm(guard *g) { memset(g->bytes, POISON, sizeof g->bytes); }
static int intact(const guard *g) {
    for (size_t i = 0; i < sizeof g->bytes; i++)
        if (g->bytes[i] != POISON) return 0;
    return 1;
}

/* 5 x 2 table; a valid bag call over it: input [3,1,1,1,4,0], offsets [0,0,3,3,6] */
static const float W[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const int64_t IDX[6] = {3, 1, 1, 1, 4, 0};
static const int64_t OFF[5] = {0, 0, 3, 3, 6};
static const float PSW[7] = {1, 1, 1, 1, 1, 1, 1};

TEST(embedding_forward_errors) {
    guard out;
    arm(&out);
    float *o = (float *)out.bytes;
    CHECK_ERROR(pos_embedding_forward_i64(5, 2, 6, W, (const int64_t[]){0, 1, 2, 3, 4, 10}, o),
                EK_ERR_INDEX_OUT_OF_RANGE, "embedding: index 10 at position 5 is out of range for 5 embeddings");
    CHECK_ERROR(pos_embedding_forward_i32(5, 2, 3, W, (const int32_t[]){0, 1, -1}, o), EK_ERR_INDEX_OUT_OF_RANGE,
                "index -1 at position 2");
    CHECK_ERROR(pos_embedding_forward_i64(5, 0, 6, W, IDX, o), EK_ERR_INVALID_ARGUMENT, "dim=0 must be positive");
    CHECK_ERROR(pos_embedding_forward_i64(5, -2, 6, W, IDX, o), EK_ERR_INVALID_ARGUMENT, "dim=-2");
    CHECK_ERROR(pos_embedding_forward_i64(5, 2, -1, W, IDX, o), EK_ERR_INVALID_ARGUMENT, "num_indices=-1");
    CHECK_ERROR(pos_embedding_forward_i64(-5, 2, 6, W, IDX, o), EK_ERR_INVALID_ARGUMENT, "num_embeddings=-5");
    CHECK_ERROR(pos_embedding_forward_i64(5, 2, 6, NULL, IDX, o), EK_ERR_NULL_POINTER, "weight is NULL");
    CHECK_ERROR(pos_embedding_forward_i64(5, 2, 6, W, NULL, o), EK_ERR_NULL_POINTER, "indices is NULL");
    CHECK_ERROR(pos_embedding_forward_i64(5, 2, 6, W, IDX, NULL), EK_ERR_NULL_POINTER, "out is NULL");
    CHECK_ERROR(pos_embedding_forward_i64(INT64_MAX / 4, 4, 6, W, IDX, o), EK_ERR_OVERFLOW, "overflows");
    CHECK_ERROR(pos_embedding_forward_i64(5, INT64_MAX / 2, 1, W, IDX, o), EK_ERR_OVERFLOW, "overflows");
    CHECK(intact(&out));
    /* an empty lookup is fine, and a zero-row table with no indices too */
    CHECK_OK(pos_embedding_forward_i64(0, 2, 0, NULL, NULL, NULL));
}

TEST(embedding_backward_errors) {
    float grad[10], before[10];
    for (int i = 0; i < 10; i++) grad[i] = before[i] = (float)i;
    const float g[12] = {0};
    guard rows, values, nnz;
    arm(&rows), arm(&values), arm(&nnz);
    CHECK_ERROR(pos_embedding_backward_dense_i64(5, 2, 6, IDX, g, 5, 0, grad), EK_ERR_INDEX_OUT_OF_RANGE,
                "padding_idx=5 is out of range for 5 embeddings");
    CHECK_ERROR(pos_embedding_backward_dense_i64(5, 2, 6, IDX, g, -6, 0, grad), EK_ERR_INDEX_OUT_OF_RANGE,
                "padding_idx=-6");
    CHECK_ERROR(pos_embedding_backward_dense_i64(5, 2, 6, (const int64_t[]){0, 1, 2, 3, 4, 5}, g, EK_NO_PADDING, 1, grad),
                EK_ERR_INDEX_OUT_OF_RANGE, "index 5 at position 5");
    CHECK_ERROR(pos_embedding_backward_dense_i64(5, 2, 6, IDX, NULL, EK_NO_PADDING, 0, grad), EK_ERR_NULL_POINTER,
                "grad_out is NULL");
    CHECK_ERROR(pos_embedding_backward_sparse_i64(5, 2, 6, (const int64_t[]){0, 1, 2, 3, 4, 7}, g, EK_NO_PADDING, 1,
                                                     (int64_t *)rows.bytes, (float *)values.bytes, (int64_t *)nnz.bytes),
                EK_ERR_INDEX_OUT_OF_RANGE, "index 7 at position 5");
    CHECK_ERROR(pos_embedding_backward_sparse_i64(5, 2, 6, IDX, g, EK_NO_PADDING, 0, (int64_t *)rows.bytes,
                                                     (float *)values.bytes, NULL),
                EK_ERR_NULL_POINTER, "out_nnz is NULL");
    CHECK_SAME_BYTES(grad, before, sizeof grad);
    CHECK(intact(&rows) && intact(&values) && intact(&nnz));
}

/* Calls the bag forward with one argument changed; every output must stay untouched. */
static void bag_forward_fails(int64_t n, int64_t num_bags, int64_t num_weights, const int64_t *idx, const int64_t *off,
                              int32_t last, const float *psw, ek_bag_mode mode, int64_t pad, ek_status code,
                              const char *needle) {
    guard out, size, argmax;
    arm(&out), arm(&size), arm(&argmax);
    CHECK_ERROR(pos_embedding_bag_forward_i64(5, 2, n, num_bags, num_weights, W, idx, off, last, psw, mode, pad,
                                                 (float *)out.bytes, (int64_t *)size.bytes,
                                                 mode == EK_BAG_MAX ? (int64_t *)argmax.bytes : NULL),
                code, needle);
    CHECK(intact(&out) && intact(&size) && intact(&argmax));
}

TEST(embedding_bag_forward_errors) {
    const ek_bag_mode SUM = EK_BAG_SUM;
    const int64_t NP = EK_NO_PADDING;
    bag_forward_fails(6, 5, 0, IDX, (const int64_t[]){1, 1, 3, 3, 6}, 0, NULL, SUM, NP, EK_ERR_SHAPE, "offsets[0]=1 must be 0");
    bag_forward_fails(6, 5, 0, IDX, (const int64_t[]){0, 2, 5, 4, 6}, 0, NULL, SUM, NP, EK_ERR_SHAPE,
                      "offsets must be non-decreasing, offsets[2]=5 > offsets[3]=4");
    bag_forward_fails(6, 5, 0, IDX, (const int64_t[]){0, 0, 3, 3, 7}, 0, NULL, SUM, NP, EK_ERR_SHAPE,
                      "offsets[4]=7 is past the end of the input (6 indices)");
    bag_forward_fails(6, 4, 0, IDX, (const int64_t[]){0, 0, 3, 3, 5}, 1, NULL, SUM, NP, EK_ERR_SHAPE,
                      "with include_last_offset, offsets[4]=5 must equal the number of indices (6)");
    bag_forward_fails(6, 5, 7, IDX, OFF, 0, PSW, SUM, NP, EK_ERR_SHAPE, "per_sample_weights has 7 entries, input has 6");
    bag_forward_fails(6, 5, 6, IDX, OFF, 0, PSW, EK_BAG_MAX, NP, EK_ERR_INVALID_ARGUMENT,
                      "per_sample_weights are not supported with mode max");
    bag_forward_fails(6, 5, 3, IDX, OFF, 0, NULL, SUM, NP, EK_ERR_NULL_POINTER, "per_sample_weights is NULL but num_weights=3");
    bag_forward_fails(6, 5, 0, IDX, OFF, 0, NULL, SUM, 9, EK_ERR_INDEX_OUT_OF_RANGE, "padding_idx=9 is out of range for 5");
    bag_forward_fails(6, 5, 0, IDX, OFF, 0, NULL, (ek_bag_mode)3, NP, EK_ERR_INVALID_ARGUMENT, "mode=3");
    bag_forward_fails(6, 5, 0, (const int64_t[]){3, 1, 1, 1, 4, 5}, OFF, 0, NULL, SUM, NP, EK_ERR_INDEX_OUT_OF_RANGE,
                      "embedding_bag: index 5 at position 5 is out of range for 5 embeddings");
    bag_forward_fails(6, 4, 0, IDX, NULL, 0, NULL, SUM, NP, EK_ERR_SHAPE, "6 indices cannot be split into 4 bags");
    bag_forward_fails(6, 2, 0, IDX, NULL, 1, NULL, SUM, NP, EK_ERR_INVALID_ARGUMENT, "include_last_offset needs offsets");
    bag_forward_fails(6, -1, 0, IDX, OFF, 0, NULL, SUM, NP, EK_ERR_INVALID_ARGUMENT, "num_bags=-1");
    bag_forward_fails(6, 5, 0, NULL, OFF, 0, NULL, SUM, NP, EK_ERR_NULL_POINTER, "indices is NULL");
    guard out;
    arm(&out);
    CHECK_ERROR(pos_embedding_bag_forward_i64(5, 0, 6, 5, 0, W, IDX, OFF, 0, NULL, EK_BAG_SUM, EK_NO_PADDING,
                                                 (float *)out.bytes, NULL, NULL),
                EK_ERR_INVALID_ARGUMENT, "dim=0 must be positive");
    CHECK_ERROR(pos_embedding_bag_forward_i64(5, 2, 6, 5, 0, NULL, IDX, OFF, 0, NULL, EK_BAG_SUM, EK_NO_PADDING,
                                                 (float *)out.bytes, NULL, NULL),
                EK_ERR_NULL_POINTER, "weight is NULL");
    CHECK_ERROR(pos_embedding_bag_forward_i64(5, 2, 6, INT64_MAX / 2, 0, W, IDX, OFF, 0, NULL, EK_BAG_SUM,
                                                 EK_NO_PADDING, (float *)out.bytes, NULL, NULL),
                EK_ERR_OVERFLOW, "overflows");
    CHECK_ERROR(pos_embedding_bag_forward_i32(5, 2, 6, 5, 0, W, (const int32_t[]){3, 1, 1, 1, 4, 0},
                                                 (const int32_t[]){0, 4, 3, 3, 6}, 0, NULL, EK_BAG_SUM, EK_NO_PADDING,
                                                 (float *)out.bytes, NULL, NULL),
                EK_ERR_SHAPE, "offsets[1]=4 > offsets[2]=3");
    CHECK(intact(&out));
}

TEST(embedding_bag_backward_errors) {
    float grad[10], before[10];
    for (int i = 0; i < 10; i++) grad[i] = before[i] = (float)-i;
    const float g[10] = {0};
    int64_t argmax[10] = {-1, -1, 3, 3, -1, -1, 4, 4, -1, 5};
    guard rows, values, nnz, gw;
    arm(&rows), arm(&values), arm(&nnz), arm(&gw);
    CHECK_ERROR(pos_embedding_bag_backward_dense_i64(5, 2, 6, 5, 0, IDX, OFF, 0, NULL, EK_BAG_MAX, EK_NO_PADDING, 1,
                                                        argmax, g, grad),
                EK_ERR_INVALID_ARGUMENT, "scale_grad_by_freq is not supported with mode max");
    CHECK_ERROR(pos_embedding_bag_backward_dense_i64(5, 2, 6, 5, 0, IDX, OFF, 0, NULL, EK_BAG_MAX, EK_NO_PADDING, 0,
                                                        argmax, g, grad),
                EK_ERR_INDEX_OUT_OF_RANGE, "max_indices[9]=5 is out of range for 5 embeddings");
    CHECK_ERROR(pos_embedding_bag_backward_dense_i64(5, 2, 6, 5, 0, IDX, OFF, 0, NULL, EK_BAG_MAX, EK_NO_PADDING, 0,
                                                        NULL, g, grad),
                EK_ERR_NULL_POINTER, "max_indices is NULL");
    CHECK_ERROR(pos_embedding_bag_backward_dense_i64(5, 2, 6, 5, 0, IDX, (const int64_t[]){0, 0, 3, 2, 6}, 0, NULL,
                                                        EK_BAG_SUM, EK_NO_PADDING, 1, NULL, g, grad),
                EK_ERR_SHAPE, "offsets[2]=3 > offsets[3]=2");
    CHECK_ERROR(pos_embedding_bag_backward_sparse_i64(5, 2, 6, 5, 6, (const int64_t[]){3, 1, 1, 1, 4, 8}, OFF, 0, PSW,
                                                         EK_BAG_MEAN, EK_NO_PADDING, 1, NULL, g, (int64_t *)rows.bytes,
                                                         (float *)values.bytes, (int64_t *)nnz.bytes),
                EK_ERR_INDEX_OUT_OF_RANGE, "index 8 at position 5");
    CHECK_ERROR(pos_embedding_bag_per_sample_weights_backward_i64(5, 2, 6, 5, 6, W, IDX, OFF, 0, PSW, EK_BAG_MAX,
                                                                     EK_NO_PADDING, g, (float *)gw.bytes),
                EK_ERR_INVALID_ARGUMENT, "not supported with mode max");
    CHECK_ERROR(pos_embedding_bag_per_sample_weights_backward_i64(5, 2, 6, 5, 0, W, IDX, OFF, 0, NULL, EK_BAG_MEAN,
                                                                     EK_NO_PADDING, g, (float *)gw.bytes),
                EK_ERR_NULL_POINTER, "mode mean needs per_sample_weights");
    CHECK_ERROR(pos_embedding_bag_per_sample_weights_backward_i64(5, 2, 6, 5, 5, W, IDX, OFF, 0, PSW, EK_BAG_SUM,
                                                                     EK_NO_PADDING, g, (float *)gw.bytes),
                EK_ERR_SHAPE, "per_sample_weights has 5 entries, input has 6");
    /* the fused backward + SGD step checks everything before it writes a row of the table */
    CHECK_ERROR(pos_embedding_bag_backward_sgd_i64(5, 2, 6, 5, 0, (const int64_t[]){3, 1, 1, 1, 4, 8}, OFF, 0, NULL,
                                                      EK_BAG_SUM, EK_NO_PADDING, 0, NULL, g, 0.1f, grad),
                EK_ERR_INDEX_OUT_OF_RANGE, "embedding_bag_backward_update: index 8 at position 5");
    CHECK_ERROR(pos_embedding_bag_backward_sgd_i64(5, 2, 6, 5, 0, IDX, OFF, 0, NULL, EK_BAG_SUM, EK_NO_PADDING, 0, NULL,
                                                      g, -0.5f, grad),
                EK_ERR_INVALID_ARGUMENT, "optimizer->lr=-0.5 must lie in [0, inf)");
    CHECK_ERROR(pos_embedding_bag_backward_sgd_i32(5, 2, 6, 5, 0, (const int32_t[]){0, 1, 2, 3, 4, 0},
                                                      (const int32_t[]){0, 0, 3, 3, 6}, 0, NULL,
                                                      EK_BAG_MAX, EK_NO_PADDING, 0, argmax, g, 0.1f, grad),
                EK_ERR_INDEX_OUT_OF_RANGE, "max_indices[9]=5 is out of range for 5 embeddings");
    CHECK_ERROR(pos_embedding_bag_backward_sgd_i64(5, 2, 6, 5, 0, IDX, OFF, 0, NULL, EK_BAG_SUM, EK_NO_PADDING, 0, NULL,
                                                      g, 0.1f, NULL),
                EK_ERR_NULL_POINTER, "weight is NULL");
    CHECK_SAME_BYTES(grad, before, sizeof grad);
    CHECK(intact(&rows) && intact(&values) && intact(&nnz) && intact(&gw));
}

TEST(renorm_errors_leave_the_table_alone) {
    float w[10], before[10];
    memcpy(w, W, sizeof w), memcpy(before, W, sizeof w);
    /* rows 0..3 would be renormalised if the kernel wrote before it saw index 5 */
    CHECK_ERROR(pos_embedding_renorm_i64(5, 2, 5, (const int64_t[]){0, 1, 2, 3, 5}, 1.0, 2.0, w),
                EK_ERR_INDEX_OUT_OF_RANGE, "embedding_renorm: index 5 at position 4 is out of range for 5 embeddings");
    CHECK_ERROR(pos_embedding_renorm_i64(5, 2, 2, IDX, 0.0, 2.0, w), EK_ERR_INVALID_ARGUMENT, "max_norm=0 must be positive");
    CHECK_ERROR(pos_embedding_renorm_i64(5, 2, 2, IDX, -1.0, 2.0, w), EK_ERR_INVALID_ARGUMENT, "max_norm=-1");
    CHECK_ERROR(pos_embedding_renorm_i64(5, 2, 2, IDX, NAN, 2.0, w), EK_ERR_INVALID_ARGUMENT, "max_norm=nan");
    CHECK_ERROR(pos_embedding_renorm_i64(5, 2, 2, IDX, 1.0, -2.0, w), EK_ERR_INVALID_ARGUMENT, "norm_type=-2");
    CHECK_ERROR(pos_embedding_renorm_i32(5, 2, 2, (const int32_t[]){0, -3}, 1.0, 2.0, w), EK_ERR_INDEX_OUT_OF_RANGE,
                "index -3 at position 1");
    CHECK_SAME_BYTES(w, before, sizeof w);
}

TEST(softmax_and_cross_entropy_errors) {
    const float x[6] = {1, 2, 3, 4, 5, 6};
    guard y, loss, grad;
    arm(&y), arm(&loss), arm(&grad);
    CHECK_ERROR(ek_softmax_forward_f32(2, 0, x, (float *)y.bytes), EK_ERR_INVALID_ARGUMENT, "softmax: cols=0 must be positive");
    CHECK_ERROR(ek_log_softmax_forward_f32(-1, 3, x, (float *)y.bytes), EK_ERR_INVALID_ARGUMENT, "rows=-1");
    CHECK_ERROR(ek_softmax_backward_f32(2, 3, x, NULL, (float *)y.bytes), EK_ERR_NULL_POINTER, "grad_y is NULL");
    CHECK_ERROR(ek_cross_entropy_f32_i64(2, 3, x, (const int64_t[]){0, 3}, -100, 0.0f, EK_REDUCTION_MEAN,
                                         (float *)loss.bytes, (float *)grad.bytes),
                EK_ERR_INDEX_OUT_OF_RANGE, "cross_entropy: target 3 at position 1 is out of range for 3 classes");
    CHECK_ERROR(ek_cross_entropy_f32_i32(2, 3, x, (const int32_t[]){0, -1}, -100, 0.0f, EK_REDUCTION_SUM,
                                         (float *)loss.bytes, (float *)grad.bytes),
                EK_ERR_INDEX_OUT_OF_RANGE, "target -1 at position 1");
    CHECK_ERROR(ek_cross_entropy_f32_i64(2, 3, x, (const int64_t[]){0, 1}, -100, 1.5f, EK_REDUCTION_MEAN,
                                         (float *)loss.bytes, (float *)grad.bytes),
                EK_ERR_INVALID_ARGUMENT, "label_smoothing=1.5 must lie in [0, 1]");
    CHECK_ERROR(ek_cross_entropy_f32_i64(2, 3, x, (const int64_t[]){0, 1}, -100, 0.0f, (ek_reduction)7,
                                         (float *)loss.bytes, (float *)grad.bytes),
                EK_ERR_INVALID_ARGUMENT, "reduction=7");
    CHECK(intact(&y) && intact(&loss) && intact(&grad));
}

TEST(sparse_and_optimizer_errors_leave_tables_alone) {
    float table[10], before[10], state[10], state_before[10];
    for (int i = 0; i < 10; i++) table[i] = before[i] = (float)i, state[i] = state_before[i] = 1.0f;
    const float v[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    guard rows, values, nnz;
    arm(&rows), arm(&values), arm(&nnz);
    CHECK_ERROR(ek_coo_scatter_add_f32(5, 2, 4, (const int64_t[]){0, 1, 2, 5}, v, 1.0f, table), EK_ERR_INDEX_OUT_OF_RANGE,
                "coo_scatter_add: index 5 at position 3 is out of range for 5 rows");
    CHECK_ERROR(ek_coo_coalesce_f32(5, 2, 4, (const int64_t[]){4, 0, -1, 2}, v, (int64_t *)rows.bytes,
                                    (float *)values.bytes, (int64_t *)nnz.bytes),
                EK_ERR_INDEX_OUT_OF_RANGE, "index -1 at position 2");
    CHECK_ERROR(ek_sgd_update_f32(5, 2, 3, (const int64_t[]){0, 2, 2}, v, 0.1f, 0, 0, 0, 0, table, NULL),
                EK_ERR_INVALID_ARGUMENT, "rows must be coalesced (strictly increasing), rows[1]=2 >= rows[2]=2");
    CHECK_ERROR(ek_sgd_update_f32(5, 2, 3, (const int64_t[]){0, 2, 9}, v, 0.1f, 0, 0, 0, 0, table, NULL),
                EK_ERR_INDEX_OUT_OF_RANGE, "index 9 at position 2");
    CHECK_ERROR(ek_sgd_update_f32(5, 2, 2, NULL, v, -0.1f, 0, 0, 0, 0, table, NULL), EK_ERR_INVALID_ARGUMENT, "lr=-0.1");
    CHECK_ERROR(ek_sgd_update_f32(5, 2, 2, NULL, v, 0.1f, 0.9f, 0, 0, 0, table, NULL), EK_ERR_NULL_POINTER,
                "momentum_buffer is NULL");
    CHECK_ERROR(ek_sgd_update_f32(5, 2, 6, NULL, v, 0.1f, 0, 0, 0, 0, table, NULL), EK_ERR_SHAPE, "nnz=6 rows exceeds num_rows=5");
    CHECK_ERROR(ek_sgd_update_f32(5, 2, 2, NULL, v, 0.1f, 0, 0, 0, 1, table, NULL), EK_ERR_INVALID_ARGUMENT,
                "nesterov needs momentum > 0");
    CHECK_ERROR(ek_adagrad_update_f32(5, 2, 2, (const int64_t[]){1, 0}, v, 0.1f, 1e-10f, 0, table, state),
                EK_ERR_INVALID_ARGUMENT, "rows[0]=1 >= rows[1]=0");
    CHECK_ERROR(ek_adagrad_update_f32(5, 2, 2, NULL, v, 0.1f, 1e-10f, 0, table, NULL), EK_ERR_NULL_POINTER, "state_sum is NULL");
    CHECK_ERROR(ek_adam_update_f32(5, 2, 2, NULL, v, 0.1f, 1.0f, 0.999f, 1e-8f, 0, 1, table, state, state),
                EK_ERR_INVALID_ARGUMENT, "beta1=1 must lie in [0, 1)");
    CHECK_ERROR(ek_adam_update_f32(5, 2, 2, NULL, v, 0.1f, 0.9f, 0.999f, 1e-8f, 0, 0, table, state, state),
                EK_ERR_INVALID_ARGUMENT, "step=0 must be >= 1");
    CHECK_SAME_BYTES(table, before, sizeof table);
    CHECK_SAME_BYTES(state, state_before, sizeof state);
    CHECK(intact(&rows) && intact(&values) && intact(&nnz));
}

TEST(thread_count_errors) {
    int32_t before = ek_get_num_threads();
    CHECK_ERROR(ek_set_num_threads(0), EK_ERR_INVALID_ARGUMENT, "num_threads=0 must be >= 1");
    CHECK_ERROR(ek_set_num_threads(-3), EK_ERR_INVALID_ARGUMENT, "num_threads=-3");
    CHECK_EQ_I64(ek_get_num_threads(), before);
    CHECK_ERROR(ek_matmul_f32(2, 2, 2, NULL, 0, W, 0, 1, 0, (float[4]){0}), EK_ERR_NULL_POINTER, "matmul: a is NULL");
}

TEST(last_error_is_per_thread_and_status_names_are_total) {
    CHECK_ERROR(ek_set_num_threads(0), EK_ERR_INVALID_ARGUMENT, "num_threads=0");
    CHECK(strcmp(ek_status_string((ek_status)99), "EK_ERR_UNKNOWN") == 0);
    CHECK(strcmp(ek_status_string(EK_OK), "EK_OK") == 0);
}

/* Sizes whose products overflow are rejected before anything multiplies them (found by fuzzing). */
TEST(overflowing_sizes_are_rejected) {
    guard buf;
    arm(&buf);
    float *f = (float *)buf.bytes;
    int64_t *i = (int64_t *)buf.bytes, nnz = 0;
    const int64_t big = INT64_MAX / 3;
    CHECK_ERROR(pos_embedding_forward_i64(5, 1, big, W, IDX, f), EK_ERR_OVERFLOW, "overflows");
    CHECK_ERROR(ek_softmax_forward_f32(big, 4, W, f), EK_ERR_OVERFLOW, "softmax: x of");
    CHECK_ERROR(ek_sgd_update_f32(5, 2, big, NULL, W, 0.1f, 0, 0, 0, 0, f, NULL), EK_ERR_OVERFLOW, "values of");
    CHECK_ERROR(ek_coo_scatter_add_f32(5, 1, big, i, W, 1.0f, f), EK_ERR_OVERFLOW, "overflows");
    CHECK_ERROR(pos_embedding_bag_backward_sparse_i64(5, big, 6, 0, 0, IDX, NULL, 0, NULL, EK_BAG_SUM, EK_NO_PADDING, 0,
                                                         NULL, W, i, f, &nnz),
                EK_ERR_OVERFLOW, "overflows");
    CHECK(intact(&buf));
}
