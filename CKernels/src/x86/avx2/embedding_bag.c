/* x86/avx2/embedding_bag.c — the AVX2 bag forward over a thread's range of bags (semantics and
 * order: embedding_bag.c; building blocks: embedding_bag.h). The scalar range's operations lane by
 * lane in its order (weighted: fma(w, row, sum)): bit-identical to it. */
#include <math.h>
#include <string.h>

#include "embedding_bag.h"

#if EKI_X86
#include <immintrin.h>

/* No a * b + c fused into an FMA: clang contracts by default under an "fma" target, which would
 * make the leftover elements differ from the scalar path (gcc -std=c11 does not contract). */
#pragma STDC FP_CONTRACT OFF

/* ---- AVX2: blocks of up to 16 x 8 floats; the last vector of a block is masked ---- */

#define EKI_INLINE2 EKI_TARGET_AVX2 static inline __attribute__((always_inline))

EKI_INLINE2 __m256i tail_mask_avx2(int64_t last) { /* lanes < last (1..8) */
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)last), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

EKI_INLINE2 __m256 load_avx2(const float *p, int v, int nv, __m256i tail) {
    return v == nv - 1 ? _mm256_maskload_ps(p, tail) : _mm256_loadu_ps(p);
}

EKI_INLINE2 void sum_bag_block_avx2(row_loop L, int64_t begin, int64_t end, int64_t d0, const int nv, __m256i tail,
                                    float *o, int64_t *count_out, const int is32, const int weighted) {
    int64_t count = 0;
    float weight_sum = 0.0f;
    __m256 acc[16];
    for (int v = 0; v < nv; v++) acc[v] = _mm256_setzero_ps();
    for (int64_t j = begin; j < end; j++) {
        prefetch_ahead(&L, j + L.ahead, d0, is32, (nv + 1) / 2);
        int64_t r = row_at(&L, j, is32);
        if (r == L.pad) continue;
        count++;
        const float *row = L.weight + r * L.stride + d0;
        if (weighted) {
            float w = L.psw[j];
            weight_sum += w;
            __m256 wv = _mm256_set1_ps(w);
            for (int v = 0; v < nv; v++) acc[v] = _mm256_fmadd_ps(wv, load_avx2(row + 8 * v, v, nv, tail), acc[v]);
        } else {
            for (int v = 0; v < nv; v++) acc[v] = _mm256_add_ps(acc[v], load_avx2(row + 8 * v, v, nv, tail));
        }
    }
    if (L.mean) {
        float denom = weighted ? weight_sum : (float)count;
        __m256 dv = _mm256_set1_ps(denom);
        for (int v = 0; v < nv; v++) acc[v] = denom == 0.0f ? _mm256_setzero_ps() : _mm256_div_ps(acc[v], dv);
    }
    for (int v = 0; v < nv; v++) {
        if (v == nv - 1) _mm256_maskstore_ps(o + d0 + 8 * v, tail, acc[v]);
        else _mm256_storeu_ps(o + d0 + 8 * v, acc[v]);
    }
    *count_out = count;
}

EKI_INLINE2 void store_argmax_avx2(int64_t *p, __m256 take, int64_t r) {
    __m256i t = _mm256_castps_si256(take), rv = _mm256_set1_epi64x(r);
    _mm256_maskstore_epi64((long long *)p, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(t)), rv);
    _mm256_maskstore_epi64((long long *)p + 4, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(t, 1)), rv);
}

/* The max of a bag without argmax (an inference call, W4) in half the instructions: vmaxps(x, acc)
 * is x > acc ? x : acc, which is the rule below (strict: of equal values, -0 and +0 included, the
 * first stays; a NaN acc stays) for every x but a NaN arriving while acc is not NaN. So each row's
 * vectors are also tested for NaN, in pairs (vcmpps unordered), and a bag that has one is redone by
 * the exact loop: the same result bit for bit, NaN or not. Returns 0 when it must be redone. */
EKI_INLINE2 int max_bag_fast_avx2(row_loop L, int64_t begin, int64_t end, int64_t d0, const int nv, __m256i tail,
                                  float *o, int64_t *count_out, const int is32) {
    int64_t count = 0, j = begin;
    __m256 acc[16], nan = _mm256_setzero_ps();
    for (int v = 0; v < nv; v++) acc[v] = _mm256_setzero_ps();
    for (; j < end && count == 0; j++) { /* the first row that is not padding starts the maximum */
        prefetch_ahead(&L, j + L.ahead, d0, is32, (nv + 1) / 2);
        int64_t r = row_at(&L, j, is32);
        if (r == L.pad) continue;
        const float *row = L.weight + r * L.stride + d0;
        for (int v = 0; v < nv; v++) acc[v] = load_avx2(row + 8 * v, v, nv, tail); /* masked lanes: 0 */
        count = 1;
    }
    for (; j < end; j++) {
        prefetch_ahead(&L, j + L.ahead, d0, is32, (nv + 1) / 2);
        int64_t r = row_at(&L, j, is32);
        if (r == L.pad) continue;
        const float *row = L.weight + r * L.stride + d0;
        for (int v = 0; v < nv; v += 2) {
            __m256 x = load_avx2(row + 8 * v, v, nv, tail);
            __m256 y = v + 1 < nv ? load_avx2(row + 8 * (v + 1), v + 1, nv, tail) : x;
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(x, y, _CMP_UNORD_Q));
            acc[v] = _mm256_max_ps(x, acc[v]);
            if (v + 1 < nv) acc[v + 1] = _mm256_max_ps(y, acc[v + 1]);
        }
        count++;
    }
    if (_mm256_movemask_ps(nan)) return 0;
    for (int v = 0; v < nv; v++) { /* zeros when the bag is empty */
        if (v == nv - 1) _mm256_maskstore_ps(o + d0 + 8 * v, tail, acc[v]);
        else _mm256_storeu_ps(o + d0 + 8 * v, acc[v]);
    }
    *count_out = count;
    return 1;
}

EKI_INLINE2 void max_bag_block_avx2(row_loop L, int64_t begin, int64_t end, int64_t d0, const int nv, __m256i tail,
                                    float *o, int64_t *argmax, int64_t *count_out, const int is32) {
    if (!argmax && max_bag_fast_avx2(L, begin, end, d0, nv, tail, o, count_out, is32)) return;
    int64_t count = 0;
    __m256 acc[16];
    __m256 full = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (int v = 0; v < nv; v++) acc[v] = _mm256_setzero_ps();
    for (int64_t j = begin; j < end; j++) {
        prefetch_ahead(&L, j + L.ahead, d0, is32, (nv + 1) / 2);
        int64_t r = row_at(&L, j, is32);
        if (r == L.pad) continue;
        const float *row = L.weight + r * L.stride + d0;
        for (int v = 0; v < nv; v++) {
            __m256 m = v == nv - 1 ? _mm256_castsi256_ps(tail) : full;
            __m256 x = load_avx2(row + 8 * v, v, nv, tail);
            __m256 take = count == 0 ? m
                                     : _mm256_and_ps(_mm256_and_ps(_mm256_cmp_ps(x, acc[v], _CMP_NLE_UQ),
                                                                   _mm256_cmp_ps(acc[v], acc[v], _CMP_ORD_Q)), m);
            acc[v] = _mm256_blendv_ps(acc[v], x, take);
            if (argmax && _mm256_movemask_ps(take)) store_argmax_avx2(argmax + d0 + 8 * v, take, r);
        }
        count++;
    }
    for (int v = 0; v < nv; v++) {
        if (v == nv - 1) _mm256_maskstore_ps(o + d0 + 8 * v, tail, acc[v]);
        else _mm256_storeu_ps(o + d0 + 8 * v, acc[v]);
        if (argmax && count == 0)
            store_argmax_avx2(argmax + d0 + 8 * v, v == nv - 1 ? _mm256_castsi256_ps(tail) : full, -1);
    }
    *count_out = count;
}

#define CASE(k) EKI_BAG_CASE(avx2, k)

EKI_INLINE2 void bag_range_avx2_impl(const eki_bag_call *c, const float *weight, int64_t b0, int64_t b1, float *out,
                                     int64_t *bag_size, int64_t *max_indices, const int is32, const int weighted) {
    row_loop L = make_row_loop(c, weight, b0, b1);
    int64_t dim = L.dim;
    int is_max = !weighted && c->mode == EK_BAG_MAX; /* max never has per-sample weights */
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float *o = out + b * dim;
        int64_t *argmax = max_indices ? max_indices + b * dim : NULL;
        for (int64_t d0 = 0; d0 < dim; d0 += EKI_BAG_BLOCK_ELEMS_AVX2) {
            int64_t left = dim - d0;
            int nv = left >= EKI_BAG_BLOCK_ELEMS_AVX2 ? 16 : (int)((left + 7) / 8);
            __m256i tail = tail_mask_avx2(left - 8 * (nv - 1));
            set_block(&L, left < EKI_BAG_BLOCK_ELEMS_AVX2 ? left : EKI_BAG_BLOCK_ELEMS_AVX2);
            switch (nv) {
                EKI_CASES_1_TO_15(CASE)
            default:
                EKI_BAG_CASE(avx2, 16)
            }
        }
        if (bag_size) bag_size[b] = count;
    }
}

#undef CASE

EKI_BAG_RANGE_VARIANTS(avx2, EKI_TARGET_AVX2)
#endif
