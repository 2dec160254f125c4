/* embedding.c — embedding lookup (gather) and its dense and sparse backward. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "quant.h"

/* Checks shared by every embedding entry point: sizes, byte counts, pointers, indices.
 * table_name NULL: the call has no table (the sparse backward); table_elem: the bytes of one of its
 * elements (4, or 2 for an fp16 / bf16 table). */
static ek_status check_embedding_args(const char *op, int64_t num_embeddings, int64_t dim, int64_t num_indices,
                                      eki_index indices, const void *table, const char *table_name,
                                      size_t table_elem, const void *rows_in, const char *rows_in_name) {
    ek_status s;
    if ((s = eki_check_size(op, "num_embeddings", num_embeddings, 0)) || (s = eki_check_size(op, "dim", dim, 1)) ||
        (s = eki_check_size(op, "num_indices", num_indices, 0)) ||
        (s = eki_check_bytes(op, "table", num_embeddings, dim, table_elem)) ||
        (s = eki_check_bytes(op, rows_in_name, num_indices, dim, sizeof(float))) ||
        (s = eki_check_bytes(op, "indices", num_indices, 1, sizeof(int64_t))) ||
        (s = eki_check_ptr(op, "indices", indices.data, num_indices)) ||
        (table_name && (s = eki_check_ptr(op, table_name, table, num_embeddings * dim))) ||
        (s = eki_check_ptr(op, rows_in_name, rows_in, num_indices * dim)))
        return s;
    return eki_check_indices(op, indices, num_indices, num_embeddings, "embeddings");
}

/* ---- forward ----
 * Table row r starts at element r * stride (stride >= dim: a padded row or a column slice of a wider
 * matrix); only its first dim elements are read. Output rows are dense. */

/* An fp16 or bf16 table: each row converted exactly into its output row (the ISA's cvt), so the
 * output equals the fp32 lookup of the dequantised table bit for bit. */
static void embedding_forward_half(int64_t dim, int64_t stride, int64_t n, const uint16_t *weight, ek_dtype dtype,
                                   eki_index indices, float *out) {
    size_t row_bytes = 2 * (size_t)dim;
    const eki_kernels *k = eki_dispatch();
    eki_cvt_fn cvt = dtype == EK_DTYPE_F16 ? k->cvt_f16 : k->cvt_bf16;
    EKI_PARALLEL_FOR(n * dim >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < n; i++) {
        if (i + EKI_PREFETCH_ROWS < n) EKI_PREFETCH_SPAN(weight + eki_at(indices, i + EKI_PREFETCH_ROWS) * stride, row_bytes, 0);
        cvt(dim, weight + eki_at(indices, i) * stride, out + i * dim);
    });
}

static ek_status embedding_forward(int64_t num_embeddings, int64_t dim, int64_t n, const void *table, int64_t stride,
                                   ek_dtype dtype, eki_index indices, float *out) {
    ek_status s = check_embedding_args("embedding", num_embeddings, dim, n, indices, table, "weight",
                                       eki_dtype_size(dtype), out, "out");
    if (s) return s;
    if (dtype != EK_DTYPE_F32) {
        embedding_forward_half(dim, stride, n, table, dtype, indices, out);
        return EK_OK;
    }
    const float *weight = table;
    size_t row_bytes = sizeof(float) * (size_t)dim;
    /* An output larger than the cache is written with non-temporal stores: no read for ownership, and
     * it does not push the table out of the cache (W1, W6). */
    const eki_kernels *k = eki_dispatch();
    eki_copy_fn copy = row_bytes * (size_t)n >= EKI_STREAM_MIN_BYTES ? k->copy_stream : k->copy;
    /* a share of the rows per slot, which fences its own non-temporal stores (internal.h: slots) */
    int T = n * dim >= EKI_PARALLEL_MIN_WORK ? eki_num_threads() : 1;
    EKI_PARALLEL_FOR(T > 1, (static, 1),
    for (int t = 0; t < T; t++) {
        for (int64_t i = eki_share(n, t, T), e = eki_share(n, t + 1, T); i < e; i++) {
            if (i + EKI_PREFETCH_ROWS < n) EKI_PREFETCH_SPAN(weight + eki_at(indices, i + EKI_PREFETCH_ROWS) * stride, row_bytes, 0);
            copy(dim, weight + eki_at(indices, i) * stride, out + i * dim);
        }
        eki_stream_fence();
    });
    return EK_OK;
}

ek_status ek_lookup_forward(const ek_table *table, const ek_bag_input *input, float *out) {
    eki_call a;
    ek_status s = eki_decode_forward("embedding", table, input, NULL, 1, &a);
    if (!s && eki_quant_slot(a.dtype) >= 0) return eki_quant_lookup_forward(&a, out); /* quant_forward.c */
    return s ? s : embedding_forward(a.rows, a.dim, a.n, a.raw, a.stride, a.dtype, a.indices, out);
}

/* ---- dense backward ---- */

static ek_status embedding_backward_dense(int64_t num_embeddings, int64_t dim, int64_t n, eki_index indices,
                                          const float *grad_out, int64_t padding_idx, int32_t scale_grad_by_freq,
                                          float *grad_weight) {
    static const char op[] = "embedding_backward";
    int64_t pad;
    ek_status s = check_embedding_args(op, num_embeddings, dim, n, indices, grad_weight, "grad_weight", sizeof(float), grad_out, "grad_out");
    if (s || (s = eki_check_flag(op, "scale_grad_by_freq", scale_grad_by_freq)) ||
        (s = eki_resolve_padding(op, padding_idx, num_embeddings, &pad)))
        return s;
    if (n == 0) return EK_OK;

    if (!scale_grad_by_freq) /* a = 1: dst += 1 * src is dst += src, bit for bit */
        return eki_scatter_add_rows(op, indices, n, num_embeddings, pad, dim, 1.0f, grad_out, grad_weight);

    size_t mark = eki_scratch_mark();
    int64_t *order = eki_scratch_alloc(sizeof(int64_t) * (size_t)n);
    int64_t *start = eki_scratch_alloc(sizeof(int64_t) * (size_t)(n + 1));
    int64_t groups = 0;
    if (!order || !start) s = eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for %lld indices", op, (long long)n);
    else s = eki_group_by_row(op, indices, n, num_embeddings, pad, order, start, NULL, &groups);
    if (s) {
        eki_scratch_release(mark);
        return s;
    }
    /* scale_grad_by_freq needs each row's count first: grouped by row, one thread per row. */
    EKI_PARALLEL_FOR(n * dim >= EKI_PARALLEL_MIN_WORK, (static, 64),
    for (int64_t g = 0; g < groups; g++) {
        int64_t row = eki_at(indices, order[start[g]]);
        float scale = (float)(1.0 / (double)(start[g + 1] - start[g]));
        float *dst = grad_weight + row * dim;
        for (int64_t k = start[g]; k < start[g + 1]; k++) {
            const float *src = grad_out + order[k] * dim;
            for (int64_t d = 0; d < dim; d++) dst[d] += scale * src[d];
        }
    });
    eki_scratch_release(mark);
    return EK_OK;
}

ek_status ek_lookup_backward_dense(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                   const float *grad_out, float *grad_weight) {
    eki_call a;
    ek_status s = eki_decode_training("embedding_backward", table, input, options, 1, &a);
    return s ? s : embedding_backward_dense(a.rows, a.dim, a.n, a.indices, grad_out, a.padding_idx,
                                            a.scale_grad_by_freq, grad_weight);
}

/* ---- sparse backward ---- */

/* scale[i] = 1 / (occurrences of indices[i]) for every non-padding position (PyTorch's freq rule). */
static ek_status frequency_scales(const char *op, eki_index indices, int64_t n, int64_t num_embeddings, int64_t pad,
                                  float *scale) {
    size_t mark = eki_scratch_mark();
    int64_t *order = eki_scratch_alloc(sizeof(int64_t) * (size_t)n);
    int64_t *start = eki_scratch_alloc(sizeof(int64_t) * (size_t)(n + 1));
    int64_t groups = 0;
    ek_status s;
    if (!order || !start) s = eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for %lld indices", op, (long long)n);
    else s = eki_group_by_row(op, indices, n, num_embeddings, pad, order, start, NULL, &groups);
    if (!s)
        for (int64_t g = 0; g < groups; g++) {
            float v = (float)(1.0 / (double)(start[g + 1] - start[g]));
            for (int64_t k = start[g]; k < start[g + 1]; k++) scale[order[k]] = v;
        }
    eki_scratch_release(mark);
    return s;
}

static ek_status embedding_backward_sparse(int64_t num_embeddings, int64_t dim, int64_t n, eki_index indices,
                                           const float *grad_out, int64_t padding_idx, int32_t scale_grad_by_freq,
                                           int64_t *out_rows, float *out_values, int64_t *out_nnz) {
    static const char op[] = "embedding_backward_sparse";
    int64_t pad;
    ek_status s = check_embedding_args(op, num_embeddings, dim, n, indices, NULL, NULL, sizeof(float), grad_out, "grad_out");
    if (s || (s = eki_check_flag(op, "scale_grad_by_freq", scale_grad_by_freq)) ||
        (s = eki_resolve_padding(op, padding_idx, num_embeddings, &pad)) ||
        (s = eki_check_ptr(op, "out_rows", out_rows, n)) || (s = eki_check_ptr(op, "out_values", out_values, n * dim)) ||
        (s = eki_check_ptr(op, "out_nnz", out_nnz, 1)))
        return s;

    /* dest[i]: where entry i lands in the output, -1 for dropped padding; scale[i]: its factor. */
    size_t mark = eki_scratch_mark();
    int64_t *dest = eki_scratch_alloc(sizeof(int64_t) * (size_t)(n + 1));
    float *scale = scale_grad_by_freq ? eki_scratch_alloc(sizeof(float) * (size_t)(n + 1)) : NULL;
    if (!dest || (scale_grad_by_freq && !scale)) {
        eki_scratch_release(mark);
        return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for %lld indices", op, (long long)n);
    }
    if (scale_grad_by_freq && (s = frequency_scales(op, indices, n, num_embeddings, pad, scale))) {
        eki_scratch_release(mark);
        return s;
    }
    int64_t nnz = 0;
    for (int64_t i = 0; i < n; i++) dest[i] = eki_at(indices, i) == pad ? -1 : nnz++;

    EKI_PARALLEL_FOR(n * dim >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < n; i++) {
        int64_t k = dest[i];
        if (k < 0) continue;
        out_rows[k] = eki_at(indices, i);
        const float *src = grad_out + i * dim;
        float *dst = out_values + k * dim;
        if (scale) {
            for (int64_t d = 0; d < dim; d++) dst[d] = scale[i] * src[d];
        } else {
            memcpy(dst, src, sizeof(float) * (size_t)dim);
        }
    });
    *out_nnz = nnz;
    eki_scratch_release(mark);
    return EK_OK;
}

ek_status ek_lookup_backward_sparse(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                    const float *grad_out, int64_t *out_rows, float *out_values, int64_t *out_nnz) {
    eki_call a;
    ek_status s = eki_decode_training("embedding_backward_sparse", table, input, options, 1, &a);
    return s ? s : embedding_backward_sparse(a.rows, a.dim, a.n, a.indices, grad_out, a.padding_idx,
                                             a.scale_grad_by_freq, out_rows, out_values, out_nnz);
}
