/* x86/avx2/rowops.c — the AVX2 row primitives (semantics: rowops.c, isa.h). 8 lanes, a scalar tail;
 * multiply then add, lane by lane (no FMA): bit-identical to the scalar loops. */
#include <string.h>

#include "internal.h"

#if EKI_X86
#include <immintrin.h>

/* No a * b + c fused into an FMA: clang contracts by default under an "fma" target, which would
 * make the leftover elements differ from the scalar path (gcc -std=c11 does not contract). */
#pragma STDC FP_CONTRACT OFF

EKI_TARGET_AVX2 void eki_axpy_avx2(int64_t dim, float a, const float *src, float *dst) {
    __m256 av = _mm256_set1_ps(a);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8)
        _mm256_storeu_ps(dst + d, _mm256_add_ps(_mm256_loadu_ps(dst + d), _mm256_mul_ps(av, _mm256_loadu_ps(src + d))));
    for (; d < dim; d++) dst[d] += a * src[d];
}
EKI_TARGET_AVX2 void eki_axpy_scaled_avx2(int64_t dim, float a, float c, const float *src, float *dst) {
    __m256 av = _mm256_set1_ps(a), cv = _mm256_set1_ps(c);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        __m256 v = _mm256_mul_ps(cv, _mm256_loadu_ps(src + d));
        _mm256_storeu_ps(dst + d, _mm256_add_ps(_mm256_loadu_ps(dst + d), _mm256_mul_ps(av, v)));
    }
    for (; d < dim; d++) {
        float v = c * src[d];
        dst[d] += a * v;
    }
}
EKI_TARGET_AVX2 void eki_scale_avx2(int64_t dim, float a, const float *src, float *dst) {
    __m256 av = _mm256_set1_ps(a);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) _mm256_storeu_ps(dst + d, _mm256_mul_ps(av, _mm256_loadu_ps(src + d)));
    for (; d < dim; d++) dst[d] = a * src[d];
}
EKI_TARGET_AVX2 void eki_scale_stream_avx2(int64_t dim, float a, const float *src, float *dst) {
    if (((uintptr_t)dst & 31) || (dim & 7)) {
        eki_scale_avx2(dim, a, src, dst);
        return;
    }
    __m256 av = _mm256_set1_ps(a);
    for (int64_t d = 0; d < dim; d += 8) _mm256_stream_ps(dst + d, _mm256_mul_ps(av, _mm256_loadu_ps(src + d)));
}
EKI_TARGET_AVX2 void eki_copy_stream_avx2(int64_t dim, const float *src, float *dst) {
    if (((uintptr_t)dst & 31) || (dim & 7)) {
        memcpy(dst, src, sizeof(float) * (size_t)dim);
        return;
    }
    for (int64_t d = 0; d < dim; d += 8)
        _mm256_stream_si256((__m256i *)(dst + d), _mm256_loadu_si256((const __m256i *)(src + d)));
}
#endif
