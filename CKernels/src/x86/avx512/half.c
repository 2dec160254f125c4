/* x86/avx512/half.c — fp16 and bf16 rows to float32 with AVX-512 (semantics: half.c): vcvtph2ps on
 * 16 lanes for fp16, a zero-extend and shift for bf16, then the scalar tail. Bit-identical to the
 * scalar conversion (both are exact). */
#include "internal.h"

#if EKI_X86
#include <immintrin.h>

/* No a * b + c fused into an FMA: clang contracts by default under an "fma" target, which would
 * make the leftover elements differ from the scalar path (gcc -std=c11 does not contract). */
#pragma STDC FP_CONTRACT OFF

EKI_TARGET_AVX512 void eki_cvt_f16_avx512(int64_t n, const uint16_t *src, float *dst) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
    for (; i < n; i++) dst[i] = eki_f16_to_f32(src[i]);
}

EKI_TARGET_AVX512 void eki_cvt_bf16_avx512(int64_t n, const uint16_t *src, float *dst) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(src + i)));
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
    }
    for (; i < n; i++) dst[i] = eki_bf16_to_f32(src[i]);
}

#endif
