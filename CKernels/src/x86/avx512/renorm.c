/* x86/avx512/renorm.c — the 2-norm of a row for the max_norm renormalisation (renorm.c), AVX-512:
 * in double, with lane-wise partial sums (another summation order than the scalar path's). */
#include <math.h>

#include "internal.h"

#if EKI_X86
#include <immintrin.h>

/* No a * b + c fused into an FMA: clang contracts by default under an "fma" target, which would
 * make the leftover elements differ from the scalar path (gcc -std=c11 does not contract). */
#pragma STDC FP_CONTRACT OFF

EKI_TARGET_AVX512 double eki_norm2_avx512(const float *row, int64_t dim) {
    __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd();
    for (int64_t d = 0; d < dim; d += 16) {
        __mmask16 k = dim - d >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (dim - d)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(k, row + d);
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
        __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
        a0 = _mm512_fmadd_pd(lo, lo, a0);
        a1 = _mm512_fmadd_pd(hi, hi, a1);
    }
    return sqrt(_mm512_reduce_add_pd(_mm512_add_pd(a0, a1)));
}
#endif
