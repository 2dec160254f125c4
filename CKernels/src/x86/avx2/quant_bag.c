/* x86/avx2/quant_bag.c — the quantized bag forward (sum, mean) over a thread's range of bags with
 * AVX2 + FMA + F16C (the AVX2 table is chosen only where F16C is present; semantics and order:
 * quant_forward.c; the call: quant.h). A bag's columns go in blocks of up to 64 (8 x 8 floats) held
 * in registers, one function per (format, index width, weighted) with the block width a compile-time
 * constant, nothing called per row; a wider row is walked once per block (the later passes hit L1).
 * Per element: fma(q, scale, bias) (vfmadd: one rounding, as fmaf), then added (weighted: fma(w,
 * value, sum)): bit-identical to the scalar loop and so to the fp32 bag of the dequantised table.
 * Codes: Q8 8 bytes -> 8 lanes (vpmovzxbd); Q4 in a whole 64-column block by byte shuffles
 * (code_q4x64), else, and Q2, one 32-bit word shifted per lane. Every load
 * stays inside the row, also for the last vector (the 8 or 4 bytes of scale and bias follow the
 * codes); its extra lanes are never stored. */
#pragma STDC FP_CONTRACT OFF
#include "quant.h"
#include "x86/quant_loop.h"

#if EKI_X86
#include <immintrin.h>

#define INL EKI_TARGET_AVX2_F16C static inline __attribute__((always_inline))

INL void scale_bias(const uint8_t *sb, const int slot, __m256 *s, __m256 *b) {
    if (slot == 0) {
        float f[2];
        memcpy(f, sb, 8);
        *s = _mm256_set1_ps(f[0]), *b = _mm256_set1_ps(f[1]);
    } else { /* two fp16: vcvtph2ps is exact, NaN made quiet, as eki_f16_to_f32 */
        uint32_t w;
        memcpy(&w, sb, 4);
        __m128 x = _mm_cvtph_ps(_mm_cvtsi32_si128((int)w));
        *s = _mm256_broadcastss_ps(x), *b = _mm256_broadcastss_ps(_mm_movehdup_ps(x));
    }
}

/* The codes of elements d .. d + 7 as floats (lanes past the row's dim hold whatever the row's
 * scale and bias bytes make of them). */
INL __m256 codes(const uint8_t *row, int64_t d, const int slot) {
    if (slot == 0) return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(row + d))));
    uint32_t w;
    memcpy(&w, row + d * eki_quant_bits(slot) / 8, 4);
    const __m256i shifts = slot == 1 ? _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)
                                     : _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    __m256i q = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)w), shifts),
                                 _mm256_set1_epi32((1 << eki_quant_bits(slot)) - 1));
    return _mm256_cvtepi32_ps(q);
}

/* 64 4-bit codes (32 bytes) in 8 vectors of floats, in the column order that costs no cross-lane
 * moves: the low (half 0) or the high (half 1) nibbles of all 32 bytes, then each vector takes 4
 * bytes of each 128-bit half (vpshufb, zero-filled dwords). Vector 2k + half holds columns
 * 8k + 2j + half (lane j < 4) and 32 + 8k + 2j + half (lane 4 + j); store_q4x64 puts them back.
 * The codes are loaded once per half: kept, they and the 8 sums leave too few of AVX2's 16
 * registers (the sums were spilled). */
INL __m256 code_q4x64(const uint8_t *codes, const int half, const int k) {
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    __m256i v = _mm256_loadu_si256((const __m256i *)codes);
    __m256i x = _mm256_and_si256(half ? _mm256_srli_epi16(v, 4) : v, nibble);
    const char z = (char)0x80, b = (char)(4 * k);
    __m256i pick = _mm256_setr_epi8(b, z, z, z, b + 1, z, z, z, b + 2, z, z, z, b + 3, z, z, z,
                                    b, z, z, z, b + 1, z, z, z, b + 2, z, z, z, b + 3, z, z, z);
    return _mm256_cvtepi32_ps(_mm256_shuffle_epi8(x, pick));
}

/* The 8 sums of codes_q4x64's order stored as columns 0 .. 63 of o. */
INL void store_q4x64(float *o, const __m256 acc[8]) {
    for (int k = 0; k < 4; k++) {
        __m256 a = _mm256_unpacklo_ps(acc[2 * k], acc[2 * k + 1]), b = _mm256_unpackhi_ps(acc[2 * k], acc[2 * k + 1]);
        _mm256_storeu_ps(o + 8 * k, _mm256_permute2f128_ps(a, b, 0x20));
        _mm256_storeu_ps(o + 32 + 8 * k, _mm256_permute2f128_ps(a, b, 0x31));
    }
}

/* Columns d0 .. d0 + 8 nv of bag [begin, end) into o: nv, slot, is32, weighted, pf and q4x64 (4-bit
 * codes, a whole block of 64 columns: codes_q4x64's order) are compile-time constants; tail: the
 * lanes of the last vector in the row (all ones: stored). */
INL void sum_block(qloop L, int64_t begin, int64_t end, int64_t d0, const int nv, __m256i tail, float *o,
                   int64_t *count_out, const int slot, const int is32, const int weighted, const int pf,
                   const int q4x64) {
    __m256 acc[8];
    for (int v = 0; v < nv; v++) acc[v] = _mm256_setzero_ps();
    int64_t count = 0;
    float weight_sum = 0.0f;
    for (int64_t j = begin; j < end; j++) {
        if (pf) prefetch_row(&L, j + L.ahead, is32, pf);
        int64_t r = row_at(&L, j, is32);
        if (r == L.pad) continue;
        count++;
        const uint8_t *row = L.table + r * L.stride;
        __m256 s, b;
        scale_bias(row + L.data, slot, &s, &b);
        float w = weighted ? L.psw[j] : 1.0f;
        __m256 wv = _mm256_set1_ps(w);
        weight_sum += w;
        for (int v = 0; v < nv; v++) {
            int at = q4x64 ? v % 4 * 2 + v / 4 : v; /* q4x64: the low nibbles' 4 vectors first */
            __m256 q = q4x64 ? code_q4x64(row + d0 / 2, v / 4, v % 4) : codes(row, d0 + 8 * v, slot);
            __m256 x = _mm256_fmadd_ps(q, s, b);
            acc[at] = weighted ? _mm256_fmadd_ps(wv, x, acc[at]) : _mm256_add_ps(acc[at], x);
        }
    }
    if (L.mean) {
        float denom = weighted ? weight_sum : (float)count;
        __m256 dv = _mm256_set1_ps(denom);
        for (int v = 0; v < nv; v++) acc[v] = denom == 0.0f ? _mm256_setzero_ps() : _mm256_div_ps(acc[v], dv);
    }
    if (q4x64) {
        store_q4x64(o + d0, acc);
    } else {
        for (int v = 0; v < nv - 1; v++) _mm256_storeu_ps(o + d0 + 8 * v, acc[v]);
        _mm256_maskstore_ps(o + d0 + 8 * (nv - 1), tail, acc[nv - 1]);
    }
    *count_out = count;
}

#define BLOCK(k, PF, Q4) sum_block(L, begin, end, (PF) == 1 ? 0 : d0, k, tail, o, &count, slot, is32, weighted, PF, Q4)
#define BLOCKS(k, Q4)                                                                                         \
    if (pf == 1) BLOCK(k, 1, Q4);                                                                             \
    else if (pf == 3) BLOCK(k, 3, Q4);                                                                        \
    else BLOCK(k, 0, Q4);
#define CASE(k)                                                                                               \
    case k:                                                                                                   \
        BLOCKS(k, 0)                                                                                          \
        break;

INL void range_impl(const eki_qbag_call *c, int64_t b0, int64_t b1, float *out, int64_t *bag_size, const int slot,
                    const int is32, const int weighted) {
    int64_t dim = c->dim;
    qloop L = make_qloop(c, slot, b1);
    int wide = c->rb > 129, bits = eki_quant_bits(slot);
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float *o = out + b * dim;
        for (int64_t d0 = 0; d0 < dim; d0 += 64) {
            int64_t left = dim - d0;
            int nv = left >= 64 ? 8 : (int)((left + 7) / 8);
            int last = (int)(left - 8 * (nv - 1)); /* 1..8 */
            __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(last), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            /* a row of <= 129 bytes: prefetched whole by the first block (d0 = 0, a constant for the
             * compiler: the column offsets become displacements, which leaves registers for the
             * prefetch), in L1 for the later ones; a longer row: each block its own code bytes */
            int pf = wide ? 3 : d0 > 0 ? 0 : 1;
            L.block_first = d0 * bits / 8, L.block_last = (d0 + 8 * nv) * bits / 8 - 1;
            if (L.block_last >= L.data) L.block_last = L.data - 1;
            switch (nv) {
                CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7)
            default:
                if (slot == 1 && left >= 64) {
                    BLOCKS(8, 1)
                } else {
                    BLOCKS(8, 0)
                }
            }
        }
        if (bag_size) bag_size[b] = count;
    }
}

#define VARIANT(fmt, slot, suffix, is32, weighted)                                                            \
    EKI_TARGET_AVX2_F16C void eki_##fmt##_bag_range_avx2_##suffix(const eki_qbag_call *c, int64_t b0, int64_t b1, \
                                                                   float *out, int64_t *bag_size) {            \
        range_impl(c, b0, b1, out, bag_size, slot, is32, weighted);                                           \
    }
#define VARIANTS(fmt, slot)                                                                                   \
    VARIANT(fmt, slot, i64, 0, 0) VARIANT(fmt, slot, i64w, 0, 1) VARIANT(fmt, slot, i32, 1, 0)                \
    VARIANT(fmt, slot, i32w, 1, 1)
VARIANTS(q8, 0)
VARIANTS(q4, 1)
VARIANTS(q2, 2)

#endif
