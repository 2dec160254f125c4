/* test_abi_bounds.c — the C ABI's domain checks that issue 14 found open: byte counts checked when
 * another size is 0, no signed overflow in rounding, boolean flags that are 0 or 1 only, a bounded
 * thread count, empty products of any size, and ReLU's gradient at NaN (PyTorch's rule). */
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"

#define POISON 0x5A

/* A buffer pre-filled with a byte pattern, to prove that a failed call wrote nothing. */
typedef struct { unsigned char bytes[1024]; } guard;
static void arm(guard *g) { memset(g->bytes, POISON, sizeof g->bytes); }
static int intact(const guard *g) {
    for (size_t i = 0; i < sizeof g->bytes; i++)
        if (g->bytes[i] != POISON) return 0;
    return 1;
}

/* rows == 0 makes x empty, but grad_weight / grad_bias / weight still hold cols floats: before the
 * fix (0, 2^62, ..., gw) returned EK_OK and wrote 2^62 floats through gw (SIGSEGV), and
 * cols = INT64_MAX overflowed (cols + 63) / 64. */
TEST(layer_norm_checks_column_arrays_when_rows_is_zero) {
    guard g;
    arm(&g);
    float *p = (float *)g.bytes;
    const int64_t huge = INT64_C(1) << 62;
    CHECK_ERROR(ek_layer_norm_backward_f32(0, huge, NULL, NULL, NULL, NULL, NULL, NULL, p, NULL), EK_ERR_OVERFLOW,
                "layer_norm_backward: grad_weight of 1 x 4611686018427387904 elements overflows");
    CHECK_ERROR(ek_layer_norm_backward_f32(0, huge, NULL, NULL, NULL, NULL, NULL, NULL, NULL, p), EK_ERR_OVERFLOW,
                "grad_bias of 1 x 4611686018427387904");
    CHECK_ERROR(ek_layer_norm_backward_f32(0, INT64_MAX, NULL, NULL, NULL, NULL, NULL, NULL, p, p), EK_ERR_OVERFLOW,
                "grad_weight of 1 x 9223372036854775807");
    CHECK_ERROR(ek_layer_norm_backward_f32(0, huge, NULL, NULL, NULL, p, NULL, p, NULL, NULL), EK_ERR_OVERFLOW,
                "weight of 1 x 4611686018427387904");
    CHECK_ERROR(ek_layer_norm_forward_f32(0, huge, NULL, p, NULL, 1e-5, NULL, NULL, NULL), EK_ERR_OVERFLOW,
                "layer_norm_forward: weight of 1 x 4611686018427387904");
    CHECK_ERROR(ek_layer_norm_forward_f32(0, INT64_MAX, NULL, NULL, p, 1e-5, NULL, NULL, NULL), EK_ERR_OVERFLOW,
                "bias of 1 x 9223372036854775807");
    CHECK(intact(&g));
    /* a real empty batch: the gradients gain nothing (PyTorch: a sum over no rows is 0) */
    float gw[3] = {1, 2, 3}, gb[3] = {-1, -2, -3};
    CHECK_OK(ek_layer_norm_backward_f32(0, 3, NULL, NULL, NULL, NULL, NULL, NULL, gw, gb));
    CHECK(gw[0] == 1 && gw[1] == 2 && gw[2] == 3 && gb[0] == -1 && gb[1] == -2 && gb[2] == -3);
    /* with no column array at all, an empty batch of any width is fine (nothing is touched) */
    CHECK_OK(ek_layer_norm_backward_f32(0, INT64_MAX, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
    CHECK_OK(ek_layer_norm_forward_f32(0, INT64_MAX, NULL, NULL, NULL, 1e-5, NULL, NULL, NULL));
}

/* trans_a = 7 used to be taken as true; every int32_t flag of the ABI is 0 or 1. */
TEST(boolean_flags_are_0_or_1) {
    static const float W[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    static const int64_t IDX[4] = {3, 1, 1, 4};
    static const int32_t IDX32[4] = {3, 1, 1, 4};
    static const int64_t OFF[3] = {0, 2, 4};
    static const float G[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    guard out, rows, nnz;
    arm(&out), arm(&rows), arm(&nnz);
    float *o = (float *)out.bytes;
    int64_t *r = (int64_t *)rows.bytes, *k = (int64_t *)nnz.bytes;

    CHECK_ERROR(ek_matmul_f32(2, 2, 2, W, 7, W, 0, 1, 0, o), EK_ERR_INVALID_ARGUMENT, "matmul: trans_a=7 must be 0 or 1");
    CHECK_ERROR(ek_matmul_f32(2, 2, 2, W, 0, W, -1, 1, 0, o), EK_ERR_INVALID_ARGUMENT, "matmul: trans_b=-1 must be 0 or 1");
    CHECK_ERROR(ek_matmul_f32(0, 0, 0, NULL, 2, NULL, 0, 1, 0, NULL), EK_ERR_INVALID_ARGUMENT, "trans_a=2");
    CHECK_ERROR(pos_embedding_backward_dense_i64(5, 2, 4, IDX, G, EK_NO_PADDING, 2, o), EK_ERR_INVALID_ARGUMENT,
                "embedding_backward: scale_grad_by_freq=2 must be 0 or 1");
    CHECK_ERROR(pos_embedding_backward_dense_i32(5, 2, 4, IDX32, G, EK_NO_PADDING, -1, o), EK_ERR_INVALID_ARGUMENT,
                "scale_grad_by_freq=-1");
    CHECK_ERROR(pos_embedding_backward_sparse_i64(5, 2, 4, IDX, G, EK_NO_PADDING, 3, r, o, k), EK_ERR_INVALID_ARGUMENT,
                "embedding_backward_sparse: scale_grad_by_freq=3 must be 0 or 1");
    CHECK_ERROR(pos_embedding_bag_forward_i64(5, 2, 4, 2, 0, W, IDX, OFF, 2, NULL, EK_BAG_SUM, EK_NO_PADDING, o, NULL, NULL),
                EK_ERR_INVALID_ARGUMENT, "embedding_bag: include_last_offset=2 must be 0 or 1");
    CHECK_ERROR(pos_embedding_bag_forward_i32(5, 2, 4, 2, 0, W, IDX32, NULL, 7, NULL, EK_BAG_SUM, EK_NO_PADDING, o, NULL,
                                                 NULL),
                EK_ERR_INVALID_ARGUMENT, "include_last_offset=7");
    CHECK_ERROR(pos_embedding_bag_backward_dense_i64(5, 2, 4, 2, 0, IDX, OFF, 0, NULL, EK_BAG_SUM, EK_NO_PADDING, 9, NULL,
                                                        G, o),
                EK_ERR_INVALID_ARGUMENT, "embedding_bag_backward: scale_grad_by_freq=9 must be 0 or 1");
    CHECK_ERROR(pos_embedding_bag_backward_sparse_i64(5, 2, 4, 2, 0, IDX, OFF, 0, NULL, EK_BAG_MEAN, EK_NO_PADDING, 2, NULL,
                                                         G, r, o, k),
                EK_ERR_INVALID_ARGUMENT, "scale_grad_by_freq=2");
    CHECK_ERROR(pos_embedding_bag_backward_sgd_i64(5, 2, 4, 2, 0, IDX, OFF, 0, NULL, EK_BAG_SUM, EK_NO_PADDING, 2, NULL, G,
                                                      0.1f, o),
                EK_ERR_INVALID_ARGUMENT, "embedding_bag_backward_update: scale_grad_by_freq=2");
    CHECK_ERROR(pos_embedding_bag_backward_sgd_i64(5, 2, 4, 1, 0, IDX, OFF, -3, NULL, EK_BAG_SUM, EK_NO_PADDING, 0, NULL, G,
                                                      0.1f, o),
                EK_ERR_INVALID_ARGUMENT, "include_last_offset=-3");
    CHECK_ERROR(pos_embedding_bag_per_sample_weights_backward_i64(5, 2, 4, 1, 4, W, IDX, OFF, 5, G, EK_BAG_SUM,
                                                                     EK_NO_PADDING, G, o),
                EK_ERR_INVALID_ARGUMENT, "embedding_bag_per_sample_weights_backward: include_last_offset=5");
    CHECK_ERROR(ek_sgd_update_f32(5, 2, 2, NULL, G, 0.1f, 0.9f, 0, 0, 2, o, o), EK_ERR_INVALID_ARGUMENT,
                "sgd_update: nesterov=2 must be 0 or 1");
    CHECK_ERROR(ek_gelu_forward_f32(4, W, 2, o), EK_ERR_INVALID_ARGUMENT, "approximate=2");
    CHECK(intact(&out) && intact(&rows) && intact(&nnz));
}

/* An empty product needs no BLAS call, so its sizes need not fit BLAS's ints: PyTorch multiplies
 * [0, 3e9] by [3e9, 0] (an empty result) and [2, 0] by [0, 3] (zeros). */
TEST(matmul_empty_products_of_any_size) {
    const int64_t big = INT64_C(3000000000);
    CHECK_OK(ek_matmul_f32(0, 0, big, NULL, 0, NULL, 0, 1, 0, NULL));
    CHECK_OK(ek_matmul_f32(0, big, 0, NULL, 1, NULL, 1, 1, 0, NULL));
    CHECK_OK(ek_matmul_f32(big, 0, 0, NULL, 0, NULL, 0, 1, 0, NULL));
    float c[6] = {1, 2, 3, 4, 5, 6};
    CHECK_OK(ek_matmul_f32(2, 3, 0, NULL, 0, NULL, 0, 1, 0, c));
    for (int i = 0; i < 6; i++) CHECK(c[i] == 0.0f);
    /* a product BLAS must compute still needs 32-bit sizes; nothing is read or written */
    guard g;
    arm(&g);
    float *p = (float *)g.bytes;
    CHECK_ERROR(ek_matmul_f32(1, 1, big, p, 0, p, 0, 1, 0, p), EK_ERR_OVERFLOW, "matmul: m=1, n=1, k=3000000000 exceed");
    CHECK(intact(&g));
}

/* ek_set_num_threads(100000) used to be accepted; the next parallel kernel then crashed inside libgomp
 * (60000: "Thread creation failed" and exit(1)). */
TEST(thread_count_is_bounded) {
    int32_t saved = ek_get_num_threads();
    CHECK(saved >= 1 && saved <= EK_MAX_THREADS);
    CHECK_ERROR(ek_set_num_threads(100000), EK_ERR_INVALID_ARGUMENT,
                "set_num_threads: num_threads=100000 exceeds EK_MAX_THREADS=1024");
    CHECK_ERROR(ek_set_num_threads(EK_MAX_THREADS + 1), EK_ERR_INVALID_ARGUMENT, "num_threads=1025");
    CHECK_ERROR(ek_set_num_threads(INT32_MAX), EK_ERR_INVALID_ARGUMENT, "num_threads=2147483647");
    CHECK_EQ_I64(ek_get_num_threads(), saved); /* a refused count changes nothing */
    CHECK_OK(ek_set_num_threads(EK_MAX_THREADS));
    CHECK_EQ_I64(ek_get_num_threads(), EK_MAX_THREADS);
    CHECK_OK(ek_set_num_threads(saved));
    /* and a parallel kernel still runs after the refusals */
    CHECK_OK(ek_set_num_threads(2));
    enum { N = 1 << 16 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) x[i] = (float)(i % 7) - 3;
    CHECK_OK(ek_relu_forward_f32(N, x, y));
    int bad = 0;
    for (int i = 0; i < N; i++) bad += y[i] != (x[i] < 0 ? 0.0f : x[i]);
    CHECK_EQ_I64(bad, 0);
    free(x), free(y);
    CHECK_OK(ek_set_num_threads(saved));
}

/* PyTorch's relu backward is threshold_backward(grad, relu(x), 0): grad where the OUTPUT is not
 * <= 0. relu(NaN) = NaN, and NaN <= 0 is false, so a NaN input passes its gradient:
 *   torch.relu(tensor([nan, -1, 2, 0, -0., inf, -inf], requires_grad=True)) with grad 0.5
 *   -> x.grad = [0.5, 0, 0.5, 0, 0, 0.5, 0]. */
TEST(relu_backward_at_nan_matches_pytorch) {
    const float x[7] = {NAN, -1, 2, 0, -0.0f, INFINITY, -INFINITY}, want[7] = {0.5f, 0, 0.5f, 0, 0, 0.5f, 0};
    float g[7], gx[7];
    for (int i = 0; i < 7; i++) g[i] = 0.5f;
    CHECK_OK(ek_relu_backward_f32(7, x, g, gx));
    CHECK_SAME_BYTES(gx, want, sizeof want);
    /* the parallel path (two threads, more than EKI_PARALLEL_MIN_WORK elements) agrees */
    int32_t saved = ek_get_num_threads();
    CHECK_OK(ek_set_num_threads(2));
    enum { N = 1 << 16 };
    float *bx = malloc(sizeof(float) * N), *bg = malloc(sizeof(float) * N), *bgx = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) bx[i] = x[i % 7], bg[i] = 0.5f;
    CHECK_OK(ek_relu_backward_f32(N, bx, bg, bgx));
    int bad = 0;
    for (int i = 0; i < N; i++) bad += bgx[i] != want[i % 7];
    CHECK_EQ_I64(bad, 0);
    free(bx), free(bg), free(bgx);
    CHECK_OK(ek_set_num_threads(saved));
}

/* The chunked scatter of the fused bag backward + SGD step (sum / mean sources make no rows, so no
 * scratch is allocated): `scratch + t * dim` on a NULL scratch was undefined behaviour that UBSan
 * stops at (make sanitize-c runs this). Large enough for two chunks at two threads; the result must
 * equal the sparse backward followed by the scatter-add, bit for bit. */
TEST(fused_bag_sgd_chunked_without_scratch) {
    enum { NUM = 300, DIM = 16, N = 4096, B = 512 };
    ek_rng rng = {1414};
    int64_t *idx = malloc(sizeof(int64_t) * N), *rows = malloc(sizeof(int64_t) * N), nnz = -1;
    float *g = malloc(sizeof(float) * B * DIM), *values = malloc(sizeof(float) * N * DIM);
    float *fused = malloc(sizeof(float) * NUM * DIM), *two_step = malloc(sizeof(float) * NUM * DIM);
    for (int i = 0; i < N; i++) idx[i] = ek_rng_int(&rng, 0, NUM - 1);
    for (int i = 0; i < B * DIM; i++) g[i] = ek_rng_float(&rng, -1, 1);
    for (int i = 0; i < NUM * DIM; i++) fused[i] = two_step[i] = ek_rng_float(&rng, -1, 1);
    int32_t saved = ek_get_num_threads();
    CHECK_OK(ek_set_num_threads(2));
    for (int mode = EK_BAG_SUM; mode <= EK_BAG_MEAN; mode++) {
        CHECK_OK(pos_embedding_bag_backward_sgd_i64(NUM, DIM, N, B, 0, idx, NULL, 0, NULL, (ek_bag_mode)mode, EK_NO_PADDING,
                                                       0, NULL, g, 0.5f, fused));
        CHECK_OK(pos_embedding_bag_backward_sparse_i64(NUM, DIM, N, B, 0, idx, NULL, 0, NULL, (ek_bag_mode)mode,
                                                          EK_NO_PADDING, 0, NULL, g, rows, values, &nnz));
        CHECK_OK(ek_coo_scatter_add_f32(NUM, DIM, nnz, rows, values, -0.5f, two_step));
        CHECK_SAME_BYTES(fused, two_step, sizeof(float) * NUM * DIM);
    }
    CHECK_OK(ek_set_num_threads(saved));
    free(idx), free(rows), free(g), free(values), free(fused), free(two_step);
}
