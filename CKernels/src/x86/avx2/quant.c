/* x86/avx2/quant.c — the quantized row kernels with AVX2 + FMA (semantics: quant.c, quant.h): 8
 * values at a time, value = fma(q, scale, bias) (vfmadd: one rounding, as fmaf), accumulated with a
 * separate multiply and add as the scalar loop; the tail through the scalar element. Bit-identical
 * to the scalar kernels. Q4 / Q2: 8 elements are the 32 or 16 bits at byte 4k / 2k (element d at bit
 * bits * d of the little-endian word), split by per-lane shifts. */
#pragma STDC FP_CONTRACT OFF
#include "quant.h"

#if EKI_X86
#include <immintrin.h>

/* The 8 integers of block k (elements 8k ..< 8k + 8) as floats. */
static inline __attribute__((always_inline)) EKI_TARGET_AVX2 __m256 q8_block(const uint8_t *row, int64_t d) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(row + d))));
}
static inline __attribute__((always_inline)) EKI_TARGET_AVX2 __m256 nbit_block(const uint8_t *row, int64_t d,
                                                                               const int bits) {
    uint32_t word = 0;
    memcpy(&word, row + d * bits / 8, (size_t)bits); /* 8 elements: `bits` bytes */
    const __m256i shifts = bits == 4 ? _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)
                                     : _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    __m256i q = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)word), shifts),
                                 _mm256_set1_epi32((1 << bits) - 1));
    return _mm256_cvtepi32_ps(q);
}

static inline __attribute__((always_inline)) EKI_TARGET_AVX2 void dequant(int64_t dim, const uint8_t *row, float *dst,
                                                                          const int slot) {
    float scale, bias;
    eki_quant_scale_bias(slot, dim, row, &scale, &bias);
    __m256 s = _mm256_set1_ps(scale), b = _mm256_set1_ps(bias);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        __m256 q = slot == 0 ? q8_block(row, d) : nbit_block(row, d, eki_quant_bits(slot));
        _mm256_storeu_ps(dst + d, _mm256_fmadd_ps(q, s, b));
    }
    for (; d < dim; d++) dst[d] = eki_quant_value(eki_quant_q(slot, row, d), scale, bias);
}

static inline __attribute__((always_inline)) EKI_TARGET_AVX2 void axpy(int64_t dim, float w, const uint8_t *row,
                                                                       float *acc, const int slot) {
    float scale, bias;
    eki_quant_scale_bias(slot, dim, row, &scale, &bias);
    __m256 s = _mm256_set1_ps(scale), b = _mm256_set1_ps(bias), wv = _mm256_set1_ps(w);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        __m256 q = slot == 0 ? q8_block(row, d) : nbit_block(row, d, eki_quant_bits(slot));
        __m256 v = _mm256_fmadd_ps(q, s, b);
        _mm256_storeu_ps(acc + d, _mm256_fmadd_ps(wv, v, _mm256_loadu_ps(acc + d)));
    }
    for (; d < dim; d++) acc[d] = fmaf(w, eki_quant_value(eki_quant_q(slot, row, d), scale, bias), acc[d]);
}

EKI_TARGET_AVX2 void eki_q8_dequant_avx2(int64_t dim, const uint8_t *row, float *dst) { dequant(dim, row, dst, 0); }
EKI_TARGET_AVX2 void eki_q4_dequant_avx2(int64_t dim, const uint8_t *row, float *dst) { dequant(dim, row, dst, 1); }
EKI_TARGET_AVX2 void eki_q2_dequant_avx2(int64_t dim, const uint8_t *row, float *dst) { dequant(dim, row, dst, 2); }
EKI_TARGET_AVX2 void eki_q8_axpy_avx2(int64_t dim, float w, const uint8_t *row, float *acc) { axpy(dim, w, row, acc, 0); }
EKI_TARGET_AVX2 void eki_q4_axpy_avx2(int64_t dim, float w, const uint8_t *row, float *acc) { axpy(dim, w, row, acc, 1); }
EKI_TARGET_AVX2 void eki_q2_axpy_avx2(int64_t dim, float w, const uint8_t *row, float *acc) { axpy(dim, w, row, acc, 2); }

#endif
