/* x86/avx512/half_bag.c — the bag sum and mean of an fp16 / bf16 table with AVX-512 (semantics:
 * embedding_bag.c, eki_half_bag_sum_scalar): each row widened in registers (exact) and added to
 * accumulators held across the bag (weighted: fma(w, row, sum)), in the rows' order: bit-identical
 * to the scalar loop. The loop is the fp32 bag's (embedding_bag.h: row_loop,
 * index width and weights compile-time constants, straight-line prefetch of each pass's own columns);
 * blocks of up to 16 vectors (256 columns), the last vector masked. */
#include "embedding_bag.h"

#if EKI_X86
#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

#define EKI_INLINE512 EKI_TARGET_AVX512 static inline __attribute__((always_inline))
#define HALF_BLOCK EKI_BAG_BLOCK_ELEMS_AVX512 /* columns per pass */

EKI_INLINE512 __m512 widen(const uint16_t *p, __mmask16 m, const int bf16) {
    __m256i h = _mm256_maskz_loadu_epi16(m, p);
    return bf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)) : _mm512_cvtph_ps(h);
}

/* One block of nv vectors (a compile-time constant) of bag [begin, end); returns its count. */
EKI_INLINE512 int64_t block(row_loop L, int64_t begin, int64_t end, int64_t d0, __mmask16 tail, float *o,
                            const int nv, const int bf16, const int is32, const int weighted) {
    const uint16_t *weight = (const uint16_t *)(const void *)L.weight;
    int64_t count = 0;
    float weight_sum = 0.0f;
    __m512 acc[16];
    for (int v = 0; v < nv; v++) acc[v] = _mm512_setzero_ps();
    for (int64_t j = begin; j < end; j++) {
        prefetch_ahead(&L, j + L.ahead, d0, is32, (nv + 1) / 2);
        int64_t r = row_at(&L, j, is32);
        if (r == L.pad) continue;
        count++;
        const uint16_t *row = weight + r * L.stride + d0;
        if (weighted) {
            float w = L.psw[j];
            weight_sum += w;
            __m512 wv = _mm512_set1_ps(w);
            for (int v = 0; v < nv; v++)
                acc[v] = _mm512_fmadd_ps(wv, widen(row + 16 * v, v == nv - 1 ? tail : 0xFFFF, bf16), acc[v]);
        } else {
            for (int v = 0; v < nv; v++) acc[v] = _mm512_add_ps(acc[v], widen(row + 16 * v, v == nv - 1 ? tail : 0xFFFF, bf16));
        }
    }
    if (L.mean) {
        float denom = weighted ? weight_sum : (float)count;
        for (int v = 0; v < nv; v++)
            acc[v] = denom == 0.0f ? _mm512_setzero_ps() : _mm512_div_ps(acc[v], _mm512_set1_ps(denom));
    }
    for (int v = 0; v < nv; v++) _mm512_mask_storeu_ps(o + d0 + 16 * v, v == nv - 1 ? tail : 0xFFFF, acc[v]);
    return count;
}

#define CASE(k) \
    case k: count = block(L, begin, end, d0, tail, o, k, bf16, is32, weighted); break;

EKI_INLINE512 void range(const eki_bag_call *c, const uint16_t *weight, int64_t b0, int64_t b1, float *out,
                         int64_t *bag_size, const int bf16, const int is32, const int weighted) {
    row_loop L = make_row_loop_of(c, weight, 2, b0, b1);
    int64_t dim = c->dim;
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float *o = out + b * dim;
        for (int64_t d0 = 0; d0 < dim; d0 += HALF_BLOCK) {
            int64_t left = dim - d0;
            int nv = left >= HALF_BLOCK ? 16 : (int)((left + 15) / 16);
            int64_t last = left - 16 * (nv - 1); /* 1..16 */
            __mmask16 tail = (__mmask16)(last >= 16 ? 0xFFFF : (1u << last) - 1);
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

EKI_HALF_BAG_SUM(avx512, EKI_TARGET_AVX512)

#endif
