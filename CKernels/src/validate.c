/* validate.c — argument checks shared by every kernel. Each names the op, the argument, the
 * position and the value, and none writes anything but the thread-local error message. */
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "quant.h"

ek_status eki_check_size(const char *op, const char *name, int64_t value, int positive) {
    if (positive && value < 1)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: %s=%lld must be positive", op, name, (long long)value);
    if (value < 0)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: %s=%lld must not be negative", op, name, (long long)value);
    return EK_OK;
}

ek_status eki_check_bytes(const char *op, const char *name, int64_t rows, int64_t cols, size_t elem_size) {
    int64_t elems, bytes;
    if (__builtin_mul_overflow(rows, cols, &elems) || __builtin_mul_overflow(elems, (int64_t)elem_size, &bytes) ||
        (uint64_t)bytes > (uint64_t)PTRDIFF_MAX)
        return eki_fail(EK_ERR_OVERFLOW, "%s: %s of %lld x %lld elements overflows the address space", op, name,
                        (long long)rows, (long long)cols);
    return EK_OK;
}

ek_status eki_check_flag(const char *op, const char *name, int32_t value) {
    if (value != 0 && value != 1)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: %s=%d must be 0 or 1", op, name, (int)value);
    return EK_OK;
}

ek_status eki_check_ptr(const char *op, const char *name, const void *p, int64_t count) {
    if (p == NULL && count > 0)
        return eki_fail(EK_ERR_NULL_POINTER, "%s: %s is NULL but %lld elements are required", op, name, (long long)count);
    return EK_OK;
}

ek_status eki_check_indices(const char *op, eki_index ix, int64_t n, int64_t count, const char *what) {
    for (int64_t i = 0; i < n; i++) {
        int64_t v = eki_at(ix, i);
        if ((uint64_t)v >= (uint64_t)count)
            return eki_fail(EK_ERR_INDEX_OUT_OF_RANGE, "%s: index %lld at position %lld is out of range for %lld %s", op,
                            (long long)v, (long long)i, (long long)count, what);
    }
    return EK_OK;
}

ek_status eki_resolve_padding(const char *op, int64_t padding_idx, int64_t num_embeddings, int64_t *out) {
    if (padding_idx == EKI_NO_PADDING) {
        *out = -1;
        return EK_OK;
    }
    int64_t p = padding_idx < 0 ? num_embeddings + padding_idx : padding_idx;
    if (p < 0 || p >= num_embeddings)
        return eki_fail(EK_ERR_INDEX_OUT_OF_RANGE, "%s: padding_idx=%lld is out of range for %lld embeddings", op,
                        (long long)padding_idx, (long long)num_embeddings);
    *out = p;
    return EK_OK;
}

ek_status eki_check_bags(const char *op, int64_t num_indices, int64_t num_bags, eki_index offsets,
                         int32_t include_last_offset, eki_bags *out) {
    ek_status s;
    if ((s = eki_check_size(op, "num_bags", num_bags, 0))) return s;
    *out = (eki_bags){offsets, 0, num_indices, num_bags};
    if (offsets.data == NULL) {
        if (include_last_offset)
            return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: include_last_offset needs offsets (got NULL)", op);
        if (num_bags == 0) {
            if (num_indices != 0)
                return eki_fail(EK_ERR_SHAPE, "%s: %lld indices cannot form 0 fixed-length bags", op, (long long)num_indices);
            return EK_OK;
        }
        if (num_indices % num_bags != 0)
            return eki_fail(EK_ERR_SHAPE, "%s: %lld indices cannot be split into %lld bags of equal length", op,
                            (long long)num_indices, (long long)num_bags);
        out->fixed_len = num_indices / num_bags;
        return EK_OK;
    }
    int64_t count = num_bags + (include_last_offset ? 1 : 0);
    for (int64_t i = 0; i < count; i++) {
        int64_t o = eki_at(offsets, i);
        if (i == 0 && o != 0)
            return eki_fail(EK_ERR_SHAPE, "%s: offsets[0]=%lld must be 0", op, (long long)o);
        if (i > 0 && o < eki_at(offsets, i - 1))
            return eki_fail(EK_ERR_SHAPE, "%s: offsets must be non-decreasing, offsets[%lld]=%lld > offsets[%lld]=%lld",
                            op, (long long)(i - 1), (long long)eki_at(offsets, i - 1), (long long)i, (long long)o);
        if (o > num_indices)
            return eki_fail(EK_ERR_SHAPE, "%s: offsets[%lld]=%lld is past the end of the input (%lld indices)", op,
                            (long long)i, (long long)o, (long long)num_indices);
    }
    if (include_last_offset && eki_at(offsets, num_bags) != num_indices)
        return eki_fail(EK_ERR_SHAPE, "%s: with include_last_offset, offsets[%lld]=%lld must equal the number of indices (%lld)",
                        op, (long long)num_bags, (long long)eki_at(offsets, num_bags), (long long)num_indices);
    return EK_OK;
}

/* ---- descriptors ---- */

ek_status eki_copy_struct(const char *op, const char *arg, const char *type, const void *p, size_t min_size,
                          size_t out_size, void *out) {
    memset(out, 0, out_size);
    if (!p) return eki_fail(EK_ERR_NULL_POINTER, "%s: %s is NULL", op, arg);
    int64_t size;
    memcpy(&size, p, sizeof size);
    if (size < (int64_t)min_size || size > (int64_t)out_size)
        return eki_fail(EK_ERR_INVALID_ARGUMENT,
                        "%s: %s->struct_size=%lld is not a size of %s this library knows (%zu); set .struct_size = sizeof(%s)",
                        op, arg, (long long)size, type, out_size, type);
    memcpy(out, p, (size_t)size);
    return EK_OK;
}

/* The row types a verb takes: f32 only; also fp16 / bf16 (the training verbs); also the quantized
 * ones (the forward verbs). */
enum { ROWS_F32, ROWS_HALF, ROWS_ANY };

static ek_status decode_table(const char *op, const ek_table *table, int accepts, eki_call *out) {
    ek_table t;
    ek_status s = eki_copy_struct(op, "table", "ek_table", table, sizeof(ek_table), sizeof(ek_table), &t);
    if (s) return s;
    int quant = eki_quant_slot(t.dtype) >= 0, half = t.dtype == EK_DTYPE_F16 || t.dtype == EK_DTYPE_BF16;
    if (accepts == ROWS_ANY && t.dtype != EK_DTYPE_F32 && !half && !quant)
        return eki_fail(EK_ERR_INVALID_ARGUMENT,
                        "%s: table->dtype=%d is not supported (EK_DTYPE_F32 (0), EK_DTYPE_F16 (1), EK_DTYPE_BF16 (2), "
                        "EK_DTYPE_Q8 (3), EK_DTYPE_Q4 (4) or EK_DTYPE_Q2 (5) in this version)",
                        op, (int)t.dtype);
    if (accepts == ROWS_HALF && t.dtype != EK_DTYPE_F32 && !half)
        return eki_fail(EK_ERR_INVALID_ARGUMENT,
                        "%s: table->dtype=%d is not supported (EK_DTYPE_F32 (0), EK_DTYPE_F16 (1) or EK_DTYPE_BF16 (2) "
                        "here; quantized tables are read by the forward verbs only)",
                        op, (int)t.dtype);
    if (accepts == ROWS_F32 && t.dtype != EK_DTYPE_F32)
        return eki_fail(EK_ERR_INVALID_ARGUMENT,
                        "%s: table->dtype=%d is not supported (only EK_DTYPE_F32 (0) here; fp16 and bf16 tables are "
                        "taken by the forward, backward and update verbs, quantized ones by the forward verbs)",
                        op, (int)t.dtype);
    /* row_stride: 0 (dense), else at least one row (elements; quantized: bytes of the packed row).
     * Any larger value is a padded row or a column slice of a wider matrix: the gap is never read. */
    if (t.row_stride < 0)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: table->row_stride=%lld must not be negative (0 means dense rows)", op,
                        (long long)t.row_stride);
    int64_t row = t.dim, elem = quant ? 1 : (int64_t)eki_dtype_size(t.dtype);
    if (quant) {
        if (t.dim >= 1 && t.dim <= INT64_MAX / 2) {
            row = eki_quant_row_size(eki_quant_slot(t.dtype), t.dim);
            if (t.row_stride != 0 && t.row_stride < row)
                return eki_fail(EK_ERR_INVALID_ARGUMENT,
                                "%s: table->row_stride=%lld bytes is less than the packed row size %lld of a dtype=%d row "
                                "of dim=%lld (0 means packed)",
                                op, (long long)t.row_stride, (long long)row, (int)t.dtype, (long long)t.dim);
        } else if (t.row_stride != 0) {
            return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: table->row_stride=%lld with dim=%lld", op,
                            (long long)t.row_stride, (long long)t.dim);
        }
    } else if (t.row_stride != 0 && t.row_stride < t.dim) {
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: table->row_stride=%lld is less than dim=%lld (0 means dim)", op,
                        (long long)t.row_stride, (long long)t.dim);
    }
    int64_t stride = t.row_stride ? t.row_stride : row, span;
    /* a bad rows or dim is the kernel's to report (its messages); here only what the stride adds */
    if (t.row_stride != 0 && t.rows > 0 &&
        (__builtin_mul_overflow(t.rows, stride, &span) || __builtin_mul_overflow(span, elem, &span) ||
         (uint64_t)span > (uint64_t)PTRDIFF_MAX))
        return eki_fail(EK_ERR_OVERFLOW, "%s: table->row_stride=%lld: %lld rows of that stride overflow the address space",
                        op, (long long)t.row_stride, (long long)t.rows);
    out->rows = t.rows, out->dim = t.dim, out->stride = stride, out->raw = t.data, out->dtype = t.dtype;
    out->data = t.dtype == EK_DTYPE_F32 ? t.data : NULL;
    return EK_OK;
}

ek_status eki_decode_table(const char *op, const ek_table *table, eki_call *out) {
    return decode_table(op, table, ROWS_F32, out);
}

ek_status eki_decode_table_training(const char *op, const ek_table *table, eki_call *out) {
    return decode_table(op, table, ROWS_HALF, out);
}

/* Bag sizes (input->lengths) as the offsets every bag kernel reads, in the calling thread's scratch
 * (the entry point releases it). */
static ek_status offsets_from_lengths(const char *op, const ek_bag_input *in, eki_index *out) {
    ek_status s;
    if (in->offsets)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: input->offsets and input->lengths are both set; pass one", op);
    if (in->include_last_offset)
        return eki_fail(EK_ERR_INVALID_ARGUMENT,
                        "%s: input->include_last_offset=%d with input->lengths: lengths has one entry per bag, leave it 0", op,
                        (int)in->include_last_offset);
    if ((s = eki_check_size(op, "input->num_bags", in->num_bags, 0)) ||
        (s = eki_check_size(op, "input->num_indices", in->num_indices, 0)) ||
        (s = eki_check_bytes(op, "input->num_bags", in->num_bags, 1, sizeof(int64_t))) ||
        (s = eki_check_ptr(op, "input->lengths", in->lengths, in->num_bags)))
        return s;
    eki_index lengths = {in->lengths, in->index_type == EK_INDEX_I32};
    int64_t *offsets = eki_scratch_alloc(sizeof(int64_t) * ((size_t)in->num_bags + 1));
    if (!offsets) return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate offsets for %lld bags", op, (long long)in->num_bags);
    int64_t sum = 0;
    for (int64_t b = 0; b < in->num_bags; b++) {
        int64_t len = eki_at(lengths, b);
        if (len < 0) return eki_fail(EK_ERR_SHAPE, "%s: input->lengths[%lld]=%lld is negative", op, (long long)b, (long long)len);
        if (len > in->num_indices - sum)
            return eki_fail(EK_ERR_SHAPE, "%s: input->lengths[%lld]=%lld takes the bags past num_indices=%lld (%lld before it)",
                            op, (long long)b, (long long)len, (long long)in->num_indices, (long long)sum);
        offsets[b] = sum;
        sum += len;
    }
    if (sum != in->num_indices)
        return eki_fail(EK_ERR_SHAPE, "%s: input->lengths sum to %lld, but num_indices=%lld", op, (long long)sum,
                        (long long)in->num_indices);
    *out = (eki_index){offsets, 0};
    return EK_OK;
}

static ek_status decode(const char *op, const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                        int lookup, int accepts, eki_call *out) {
    ek_bag_input in;
    ek_bag_options o = {.struct_size = sizeof(ek_bag_options)};
    ek_status s;
    memset(out, 0, sizeof *out);
    if ((s = decode_table(op, table, accepts, out)) ||
        (s = eki_copy_struct(op, "input", "ek_bag_input", input, EKI_BAG_INPUT_SIZE_0_3, sizeof(ek_bag_input), &in)) ||
        (options && (s = eki_copy_struct(op, "options", "ek_bag_options", options, sizeof(ek_bag_options),
                                         sizeof(ek_bag_options), &o))))
        return s;
    if (in.index_type != EK_INDEX_I64 && in.index_type != EK_INDEX_I32)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: input->index_type=%d is not EK_INDEX_I64 (0) or EK_INDEX_I32 (1)", op,
                        (int)in.index_type);
    if ((s = eki_check_flag(op, "input->has_padding", in.has_padding))) return s;
    if (lookup) {
        if (in.offsets || in.lengths || in.num_bags || in.include_last_offset || in.per_sample_weights || in.num_weights)
            return eki_fail(EK_ERR_INVALID_ARGUMENT,
                            "%s: a lookup has no bags: input->%s must be 0/NULL", op,
                            in.offsets ? "offsets" : in.lengths ? "lengths" : in.num_bags ? "num_bags"
                            : in.include_last_offset ? "include_last_offset" : in.per_sample_weights ? "per_sample_weights"
                            : "num_weights");
        if (o.mode != EK_BAG_SUM)
            return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: options->mode=%d: a lookup has no bag mode (leave it 0)", op,
                            (int)o.mode);
    }
    int is32 = in.index_type == EK_INDEX_I32;
    out->indices = (eki_index){in.indices, is32};
    out->offsets = (eki_index){in.offsets, is32};
    if (in.lengths && (s = offsets_from_lengths(op, &in, &out->offsets))) return s;
    out->n = in.num_indices, out->num_bags = in.num_bags, out->num_weights = in.num_weights;
    out->include_last_offset = in.include_last_offset;
    out->weights = in.per_sample_weights;
    out->padding_idx = in.has_padding ? in.padding_idx : EKI_NO_PADDING;
    out->mode = o.mode, out->scale_grad_by_freq = o.scale_grad_by_freq;
    return EK_OK;
}

ek_status eki_decode(const char *op, const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                     int lookup, eki_call *out) {
    return decode(op, table, input, options, lookup, ROWS_F32, out);
}

ek_status eki_decode_forward(const char *op, const ek_table *table, const ek_bag_input *input,
                             const ek_bag_options *options, int lookup, eki_call *out) {
    return decode(op, table, input, options, lookup, ROWS_ANY, out);
}

ek_status eki_decode_training(const char *op, const ek_table *table, const ek_bag_input *input,
                              const ek_bag_options *options, int lookup, eki_call *out) {
    return decode(op, table, input, options, lookup, ROWS_HALF, out);
}
