/* x86/avx512/half.c — fp16 and bf16 rows to float32 with AVX-512 (semantics: half.c): vcvtph2ps on
 * 16 lanes for fp16, a zero-extend and shift for bf16, then the scalar tail. Bit-identical to the
 * scalar conversion (both are exact). And float32 rows to bf16 / fp16 with stochastic rounding
 * (half_round.c): 16 columns at a time, their coins the 32-bit column hash on 16 lanes: the same
 * integers as the scalar rule. */
#include <math.h>

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

/* The coins of a row's columns for row key `key` (half_round.c: column_bits), 16 columns at a time,
 * column d + i's in lane i. A rounding reads only the top k bits of its coin (16 for bf16, 13 for
 * fp16): coin < L << (32 - k), with L < 2^k the k bits the rounding drops, holds iff
 * coin >> (32 - k) < L; and as the hash's last step is x ^= x >> 16, coin >> s = (x >> s) ^ (hi >> s)
 * for s >= 16 without that step. */
typedef struct {
    __m512i next;   /* the hash's input for the next 16 columns: lo32(key) + (d + i) * STEP in lane i */
    __m512i hi_top; /* the key's high half >> s */
} coin_stream;

/* A row's stream from its column 0. */
EKI_TARGET_AVX512 static inline coin_stream coins_from(uint64_t key, const int s) {
    const __m512i i = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return (coin_stream){_mm512_add_epi32(_mm512_set1_epi32((int)(uint32_t)key),
                                          _mm512_mullo_epi32(i, _mm512_set1_epi32((int)EKI_ROUND_COLUMN_STEP))),
                         _mm512_set1_epi32((int)((uint32_t)(key >> 32) >> s))};
}

/* coin >> s of the next 16 columns; the stream moves on by 16 columns. */
EKI_TARGET_AVX512 static inline __m512i next_coins(coin_stream *cs, const int s) {
    __m512i x = cs->next;
    cs->next = _mm512_add_epi32(x, _mm512_set1_epi32((int)(16u * EKI_ROUND_COLUMN_STEP)));
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32((int)EKI_ROUND_FMIX_1));
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 13));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32((int)EKI_ROUND_FMIX_2));
    return _mm512_xor_si512(_mm512_srli_epi32(x, s), cs->hi_top);
}

/* The lanes of columns d .. min(d + 16, dim) - 1. */
static inline __mmask16 columns_from(int64_t d, int64_t dim) {
    return dim - d >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (dim - d)) - 1u);
}

/* Finite floats u (as bits) to bf16 in dst's lanes m: (u >> 16) + (coin < u << 16), the dropped 16
 * bits being the probability of rounding away from zero; top: coin >> 16. */
EKI_TARGET_AVX512 static inline void store_bf16_stochastic(uint16_t *dst, __mmask16 m, __m512i u, __m512i top) {
    __mmask16 up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0xffff)), top);
    __m512i lo = _mm512_srli_epi32(u, 16);
    _mm512_mask_cvtepi32_storeu_epi16(dst, m, _mm512_mask_add_epi32(lo, up, lo, _mm512_set1_epi32(1)));
}

/* A chunk holding an infinity or NaN goes to the scalar rule. */
EKI_TARGET_AVX512 void eki_bf16_stochastic_row_avx512(int64_t dim, const float *src, uint16_t *dst, uint64_t key) {
    coin_stream cs = coins_from(key, 16);
    const __m512i absmask = _mm512_set1_epi32(0x7fffffff),
                  inf = _mm512_set1_epi32(0x7f800000);
    for (int64_t d = 0; d < dim; d += 16) {
        __mmask16 m = columns_from(d, dim);
        __m512i u = _mm512_maskz_loadu_epi32(m, src + d), top = next_coins(&cs, 16);
        if (_mm512_mask_cmpge_epu32_mask(m, _mm512_and_si512(u, absmask), inf)) {
            eki_bf16_stochastic_cols(d, d + 16 < dim ? d + 16 : dim, src, dst, key);
            continue;
        }
        store_bf16_stochastic(dst + d, m, u, top);
    }
}

/* fp16 where every |x| of the chunk is a normal half or rounds to the largest one or to infinity
 * (2^-14 <= |x| < 2^16): lo = (|x| >> 13) rebased to fp16's exponent bias, 13 dropped bits. Other
 * chunks (subnormal results, zeros, infinities, NaN) go to the scalar rule. */
EKI_TARGET_AVX512 void eki_f16_stochastic_row_avx512(int64_t dim, const float *src, uint16_t *dst, uint64_t key) {
    coin_stream cs = coins_from(key, 19);
    const __m512i absmask = _mm512_set1_epi32(0x7fffffff),
                  smallest = _mm512_set1_epi32(0x38800000), past = _mm512_set1_epi32(0x47800000),
                  rebias = _mm512_set1_epi32(112 << 10), signbit = _mm512_set1_epi32(0x8000), one = _mm512_set1_epi32(1);
    for (int64_t d = 0; d < dim; d += 16) {
        __mmask16 m = columns_from(d, dim);
        __m512i u = _mm512_maskz_loadu_epi32(m, src + d), a = _mm512_and_si512(u, absmask);
        __m512i top = next_coins(&cs, 19); /* coin >> 19 */
        if (_mm512_mask_cmplt_epu32_mask(m, a, smallest) | _mm512_mask_cmpge_epu32_mask(m, a, past)) {
            eki_f16_stochastic_cols(d, d + 16 < dim ? d + 16 : dim, src, dst, key);
            continue;
        }
        __mmask16 up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(a, _mm512_set1_epi32(0x1fff)), top); /* coin < a << 19 */
        __m512i lo = _mm512_sub_epi32(_mm512_srli_epi32(a, 13), rebias);
        __m512i h = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u, 16), signbit), _mm512_mask_add_epi32(lo, up, lo, one));
        _mm512_mask_cvtepi32_storeu_epi16(dst + d, m, h);
    }
}

/* Plain SGD on a bf16 row in one pass (half_round.c: eki_bf16_sgd_cols): widen, the f32 SGD row's
 * arithmetic in its order, store_bf16_stochastic. A chunk whose result holds an infinity or NaN is
 * done again by the scalar rule from the untouched inputs. Without weight decay (+0) the step is c g
 * alone: bit for bit c g + 0 w wherever w is finite (0 w is a zero of w's sign, and w - lr (c g + 0 w)
 * equals w - lr c g for either zero), and a non-finite w makes both results non-finite. */
EKI_TARGET_AVX512 static inline __attribute__((always_inline)) void
bf16_sgd_row(int64_t dim, uint16_t *row, const float *g, float c, float lr, float weight_decay, uint64_t key,
             const int decays) {
    coin_stream cs = coins_from(key, 16);
    const __m512i absmask = _mm512_set1_epi32(0x7fffffff),
                  inf = _mm512_set1_epi32(0x7f800000);
    const __m512 cv = _mm512_set1_ps(c), lrv = _mm512_set1_ps(lr), wdv = _mm512_set1_ps(weight_decay);
    for (int64_t d = 0; d < dim; d += 16) {
        __mmask16 m = columns_from(d, dim);
        __m512i top = next_coins(&cs, 16);
        __m512 w = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, row + d)), 16));
        __m512 step = _mm512_mul_ps(cv, _mm512_maskz_loadu_ps(m, g + d));
        if (decays) step = _mm512_add_ps(step, _mm512_mul_ps(wdv, w));
        __m512i u = _mm512_castps_si512(_mm512_sub_ps(w, _mm512_mul_ps(lrv, step)));
        if (_mm512_mask_cmpge_epu32_mask(m, _mm512_and_si512(u, absmask), inf)) {
            eki_bf16_sgd_cols(d, d + 16 < dim ? d + 16 : dim, row, g, c, lr, weight_decay, key);
            continue;
        }
        store_bf16_stochastic(row + d, m, u, top);
    }
}

EKI_TARGET_AVX512 void eki_bf16_sgd_row_avx512(int64_t dim, uint16_t *row, const float *g, float c, float lr,
                                               float weight_decay, uint64_t key) {
    /* +0 only: with -0, a -0 weight and a -0 c g would give w - lr (c g + (-0)(-0)) = -0, not +0 */
    if (weight_decay == 0.0f && !signbit(weight_decay)) bf16_sgd_row(dim, row, g, c, lr, weight_decay, key, 0);
    else bf16_sgd_row(dim, row, g, c, lr, weight_decay, key, 1);
}

#endif
