/* x86/avx2/half.c — fp16 and bf16 rows to float32 with AVX2 (semantics: half.c): F16C's vcvtph2ps
 * for fp16, a zero-extend and shift for bf16; 8 lanes, then the scalar tail. Bit-identical to the
 * scalar conversion (both are exact). */
#include "internal.h"

#if EKI_X86
#include <immintrin.h>

/* No a * b + c fused into an FMA: clang contracts by default under an "fma" target, which would
 * make the leftover elements differ from the scalar path (gcc -std=c11 does not contract). */
#pragma STDC FP_CONTRACT OFF

EKI_TARGET_AVX2_F16C void eki_cvt_f16_avx2(int64_t n, const uint16_t *src, float *dst) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = eki_f16_to_f32(src[i]);
}

EKI_TARGET_AVX2_F16C void eki_cvt_bf16_avx2(int64_t n, const uint16_t *src, float *dst) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
    }
    for (; i < n; i++) dst[i] = eki_bf16_to_f32(src[i]);
}

#endif
