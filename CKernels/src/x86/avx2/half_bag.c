/* x86/avx2/half_bag.c — the bag sum and mean of an fp16 / bf16 table with AVX2 + F16C (semantics:
 * embedding_bag.c, eki_half_bag_sum_scalar): each row widened in registers (exact) and added to
 * accumulators held across the bag, w * row as a product then a sum (never an FMA), in the rows'
 * order: bit-identical to the scalar loop. Blocks of up to 64 columns (8 vectors); a partial last
 * vector is loaded from and stored through a small zero-padded buffer. */
#include <string.h>

#include "embedding_bag.h"

#if EKI_X86
#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

#define EKI_INLINE2 EKI_TARGET_AVX2_F16C static inline __attribute__((always_inline))

/* 8 halves at p (only `n` of them when n < 8) widened to float32 */
EKI_INLINE2 __m256 widen(const uint16_t *p, int n, const int bf16) {
    __m128i h;
    if (n >= 8) {
        h = _mm_loadu_si128((const __m128i *)p);
    } else {
        uint16_t buf[8] = {0};
        for (int i = 0; i < n; i++) buf[i] = p[i];
        h = _mm_loadu_si128((const __m128i *)buf);
    }
    return bf16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)) : _mm256_cvtph_ps(h);
}

/* One block of nv vectors (a compile-time constant), the last holding `last` columns (1..8). */
EKI_INLINE2 int64_t block(const eki_bag_call *c, const uint16_t *weight, int64_t begin, int64_t end, int64_t pend,
                          int64_t d0, int last, float *o, const int nv, const int bf16, const int weighted) {
    int64_t count = 0, ahead = c->prefetch_rows;
    size_t row_bytes = 2 * (size_t)c->dim;
    float weight_sum = 0.0f;
    __m256 acc[8];
    for (int v = 0; v < nv; v++) acc[v] = _mm256_setzero_ps();
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
            __m256 wv = _mm256_set1_ps(w);
            for (int v = 0; v < nv; v++)
                acc[v] = _mm256_add_ps(acc[v], _mm256_mul_ps(wv, widen(row + 8 * v, v == nv - 1 ? last : 8, bf16)));
        } else {
            for (int v = 0; v < nv; v++) acc[v] = _mm256_add_ps(acc[v], widen(row + 8 * v, v == nv - 1 ? last : 8, bf16));
        }
    }
    if (c->mode == EK_BAG_MEAN) {
        float denom = weighted ? weight_sum : (float)count;
        for (int v = 0; v < nv; v++)
            acc[v] = denom == 0.0f ? _mm256_setzero_ps() : _mm256_div_ps(acc[v], _mm256_set1_ps(denom));
    }
    for (int v = 0; v < nv - 1; v++) _mm256_storeu_ps(o + d0 + 8 * v, acc[v]);
    float buf[8];
    _mm256_storeu_ps(buf, acc[nv - 1]);
    memcpy(o + d0 + 8 * (nv - 1), buf, sizeof(float) * (size_t)last);
    return count;
}

#define EKI_HALF_BLOCK_CASE(k) \
    case k: count = block(c, weight, begin, end, pend, d0, last, o, k, bf16, weighted); break;

EKI_INLINE2 void range(const eki_bag_call *c, const uint16_t *weight, int64_t b0, int64_t b1, float *out,
                       int64_t *bag_size, const int bf16, const int weighted) {
    int64_t dim = c->dim, pend = b1 > b0 ? eki_bag_end(&c->bags, b1 - 1) : 0;
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float *o = out + b * dim;
        for (int64_t d0 = 0; d0 < dim; d0 += 64) {
            int64_t left = dim - d0;
            int nv = left >= 64 ? 8 : (int)((left + 7) / 8), last = left >= 64 ? 8 : (int)(left - 8 * (nv - 1));
            switch (nv) {
                EKI_HALF_BLOCK_CASE(1) EKI_HALF_BLOCK_CASE(2) EKI_HALF_BLOCK_CASE(3) EKI_HALF_BLOCK_CASE(4)
                EKI_HALF_BLOCK_CASE(5) EKI_HALF_BLOCK_CASE(6) EKI_HALF_BLOCK_CASE(7) EKI_HALF_BLOCK_CASE(8)
            }
        }
        if (bag_size) bag_size[b] = count;
    }
}

EKI_TARGET_AVX2_F16C void eki_half_bag_sum_avx2(const eki_bag_call *c, const uint16_t *weight, int bf16, int64_t b0,
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
