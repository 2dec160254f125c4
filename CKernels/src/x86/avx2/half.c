/* x86/avx2/half.c — fp16 and bf16 rows to float32 with AVX2 (semantics: half.c): F16C's vcvtph2ps
 * for fp16, a zero-extend and shift for bf16; 8 lanes, then the scalar tail. Bit-identical to the
 * scalar conversion (both are exact). */
#include <math.h>

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
 * coins the 32-bit column hash on 8 lanes: the same integers as the scalar rule. A rounding reads
 * only the top k bits of its coin (16 for bf16, 13 for fp16): coin < L << (32 - k), with L < 2^k the
 * k bits the rounding drops, holds iff coin >> (32 - k) < L, a signed compare; and as the hash's
 * last step is x ^= x >> 16, coin >> s = (x >> s) ^ (hi >> s) for s >= 16 without that step. */
typedef struct {
    __m256i next;   /* the hash's input for the next 8 columns: lo32(key) + (d + i) * STEP in lane i */
    __m256i hi_top; /* the key's high half >> s */
} coin_stream;

/* A row's stream from its column 0. */
EKI_TARGET_AVX2 static inline coin_stream coins_from(uint64_t key, const int s) {
    const __m256i i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return (coin_stream){_mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)key),
                                          _mm256_mullo_epi32(i, _mm256_set1_epi32((int)EKI_ROUND_COLUMN_STEP))),
                         _mm256_set1_epi32((int)((uint32_t)(key >> 32) >> s))};
}

/* coin >> s of the next 8 columns (column i's in lane i); the stream moves on by 8 columns. */
EKI_TARGET_AVX2 static inline __m256i next_coins(coin_stream *cs, const int s) {
    __m256i x = cs->next;
    cs->next = _mm256_add_epi32(x, _mm256_set1_epi32((int)(8u * EKI_ROUND_COLUMN_STEP)));
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32((int)EKI_ROUND_FMIX_1));
    x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 13));
    x = _mm256_mullo_epi32(x, _mm256_set1_epi32((int)EKI_ROUND_FMIX_2));
    return _mm256_xor_si256(_mm256_srli_epi32(x, s), cs->hi_top);
}

/* 8 values below 2^16 in 32-bit lanes, stored as 8 uint16. */
EKI_TARGET_AVX2 static inline void store_u16x8(uint16_t *dst, __m256i h) {
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(h, h), 0x08);
    _mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(packed));
}

/* -1 in the lanes of u (float bits) that hold an infinity or NaN */
EKI_TARGET_AVX2 static inline __m256i not_finite(__m256i u) {
    return _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f7fffff));
}

/* Finite floats u (as bits) to bf16 in 32-bit lanes: (u >> 16) + (coin < u << 16); top: coin >> 16. */
EKI_TARGET_AVX2 static inline __m256i bf16_stochastic(__m256i u, __m256i top) {
    __m256i up = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0xffff)), top); /* -1: round up */
    return _mm256_sub_epi32(_mm256_srli_epi32(u, 16), up);
}

/* A chunk with an infinity or NaN, and the last dim % 8 columns, go to the scalar rule. */
EKI_TARGET_AVX2 void eki_bf16_stochastic_row_avx2(int64_t dim, const float *src, uint16_t *dst, uint64_t key) {
    coin_stream cs = coins_from(key, 16);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(src + d)), top = next_coins(&cs, 16);
        if (_mm256_movemask_epi8(not_finite(u))) {
            eki_bf16_stochastic_cols(d, d + 8, src, dst, key);
            continue;
        }
        store_u16x8(dst + d, bf16_stochastic(u, top));
    }
    eki_bf16_stochastic_cols(d, dim, src, dst, key);
}

/* fp16 where every |x| of the chunk lies in [2^-14, 2^16) (x86/avx512/half.c); other chunks and the
 * last dim % 8 columns go to the scalar rule. */
EKI_TARGET_AVX2 void eki_f16_stochastic_row_avx2(int64_t dim, const float *src, uint16_t *dst, uint64_t key) {
    coin_stream cs = coins_from(key, 19);
    const __m256i absmask = _mm256_set1_epi32(0x7fffffff),
                  smallest = _mm256_set1_epi32(0x38800000), largest = _mm256_set1_epi32(0x477fffff),
                  rebias = _mm256_set1_epi32(112 << 10), signbit = _mm256_set1_epi32(0x8000);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(src + d)), a = _mm256_and_si256(u, absmask);
        __m256i top = next_coins(&cs, 19); /* coin >> 19 */
        __m256i outside = _mm256_or_si256(_mm256_cmpgt_epi32(smallest, a), _mm256_cmpgt_epi32(a, largest));
        if (_mm256_movemask_epi8(outside)) {
            eki_f16_stochastic_cols(d, d + 8, src, dst, key);
            continue;
        }
        __m256i up = _mm256_cmpgt_epi32(_mm256_and_si256(a, _mm256_set1_epi32(0x1fff)), top); /* coin < a << 19 */
        __m256i lo = _mm256_sub_epi32(_mm256_srli_epi32(a, 13), rebias);
        __m256i sign = _mm256_and_si256(_mm256_srli_epi32(u, 16), signbit);
        store_u16x8(dst + d, _mm256_or_si256(sign, _mm256_sub_epi32(lo, up)));
    }
    eki_f16_stochastic_cols(d, dim, src, dst, key);
}

/* Plain SGD on a bf16 row in one pass (x86/avx512/half.c), 16 columns at a time, then 8; a chunk whose
 * result holds an infinity or NaN, and the last dim % 8 columns, go to the scalar rule. Without weight
 * decay (+0) the step is c g alone: bit for bit c g + 0 w wherever w is finite (0 w is a zero of w's sign,
 * and w - lr (c g + 0 w) equals w - lr c g for either zero), and a non-finite w makes both results
 * non-finite, which the scalar rule then decides. */
typedef struct {
    __m256 c, lr, weight_decay;
} sgd_consts;

/* The updated columns d .. d + 7 as float bits. */
EKI_TARGET_AVX2 static inline __attribute__((always_inline)) __m256i
sgd_x8(const uint16_t *row, const float *g, const sgd_consts *k, const int decays) {
    __m256 w = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)row)), 16));
    __m256 step = _mm256_mul_ps(k->c, _mm256_loadu_ps(g));
    if (decays) step = _mm256_add_ps(step, _mm256_mul_ps(k->weight_decay, w));
    return _mm256_castps_si256(_mm256_sub_ps(w, _mm256_mul_ps(k->lr, step)));
}

EKI_TARGET_AVX2 static inline __attribute__((always_inline)) void
bf16_sgd_row(int64_t dim, uint16_t *row, const float *g, float c, float lr, float weight_decay, uint64_t key,
             const int decays) {
    coin_stream cs = coins_from(key, 16);
    const sgd_consts k = {_mm256_set1_ps(c), _mm256_set1_ps(lr), _mm256_set1_ps(weight_decay)};
    int64_t d = 0;
    for (; d + 16 <= dim; d += 16) {
        __m256i top0 = next_coins(&cs, 16), top1 = next_coins(&cs, 16);
        __m256i u0 = sgd_x8(row + d, g + d, &k, decays), u1 = sgd_x8(row + d + 8, g + d + 8, &k, decays);
        if (_mm256_movemask_epi8(_mm256_or_si256(not_finite(u0), not_finite(u1)))) {
            eki_bf16_sgd_cols(d, d + 16, row, g, c, lr, weight_decay, key);
            continue;
        }
        /* two vectors packed into one 16-column store */
        __m256i h = _mm256_packus_epi32(bf16_stochastic(u0, top0), bf16_stochastic(u1, top1));
        _mm256_storeu_si256((__m256i *)(row + d), _mm256_permute4x64_epi64(h, 0xD8));
    }
    if (d + 8 <= dim) {
        __m256i top = next_coins(&cs, 16), u = sgd_x8(row + d, g + d, &k, decays);
        if (_mm256_movemask_epi8(not_finite(u))) eki_bf16_sgd_cols(d, d + 8, row, g, c, lr, weight_decay, key);
        else store_u16x8(row + d, bf16_stochastic(u, top));
        d += 8;
    }
    if (d < dim) eki_bf16_sgd_cols(d, dim, row, g, c, lr, weight_decay, key);
}

EKI_TARGET_AVX2 void eki_bf16_sgd_row_avx2(int64_t dim, uint16_t *row, const float *g, float c, float lr,
                                           float weight_decay, uint64_t key) {
    /* +0 only: with -0, a -0 weight and a -0 c g would give w - lr (c g + (-0)(-0)) = -0, not +0 */
    if (weight_decay == 0.0f && !signbit(weight_decay)) bf16_sgd_row(dim, row, g, c, lr, weight_decay, key, 0);
    else bf16_sgd_row(dim, row, g, c, lr, weight_decay, key, 1);
}

#endif
