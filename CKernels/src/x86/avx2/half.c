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

/* float32 rows to bf16 with stochastic rounding (half_round.c): the coins' SplitMix64 finaliser on
 * 4 64-bit lanes from 32 x 32 -> 64-bit products, the same integers as the scalar rule. */
EKI_TARGET_AVX2 static inline __m256i mullo64(__m256i a, uint64_t c) {
    __m256i clo = _mm256_set1_epi64x((long long)(c & 0xffffffffu)), chi = _mm256_set1_epi64x((long long)(c >> 32));
    __m256i lolo = _mm256_mul_epu32(a, clo);
    __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), clo), _mm256_mul_epu32(a, chi));
    return _mm256_add_epi64(lolo, _mm256_slli_epi64(cross, 32));
}

EKI_TARGET_AVX2 static inline __m256i mix64_x4(__m256i z) {
    z = mullo64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), 0xbf58476d1ce4e5b9ull);
    z = mullo64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), 0x94d049bb133111ebull);
    return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
}

/* 4 columns at a time (see x86/avx512/half.c); both compared values are below 2^32, so the signed
 * 64-bit compare is the unsigned one. A chunk with an infinity or NaN goes to the scalar rule. */
EKI_TARGET_AVX2 void eki_bf16_stochastic_row_avx2(int64_t dim, const float *src, uint16_t *dst, uint64_t key) {
    const __m256i lane = _mm256_set_epi64x(3, 2, 1, 0), keyv = _mm256_set1_epi64x((long long)key);
    const __m256i low32 = _mm256_set1_epi64x(0xffffffffll), absmask = _mm256_set1_epi64x(0x7fffffffll),
                  finite_max = _mm256_set1_epi64x(0x7f7fffffll);
    int64_t d = 0;
    for (; d + 4 <= dim; d += 4) {
        __m256i u = _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(src + d)));
        if (_mm256_movemask_epi8(_mm256_cmpgt_epi64(_mm256_and_si256(u, absmask), finite_max))) {
            eki_bf16_stochastic_cols(d, d + 4, src, dst, key);
            continue;
        }
        __m256i coin = _mm256_srli_epi64(mix64_x4(_mm256_xor_si256(keyv, _mm256_add_epi64(lane, _mm256_set1_epi64x(d)))), 32);
        __m256i thr = _mm256_and_si256(_mm256_slli_epi64(u, 16), low32);
        __m256i up = _mm256_cmpgt_epi64(thr, coin); /* coin < thr: all ones, i.e. -1 */
        __m256i h = _mm256_sub_epi64(_mm256_srli_epi64(u, 16), up);
        int64_t lanes[4];
        _mm256_storeu_si256((__m256i *)lanes, h);
        for (int i = 0; i < 4; i++) dst[d + i] = (uint16_t)lanes[i];
    }
    eki_bf16_stochastic_cols(d, dim, src, dst, key);
}

#endif
