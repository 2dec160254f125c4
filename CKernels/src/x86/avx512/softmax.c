/* x86/avx512/softmax.c — the AVX-512 softmax row primitives (semantics: softmax.c, isa.h) and the
 * vectorised exp they use (softmax.h: the method and its constants). */
#include <math.h>

#include "internal.h"
#include "softmax.h"

#if EKI_X86
#include <immintrin.h>

/* No a * b + c fused into an FMA: clang contracts by default under an "fma" target, which would
 * make the leftover elements differ from the scalar path (gcc -std=c11 does not contract). */
#pragma STDC FP_CONTRACT OFF

#define EKI_INLINE512 EKI_TARGET_AVX512 static inline __attribute__((always_inline))

EKI_INLINE512 __m512 exp_avx512(__m512 x) {
    /* min/max return their second operand when either is NaN: x second keeps a NaN */
    x = _mm512_max_ps(_mm512_set1_ps(EKI_EXP_LO), _mm512_min_ps(_mm512_set1_ps(EKI_EXP_HI), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(EKI_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EKI_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EKI_LN2_LO), r);
    __m512 p = _mm512_set1_ps(EKI_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EKI_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EKI_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EKI_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EKI_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EKI_EXP_P5));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* Row statistics and the exp pass. exp_to: e[c] = exp(x[c] - m) (e may be NULL: sum only).
 * The max ignores NaN, as row_max_scalar does (a NaN then poisons the sum). */
EKI_TARGET_AVX512 float eki_row_max_avx512(const float *x, int64_t cols) {
    __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    int64_t c = 0;
    for (; c + 64 <= cols; c += 64) {
        m0 = _mm512_max_ps(_mm512_loadu_ps(x + c), m0);
        m1 = _mm512_max_ps(_mm512_loadu_ps(x + c + 16), m1);
        m2 = _mm512_max_ps(_mm512_loadu_ps(x + c + 32), m2);
        m3 = _mm512_max_ps(_mm512_loadu_ps(x + c + 48), m3);
    }
    for (; c < cols; c += 16) {
        __mmask16 k = cols - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - c)) - 1);
        m0 = _mm512_mask_max_ps(m0, k, _mm512_maskz_loadu_ps(k, x + c), m0);
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

EKI_TARGET_AVX512 float eki_row_exp_sum_avx512(const float *x, int64_t cols, float m, float *e, const float *next) {
    __m512 mv = _mm512_set1_ps(m), s0 = _mm512_setzero_ps(), s1 = s0;
    int64_t c = 0;
    for (; c + 32 <= cols; c += 32) {
        if (next) _mm_prefetch((const char *)(next + c), _MM_HINT_T0), _mm_prefetch((const char *)(next + c + 16), _MM_HINT_T0);
        __m512 e0 = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + c), mv));
        __m512 e1 = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + c + 16), mv));
        if (e) _mm512_storeu_ps(e + c, e0), _mm512_storeu_ps(e + c + 16, e1);
        s0 = _mm512_add_ps(s0, e0), s1 = _mm512_add_ps(s1, e1);
    }
    for (; c < cols; c += 16) {
        __mmask16 k = cols - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - c)) - 1);
        __m512 e0 = _mm512_maskz_mov_ps(k, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + c), mv)));
        if (e) _mm512_mask_storeu_ps(e + c, k, e0);
        s0 = _mm512_add_ps(s0, e0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/* y[c] = (y[c] * a - b) * s */
EKI_TARGET_AVX512 void eki_row_affine_avx512(float *y, int64_t cols, float a, float b, float s) {
    __m512 av = _mm512_set1_ps(a), bv = _mm512_set1_ps(b), sv = _mm512_set1_ps(s);
    for (int64_t c = 0; c < cols; c += 16) {
        __mmask16 k = cols - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - c)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(k, y + c);
        _mm512_mask_storeu_ps(y + c, k, _mm512_mul_ps(_mm512_sub_ps(_mm512_mul_ps(v, av), bv), sv));
    }
}

EKI_TARGET_AVX512 void eki_vexp_avx512(int64_t n, const float *x, float *y) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, k, exp_avx512(_mm512_maskz_loadu_ps(k, x + i)));
    }
}
#endif
