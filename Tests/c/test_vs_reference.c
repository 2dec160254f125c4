/* Every optimised kernel against the scalar reference (ref.c) over a grid of corner cases and random
 * sizes: empty input, empty bags, duplicates, padding, weights on/off, every mode, both index widths,
 * 1 and 2 threads. Results must match the reference closely and be bit-identical across threads.
 * Some sizes are large enough to take the OpenMP path (> EKI_PARALLEL_MIN_WORK elements). */
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"
#include "ref.h"

#define TOL 1e-5

static float *floats(ek_rng *rng, int64_t n, float lo, float hi) {
    float *p = malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) p[i] = ek_rng_float(rng, lo, hi);
    return p;
}
static float *copy_floats(const float *src, int64_t n) {
    float *p = malloc(sizeof(float) * (size_t)(n + 1));
    if (n) memcpy(p, src, sizeof(float) * (size_t)n);
    return p;
}
static int64_t *ints(ek_rng *rng, int64_t n, int64_t count) {
    int64_t *p = malloc(sizeof(int64_t) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) p[i] = ek_rng_int(rng, 0, count - 1);
    return p;
}
static int32_t *narrow(const int64_t *src, int64_t n) {
    int32_t *p = malloc(sizeof(int32_t) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) p[i] = (int32_t)src[i];
    return p;
}

/* ---------------------------------------------------------------------------------------------- */

static void embedding_case(ek_rng *rng, int64_t num, int64_t dim, int64_t n, int64_t padding_idx, int scale) {
    char label[160];
    snprintf(label, sizeof label, "embedding num=%lld dim=%lld n=%lld pad=%lld scale=%d", (long long)num, (long long)dim,
             (long long)n, (long long)padding_idx, scale);
    int64_t pad = padding_idx == EK_NO_PADDING ? -1 : padding_idx < 0 ? num + padding_idx : padding_idx;
    float *w = floats(rng, num * dim, -1, 1), *g = floats(rng, n * dim, -1, 1), *g0 = floats(rng, num * dim, -1, 1);
    int64_t *idx = ints(rng, n, num);
    for (int64_t i = 0; i < n && pad >= 0; i += 5) idx[i] = pad;
    int32_t *idx32 = narrow(idx, n);

    float *out_ref = floats(rng, n * dim, 0, 0), *grad_ref = copy_floats(g0, num * dim);
    int64_t *rows_ref = malloc(sizeof(int64_t) * (size_t)(n + 1));
    float *values_ref = floats(rng, n * dim, 0, 0);
    ekref_embedding_forward(num, dim, n, w, idx, out_ref);
    ekref_embedding_backward_dense(num, dim, n, idx, g, pad, scale, grad_ref);
    int64_t nnz_ref = ekref_embedding_backward_sparse(num, dim, n, idx, g, pad, scale, rows_ref, values_ref);

    float *out1 = NULL, *grad1 = NULL, *values1 = NULL;
    for (int threads = 1; threads <= 3; threads++)
        for (int wide = 1; wide >= 0; wide--) {
            ek_set_num_threads(threads);
            float *out = floats(rng, n * dim, 0, 0), *grad = copy_floats(g0, num * dim), *values = floats(rng, n * dim, 0, 0);
            int64_t *rows = malloc(sizeof(int64_t) * (size_t)(n + 1)), nnz = -1;
            if (wide) {
                CHECK_OK(pos_embedding_forward_i64(num, dim, n, w, idx, out));
                CHECK_OK(pos_embedding_backward_dense_i64(num, dim, n, idx, g, padding_idx, scale, grad));
                CHECK_OK(pos_embedding_backward_sparse_i64(num, dim, n, idx, g, padding_idx, scale, rows, values, &nnz));
            } else {
                CHECK_OK(pos_embedding_forward_i32(num, dim, n, w, idx32, out));
                CHECK_OK(pos_embedding_backward_dense_i32(num, dim, n, idx32, g, padding_idx, scale, grad));
                CHECK_OK(pos_embedding_backward_sparse_i32(num, dim, n, idx32, g, padding_idx, scale, rows, values, &nnz));
            }
            CHECK_MSG(memcmp(out, out_ref, sizeof(float) * (size_t)(n * dim)) == 0, "%s: forward", label);
            if (!CHECK_CLOSE(grad, grad_ref, num * dim, TOL, TOL)) CHECK_MSG(0, "%s: dense backward", label);
            CHECK_MSG(nnz == nnz_ref && memcmp(rows, rows_ref, sizeof(int64_t) * (size_t)nnz_ref) == 0, "%s: sparse rows",
                      label);
            if (!CHECK_CLOSE(values, values_ref, nnz_ref * dim, TOL, TOL)) CHECK_MSG(0, "%s: sparse values", label);
            if (!out1) {
                out1 = out, grad1 = grad, values1 = values;
            } else {
                CHECK_MSG(memcmp(grad, grad1, sizeof(float) * (size_t)(num * dim)) == 0, "%s: threads=%d differs", label, threads);
                CHECK_MSG(memcmp(values, values1, sizeof(float) * (size_t)(nnz_ref * dim)) == 0, "%s: threads=%d", label, threads);
                free(out), free(grad), free(values);
            }
            free(rows);
        }
    free(out1), free(grad1), free(values1);
    free(w), free(g), free(g0), free(idx), free(idx32), free(out_ref), free(grad_ref), free(rows_ref), free(values_ref);
}

TEST(embedding_matches_reference) {
    ek_rng rng = {1};
    const int64_t nums[] = {1, 3, 50, 2000}, dims[] = {1, 3, 16, 33}, ns[] = {0, 1, 7, 100, 3000};
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 5; c++) {
                int64_t num = nums[a];
                int64_t pads[3] = {EK_NO_PADDING, num - 1, -1};
                embedding_case(&rng, num, dims[b], ns[c], pads[(a + b + c) % 3], (a + c) % 2);
            }
    ek_set_num_threads(2);
}

/* ---------------------------------------------------------------------------------------------- */

typedef struct {
    int64_t num, dim, num_bags;
    int layout; /* 0: fixed-length bags, 1: offsets, 2: offsets with include_last_offset */
    int weighted, scale;
    ek_bag_mode mode;
    int64_t padding_idx;
} bag_config;

static void bag_case(ek_rng *rng, bag_config cfg, int64_t avg_len) {
    char label[200];
    snprintf(label, sizeof label, "bag num=%lld dim=%lld B=%lld layout=%d weighted=%d scale=%d mode=%d pad=%lld",
             (long long)cfg.num, (long long)cfg.dim, (long long)cfg.num_bags, cfg.layout, cfg.weighted, cfg.scale,
             (int)cfg.mode, (long long)cfg.padding_idx);
    int64_t num = cfg.num, dim = cfg.dim, B = cfg.num_bags;
    int64_t pad = cfg.padding_idx == EK_NO_PADDING ? -1 : cfg.padding_idx < 0 ? num + cfg.padding_idx : cfg.padding_idx;

    /* bag layout as CSR (B + 1 boundaries) for the reference; offsets / fixed length for the kernel */
    int64_t *csr = malloc(sizeof(int64_t) * (size_t)(B + 1));
    int64_t fixed = ek_rng_int(rng, 0, 2 * avg_len);
    csr[0] = 0;
    for (int64_t b = 0; b < B; b++)
        csr[b + 1] = csr[b] + (cfg.layout == 0 ? fixed : ek_rng_int(rng, 0, 3) == 0 ? 0 : ek_rng_int(rng, 0, 2 * avg_len));
    int64_t n = csr[B];
    const int64_t *offsets = cfg.layout == 0 ? NULL : csr;

    float *w = floats(rng, num * dim, -1, 1), *g = floats(rng, B * dim, -1, 1), *g0 = floats(rng, num * dim, -1, 1);
    float *psw = cfg.weighted ? floats(rng, n, -0.5f, 2) : NULL;
    if (cfg.mode == EK_BAG_MAX && num % 2 == 0) /* coarse values: ties are common, first must win */
        for (int64_t i = 0; i < num * dim; i++) w[i] = roundf(w[i] * 2) / 2;
    int64_t *idx = ints(rng, n, num);
    for (int64_t i = 0; i < n && pad >= 0; i += 4) idx[i] = pad;
    int32_t *idx32 = narrow(idx, n), *off32 = narrow(csr, B + 1);

    float *out_ref = floats(rng, B * dim, 0, 0), *grad_ref = copy_floats(g0, num * dim);
    int64_t *size_ref = malloc(sizeof(int64_t) * (size_t)(B + 1)), *argmax_ref = malloc(sizeof(int64_t) * (size_t)(B * dim + 1));
    int64_t *rows_ref = malloc(sizeof(int64_t) * (size_t)(n + 1));
    float *values_ref = floats(rng, n * dim, 0, 0), *gw_ref = floats(rng, n, 0, 0);
    int is_max = cfg.mode == EK_BAG_MAX;
    ekref_bag_forward(num, dim, n, B, w, idx, csr, psw, cfg.mode, pad, out_ref, size_ref, is_max ? argmax_ref : NULL);
    ekref_bag_backward_dense(num, dim, n, B, idx, csr, psw, cfg.mode, pad, cfg.scale, argmax_ref, g, grad_ref);
    int64_t nnz_ref = ekref_bag_backward_sparse(num, dim, n, B, idx, csr, psw, cfg.mode, pad, cfg.scale, argmax_ref, g,
                                                rows_ref, values_ref);
    /* the fused backward + SGD step: the table after weight[rows[k]] += -lr * values[k] */
    const float lr = 0.75f;
    float *stepped_ref = copy_floats(g0, num * dim);
    for (int64_t k = 0; k < nnz_ref; k++)
        for (int64_t d = 0; d < dim; d++) stepped_ref[rows_ref[k] * dim + d] += -lr * values_ref[k * dim + d];
    int weights_grad = !is_max && (cfg.weighted || cfg.mode == EK_BAG_SUM);
    if (weights_grad) ekref_bag_weights_backward(num, dim, n, B, w, idx, csr, psw, cfg.mode, pad, g, gw_ref);

    float *first_out = NULL, *first_grad = NULL;
    for (int threads = 1; threads <= 2; threads++)
        for (int wide = 1; wide >= 0; wide--) {
            ek_set_num_threads(threads);
            float *out = floats(rng, B * dim, 0, 0), *grad = copy_floats(g0, num * dim);
            float *values = floats(rng, n * dim, 0, 0), *gw = floats(rng, n, 0, 0);
            int64_t *size = malloc(sizeof(int64_t) * (size_t)(B + 1)), *argmax = malloc(sizeof(int64_t) * (size_t)(B * dim + 1));
            int64_t *rows = malloc(sizeof(int64_t) * (size_t)(n + 1)), nnz = -1;
            float *stepped = copy_floats(g0, num * dim), *two_step = copy_floats(g0, num * dim);
            int64_t nw = psw ? n : 0, *am = is_max ? argmax : NULL;
            const int32_t *o32 = offsets ? off32 : NULL;
            int last = cfg.layout == 2;
            int64_t bags_in_offsets = B; /* without include_last_offset the kernel sees B offsets */
            if (wide) {
                CHECK_OK(pos_embedding_bag_forward_i64(num, dim, n, bags_in_offsets, nw, w, idx, offsets, last, psw,
                                                          cfg.mode, cfg.padding_idx, out, size, am));
                CHECK_OK(pos_embedding_bag_backward_dense_i64(num, dim, n, B, nw, idx, offsets, last, psw, cfg.mode,
                                                                 cfg.padding_idx, cfg.scale, argmax_ref, g, grad));
                CHECK_OK(pos_embedding_bag_backward_sparse_i64(num, dim, n, B, nw, idx, offsets, last, psw, cfg.mode,
                                                                  cfg.padding_idx, cfg.scale, argmax_ref, g, rows, values, &nnz));
                CHECK_OK(pos_embedding_bag_backward_sgd_i64(num, dim, n, B, nw, idx, offsets, last, psw, cfg.mode,
                                                               cfg.padding_idx, cfg.scale, argmax_ref, g, lr, stepped));
                if (weights_grad)
                    CHECK_OK(pos_embedding_bag_per_sample_weights_backward_i64(num, dim, n, B, nw, w, idx, offsets, last,
                                                                                  psw, cfg.mode, cfg.padding_idx, g, gw));
            } else {
                CHECK_OK(pos_embedding_bag_forward_i32(num, dim, n, B, nw, w, idx32, o32, last, psw, cfg.mode,
                                                          cfg.padding_idx, out, size, am));
                CHECK_OK(pos_embedding_bag_backward_dense_i32(num, dim, n, B, nw, idx32, o32, last, psw, cfg.mode,
                                                                 cfg.padding_idx, cfg.scale, argmax_ref, g, grad));
                CHECK_OK(pos_embedding_bag_backward_sparse_i32(num, dim, n, B, nw, idx32, o32, last, psw, cfg.mode,
                                                                  cfg.padding_idx, cfg.scale, argmax_ref, g, rows, values, &nnz));
                CHECK_OK(pos_embedding_bag_backward_sgd_i32(num, dim, n, B, nw, idx32, o32, last, psw, cfg.mode,
                                                               cfg.padding_idx, cfg.scale, argmax_ref, g, lr, stepped));
                if (weights_grad)
                    CHECK_OK(pos_embedding_bag_per_sample_weights_backward_i32(num, dim, n, B, nw, w, idx32, o32, last,
                                                                                  psw, cfg.mode, cfg.padding_idx, g, gw));
            }
            if (!CHECK_CLOSE(out, out_ref, B * dim, TOL, TOL)) CHECK_MSG(0, "%s: forward", label);
            CHECK_MSG(memcmp(size, size_ref, sizeof(int64_t) * (size_t)B) == 0, "%s: bag_size", label);
            if (is_max) CHECK_MSG(memcmp(argmax, argmax_ref, sizeof(int64_t) * (size_t)(B * dim)) == 0, "%s: max_indices", label);
            if (!CHECK_CLOSE(grad, grad_ref, num * dim, TOL, TOL)) CHECK_MSG(0, "%s: dense backward", label);
            CHECK_MSG(nnz == nnz_ref && memcmp(rows, rows_ref, sizeof(int64_t) * (size_t)nnz_ref) == 0, "%s: sparse rows", label);
            if (!CHECK_CLOSE(values, values_ref, nnz_ref * dim, TOL, TOL)) CHECK_MSG(0, "%s: sparse values", label);
            if (weights_grad && !CHECK_CLOSE(gw, gw_ref, n, 1e-4, 1e-4)) CHECK_MSG(0, "%s: weights gradient", label);
            if (!CHECK_CLOSE(stepped, stepped_ref, num * dim, TOL, TOL)) CHECK_MSG(0, "%s: fused SGD step", label);
            /* the documented contract: bit-identical to the sparse backward + ek_coo_scatter_add_f32(-lr) */
            CHECK_OK(ek_coo_scatter_add_f32(num, dim, nnz, rows, values, -lr, two_step));
            CHECK_MSG(memcmp(stepped, two_step, sizeof(float) * (size_t)(num * dim)) == 0,
                      "%s: threads=%d fused SGD step differs from backward + scatter-add", label, threads);
            if (!first_out) {
                first_out = out, first_grad = grad;
            } else {
                CHECK_MSG(memcmp(out, first_out, sizeof(float) * (size_t)(B * dim)) == 0, "%s: threads=%d forward differs", label, threads);
                CHECK_MSG(memcmp(grad, first_grad, sizeof(float) * (size_t)(num * dim)) == 0, "%s: threads=%d backward differs", label, threads);
                free(out), free(grad);
            }
            free(values), free(gw), free(size), free(argmax), free(rows), free(stepped), free(two_step);
        }
    free(first_out), free(first_grad);
    free(csr), free(w), free(g), free(g0), free(psw), free(idx), free(idx32), free(off32), free(out_ref), free(grad_ref);
    free(size_ref), free(argmax_ref), free(rows_ref), free(values_ref), free(gw_ref), free(stepped_ref);
}

TEST(embedding_bag_matches_reference) {
    ek_rng rng = {2};
    for (int i = 0; i < 240; i++) {
        bag_config cfg;
        cfg.num = (int64_t[]){1, 4, 30, 500}[ek_rng_int(&rng, 0, 3)];
        cfg.dim = (int64_t[]){1, 2, 7, 16, 64}[ek_rng_int(&rng, 0, 4)];
        cfg.num_bags = (int64_t[]){0, 1, 5, 40, 600}[ek_rng_int(&rng, 0, 4)];
        cfg.layout = (int)ek_rng_int(&rng, 0, 2);
        cfg.mode = (ek_bag_mode)(i % 3);
        cfg.weighted = cfg.mode != EK_BAG_MAX && ek_rng_int(&rng, 0, 1);
        cfg.scale = cfg.mode != EK_BAG_MAX && ek_rng_int(&rng, 0, 1);
        int64_t pads[3] = {EK_NO_PADDING, 0, -1};
        cfg.padding_idx = pads[ek_rng_int(&rng, 0, 2)];
        bag_case(&rng, cfg, (int64_t[]){1, 4, 20}[ek_rng_int(&rng, 0, 2)]);
    }
    /* large enough for the parallel paths */
    bag_case(&rng, (bag_config){5000, 64, 2000, 1, 0, 0, EK_BAG_SUM, EK_NO_PADDING}, 20);
    bag_case(&rng, (bag_config){5000, 32, 1000, 2, 1, 1, EK_BAG_MEAN, 3}, 20);
    bag_case(&rng, (bag_config){300, 48, 1500, 0, 0, 0, EK_BAG_MAX, 0}, 10);
    ek_set_num_threads(2);
}

/* ---------------------------------------------------------------------------------------------- */

TEST(renorm_matches_reference) {
    ek_rng rng = {3};
    const double norms[] = {1.0, 2.0, 3.5, INFINITY, 0.0};
    for (int i = 0; i < 60; i++) {
        int64_t num = ek_rng_int(&rng, 1, i < 50 ? 40 : 3000), dim = ek_rng_int(&rng, 1, 40), n = ek_rng_int(&rng, 0, i < 50 ? 30 : 3000);
        double p = norms[i % 5], max_norm = ek_rng_float(&rng, 0.1f, 3.0f);
        float *w0 = floats(&rng, num * dim, -2, 2);
        int64_t *idx = ints(&rng, n, num);
        int32_t *idx32 = narrow(idx, n);
        float *ref = copy_floats(w0, num * dim), *first = NULL;
        ekref_renorm(num, dim, n, idx, max_norm, p, ref);
        for (int threads = 1; threads <= 2; threads++)
            for (int wide = 1; wide >= 0; wide--) {
                ek_set_num_threads(threads);
                float *w = copy_floats(w0, num * dim);
                if (wide) CHECK_OK(pos_embedding_renorm_i64(num, dim, n, idx, max_norm, p, w));
                else CHECK_OK(pos_embedding_renorm_i32(num, dim, n, idx32, max_norm, p, w));
                if (!CHECK_CLOSE(w, ref, num * dim, 1e-6, 1e-5)) CHECK_MSG(0, "renorm case %d p=%g", i, p);
                if (!first) first = w;
                else CHECK_MSG(memcmp(w, first, sizeof(float) * (size_t)(num * dim)) == 0, "renorm case %d threads", i), free(w);
            }
        free(first), free(w0), free(idx), free(idx32), free(ref);
    }
    ek_set_num_threads(2);
}

TEST(softmax_and_cross_entropy_match_reference) {
    ek_rng rng = {4};
    for (int i = 0; i < 40; i++) {
        int64_t rows = ek_rng_int(&rng, 0, i < 30 ? 20 : 300), cols = ek_rng_int(&rng, 1, i < 30 ? 50 : 400);
        int64_t cells = rows * cols;
        float *x = floats(&rng, cells, -30, 30), *gy = floats(&rng, cells, -1, 1);
        float *y_ref = floats(&rng, cells, 0, 0), *gx_ref = floats(&rng, cells, 0, 0);
        float *y = floats(&rng, cells, 0, 0), *gx = floats(&rng, cells, 0, 0);
        for (int log_space = 0; log_space <= 1; log_space++) {
            ekref_softmax(rows, cols, x, y_ref, log_space);
            ekref_softmax_backward(rows, cols, y_ref, gy, gx_ref, log_space);
            for (int threads = 1; threads <= 2; threads++) {
                ek_set_num_threads(threads);
                CHECK_OK((log_space ? ek_log_softmax_forward_f32 : ek_softmax_forward_f32)(rows, cols, x, y));
                CHECK_OK((log_space ? ek_log_softmax_backward_f32 : ek_softmax_backward_f32)(rows, cols, y, gy, gx));
                if (!CHECK_CLOSE(y, y_ref, cells, 1e-5, 1e-5)) CHECK_MSG(0, "softmax case %d log=%d", i, log_space);
                if (!CHECK_CLOSE(gx, gx_ref, cells, 1e-5, 1e-4)) CHECK_MSG(0, "softmax backward case %d log=%d", i, log_space);
            }
        }
        int64_t *t = ints(&rng, rows, cols);
        for (int64_t r = 0; r < rows; r += 3) t[r] = -100; /* ignored rows */
        int32_t *t32 = narrow(t, rows);
        float eps = (float[]){0.0f, 0.1f, 0.3f}[i % 3];
        for (int red = 0; red <= 2; red++) {
            int64_t nl = red == EK_REDUCTION_NONE ? rows : 1;
            float *loss_ref = floats(&rng, nl, 0, 0), *loss = floats(&rng, nl, 0, 0), *first = NULL;
            ekref_cross_entropy(rows, cols, x, t, -100, eps, (ek_reduction)red, loss_ref, gx_ref);
            for (int threads = 1; threads <= 2; threads++)
                for (int wide = 1; wide >= 0; wide--) {
                    ek_set_num_threads(threads);
                    if (wide) CHECK_OK(ek_cross_entropy_f32_i64(rows, cols, x, t, -100, eps, (ek_reduction)red, loss, gx));
                    else CHECK_OK(ek_cross_entropy_f32_i32(rows, cols, x, t32, -100, eps, (ek_reduction)red, loss, gx));
                    if (!CHECK_CLOSE(loss, loss_ref, nl, 1e-4, 1e-5)) CHECK_MSG(0, "xent case %d red=%d loss", i, red);
                    if (!CHECK_CLOSE(gx, gx_ref, cells, 1e-6, 1e-4)) CHECK_MSG(0, "xent case %d red=%d grad", i, red);
                    if (!first) first = copy_floats(gx, cells);
                    else CHECK_MSG(memcmp(gx, first, sizeof(float) * (size_t)cells) == 0, "xent case %d threads", i);
                }
            free(loss_ref), free(loss), free(first);
        }
        free(x), free(gy), free(y_ref), free(gx_ref), free(y), free(gx), free(t), free(t32);
    }
    ek_set_num_threads(2);
}

TEST(coo_coalesce_and_scatter_add_match_reference) {
    ek_rng rng = {5};
    for (int i = 0; i < 60; i++) {
        int64_t num = ek_rng_int(&rng, 1, i < 50 ? 30 : 2000), dim = ek_rng_int(&rng, 1, 20);
        int64_t nnz = ek_rng_int(&rng, 0, i < 50 ? 40 : 5000);
        int64_t *rows = ints(&rng, nnz, num);
        if (i % 4 == 0) /* already coalesced input: no row shared between chunks */
            for (int64_t k = 0; k < nnz; k++) rows[k] = k * num / (nnz ? nnz : 1);
        float *values = floats(&rng, nnz * dim, -1, 1), *t0 = floats(&rng, num * dim, -1, 1);
        int64_t *crow_ref = malloc(sizeof(int64_t) * (size_t)(nnz + 1)), *crow = malloc(sizeof(int64_t) * (size_t)(nnz + 1));
        float *cval_ref = floats(&rng, nnz * dim, 0, 0), *cval = floats(&rng, nnz * dim, 0, 0);
        int64_t cnnz_ref = ekref_coo_coalesce(num, dim, nnz, rows, values, crow_ref, cval_ref);
        float *t_ref = copy_floats(t0, num * dim);
        ekref_coo_scatter_add(num, dim, nnz, rows, values, -0.5f, t_ref);
        for (int threads = 1; threads <= 3; threads++) {
            ek_set_num_threads(threads);
            int64_t cnnz = -1;
            CHECK_OK(ek_coo_coalesce_f32(num, dim, nnz, rows, values, crow, cval, &cnnz));
            CHECK_MSG(cnnz == cnnz_ref && memcmp(crow, crow_ref, sizeof(int64_t) * (size_t)cnnz_ref) == 0, "coalesce %d rows", i);
            CHECK_MSG(memcmp(cval, cval_ref, sizeof(float) * (size_t)(cnnz_ref * dim)) == 0, "coalesce %d values", i);
            float *t = copy_floats(t0, num * dim);
            CHECK_OK(ek_coo_scatter_add_f32(num, dim, nnz, rows, values, -0.5f, t));
            CHECK_MSG(memcmp(t, t_ref, sizeof(float) * (size_t)(num * dim)) == 0, "scatter_add %d", i);
            free(t);
        }
        free(rows), free(values), free(t0), free(crow_ref), free(crow), free(cval_ref), free(cval), free(t_ref);
    }
    ek_set_num_threads(2);
}

TEST(optimizer_updates_match_reference) {
    ek_rng rng = {6};
    for (int i = 0; i < 36; i++) {
        int64_t num = ek_rng_int(&rng, 1, i < 30 ? 30 : 3000), dim = ek_rng_int(&rng, 1, 24);
        /* coalesced rows: a random increasing subset, or NULL for a dense update of every row */
        int dense = i % 6 == 0;
        int64_t *rows = malloc(sizeof(int64_t) * (size_t)(num + 1)), nnz = 0;
        for (int64_t r = 0; r < num; r++)
            if (dense || ek_rng_int(&rng, 0, 2) == 0) rows[nnz++] = r;
        const int64_t *rp = dense ? NULL : rows;
        float *g = floats(&rng, nnz * dim, -1, 1), *w0 = floats(&rng, num * dim, -1, 1);
        float *s0 = floats(&rng, num * dim, 0, 1), *s1 = floats(&rng, num * dim, 0, 1);
        float momentum = (float[]){0.0f, 0.9f}[i % 2], wd = (float[]){0.0f, 0.01f, 0.1f}[i % 3];
        int nesterov = momentum > 0 && i % 4 == 1;
        for (int kind = 0; kind < 3; kind++) {
            float *w_ref = copy_floats(w0, num * dim), *a_ref = copy_floats(s0, num * dim), *b_ref = copy_floats(s1, num * dim);
            if (kind == 0) ekref_sgd(dim, nnz, rp, g, 0.1f, momentum, 0.0f, wd, nesterov, w_ref, a_ref);
            if (kind == 1) ekref_adagrad(dim, nnz, rp, g, 0.1f, 1e-10f, wd, w_ref, a_ref);
            if (kind == 2) ekref_adam(dim, nnz, rp, g, 0.01f, 0.9f, 0.999f, 1e-8f, wd, 3, w_ref, a_ref, b_ref);
            for (int threads = 1; threads <= 2; threads++) {
                ek_set_num_threads(threads);
                float *w = copy_floats(w0, num * dim), *a = copy_floats(s0, num * dim), *b = copy_floats(s1, num * dim);
                if (kind == 0) CHECK_OK(ek_sgd_update_f32(num, dim, nnz, rp, g, 0.1f, momentum, 0.0f, wd, nesterov, w, a));
                if (kind == 1) CHECK_OK(ek_adagrad_update_f32(num, dim, nnz, rp, g, 0.1f, 1e-10f, wd, w, a));
                if (kind == 2) CHECK_OK(ek_adam_update_f32(num, dim, nnz, rp, g, 0.01f, 0.9f, 0.999f, 1e-8f, wd, 3, w, a, b));
                if (!CHECK_CLOSE(w, w_ref, num * dim, 1e-6, 1e-5)) CHECK_MSG(0, "optimizer %d case %d weight", kind, i);
                if (!CHECK_CLOSE(a, a_ref, num * dim, 1e-6, 1e-5)) CHECK_MSG(0, "optimizer %d case %d state", kind, i);
                if (!CHECK_CLOSE(b, b_ref, num * dim, 1e-6, 1e-5)) CHECK_MSG(0, "optimizer %d case %d state 2", kind, i);
                free(w), free(a), free(b);
            }
            free(w_ref), free(a_ref), free(b_ref);
        }
        free(rows), free(g), free(w0), free(s0), free(s1);
    }
    ek_set_num_threads(2);
}
