/* strided.c — validation and coalescing of strided layouts (strided.h). */
#include "strided.h"

ek_status eki_check_shape(const char *op, int64_t rank, const int64_t *shape, size_t elem_size, int64_t *count) {
    if (rank < 0 || rank > EK_MAX_RANK)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: rank=%lld must lie in [0, %d]", op, (long long)rank, EK_MAX_RANK);
    if (rank > 0 && shape == NULL)
        return eki_fail(EK_ERR_NULL_POINTER, "%s: shape is NULL but rank=%lld", op, (long long)rank);
    int64_t n = 1;
    for (int64_t d = 0; d < rank; d++)
        if (shape[d] < 0)
            return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: shape[%lld]=%lld must not be negative", op, (long long)d,
                            (long long)shape[d]);
    for (int64_t d = 0; d < rank; d++) {
        ek_status s = eki_check_bytes(op, "shape", n, shape[d], elem_size);
        if (s) return s;
        n *= shape[d];
    }
    *count = n;
    return EK_OK;
}

ek_status eki_check_operand(const char *op, const char *name, int64_t rank, const int64_t *shape, int64_t count,
                            const void *data, int64_t length, const int64_t *strides) {
    ek_status s;
    if ((s = eki_check_size(op, name, length, 0))) return s;
    if (rank > 0 && strides == NULL)
        return eki_fail(EK_ERR_NULL_POINTER, "%s: %s's strides are NULL but rank=%lld", op, name, (long long)rank);
    for (int64_t d = 0; d < rank; d++)
        if (strides[d] < 0)
            return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: %s's strides[%lld]=%lld must not be negative", op, name,
                            (long long)d, (long long)strides[d]);
    if (count == 0) return EK_OK;
    if ((s = eki_check_ptr(op, name, data, count))) return s;
    int64_t last = 0; /* the largest offset; each term is below `length` or the check fails before overflow */
    for (int64_t d = 0; d < rank; d++) {
        int64_t term;
        if (__builtin_mul_overflow(shape[d] - 1, strides[d], &term) || term >= length || (last += term) >= length)
            return eki_fail(EK_ERR_INDEX_OUT_OF_RANGE,
                            "%s: %s's strides[%lld]=%lld reach past its %lld elements (shape[%lld]=%lld)", op, name,
                            (long long)d, (long long)strides[d], (long long)length, (long long)d, (long long)shape[d]);
    }
    return EK_OK;
}

ek_status eki_check_distinct(const char *op, const char *name, int64_t rank, const int64_t *shape,
                             const int64_t *strides) {
    int order[EK_MAX_RANK], m = 0;
    for (int d = 0; d < rank; d++)
        if (shape[d] == 0) return EK_OK; /* nothing is written */
    for (int d = 0; d < rank; d++) {
        if (shape[d] <= 1) continue;
        int j = m++;
        while (j > 0 && strides[order[j - 1]] > strides[d]) { order[j] = order[j - 1]; j--; }
        order[j] = d;
    }
    int64_t extent = 0; /* the largest offset of the dimensions seen so far (inner ones) */
    for (int j = 0; j < m; j++) {
        int d = order[j];
        if (strides[d] <= extent)
            return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: %s's strides[%d]=%lld write some elements twice", op, name, d,
                            (long long)strides[d]);
        extent += (shape[d] - 1) * strides[d];
    }
    return EK_OK;
}

void eki_coalesce(int64_t rank, const int64_t *shape, int operands, const int64_t *const *strides, eki_layout *out) {
    out->operands = operands;
    int r = 0;
    for (int64_t d = 0; d < rank; d++) {
        if (shape[d] == 1) continue;
        if (r > 0) {
            int merge = 1;
            for (int k = 0; k < operands; k++)
                if (out->stride[k][r - 1] != strides[k][d] * shape[d]) merge = 0;
            if (merge) {
                out->shape[r - 1] *= shape[d];
                for (int k = 0; k < operands; k++) out->stride[k][r - 1] = strides[k][d];
                continue;
            }
        }
        out->shape[r] = shape[d];
        for (int k = 0; k < operands; k++) out->stride[k][r] = strides[k][d];
        r++;
    }
    if (r == 0) { /* a scalar (or all sizes 1): one element */
        out->shape[0] = 1;
        for (int k = 0; k < operands; k++) out->stride[k][0] = 0;
        r = 1;
    }
    out->rank = r;
}
