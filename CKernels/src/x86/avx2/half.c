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

/* float32 rows to bf16 / fp16 with stochastic rounding (half_round.c): 8 columns at a time, their
 * coins the 32-bit column hash on 8 lanes: the same integers as the scalar rule. */
typedef struct {
    __m256i lo, hi, lanes; /* the key's halves; i * EKI_ROUND_COLUMN_STEP in lane i */
} coin_key;

EKI_TARGET_AVX2 static inline coin_key coin_key_of(uint64_t key) {
    const __m256i i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return (coin_key){_mm256_set1_epi32((int)(uint32_t)key), _mm256_set1_epi32((int)(uint32_t)(key >> 32)),
                      _mm256_mullo_epi32(i, _mm256_set1_epi32((int)EKI_ROUND_COLUMN_STEP))};
}

/* The coins of columns d .. d + 7, column d + i's in lane i. */
EKI_TARGET_AVX2 static inline __m256i coins_x8(const coin_key *k, int64_t d) {
    __m256i x = _mm256_add_epi32(_mm256_add_epi32(k->lo, k->lanes),
                                 _mm256_set1_epi32((int)((uint32_t)(uint64_t)d * EKI_ROUND_COLUMN_STEP)));
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32((int)EKI_ROUND_FMIX_1));
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 13));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32((int)EKI_ROUND_FMIX_2));
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
    return _mm256_xor_si256(x, k->hi);
}

/* -1 in the lanes where a < b as unsigned 32-bit integers (AVX2 compares signed: flip the sign bits). */
EKI_TARGET_AVX2 static inline __m256i below_u32(__m256i a, __m256i b) {
    const __m256i flip = _mm256_set1_epi32((int)0x80000000u);
    return _mm256_cmpgt_epi32(_mm256_xor_si256(b, flip), _mm256_xor_si256(a, flip));
}

/* 8 values below 2^16 in 32-bit lanes, stored as 8 uint16. */
EKI_TARGET_AVX2 static inline void store_u16x8(uint16_t *dst, __m256i h) {
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(h, h), 0x08);
    _mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(packed));
}

/* Finite floats u (as bits) to 8 bf16: (u >> 16) + (coin < u << 16) (x86/avx512/half.c). */
EKI_TARGET_AVX2 static inline void store_bf16_stochastic(uint16_t *dst, __m256i u, __m256i coins) {
    __m256i up = below_u32(coins, _mm256_slli_epi32(u, 16)); /* -1 where rounding up */
    store_u16x8(dst, _mm256_sub_epi32(_mm256_srli_epi32(u, 16), up));
}

/* A chunk with an infinity or NaN, and the last dim % 8 columns, go to the scalar rule. */
EKI_TARGET_AVX2 void eki_bf16_stochastic_row_avx2(int64_t dim, const float *src, uint16_t *dst, uint64_t key) {
    const coin_key ck = coin_key_of(key);
    const __m256i absmask = _mm256_set1_epi32(0x7fffffff),
                  finite_max = _mm256_set1_epi32(0x7f7fffff);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(src + d));
        if (_mm256_movemask_epi8(_mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), finite_max))) {
            eki_bf16_stochastic_cols(d, d + 8, src, dst, key);
            continue;
        }
        store_bf16_stochastic(dst + d, u, coins_x8(&ck, d));
    }
    eki_bf16_stochastic_cols(d, dim, src, dst, key);
}

/* fp16 where every |x| of the chunk lies in [2^-14, 2^16) (x86/avx512/half.c); other chunks and the
 * last dim % 8 columns go to the scalar rule. */
EKI_TARGET_AVX2 void eki_f16_stochastic_row_avx2(int64_t dim, const float *src, uint16_t *dst, uint64_t key) {
    const coin_key ck = coin_key_of(key);
    const __m256i absmask = _mm256_set1_epi32(0x7fffffff),
                  smallest = _mm256_set1_epi32(0x38800000), largest = _mm256_set1_epi32(0x477fffff),
                  rebias = _mm256_set1_epi32(112 << 10), signbit = _mm256_set1_epi32(0x8000);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(src + d)), a = _mm256_and_si256(u, absmask);
        __m256i outside = _mm256_or_si256(_mm256_cmpgt_epi32(smallest, a), _mm256_cmpgt_epi32(a, largest));
        if (_mm256_movemask_epi8(outside)) {
            eki_f16_stochastic_cols(d, d + 8, src, dst, key);
            continue;
        }
        __m256i up = below_u32(coins_x8(&ck, d), _mm256_slli_epi32(a, 19));
        __m256i lo = _mm256_sub_epi32(_mm256_srli_epi32(a, 13), rebias);
        __m256i sign = _mm256_and_si256(_mm256_srli_epi32(u, 16), signbit);
        store_u16x8(dst + d, _mm256_or_si256(sign, _mm256_sub_epi32(lo, up)));
    }
    eki_f16_stochastic_cols(d, dim, src, dst, key);
}

/* Plain SGD on a bf16 row in one pass (x86/avx512/half.c); a chunk whose result holds an infinity or
 * NaN, and the last dim % 8 columns, go to the scalar rule. */
EKI_TARGET_AVX2 void eki_bf16_sgd_row_avx2(int64_t dim, uint16_t *row, const float *g, float c, float lr,
                                           float weight_decay, uint64_t key) {
    const coin_key ck = coin_key_of(key);
    const __m256i absmask = _mm256_set1_epi32(0x7fffffff),
                  finite_max = _mm256_set1_epi32(0x7f7fffff);
    const __m256 cv = _mm256_set1_ps(c), lrv = _mm256_set1_ps(lr), wdv = _mm256_set1_ps(weight_decay);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        __m256i bits = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(row + d)));
        __m256 w = _mm256_castsi256_ps(_mm256_slli_epi32(bits, 16));
        __m256 step = _mm256_add_ps(_mm256_mul_ps(cv, _mm256_loadu_ps(g + d)), _mm256_mul_ps(wdv, w));
        __m256i u = _mm256_castps_si256(_mm256_sub_ps(w, _mm256_mul_ps(lrv, step)));
        if (_mm256_movemask_epi8(_mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), finite_max))) {
            eki_bf16_sgd_cols(d, d + 8, row, g, c, lr, weight_decay, key);
            continue;
        }
        store_bf16_stochastic(row + d, u, coins_x8(&ck, d));
    }
    eki_bf16_sgd_cols(d, dim, row, g, c, lr, weight_decay, key);
}

#endif
