/* x86/avx2/half_bag.c — the bag sum and mean of an fp16 / bf16 table with AVX2 + F16C (semantics:
 * embedding_bag.c, eki_half_bag_sum_scalar): each row widened in registers (exact) and added to
 * accumulators held across the bag (weighted: fma(w, row, sum)), in the rows' order: bit-identical
 * to the scalar loop. The loop is the fp32 bag's (embedding_bag.h: row_loop,
 * index width and weights compile-time constants, straight-line prefetch of each pass's own columns);
 * blocks of up to 16 vectors (128 columns), a partial last vector read and written with masks. */
#include "embedding_bag.h"

#if EKI_X86
#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

#define EKI_INLINE2 EKI_TARGET_AVX2_F16C static inline __attribute__((always_inline))
#define HALF_BLOCK EKI_BAG_BLOCK_ELEMS_AVX2 /* columns per pass */

/* 8 halves at p (only `n` of them when n < 8, read without reaching past them) widened to float32.
 * No call and no stack buffer here: the block's sums then stay in registers. */
EKI_INLINE2 __m256 widen(const uint16_t *p, int n, const int bf16) {
    __m128i h;
    if (n >= 8) {
        h = _mm_loadu_si128((const __m128i *)p);
    } else { /* n / 2 whole pairs by a masked load, an odd last half blended into its lane */
        h = _mm_maskload_epi32((const int *)p, _mm_cmpgt_epi32(_mm_set1_epi32(n / 2), _mm_setr_epi32(0, 1, 2, 3)));
        if (n & 1)
            h = _mm_blendv_epi8(h, _mm_set1_epi16((short)p[n - 1]),
                                _mm_cmpeq_epi16(_mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7), _mm_set1_epi16((short)(n - 1))));
    }
    return bf16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)) : _mm256_cvtph_ps(h);
}

/* One block of nv vectors (a compile-time constant), the last holding `last` columns (1..8). */
EKI_INLINE2 int64_t block(row_loop L, int64_t begin, int64_t end, int64_t d0, int last, float *o, const int nv,
                          const int bf16, const int is32, const int weighted) {
    const uint16_t *weight = (const uint16_t *)(const void *)L.weight;
    int64_t count = 0;
    float weight_sum = 0.0f;
    __m256 acc[16];
    for (int v = 0; v < nv; v++) acc[v] = _mm256_setzero_ps();
    for (int64_t j = begin; j < end; j++) {
        prefetch_ahead(&L, j + L.ahead, d0, is32, (nv + 3) / 4);
        int64_t r = row_at(&L, j, is32);
        if (r == L.pad) continue;
        count++;
        const uint16_t *row = weight + r * L.stride + d0;
        if (weighted) {
            float w = L.psw[j];
            weight_sum += w;
            __m256 wv = _mm256_set1_ps(w);
            for (int v = 0; v < nv; v++)
                acc[v] = _mm256_fmadd_ps(wv, widen(row + 8 * v, v == nv - 1 ? last : 8, bf16), acc[v]);
        } else {
            for (int v = 0; v < nv; v++) acc[v] = _mm256_add_ps(acc[v], widen(row + 8 * v, v == nv - 1 ? last : 8, bf16));
        }
    }
    if (L.mean) {
        float denom = weighted ? weight_sum : (float)count;
        for (int v = 0; v < nv; v++)
            acc[v] = denom == 0.0f ? _mm256_setzero_ps() : _mm256_div_ps(acc[v], _mm256_set1_ps(denom));
    }
    for (int v = 0; v < nv - 1; v++) _mm256_storeu_ps(o + d0 + 8 * v, acc[v]);
    _mm256_maskstore_ps(o + d0 + 8 * (nv - 1), _mm256_cmpgt_epi32(_mm256_set1_epi32(last), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
                        acc[nv - 1]);
    return count;
}

#define CASE(k) \
    case k: count = block(L, begin, end, d0, last, o, k, bf16, is32, weighted); break;

EKI_INLINE2 void range(const eki_bag_call *c, const uint16_t *weight, int64_t b0, int64_t b1, float *out,
                       int64_t *bag_size, const int bf16, const int is32, const int weighted) {
    row_loop L = make_row_loop_of(c, weight, 2, b0, b1);
    int64_t dim = c->dim;
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float *o = out + b * dim;
        for (int64_t d0 = 0; d0 < dim; d0 += HALF_BLOCK) {
            int64_t left = dim - d0;
            int nv = left >= HALF_BLOCK ? 16 : (int)((left + 7) / 8), last = (int)(left - 8 * (nv - 1));
            if (last > 8) last = 8;
            set_block(&L, left < HALF_BLOCK ? left : HALF_BLOCK);
            switch (nv) {
                EKI_CASES_1_TO_15(CASE)
            default:
                CASE(16)
            }
        }
        if (bag_size) bag_size[b] = count;
    }
}

EKI_HALF_BAG_SUM(avx2, EKI_TARGET_AVX2_F16C)

#endif
