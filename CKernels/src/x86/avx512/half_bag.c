/* x86/avx512/half_bag.c — the bag sum and mean of an fp16 / bf16 table with AVX-512 (semantics:
 * embedding_bag.c, eki_half_bag_sum_scalar): each row widened in registers (exact) and added to
 * accumulators held across the bag, w * row as a product then a sum (never an FMA), in the rows'
 * order: bit-identical to the scalar loop. Blocks of up to 64 columns, the last vector masked. */
#include "embedding_bag.h"

#if EKI_X86
#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

#define EKI_INLINE512 EKI_TARGET_AVX512 static inline __attribute__((always_inline))

EKI_INLINE512 __m512 widen(const uint16_t *p, __mmask16 m, const int bf16) {
    __m256i h = _mm256_maskz_loadu_epi16(m, p);
    return bf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)) : _mm512_cvtph_ps(h);
}

/* One block of nv vectors (a compile-time constant) of bag [begin, end); returns its count. */
EKI_INLINE512 int64_t block(const eki_bag_call *c, const uint16_t *weight, int64_t begin, int64_t end, int64_t pend,
                            int64_t d0, __mmask16 tail, float *o, const int nv, const int bf16, const int weighted) {
    int64_t count = 0, ahead = c->prefetch_rows;
    size_t row_bytes = 2 * (size_t)c->dim;
    float weight_sum = 0.0f;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t j = begin; j < end; j++) {
        if (d0 == 0 && j + ahead < pend) /* later blocks find the row in the cache */
            EKI_PREFETCH_SPAN(weight + eki_at(c->indices, j + ahead) * c->stride, row_bytes, 0);
        int64_t r = eki_at(c->indices, j);
        if (r == c->pad) continue;
        count++;
        const uint16_t *row = weight + r * c->stride + d0;
        if (weighted) {
            float w = c->weights[j];
            weight_sum += w;
            __m512 wv = _mm512_set1_ps(w);
            for (int v = 0; v < nv; v++)
                acc[v] = _mm512_add_ps(acc[v], _mm512_mul_ps(wv, widen(row + 16 * v, v == nv - 1 ? tail : 0xFFFF, bf16)));
        } else {
            for (int v = 0; v < nv; v++) acc[v] = _mm512_add_ps(acc[v], widen(row + 16 * v, v == nv - 1 ? tail : 0xFFFF, bf16));
        }
    }
    if (c->mode == EK_BAG_MEAN) {
        float denom = weighted ? weight_sum : (float)count;
        for (int v = 0; v < nv; v++)
            acc[v] = denom == 0.0f ? _mm512_setzero_ps() : _mm512_div_ps(acc[v], _mm512_set1_ps(denom));
    }
    for (int v = 0; v < nv; v++) _mm512_mask_storeu_ps(o + d0 + 16 * v, v == nv - 1 ? tail : 0xFFFF, acc[v]);
    return count;
}

EKI_INLINE512 void range(const eki_bag_call *c, const uint16_t *weight, int64_t b0, int64_t b1, float *out,
                         int64_t *bag_size, const int bf16, const int weighted) {
    int64_t dim = c->dim, pend = b1 > b0 ? eki_bag_end(&c->bags, b1 - 1) : 0;
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float *o = out + b * dim;
        for (int64_t d0 = 0; d0 < dim; d0 += 64) {
            int64_t left = dim - d0, last = left >= 64 ? 16 : left - 16 * ((left - 1) / 16);
            __mmask16 tail = (__mmask16)(last >= 16 ? 0xFFFF : (1u << last) - 1);
            switch (left >= 64 ? 4 : (int)((left + 15) / 16)) {
            case 1: count = block(c, weight, begin, end, pend, d0, tail, o, 1, bf16, weighted); break;
            case 2: count = block(c, weight, begin, end, pend, d0, tail, o, 2, bf16, weighted); break;
            case 3: count = block(c, weight, begin, end, pend, d0, tail, o, 3, bf16, weighted); break;
            default: count = block(c, weight, begin, end, pend, d0, tail, o, 4, bf16, weighted); break;
            }
        }
        if (bag_size) bag_size[b] = count;
    }
}

EKI_TARGET_AVX512 void eki_half_bag_sum_avx512(const eki_bag_call *c, const uint16_t *weight, int bf16, int64_t b0,
                                               int64_t b1, float *out, int64_t *bag_size) {
    if (bf16) {
        if (c->weights) range(c, weight, b0, b1, out, bag_size, 1, 1);
        else range(c, weight, b0, b1, out, bag_size, 1, 0);
    } else {
        if (c->weights) range(c, weight, b0, b1, out, bag_size, 0, 1);
        else range(c, weight, b0, b1, out, bag_size, 0, 0);
    }
}

#endif
