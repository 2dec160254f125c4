/* half_convert.c — whole arrays between float32 and fp16 / bf16 (ek_half_from_f32 / ek_half_to_f32,
 * header section 1): the rounding of half_round.c (nearest) and the row converters of the dispatch
 * table (exact), cut into blocks that threads take in order: the same bits for any thread count. */
#include "internal.h"
#include "isa.h"

enum { BLOCK = 4096 };

static ek_status check(const char *op, ek_dtype dtype, int64_t n, const void *src, const void *dst) {
    if (dtype != EK_DTYPE_F16 && dtype != EK_DTYPE_BF16)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: dtype=%d is not EK_DTYPE_F16 (1) or EK_DTYPE_BF16 (2)", op, (int)dtype);
    ek_status s = eki_check_size(op, "n", n, 0);
    if (s == EK_OK) s = eki_check_ptr(op, "src", src, n);
    if (s == EK_OK) s = eki_check_ptr(op, "dst", dst, n);
    return s;
}

ek_status ek_half_from_f32(ek_dtype dtype, int64_t n, const float *src, uint16_t *dst) {
    ek_status s = check("half_from_f32", dtype, n, src, dst);
    if (s != EK_OK) return s;
    const int64_t blocks = (n + BLOCK - 1) / BLOCK;
    EKI_PARALLEL_FOR(n >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t first = b * BLOCK, len = n - first < BLOCK ? n - first : BLOCK;
        eki_round_row_half(dtype, len, src + first, dst + first, EK_ROUND_NEAREST, 0, 0);
    });
    return EK_OK;
}

ek_status ek_half_to_f32(ek_dtype dtype, int64_t n, const uint16_t *src, float *dst) {
    ek_status s = check("half_to_f32", dtype, n, src, dst);
    if (s != EK_OK) return s;
    const eki_kernels *k = eki_dispatch();
    const eki_cvt_fn cvt = dtype == EK_DTYPE_F16 ? k->cvt_f16 : k->cvt_bf16;
    const int64_t blocks = (n + BLOCK - 1) / BLOCK;
    EKI_PARALLEL_FOR(n >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t first = b * BLOCK, len = n - first < BLOCK ? n - first : BLOCK;
        cvt(len, src + first, dst + first);
    });
    return EK_OK;
}
