/* x86/avx512/quant.c — the quantized row kernels with AVX-512 (semantics: quant.c, quant.h): 16
 * values at a time, value = fma(q, scale, bias) (one rounding, as fmaf), accumulated with a separate
 * multiply and add as the scalar loop; the tail through the scalar element. Bit-identical to the
 * scalar kernels. Q4: 16 elements are the 8 bytes at byte 8k (two 32-bit words, one per half of the
 * vector); Q2: the 4 bytes at byte 4k; element d at bit bits * d, split by per-lane shifts. */
#pragma STDC FP_CONTRACT OFF
#include "quant.h"

#if EKI_X86
#include <immintrin.h>

static inline __attribute__((always_inline)) EKI_TARGET_AVX512 __m512 block(const uint8_t *row, int64_t d,
                                                                            const int slot) {
    if (slot == 0) return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(row + d))));
    __m512i words, shifts;
    if (slot == 1) {
        uint32_t w[2];
        memcpy(w, row + d / 2, 8);
        words = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi32((int)w[0])), _mm256_set1_epi32((int)w[1]), 1);
        shifts = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    } else {
        uint32_t w;
        memcpy(&w, row + d / 4, 4);
        words = _mm512_set1_epi32((int)w);
        shifts = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    }
    int mask = (1 << eki_quant_bits(slot)) - 1;
    return _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srlv_epi32(words, shifts), _mm512_set1_epi32(mask)));
}

static inline __attribute__((always_inline)) EKI_TARGET_AVX512 void dequant(int64_t dim, const uint8_t *row,
                                                                            float *dst, const int slot) {
    float scale, bias;
    eki_quant_scale_bias(slot, dim, row, &scale, &bias);
    __m512 s = _mm512_set1_ps(scale), b = _mm512_set1_ps(bias);
    int64_t d = 0;
    for (; d + 16 <= dim; d += 16) _mm512_storeu_ps(dst + d, _mm512_fmadd_ps(block(row, d, slot), s, b));
    for (; d < dim; d++) dst[d] = eki_quant_value(eki_quant_q(slot, row, d), scale, bias);
}

static inline __attribute__((always_inline)) EKI_TARGET_AVX512 void axpy(int64_t dim, float w, const uint8_t *row,
                                                                         float *acc, const int slot) {
    float scale, bias;
    eki_quant_scale_bias(slot, dim, row, &scale, &bias);
    __m512 s = _mm512_set1_ps(scale), b = _mm512_set1_ps(bias), wv = _mm512_set1_ps(w);
    int64_t d = 0;
    for (; d + 16 <= dim; d += 16) {
        __m512 v = _mm512_fmadd_ps(block(row, d, slot), s, b);
        _mm512_storeu_ps(acc + d, _mm512_fmadd_ps(wv, v, _mm512_loadu_ps(acc + d)));
    }
    for (; d < dim; d++) acc[d] = fmaf(w, eki_quant_value(eki_quant_q(slot, row, d), scale, bias), acc[d]);
}

EKI_TARGET_AVX512 void eki_q8_dequant_avx512(int64_t dim, const uint8_t *row, float *dst) { dequant(dim, row, dst, 0); }
EKI_TARGET_AVX512 void eki_q4_dequant_avx512(int64_t dim, const uint8_t *row, float *dst) { dequant(dim, row, dst, 1); }
EKI_TARGET_AVX512 void eki_q2_dequant_avx512(int64_t dim, const uint8_t *row, float *dst) { dequant(dim, row, dst, 2); }
EKI_TARGET_AVX512 void eki_q8_axpy_avx512(int64_t dim, float w, const uint8_t *row, float *acc) { axpy(dim, w, row, acc, 0); }
EKI_TARGET_AVX512 void eki_q4_axpy_avx512(int64_t dim, float w, const uint8_t *row, float *acc) { axpy(dim, w, row, acc, 1); }
EKI_TARGET_AVX512 void eki_q2_axpy_avx512(int64_t dim, float w, const uint8_t *row, float *acc) { axpy(dim, w, row, acc, 2); }

#endif
