/* half.c — fp16 and bf16 rows to float32, scalar versions (isa.h's table: cvt_f16, cvt_bf16); the
 * vector ones are in x86/avx2/half.c (F16C) and x86/avx512/half.c. Every conversion is exact (each
 * half and each bfloat16 is a float32), so every ISA gives the same bits:
 *   fp16 (IEEE binary16): sign, 5 exponent bits (bias 15), 10 fraction bits; subnormals, infinities
 *        and NaN convert to the same value in float32; a NaN keeps its sign and payload (shifted
 *        into the top of the float's fraction) and comes out quiet, as the F16C instruction does;
 *   bf16: the top 16 bits of a float32, so the conversion is a shift (NaNs kept as they are). */
#include <math.h>

#include "internal.h"

#include <string.h>

float eki_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, frac = h & 0x3ffu, bits;
    if (exp == 0x1f) { /* inf, or NaN made quiet */
        bits = sign | 0x7f800000u | (frac << 13) | (frac ? 0x00400000u : 0);
    } else if (exp == 0) { /* zero or subnormal: frac * 2^-24, exact in float32 (a normal float) */
        float v = (float)frac * 0x1p-24f;
        memcpy(&bits, &v, sizeof bits);
        bits |= sign;
    } else {
        bits = sign | ((exp + 112u) << 23) | (frac << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float eki_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

void eki_cvt_f16_scalar(int64_t n, const uint16_t *src, float *dst) {
    for (int64_t i = 0; i < n; i++) dst[i] = eki_f16_to_f32(src[i]);
}

void eki_cvt_bf16_scalar(int64_t n, const uint16_t *src, float *dst) {
    for (int64_t i = 0; i < n; i++) dst[i] = eki_bf16_to_f32(src[i]);
}

void eki_axpy_f16_scalar(int64_t n, float w, const uint16_t *src, float *acc) {
    for (int64_t i = 0; i < n; i++) acc[i] = fmaf(w, eki_f16_to_f32(src[i]), acc[i]);
}

void eki_axpy_bf16_scalar(int64_t n, float w, const uint16_t *src, float *acc) {
    for (int64_t i = 0; i < n; i++) acc[i] = fmaf(w, eki_bf16_to_f32(src[i]), acc[i]);
}
