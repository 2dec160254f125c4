/* x86/avx512/quant_bag.c — the quantized bag forward (sum, mean) over a thread's range of bags with
 * AVX-512 (semantics and order: quant_forward.c; the call: quant.h). A bag's columns go in blocks of
 * up to 256 (16 x 16 floats) held in registers, one function per (format, index width, weighted) with
 * the block width a compile-time constant, nothing called per row; a wider row is walked once per
 * block (the later passes hit L1). Per element: fma(q, scale, bias) (one rounding, as fmaf), then
 * added (weighted: fma(w, value, sum)): bit-identical to the scalar loop and so to the fp32 bag of
 * the dequantised table. Q8: 16 bytes -> 16 lanes (vpmovzxbd), convert, fma; Q4 / Q2: each
 * row's values from a 16-lane table by vpermps (see nbit_index). Every load stays inside the row. */
#pragma STDC FP_CONTRACT OFF
#include "quant.h"
#include "x86/quant_loop.h"

#if EKI_X86
#include <immintrin.h>

#define INL EKI_TARGET_AVX512 static inline __attribute__((always_inline))
/* values per pass: 16 registers of sums. A row is read once per pass (its scale and bias in each),
 * and one pass over a wide row reads faster than several (the fp32 bag's lesson, embedding_bag.h) */
#define QBLOCK 256

INL void scale_bias(const uint8_t *sb, const int slot, __m512 *s, __m512 *b) {
    if (slot == 0) {
        float f[2];
        memcpy(f, sb, 8);
        *s = _mm512_set1_ps(f[0]), *b = _mm512_set1_ps(f[1]);
    } else { /* two fp16: vcvtph2ps is exact, NaN made quiet, as eki_f16_to_f32 */
        uint32_t w;
        memcpy(&w, sb, 4);
        __m128 x = _mm512_castps512_ps128(_mm512_cvtph_ps(_mm256_zextsi128_si256(_mm_cvtsi32_si128((int)w))));
        *s = _mm512_broadcastss_ps(x), *b = _mm512_broadcastss_ps(_mm_movehdup_ps(x));
    }
}

/* Q8: the codes of elements d .. d + 15 as floats. A row's last vector (!full) reads all 16 bytes
 * where at least 8 elements are left (the 8 bytes of scale and bias follow the codes), else 8
 * (short_tail, loop-invariant); the extra lanes are never stored. Plain loads: with masked byte
 * loads W11 took 1.37 ms against 0.82 (Zen 5, before the vpermps change). */
INL __m512 q8_codes(const uint8_t *row, int64_t d, int short_tail, const int full) {
    __m128i x = full || !short_tail ? _mm_loadu_si128((const __m128i *)(row + d))
                                    : _mm_loadl_epi64((const __m128i *)(row + d));
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(x));
}

/* Q4 / Q2: a row has only 16 / 4 distinct values, so each row's fma(q, scale, bias) is
 * computed once into a 16-lane table and elements are looked up with vpermps, which
 * reads the low 4 bits of each index lane: the same value bit for bit, 3 instructions per 16
 * elements instead of 9. Q2: lane i of (word >> 2i) has codes i and i + 1 in its low 4 bits, the
 * table repeats the 4 values. Q4: the 8 code bytes in every 64-bit lane, lane k shifted by 4k: its
 * low half indexes element k, its high half element k + 8; the accumulators keep that lane order
 * (Q4_ORDER) until the store. The last vector reads 8 bytes where >= 8 elements are left (the 4
 * bytes of scale and bias follow), else 4 (short_tail). */
INL __m512i nbit_index(const uint8_t *row, int64_t d, int short_tail, const int slot, const int full) {
    if (slot == 1) {
        uint64_t w;
        if (full || !short_tail) memcpy(&w, row + d / 2, 8);
        else {
            uint32_t h;
            memcpy(&h, row + d / 2, 4);
            w = h;
        }
        return _mm512_srlv_epi64(_mm512_set1_epi64((long long)w), _mm512_setr_epi64(0, 4, 8, 12, 16, 20, 24, 28));
    }
    uint32_t w;
    memcpy(&w, row + d / 4, 4); /* always in the row */
    return _mm512_srlv_epi32(_mm512_set1_epi32((int)w),
                             _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
}
/* element i of a Q4 accumulator is in lane Q4_ORDER[i] */
#define Q4_ORDER _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15)

/* Columns d0 .. d0 + 16 nv of bag [begin, end) into o: nv, slot, is32, weighted and pf are
 * compile-time constants; tail: the lanes of the last vector in the row, short_tail: fewer than 8. */
INL void sum_block(qloop L, int64_t begin, int64_t end, int64_t d0, const int nv, __mmask16 tail, int short_tail,
                   float *o, int64_t *count_out, const int slot, const int is32, const int weighted, const int pf) {
    __m512 acc[16];
    for (int v = 0; v < nv; v++) acc[v] = _mm512_setzero_ps();
    int64_t count = 0;
    float weight_sum = 0.0f;
    const __m512 codes16 = slot == 1 ? _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
                                     : _mm512_setr_ps(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
    for (int64_t j = begin; j < end; j++) {
        if (pf) prefetch_row(&L, j + L.ahead, is32, pf);
        int64_t r = row_at(&L, j, is32);
        if (r == L.pad) continue;
        count++;
        const uint8_t *row = L.table + r * L.stride;
        __m512 s, b, wv = _mm512_setzero_ps();
        scale_bias(row + L.data, slot, &s, &b);
        if (weighted) {
            float w = L.psw[j];
            weight_sum += w;
            wv = _mm512_set1_ps(w);
        }
        if (slot == 0) {
            for (int v = 0; v < nv; v++) {
                __m512 x = _mm512_fmadd_ps(q8_codes(row, d0 + 16 * v, short_tail, v < nv - 1), s, b);
                acc[v] = weighted ? _mm512_fmadd_ps(wv, x, acc[v]) : _mm512_add_ps(acc[v], x);
            }
        } else {
            __m512 values = _mm512_fmadd_ps(codes16, s, b);
            for (int v = 0; v < nv; v++) {
                __m512 x = _mm512_permutexvar_ps(nbit_index(row, d0 + 16 * v, short_tail, slot, v < nv - 1), values);
                acc[v] = weighted ? _mm512_fmadd_ps(wv, x, acc[v]) : _mm512_add_ps(acc[v], x);
            }
        }
    }
    if (L.mean) {
        float denom = weighted ? weight_sum : (float)count;
        __m512 dv = _mm512_set1_ps(denom);
        for (int v = 0; v < nv; v++) acc[v] = denom == 0.0f ? _mm512_setzero_ps() : _mm512_div_ps(acc[v], dv);
    }
    if (slot == 1)
        for (int v = 0; v < nv; v++) acc[v] = _mm512_permutexvar_ps(Q4_ORDER, acc[v]);
    for (int v = 0; v < nv - 1; v++) _mm512_storeu_ps(o + d0 + 16 * v, acc[v]);
    _mm512_mask_storeu_ps(o + d0 + 16 * (nv - 1), tail, acc[nv - 1]);
    *count_out = count;
}

#define BLOCK(k, PF) sum_block(L, begin, end, (PF) ? 0 : d0, k, tail, last < 8, o, &count, slot, is32, weighted, PF)
/* pf 2 (rows over 129 bytes) only where dim > 121: the first block has >= 8 vectors */
#define CASE(k)                                                                                               \
    case k:                                                                                                   \
        if (pf == 1) BLOCK(k, 1);                                                                             \
        else if ((k) >= 8 && pf == 2) BLOCK(k, 2);                                                            \
        else BLOCK(k, 0);                                                                                     \
        break;

INL void range_impl(const eki_qbag_call *c, int64_t b0, int64_t b1, float *out, int64_t *bag_size, const int slot,
                    const int is32, const int weighted) {
    int64_t dim = c->dim;
    qloop L = make_qloop(c, slot, b1);
    int pf_first = c->rb <= 129 ? 1 : 2;
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float *o = out + b * dim;
        for (int64_t d0 = 0; d0 < dim; d0 += QBLOCK) {
            int64_t left = dim - d0;
            int nv = left >= QBLOCK ? 16 : (int)((left + 15) / 16);
            int last = (int)(left - 16 * (nv - 1)); /* 1..16 */
            __mmask16 tail = (__mmask16)(last >= 16 ? 0xFFFF : (1u << last) - 1);
            /* later blocks: the rows are in L1; the first (d0 = 0, a constant for the compiler: the
             * column offsets become displacements, which leaves registers for the prefetch) */
            int pf = d0 > 0 ? 0 : pf_first;
            switch (nv) {
                EKI_CASES_1_TO_15(CASE)
            default:
                CASE(16)
            }
        }
        if (bag_size) bag_size[b] = count;
    }
}

#define VARIANT(fmt, slot, suffix, is32, weighted)                                                            \
    EKI_TARGET_AVX512 void eki_##fmt##_bag_range_avx512_##suffix(const eki_qbag_call *c, int64_t b0, int64_t b1, \
                                                                 float *out, int64_t *bag_size) {              \
        range_impl(c, b0, b1, out, bag_size, slot, is32, weighted);                                           \
    }
#define VARIANTS(fmt, slot)                                                                                   \
    VARIANT(fmt, slot, i64, 0, 0) VARIANT(fmt, slot, i64w, 0, 1) VARIANT(fmt, slot, i32, 1, 0)                \
    VARIANT(fmt, slot, i32w, 1, 1)
VARIANTS(q8, 0)
VARIANTS(q4, 1)
VARIANTS(q2, 2)

#endif
