/* fuzz_embedding.c — embedding lookup (gather) and its dense and sparse backward, int64 and int32
 * indices (embeddingkit.h sections 1-3).
 *
 * Input: [flags] [num_embeddings] [dim] [num_indices] [padding_idx] [scale_grad_by_freq] [nulls]
 *        then num_indices index bytes, the weight table, grad_out and the initial grad_weight
 *        (one byte per float; see fuzz_common.h for each decoder). */
#include "fuzz_common.h"

enum { S_WEIGHT, S_INDICES, S_OUT, S_GRAD_OUT, S_GRAD_WEIGHT, S_OUT_ROWS, S_OUT_VALUES, S_OUT_NNZ, S_COUNT };

static void describe(const char *fn, int w32, int64_t num, int64_t dim, int64_t n, int64_t padding_idx, int32_t scale,
                     const int64_t *ix, int wild) {
    fz_ctx_set("%s_%s(num_embeddings=%lld, dim=%lld, num_indices=%lld, padding_idx=%lld, scale_grad_by_freq=%d)", fn,
               w32 ? "i32" : "i64", (long long)num, (long long)dim, (long long)n, (long long)padding_idx, (int)scale);
    if (!wild) fz_ctx_i64s("indices", ix, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in f = fz_begin(data, size);
    int wild = 0;
    int64_t num = fz_size(&f, 64, &wild), dim = fz_size(&f, 16, &wild), n = fz_size(&f, 255, &wild);
    int64_t padding_idx = fz_padding(&f, num);
    int32_t scale = fz_flag(&f);
    fz_nulls z = fz_decode_nulls(&f, S_COUNT);

    int64_t table_elems = wild ? FZ_DUMMY : num * dim, rows_elems = wild ? FZ_DUMMY : n * dim;
    int64_t idx_elems = wild ? FZ_DUMMY : n;
    fz_bufs R = {0};
    int64_t *idx64 = fz_alloc(&R, "indices(i64)", 8 * (size_t)idx_elems, 1);
    int32_t *idx32 = fz_alloc(&R, "indices(i32)", 4 * (size_t)idx_elems, 1);
    float *weight = fz_alloc(&R, "weight", 4 * (size_t)table_elems, 1);
    float *grad_out = fz_alloc(&R, "grad_out", 4 * (size_t)rows_elems, 1);
    float *out = fz_alloc(&R, "out", 4 * (size_t)rows_elems, 0);
    float *grad_weight = fz_alloc(&R, "grad_weight", 4 * (size_t)table_elems, 0);
    int64_t *out_rows = fz_alloc(&R, "out_rows", 8 * (size_t)idx_elems, 0);
    float *out_values = fz_alloc(&R, "out_values", 4 * (size_t)rows_elems, 0);
    int64_t *out_nnz = fz_alloc(&R, "out_nnz", 8, 0);
    int64_t *wide32 = calloc((size_t)idx_elems + 1, 8);
    if (!wild) {
        for (int64_t i = 0; i < n; i++) idx64[i] = fz_index(&f, num);
        fz_floats(&f, weight, num * dim);
        fz_floats(&f, grad_out, n * dim);
        fz_floats(&f, grad_weight, num * dim);
    }
    fz_narrow(idx64, idx32, wide32, idx_elems);
    fz_freeze(&R);
    float *ref_out = malloc(4 * (size_t)rows_elems + 4), *ref_gw = malloc(4 * (size_t)table_elems + 4);
    float *ref_values = malloc(4 * (size_t)rows_elems + 4);
    int64_t *ref_rows = malloc(8 * (size_t)idx_elems + 8);

    for (int w32 = 0; w32 <= 1; w32++) {
        const int64_t *ix = w32 ? wide32 : idx64; /* the values the kernel sees */
        fz_mask base = 0;
        fz_need_size(&base, num, 0), fz_need_size(&base, dim, 1), fz_need_size(&base, n, 0);
        fz_need_bytes(&base, num, dim, 4), fz_need_bytes(&base, n, dim, 4), fz_need_int_bytes(&base, n, 1, w32 ? 4 : 8);
        if (wild && !base) continue; /* valid only with huge buffers: cannot be called */
        int64_t *p_i64 = fz_ptr(&z, S_INDICES, idx64, n);
        int32_t *p_i32 = fz_ptr(&z, S_INDICES, idx32, n);
        const void *p_idx = w32 ? (const void *)p_i32 : (const void *)p_i64;
        fz_mask bad_index = 0;
        if (!wild && p_idx)
            for (int64_t i = 0; i < n; i++)
                if (ix[i] < 0 || ix[i] >= num) bad_index = FZ_BIT(EK_ERR_INDEX_OUT_OF_RANGE);
        int64_t pad;
        fz_mask bad_pad = 0;
        fz_need_padding(&bad_pad, padding_idx, num, &pad);

        /* forward */
        {
            float *p_w = fz_ptr(&z, S_WEIGHT, weight, fz_elems(num, dim));
            float *p_out = fz_ptr(&z, S_OUT, out, fz_elems(n, dim));
            fz_mask m = base | bad_index;
            fz_need_ptr(&m, p_idx, n, 1), fz_need_ptr(&m, p_w, num, dim), fz_need_ptr(&m, p_out, n, dim);
            if (wild) m = FZ_ANY_ERROR;
            describe("ek_lookup_forward", w32, num, dim, n, padding_idx, scale, ix, wild);
            fz_reset(&R);
            ek_status s = w32 ? pos_embedding_forward_i32(num, dim, n, p_w, p_i32, p_out)
                              : pos_embedding_forward_i64(num, dim, n, p_w, p_i64, p_out);
            fz_check_status(s, m);
            fz_check_buffers(&R, s);
            if (s == EK_OK) {
                ekref_embedding_forward(num, dim, n, weight, ix, ref_out);
                fz_same_f32("out", out, ref_out, n * dim);
            }
        }
        /* dense backward */
        {
            float *p_g = fz_ptr(&z, S_GRAD_OUT, grad_out, fz_elems(n, dim));
            float *p_gw = fz_ptr(&z, S_GRAD_WEIGHT, grad_weight, fz_elems(num, dim));
            fz_mask m = base | bad_index | bad_pad;
            fz_need_flag(&m, scale);
            fz_need_ptr(&m, p_idx, n, 1), fz_need_ptr(&m, p_g, n, dim), fz_need_ptr(&m, p_gw, num, dim);
            if (wild) m = FZ_ANY_ERROR;
            describe("ek_lookup_backward_dense", w32, num, dim, n, padding_idx, scale, ix, wild);
            fz_reset(&R);
            ek_status s = w32 ? pos_embedding_backward_dense_i32(num, dim, n, p_i32, p_g, padding_idx, scale, p_gw)
                              : pos_embedding_backward_dense_i64(num, dim, n, p_i64, p_g, padding_idx, scale, p_gw);
            fz_check_status(s, m);
            fz_check_buffers(&R, s);
            if (s == EK_OK && !f.any_special) {
                memcpy(ref_gw, fz_initial(&R, grad_weight), 4 * (size_t)(num * dim));
                ekref_embedding_backward_dense(num, dim, n, ix, grad_out, pad, scale, ref_gw);
                fz_close("grad_weight", grad_weight, ref_gw, num * dim, NULL);
            }
        }
        /* sparse backward */
        {
            float *p_g = fz_ptr(&z, S_GRAD_OUT, grad_out, fz_elems(n, dim));
            int64_t *p_rows = fz_ptr(&z, S_OUT_ROWS, out_rows, n);
            float *p_values = fz_ptr(&z, S_OUT_VALUES, out_values, fz_elems(n, dim));
            int64_t *p_nnz = fz_ptr(&z, S_OUT_NNZ, out_nnz, 1);
            fz_mask m = base | bad_index | bad_pad;
            fz_need_int_bytes(&m, n, 1, 8); /* out_rows is int64 for both widths */
            fz_need_flag(&m, scale);
            fz_need_ptr(&m, p_idx, n, 1), fz_need_ptr(&m, p_g, n, dim), fz_need_ptr(&m, p_rows, n, 1);
            fz_need_ptr(&m, p_values, n, dim), fz_need_ptr(&m, p_nnz, 1, 1);
            if (wild) m = FZ_ANY_ERROR;
            describe("ek_lookup_backward_sparse", w32, num, dim, n, padding_idx, scale, ix, wild);
            fz_reset(&R);
            ek_status s = w32 ? pos_embedding_backward_sparse_i32(num, dim, n, p_i32, p_g, padding_idx, scale, p_rows,
                                                                     p_values, p_nnz)
                              : pos_embedding_backward_sparse_i64(num, dim, n, p_i64, p_g, padding_idx, scale, p_rows,
                                                                     p_values, p_nnz);
            fz_check_status(s, m);
            fz_check_buffers(&R, s);
            if (s == EK_OK) {
                int64_t nnz = ekref_embedding_backward_sparse(num, dim, n, ix, grad_out, pad, scale, ref_rows, ref_values);
                if (*out_nnz != nnz) fz_fail("*out_nnz = %lld, the reference gives %lld", (long long)*out_nnz, (long long)nnz);
                fz_same_i64("out_rows", out_rows, ref_rows, nnz);
                if (!f.any_special) fz_close("out_values", out_values, ref_values, nnz * dim, NULL);
                fz_still_poisoned("out_rows", out_rows, 8 * (size_t)nnz, 8 * (size_t)n);
                fz_still_poisoned("out_values", out_values, 4 * (size_t)(nnz * dim), 4 * (size_t)(n * dim));
            }
        }
    }
    free(wide32), free(ref_out), free(ref_gw), free(ref_values), free(ref_rows);
    fz_free_all(&R);
    return 0;
}
