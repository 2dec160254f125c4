/* test_renorm_once.c — max_norm renormalises each looked-up row exactly once, whatever the thread
 * count (issue 16: the per-row atomic claim became per-chunk bitmaps; a row whose positions fall in
 * several chunks must still be scaled once). With norm_type 0 (the count of non-zero elements) a
 * second scaling would multiply the row by the factor again, far outside any tolerance. */
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"
#include "ref.h"

TEST(renorm_scales_each_row_once_at_any_thread_count) {
    int32_t threads_was = ek_get_num_threads();
    ek_rng rng = {1616};
    const int64_t num = 900, dim = 24, n = 6000; /* every row ~6.7 times, across all chunks */
    const double norm_types[] = {0.0, 2.0, 1.0};
    float *w0 = malloc(sizeof(float) * (size_t)(num * dim)), *ref = malloc(sizeof(float) * (size_t)(num * dim));
    float *w = malloc(sizeof(float) * (size_t)(num * dim)), *first = malloc(sizeof(float) * (size_t)(num * dim));
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)n);
    for (int64_t i = 0; i < num * dim; i++) w0[i] = ek_rng_float(&rng, 0.5f, 2.0f); /* no zeros: p=0 norm is 24 */
    for (int64_t i = 0; i < n; i++) idx[i] = ek_rng_int(&rng, 0, num - 1);
    for (size_t k = 0; k < sizeof norm_types / sizeof norm_types[0]; k++) {
        double p = norm_types[k], max_norm = p == 0.0 ? 6.0 : 1.5;
        memcpy(ref, w0, sizeof(float) * (size_t)(num * dim));
        ekref_renorm(num, dim, n, idx, max_norm, p, ref);
        if (p == 0.0) /* independent of the reference: one scaling by 6 / (24 + 1e-7) */
            CHECK_MSG(fabsf(ref[idx[0] * dim] - w0[idx[0] * dim] * (float)(6.0 / (24.0 + 1e-7))) < 1e-6f,
                      "reference scaled %g -> %g", w0[idx[0] * dim], ref[idx[0] * dim]);
        for (int threads = 1; threads <= 4; threads++) {
            ek_set_num_threads(threads);
            memcpy(w, w0, sizeof(float) * (size_t)(num * dim));
            CHECK_OK(pos_embedding_renorm_i64(num, dim, n, idx, max_norm, p, w));
            if (!CHECK_CLOSE(w, ref, num * dim, 1e-6, 1e-6)) CHECK_MSG(0, "p=%g threads=%d", p, threads);
            if (threads == 1) memcpy(first, w, sizeof(float) * (size_t)(num * dim));
            else if (!CHECK_SAME_BYTES(w, first, sizeof(float) * (size_t)(num * dim)))
                CHECK_MSG(0, "p=%g: %d threads differ from 1", p, threads);
        }
    }
    free(w0), free(ref), free(w), free(first), free(idx);
    ek_set_num_threads(threads_was);
}
