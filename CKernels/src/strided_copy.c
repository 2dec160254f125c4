/* strided_copy.c — copies between strided layouts: permute / transpose, expand, narrow / select, cat
 * (section 11 of embeddingkit.h). Bits are copied as they are (NaN payloads kept); rows of unit
 * stride on both sides are one memcpy. */
#include <string.h>

#include "strided.h"

#define EKI_COPY_BLOCK 8192

#define EKI_COPY_ROW(T)                                                                            \
    do {                                                                                           \
        const T *s_ = (const T *)s;                                                                \
        T *d_ = (T *)d;                                                                            \
        if (ss == 0) {                                                                             \
            T v_ = s_[0];                                                                          \
            for (int64_t i = 0; i < n; i++) d_[i * ds] = v_;                                       \
        } else {                                                                                   \
            for (int64_t i = 0; i < n; i++) d_[i * ds] = s_[i * ss];                               \
        }                                                                                          \
    } while (0)

static void copy_row(int64_t elem, int64_t n, const char *s, int64_t ss, char *d, int64_t ds) {
    if (ss == 1 && ds == 1) {
        memcpy(d, s, (size_t)(n * elem));
        return;
    }
    switch (elem) {
    case 1: EKI_COPY_ROW(uint8_t); break;
    case 2: EKI_COPY_ROW(uint16_t); break;
    case 4: EKI_COPY_ROW(uint32_t); break;
    default: EKI_COPY_ROW(uint64_t); break;
    }
}

ek_status ek_strided_copy(int64_t elem_size, int64_t rank, const int64_t *shape, const void *src, int64_t src_len,
                          const int64_t *src_strides, void *dst, int64_t dst_len, const int64_t *dst_strides) {
    static const char op[] = "strided_copy";
    ek_status s;
    int64_t count;
    if (elem_size != 1 && elem_size != 2 && elem_size != 4 && elem_size != 8)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: elem_size=%lld is not 1, 2, 4 or 8", op, (long long)elem_size);
    if ((s = eki_check_shape(op, rank, shape, (size_t)elem_size, &count)) ||
        (s = eki_check_operand(op, "src", rank, shape, count, src, src_len, src_strides)) ||
        (s = eki_check_operand(op, "dst", rank, shape, count, dst, dst_len, dst_strides)) ||
        (s = eki_check_bytes(op, "src", src_len, 1, (size_t)elem_size)) ||
        (s = eki_check_bytes(op, "dst", dst_len, 1, (size_t)elem_size)) ||
        (s = eki_check_distinct(op, "dst", rank, shape, dst_strides)))
        return s;
    if (count == 0) return EK_OK;
    const char *sb = src;
    char *db = dst;
    if (sb < db + dst_len * elem_size && db < sb + src_len * elem_size)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: src and dst overlap", op);

    const int64_t *strides[2] = {src_strides, dst_strides};
    eki_layout l;
    eki_coalesce(rank, shape, 2, strides, &l);
    const int last = l.rank - 1;
    const int64_t inner = l.shape[last], rows = count / inner;
    const int64_t blocks = eki_ceil_div(inner, EKI_COPY_BLOCK), tasks = rows * blocks;
    const int64_t ss = l.stride[0][last], ds = l.stride[1][last];
    EKI_PARALLEL_FOR(tasks > 1 && count >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t t = 0; t < tasks; t++) {
        int64_t r = t / blocks, i0 = (t % blocks) * EKI_COPY_BLOCK;
        int64_t n = inner - i0 < EKI_COPY_BLOCK ? inner - i0 : EKI_COPY_BLOCK, off[2];
        eki_row_offsets(&l, r, off);
        copy_row(elem_size, n, sb + (off[0] + i0 * ss) * elem_size, ss, db + (off[1] + i0 * ds) * elem_size, ds);
    });
    return EK_OK;
}
