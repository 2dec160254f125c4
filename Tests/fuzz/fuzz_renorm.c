/* fuzz_renorm.c — max_norm renormalisation in place, int64 and int32 indices (embeddingkit.h section 7):
 * max_norm (positive, zero, negative, NaN, Inf, subnormal, huge) and norm_type (2, 1, 0, Inf, other p,
 * negative, NaN), duplicates and padding-like repeats, out-of-range indices.
 *
 * Input: [flags] [num_embeddings] [dim] [num_indices] [max_norm] [norm_type] [nulls], then the indices
 *        and the weight table. */
#include "fuzz_common.h"

enum { S_INDICES, S_WEIGHT, S_COUNT };

static double decode_max_norm(fz_in *f) {
    static const double odd[16] = {0.0, -1.0, NAN, INFINITY, -INFINITY, 1e-310, DBL_MAX, 1e-45, -0.0, DBL_MIN,
                                   1e300, 0.0625, 1.0, 2.0, 1e-7, 3.0};
    uint8_t b = fz_u8(f);
    return b < 0xE0 ? (double)(b % 64 + 1) / 16.0 : odd[b & 15];
}

static double decode_norm_type(fz_in *f) {
    static const double types[16] = {2, 2, 2, 1, 1, INFINITY, 0, 3, 0.5, 1.5, 4, 2.5, -1, NAN, -INFINITY, 1e300};
    return types[fz_u8(f) & 15];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in f = fz_begin(data, size);
    int wild = 0;
    int64_t num = fz_size(&f, 64, &wild), dim = fz_size(&f, 16, &wild), n = fz_size(&f, 255, &wild);
    double max_norm = decode_max_norm(&f), norm_type = decode_norm_type(&f);
    fz_nulls z = fz_decode_nulls(&f, S_COUNT);

    int64_t table_elems = wild ? FZ_DUMMY : num * dim, idx_elems = wild ? FZ_DUMMY : n;
    fz_bufs R = {0};
    int64_t *idx64 = fz_alloc(&R, "indices(i64)", 8 * (size_t)idx_elems, 1);
    int32_t *idx32 = fz_alloc(&R, "indices(i32)", 4 * (size_t)idx_elems, 1);
    float *weight = fz_alloc(&R, "weight", 4 * (size_t)table_elems, 0); /* in place */
    int64_t *wide32 = calloc((size_t)idx_elems + 1, 8);
    if (!wild) {
        for (int64_t i = 0; i < n; i++) idx64[i] = fz_index(&f, num);
        fz_floats(&f, weight, num * dim);
    }
    fz_narrow(idx64, idx32, wide32, idx_elems);
    fz_freeze(&R);
    float *ref = malloc(4 * (size_t)table_elems + 4);

    for (int w32 = 0; w32 <= 1; w32++) {
        const int64_t *ix = w32 ? wide32 : idx64;
        fz_mask m = 0;
        fz_need_size(&m, num, 0), fz_need_size(&m, dim, 1), fz_need_size(&m, n, 0);
        fz_need_bytes(&m, num, dim, 4), fz_need_int_bytes(&m, n, 1, w32 ? 4 : 8);
        int size_bad = m != 0;
        if (wild && !size_bad) continue;
        const void *p_idx = fz_ptr(&z, S_INDICES, w32 ? (void *)idx32 : (void *)idx64, n);
        float *p_w = fz_ptr(&z, S_WEIGHT, weight, fz_elems(num, dim));
        fz_need_ptr(&m, p_idx, n, 1), fz_need_ptr(&m, p_w, num, dim);
        if (!(max_norm > 0.0) || isinf(max_norm)) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT); /* > 0 and finite */
        if (!(norm_type >= 0.0)) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);                    /* >= 0 or INFINITY */
        if (!wild && p_idx)
            for (int64_t i = 0; i < n; i++)
                if (ix[i] < 0 || ix[i] >= num) m |= FZ_BIT(EK_ERR_INDEX_OUT_OF_RANGE);
        if (wild) m = FZ_ANY_ERROR;

        fz_ctx_set("ek_renorm[%s](num_embeddings=%lld, dim=%lld, num_indices=%lld, max_norm=%.17g, "
                   "norm_type=%.17g)",
                   w32 ? "i32" : "i64", (long long)num, (long long)dim, (long long)n, max_norm, norm_type);
        if (!wild) fz_ctx_i64s("indices", ix, n), fz_ctx_f32s("weight", (const float *)fz_initial(&R, weight), num * dim);
        fz_reset(&R);
        ek_status s = w32 ? pos_embedding_renorm_i32(num, dim, n, p_idx, max_norm, norm_type, p_w)
                          : pos_embedding_renorm_i64(num, dim, n, p_idx, max_norm, norm_type, p_w);
        fz_check_status(s, m);
        fz_check_buffers(&R, s);
        if (s == EK_OK && !f.any_special) {
            memcpy(ref, fz_initial(&R, weight), 4 * (size_t)(num * dim));
            ekref_renorm(num, dim, n, ix, max_norm, norm_type, ref);
            fz_close("weight", weight, ref, num * dim, NULL);
        }
    }
    free(wide32), free(ref);
    fz_free_all(&R);
    return 0;
}
