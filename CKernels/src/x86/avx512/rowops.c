/* x86/avx512/rowops.c — the AVX-512 row primitives (semantics: rowops.c, isa.h). 16 lanes, the
 * tail masked; multiply then add, lane by lane (no FMA): bit-identical to the scalar loops. */
#include <string.h>

#include "internal.h"

#if EKI_X86
#include <immintrin.h>

/* No a * b + c fused into an FMA: clang contracts by default under an "fma" target, which would
 * make the leftover elements differ from the scalar path (gcc -std=c11 does not contract). */
#pragma STDC FP_CONTRACT OFF


EKI_TARGET_AVX512 void eki_axpy_avx512(int64_t dim, float a, const float *src, float *dst) {
    __m512 av = _mm512_set1_ps(a);
    int64_t d = 0;
    for (; d + 16 <= dim; d += 16)
        _mm512_storeu_ps(dst + d, _mm512_add_ps(_mm512_loadu_ps(dst + d), _mm512_mul_ps(av, _mm512_loadu_ps(src + d))));
    if (d < dim) {
        __mmask16 k = (__mmask16)((1u << (dim - d)) - 1);
        _mm512_mask_storeu_ps(dst + d, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, dst + d),
                                                        _mm512_mul_ps(av, _mm512_maskz_loadu_ps(k, src + d))));
    }
}
EKI_TARGET_AVX512 void eki_axpy_scaled_avx512(int64_t dim, float a, float c, const float *src, float *dst) {
    __m512 av = _mm512_set1_ps(a), cv = _mm512_set1_ps(c);
    int64_t d = 0;
    for (; d + 16 <= dim; d += 16) {
        __m512 v = _mm512_mul_ps(cv, _mm512_loadu_ps(src + d));
        _mm512_storeu_ps(dst + d, _mm512_add_ps(_mm512_loadu_ps(dst + d), _mm512_mul_ps(av, v)));
    }
    if (d < dim) {
        __mmask16 k = (__mmask16)((1u << (dim - d)) - 1);
        __m512 v = _mm512_mul_ps(cv, _mm512_maskz_loadu_ps(k, src + d));
        _mm512_mask_storeu_ps(dst + d, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, dst + d), _mm512_mul_ps(av, v)));
    }
}
EKI_TARGET_AVX512 void eki_scale_avx512(int64_t dim, float a, const float *src, float *dst) {
    __m512 av = _mm512_set1_ps(a);
    int64_t d = 0;
    for (; d + 16 <= dim; d += 16) _mm512_storeu_ps(dst + d, _mm512_mul_ps(av, _mm512_loadu_ps(src + d)));
    if (d < dim) {
        __mmask16 k = (__mmask16)((1u << (dim - d)) - 1);
        _mm512_mask_storeu_ps(dst + d, k, _mm512_mul_ps(av, _mm512_maskz_loadu_ps(k, src + d)));
    }
}
EKI_TARGET_AVX512 void eki_scale_stream_avx512(int64_t dim, float a, const float *src, float *dst) {
    if (((uintptr_t)dst & 63) || (dim & 15)) {
        eki_scale_avx512(dim, a, src, dst);
        return;
    }
    __m512 av = _mm512_set1_ps(a);
    for (int64_t d = 0; d < dim; d += 16) _mm512_stream_ps(dst + d, _mm512_mul_ps(av, _mm512_loadu_ps(src + d)));
}

EKI_TARGET_AVX512 void eki_copy_stream_avx512(int64_t dim, const float *src, float *dst) {
    if (((uintptr_t)dst & 63) || (dim & 15)) {
        memcpy(dst, src, sizeof(float) * (size_t)dim);
        return;
    }
    for (int64_t d = 0; d < dim; d += 16)
        _mm512_stream_si512((void *)(dst + d), _mm512_loadu_si512((const void *)(src + d)));
}
#endif
