/* x86/avx2/renorm.c — the 2-norm of a row for the max_norm renormalisation (renorm.c), AVX2: in
 * double, with lane-wise partial sums (another summation order than the scalar path's). */
#include <math.h>

#include "internal.h"

#if EKI_X86
#include <immintrin.h>

/* No a * b + c fused into an FMA: clang contracts by default under an "fma" target, which would
 * make the leftover elements differ from the scalar path (gcc -std=c11 does not contract). */
#pragma STDC FP_CONTRACT OFF

EKI_TARGET_AVX2 double eki_norm2_avx2(const float *row, int64_t dim) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        __m256 x = _mm256_loadu_ps(row + d);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(x)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
        a0 = _mm256_fmadd_pd(lo, lo, a0);
        a1 = _mm256_fmadd_pd(hi, hi, a1);
    }
    a0 = _mm256_add_pd(a0, a1);
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(a0), _mm256_extractf128_pd(a0, 1));
    double acc = _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
    for (; d < dim; d++) acc += (double)row[d] * row[d];
    return sqrt(acc);
}
#endif
