/* rowops.c — the row primitives of the scatters and backward passes, one variant per ISA:
 *   axpy:  dst[d] += a * src[d]
 *   axpy_scaled: dst[d] += a * (c * src[d])   (both products rounded: what scale into a row, then
 *                                              axpy of that row, gives)
 *   scale: dst[d]  = a * src[d]   (scale_stream: the same with non-temporal stores, for large outputs
 *                                   that are not read again soon; the caller ends with eki_stream_fence)
 *   copy_stream: dst[d] = src[d] bit for bit (NaN payloads kept) with non-temporal stores
 * Every variant multiplies and then adds, lane by lane (no FMA): the results are bit-identical to the
 * scalar loops for every ISA. */
#include <string.h>

#include "internal.h"

static void axpy_scalar(int64_t dim, float a, const float *restrict src, float *restrict dst) {
    for (int64_t d = 0; d < dim; d++) dst[d] += a * src[d];
}
static void axpy_scaled_scalar(int64_t dim, float a, float c, const float *restrict src, float *restrict dst) {
    for (int64_t d = 0; d < dim; d++) {
        float v = c * src[d];
        dst[d] += a * v;
    }
}
static void scale_scalar(int64_t dim, float a, const float *restrict src, float *restrict dst) {
    for (int64_t d = 0; d < dim; d++) dst[d] = a * src[d];
}

#if EKI_X86
#include <immintrin.h>

EKI_TARGET_AVX512 static void axpy_avx512(int64_t dim, float a, const float *src, float *dst) {
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
EKI_TARGET_AVX512 static void axpy_scaled_avx512(int64_t dim, float a, float c, const float *src, float *dst) {
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
EKI_TARGET_AVX512 static void scale_avx512(int64_t dim, float a, const float *src, float *dst) {
    __m512 av = _mm512_set1_ps(a);
    int64_t d = 0;
    for (; d + 16 <= dim; d += 16) _mm512_storeu_ps(dst + d, _mm512_mul_ps(av, _mm512_loadu_ps(src + d)));
    if (d < dim) {
        __mmask16 k = (__mmask16)((1u << (dim - d)) - 1);
        _mm512_mask_storeu_ps(dst + d, k, _mm512_mul_ps(av, _mm512_maskz_loadu_ps(k, src + d)));
    }
}
EKI_TARGET_AVX512 static void scale_stream_avx512(int64_t dim, float a, const float *src, float *dst) {
    if (((uintptr_t)dst & 63) || (dim & 15)) {
        scale_avx512(dim, a, src, dst);
        return;
    }
    __m512 av = _mm512_set1_ps(a);
    for (int64_t d = 0; d < dim; d += 16) _mm512_stream_ps(dst + d, _mm512_mul_ps(av, _mm512_loadu_ps(src + d)));
}

EKI_TARGET_AVX512 static void copy_stream_avx512(int64_t dim, const float *src, float *dst) {
    if (((uintptr_t)dst & 63) || (dim & 15)) {
        memcpy(dst, src, sizeof(float) * (size_t)dim);
        return;
    }
    for (int64_t d = 0; d < dim; d += 16)
        _mm512_stream_si512((void *)(dst + d), _mm512_loadu_si512((const void *)(src + d)));
}

EKI_TARGET_AVX2 static void axpy_avx2(int64_t dim, float a, const float *src, float *dst) {
    __m256 av = _mm256_set1_ps(a);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8)
        _mm256_storeu_ps(dst + d, _mm256_add_ps(_mm256_loadu_ps(dst + d), _mm256_mul_ps(av, _mm256_loadu_ps(src + d))));
    for (; d < dim; d++) dst[d] += a * src[d];
}
EKI_TARGET_AVX2 static void axpy_scaled_avx2(int64_t dim, float a, float c, const float *src, float *dst) {
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
EKI_TARGET_AVX2 static void scale_avx2(int64_t dim, float a, const float *src, float *dst) {
    __m256 av = _mm256_set1_ps(a);
    int64_t d = 0;
    for (; d + 8 <= dim; d += 8) _mm256_storeu_ps(dst + d, _mm256_mul_ps(av, _mm256_loadu_ps(src + d)));
    for (; d < dim; d++) dst[d] = a * src[d];
}
EKI_TARGET_AVX2 static void scale_stream_avx2(int64_t dim, float a, const float *src, float *dst) {
    if (((uintptr_t)dst & 31) || (dim & 7)) {
        scale_avx2(dim, a, src, dst);
        return;
    }
    __m256 av = _mm256_set1_ps(a);
    for (int64_t d = 0; d < dim; d += 8) _mm256_stream_ps(dst + d, _mm256_mul_ps(av, _mm256_loadu_ps(src + d)));
}
EKI_TARGET_AVX2 static void copy_stream_avx2(int64_t dim, const float *src, float *dst) {
    if (((uintptr_t)dst & 31) || (dim & 7)) {
        memcpy(dst, src, sizeof(float) * (size_t)dim);
        return;
    }
    for (int64_t d = 0; d < dim; d += 8)
        _mm256_stream_si256((__m256i *)(dst + d), _mm256_loadu_si256((const __m256i *)(src + d)));
}
#endif

static void copy_plain(int64_t dim, const float *src, float *dst) { memcpy(dst, src, sizeof(float) * (size_t)dim); }

eki_copy_fn eki_row_copy(int stream) {
#if EKI_X86
    int isa = eki_isa();
    if (stream && isa == EK_ISA_AVX512) return copy_stream_avx512;
    if (stream && isa == EK_ISA_AVX2) return copy_stream_avx2;
#else
    (void)stream;
#endif
    return copy_plain;
}

eki_row_fn eki_row_axpy(void) {
#if EKI_X86
    int isa = eki_isa();
    if (isa == EK_ISA_AVX512) return axpy_avx512;
    if (isa == EK_ISA_AVX2) return axpy_avx2;
#endif
    return axpy_scalar;
}

eki_row_scaled_fn eki_row_axpy_scaled(void) {
#if EKI_X86
    int isa = eki_isa();
    if (isa == EK_ISA_AVX512) return axpy_scaled_avx512;
    if (isa == EK_ISA_AVX2) return axpy_scaled_avx2;
#endif
    return axpy_scaled_scalar;
}

eki_row_fn eki_row_scale(int stream) {
#if EKI_X86
    int isa = eki_isa();
    if (isa == EK_ISA_AVX512) return stream ? scale_stream_avx512 : scale_avx512;
    if (isa == EK_ISA_AVX2) return stream ? scale_stream_avx2 : scale_avx2;
#else
    (void)stream;
#endif
    return scale_scalar;
}

void eki_stream_fence(void) {
#if EKI_X86
    _mm_sfence();
#endif
}
