/* x86/avx512/half.c — fp16 and bf16 rows to float32 with AVX-512 (semantics: half.c): vcvtph2ps on
 * 16 lanes for fp16, a zero-extend and shift for bf16, then the scalar tail. Bit-identical to the
 * scalar conversion (both are exact). And float32 rows to bf16 with stochastic rounding
 * (half_round.c), the coins' SplitMix64 finaliser on 8 64-bit lanes: the same integers. */
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

/* The low 64 bits of a * c for each 64-bit lane (AVX-512DQ's vpmullq). */
EKI_TARGET_AVX512 static inline __m512i mullo64(__m512i a, uint64_t c) {
    return _mm512_mullo_epi64(a, _mm512_set1_epi64((long long)c));
}

EKI_TARGET_AVX512 static inline __m512i mix64_x8(__m512i z) {
    z = mullo64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), 0xbf58476d1ce4e5b9ull);
    z = mullo64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), 0x94d049bb133111ebull);
    return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

/* 8 columns at a time: bf16 = (u >> 16) + (coin < (u << 16) mod 2^32), coin = mix64(key ^ d) >> 32;
 * a chunk holding an infinity or NaN goes to the scalar row. */
EKI_TARGET_AVX512 void eki_bf16_stochastic_row_avx512(int64_t dim, const float *src, uint16_t *dst, uint64_t key) {
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), keyv = _mm512_set1_epi64((long long)key);
    const __m512i low32 = _mm512_set1_epi64(0xffffffffll), absmask = _mm512_set1_epi64(0x7fffffffll),
                  inf = _mm512_set1_epi64(0x7f800000ll);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        __m512i u = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(src + d)));
        if (_mm512_cmpge_epu64_mask(_mm512_and_si512(u, absmask), inf)) {
            eki_bf16_stochastic_cols(d, d + 8, src, dst, key);
            continue;
        }
        __m512i coin = _mm512_srli_epi64(mix64_x8(_mm512_xor_si512(keyv, _mm512_add_epi64(lane, _mm512_set1_epi64(d)))), 32);
        __m512i thr = _mm512_and_si512(_mm512_slli_epi64(u, 16), low32);
        __mmask8 up = _mm512_cmplt_epu64_mask(coin, thr);
        __m512i h = _mm512_mask_add_epi64(_mm512_srli_epi64(u, 16), up, _mm512_srli_epi64(u, 16), _mm512_set1_epi64(1));
        _mm_storeu_si128((__m128i *)(dst + d), _mm512_cvtepi64_epi16(h));
    }
    eki_bf16_stochastic_cols(d, dim, src, dst, key);
}

#endif
