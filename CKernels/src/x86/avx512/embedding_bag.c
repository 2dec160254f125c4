/* x86/avx512/embedding_bag.c — the AVX-512 bag forward over a thread's range of bags (semantics and
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

/* ---- AVX-512: blocks of up to 16 x 16 floats; the last vector of a block is masked ---- */

#define EKI_INLINE512 EKI_TARGET_AVX512 static inline __attribute__((always_inline))

EKI_INLINE512 void sum_bag_block_avx512(row_loop L, int64_t begin, int64_t end, int64_t d0, const int nv,
                                        __mmask16 tail, float *o, int64_t *count_out, const int is32, const int weighted) {
    int64_t count = 0;
    float weight_sum = 0.0f;
    __m512 acc[16];
    for (int v = 0; v < nv; v++) acc[v] = _mm512_setzero_ps();
    for (int64_t j = begin; j < end; j++) {
        prefetch_ahead(&L, j + L.ahead, d0, is32, nv);
        int64_t r = row_at(&L, j, is32);
        if (r == L.pad) continue;
        count++;
        const float *row = L.weight + r * L.stride + d0;
        if (weighted) {
            float w = L.psw[j];
            weight_sum += w;
            __m512 wv = _mm512_set1_ps(w);
            for (int v = 0; v < nv; v++) {
                __m512 x = v == nv - 1 ? _mm512_maskz_loadu_ps(tail, row + 16 * v) : _mm512_loadu_ps(row + 16 * v);
                acc[v] = _mm512_fmadd_ps(wv, x, acc[v]);
            }
        } else {
            for (int v = 0; v < nv; v++) {
                __m512 x = v == nv - 1 ? _mm512_maskz_loadu_ps(tail, row + 16 * v) : _mm512_loadu_ps(row + 16 * v);
                acc[v] = _mm512_add_ps(acc[v], x);
            }
        }
    }
    if (L.mean) {
        float denom = weighted ? weight_sum : (float)count;
        __m512 dv = _mm512_set1_ps(denom);
        for (int v = 0; v < nv; v++) acc[v] = denom == 0.0f ? _mm512_setzero_ps() : _mm512_div_ps(acc[v], dv);
    }
    for (int v = 0; v < nv; v++) {
        if (v == nv - 1) _mm512_mask_storeu_ps(o + d0 + 16 * v, tail, acc[v]);
        else _mm512_storeu_ps(o + d0 + 16 * v, acc[v]);
    }
    *count_out = count;
}

/* The rows after a bag's first: take x where x > acc, or x is NaN and acc is not — !(x <= acc)
 * (unordered: true) and acc ordered; strict, so the first of equal values stays. `track` (a
 * compile-time constant) writes the argmax; without it the loop has no branch but padding. */
EKI_INLINE512 void max_rest_avx512(const row_loop *L, int64_t j0, int64_t end, int64_t d0, const int nv,
                                   __mmask16 tail, __m512 *acc, int64_t *argmax, int64_t *count, const int is32, const int track) {
    for (int64_t j = j0; j < end; j++) {
        prefetch_ahead(L, j + L->ahead, d0, is32, nv);
        int64_t r = row_at(L, j, is32);
        if (r == L->pad) continue;
        const float *row = L->weight + r * L->stride + d0;
        for (int v = 0; v < nv; v++) {
            __mmask16 m = v == nv - 1 ? tail : (__mmask16)0xFFFF;
            __m512 x = v == nv - 1 ? _mm512_maskz_loadu_ps(tail, row + 16 * v) : _mm512_loadu_ps(row + 16 * v);
            __mmask16 take = (__mmask16)(_mm512_cmp_ps_mask(x, acc[v], _CMP_NLE_UQ) &
                                         _mm512_cmp_ps_mask(acc[v], acc[v], _CMP_ORD_Q) & m);
            acc[v] = _mm512_mask_mov_ps(acc[v], take, x);
            if (track && take) {
                __m512i rv = _mm512_set1_epi64(r);
                _mm512_mask_storeu_epi64(argmax + d0 + 16 * v, (__mmask8)(take & 0xFF), rv);
                _mm512_mask_storeu_epi64(argmax + d0 + 16 * v + 8, (__mmask8)(take >> 8), rv);
            }
        }
        (*count)++;
    }
}

EKI_INLINE512 void max_bag_block_avx512(row_loop L, int64_t begin, int64_t end, int64_t d0, const int nv,
                                        __mmask16 tail, float *o, int64_t *argmax, int64_t *count_out,
                                        const int is32) {
    int64_t count = 0, j = begin;
    __m512 acc[16];
    for (int v = 0; v < nv; v++) acc[v] = _mm512_setzero_ps();
    for (; j < end && count == 0; j++) { /* the first row that is not padding starts the maximum */
        prefetch_ahead(&L, j + L.ahead, d0, is32, nv);
        int64_t r = row_at(&L, j, is32);
        if (r == L.pad) continue;
        const float *row = L.weight + r * L.stride + d0;
        for (int v = 0; v < nv; v++) {
            __mmask16 m = v == nv - 1 ? tail : (__mmask16)0xFFFF;
            acc[v] = _mm512_maskz_loadu_ps(m, row + 16 * v);
            if (argmax) {
                __m512i rv = _mm512_set1_epi64(r);
                _mm512_mask_storeu_epi64(argmax + d0 + 16 * v, (__mmask8)(m & 0xFF), rv);
                _mm512_mask_storeu_epi64(argmax + d0 + 16 * v + 8, (__mmask8)(m >> 8), rv);
            }
        }
        count = 1;
    }
    if (argmax) max_rest_avx512(&L, j, end, d0, nv, tail, acc, argmax, &count, is32, 1);
    else max_rest_avx512(&L, j, end, d0, nv, tail, acc, NULL, &count, is32, 0);
    for (int v = 0; v < nv; v++) {
        __mmask16 m = v == nv - 1 ? tail : (__mmask16)0xFFFF;
        _mm512_mask_storeu_ps(o + d0 + 16 * v, m, acc[v]); /* zeros when the bag is empty */
        if (argmax && count == 0) {
            __m512i none = _mm512_set1_epi64(-1);
            _mm512_mask_storeu_epi64(argmax + d0 + 16 * v, (__mmask8)(m & 0xFF), none);
            _mm512_mask_storeu_epi64(argmax + d0 + 16 * v + 8, (__mmask8)(m >> 8), none);
        }
    }
    *count_out = count;
}

#define CASE(k) EKI_BAG_CASE(avx512, k)

EKI_INLINE512 void bag_range_avx512_impl(const eki_bag_call *c, const float *weight, int64_t b0, int64_t b1, float *out,
                                         int64_t *bag_size, int64_t *max_indices, const int is32, const int weighted) {
    row_loop L = make_row_loop(c, weight, b0, b1);
    int64_t dim = L.dim;
    int is_max = !weighted && c->mode == EK_BAG_MAX; /* max never has per-sample weights */
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float *o = out + b * dim;
        int64_t *argmax = max_indices ? max_indices + b * dim : NULL;
        for (int64_t d0 = 0; d0 < dim; d0 += EKI_BAG_BLOCK_ELEMS_AVX512) {
            int64_t left = dim - d0;
            int nv = left >= EKI_BAG_BLOCK_ELEMS_AVX512 ? 16 : (int)((left + 15) / 16);
            int64_t last = left - 16 * (nv - 1); /* 1..16 */
            __mmask16 tail = (__mmask16)(last >= 16 ? 0xFFFF : (1u << last) - 1);
            set_block(&L, left < EKI_BAG_BLOCK_ELEMS_AVX512 ? left : EKI_BAG_BLOCK_ELEMS_AVX512);
            switch (nv) {
                EKI_CASES_1_TO_15(CASE)
            default:
                EKI_BAG_CASE(avx512, 16)
            }
        }
        if (bag_size) bag_size[b] = count;
    }
}

#undef CASE

EKI_BAG_RANGE_VARIANTS(avx512, EKI_TARGET_AVX512)
#endif
