/* x86/avx2/softmax.c — the AVX2 softmax row primitives (semantics: softmax.c, isa.h) and the
 * vectorised exp they use (softmax.h: the method and its constants). */
#include <math.h>

#include "internal.h"
#include "softmax.h"

#if EKI_X86
#include <immintrin.h>

/* No a * b + c fused into an FMA: clang contracts by default under an "fma" target, which would
 * make the leftover elements differ from the scalar path (gcc -std=c11 does not contract). */
#pragma STDC FP_CONTRACT OFF

#define EKI_INLINE2 EKI_TARGET_AVX2 static inline __attribute__((always_inline))

/* softmax.h's method, arranged for a short dependency chain (the loop is latency-bound on AVX2):
 * n rounded by adding and subtracting 1.5 * 2^23 (x log2 e lies far inside +-2^22), the polynomial
 * in Estrin's scheme (three independent pairs, then two steps in r^2). */
EKI_INLINE2 __m256 exp_poly_avx2(__m256 r) {
    __m256 r2 = _mm256_mul_ps(r, r);
    __m256 p01 = _mm256_fmadd_ps(_mm256_set1_ps(EKI_EXP_P0), r, _mm256_set1_ps(EKI_EXP_P1));
    __m256 p23 = _mm256_fmadd_ps(_mm256_set1_ps(EKI_EXP_P2), r, _mm256_set1_ps(EKI_EXP_P3));
    __m256 p45 = _mm256_fmadd_ps(_mm256_set1_ps(EKI_EXP_P4), r, _mm256_set1_ps(EKI_EXP_P5));
    __m256 p = _mm256_fmadd_ps(_mm256_fmadd_ps(p01, r2, p23), r2, p45);
    return _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
}

/* Any x: clamped, and 2^n as two exponent-field multiplies (n in [-150, 128]). */
EKI_TARGET_AVX2 __attribute__((noinline)) static __m256 exp_any_avx2(__m256 x) {
    const __m256 shifter = _mm256_set1_ps(0x1.8p23f);
    x = _mm256_max_ps(_mm256_set1_ps(EKI_EXP_LO), _mm256_min_ps(_mm256_set1_ps(EKI_EXP_HI), x));
    __m256 n = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(EKI_LOG2E), shifter), shifter);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EKI_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EKI_LN2_LO), r);
    __m256 p = exp_poly_avx2(r);
    /* n1 = n >> 1 and n2 = n - n1 both lie in [-75, 64], normal exponents */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* For x in [-86.5, 86.5] (or NaN): n in [-125, 125] and the result normal, so 2^n is one exponent
 * field, read from the rounding sum's low bits (1.5 * 2^23 + n + 127 holds n + 127 in its low 9
 * bits; shifted up by 23 they are the exponent field). Bit for bit exp_any_avx2's result there: both
 * multiply the same p by 2^n exactly. */
EKI_INLINE2 __m256 exp_normal_avx2(__m256 x) {
    const __m256 shifter = _mm256_set1_ps(0x1.8p23f);
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(EKI_LOG2E), shifter);
    __m256 n = _mm256_sub_ps(t, shifter);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EKI_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EKI_LN2_LO), r);
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(_mm256_add_ps(t, _mm256_set1_ps(127.0f))), 23));
    return _mm256_mul_ps(exp_poly_avx2(r), scale);
}

#define EKI_EXP_NORMAL_LIMIT 86.5f

EKI_INLINE2 __m256 exp_avx2(__m256 x) {
    __m256 wide = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(EKI_EXP_NORMAL_LIMIT), _CMP_GT_OQ);
    return __builtin_expect(_mm256_testz_ps(wide, wide), 1) ? exp_normal_avx2(x) : exp_any_avx2(x);
}

EKI_INLINE2 __m256i cols_mask_avx2(int64_t left) { /* lanes < left (left >= 1) */
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left > 8 ? 8 : (int)left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Row statistics and the exp pass. exp_to: e[c] = exp(x[c] - m) (e may be NULL: sum only).
 * The max ignores NaN, as row_max_scalar does (a NaN then poisons the sum). */
EKI_TARGET_AVX2 static float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

EKI_TARGET_AVX2 float eki_row_max_avx2(const float *x, int64_t cols) {
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    int64_t c = 0;
    for (; c + 32 <= cols; c += 32) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(x + c), m0);
        m1 = _mm256_max_ps(_mm256_loadu_ps(x + c + 8), m1);
        m2 = _mm256_max_ps(_mm256_loadu_ps(x + c + 16), m2);
        m3 = _mm256_max_ps(_mm256_loadu_ps(x + c + 24), m3);
    }
    m0 = _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3));
    float lanes[8], m;
    _mm256_storeu_ps(lanes, m0);
    m = lanes[0];
    for (int k = 1; k < 8; k++) m = lanes[k] > m ? lanes[k] : m;
    for (; c < cols; c++) m = x[c] > m ? x[c] : m;
    return m;
}

EKI_TARGET_AVX2 float eki_row_exp_sum_avx2(const float *x, int64_t cols, float m, float *e, const float *next) {
    __m256 mv = _mm256_set1_ps(m), s0 = _mm256_setzero_ps(), s1 = s0;
    int64_t c = 0;
    for (; c + 16 <= cols; c += 16) {
        if (next) _mm_prefetch((const char *)(next + c), _MM_HINT_T0);
        /* x - m <= 0 (m is the row's max): one test of the smaller of two vectors against the
         * normal range sends both to exp_any_avx2 when a lane is below it or NaN */
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + c), mv), d1 = _mm256_sub_ps(_mm256_loadu_ps(x + c + 8), mv), e0, e1;
        __m256 low = _mm256_cmp_ps(_mm256_min_ps(d0, d1), _mm256_set1_ps(-EKI_EXP_NORMAL_LIMIT), _CMP_NGE_UQ);
        if (__builtin_expect(_mm256_testz_ps(low, low), 1))
            e0 = exp_normal_avx2(d0), e1 = exp_normal_avx2(d1);
        else
            e0 = exp_any_avx2(d0), e1 = exp_any_avx2(d1);
        if (e) _mm256_storeu_ps(e + c, e0), _mm256_storeu_ps(e + c + 8, e1);
        s0 = _mm256_add_ps(s0, e0), s1 = _mm256_add_ps(s1, e1);
    }
    for (; c < cols; c += 8) {
        __m256i k = cols_mask_avx2(cols - c);
        __m256 e0 = _mm256_and_ps(_mm256_castsi256_ps(k), exp_avx2(_mm256_sub_ps(_mm256_maskload_ps(x + c, k), mv)));
        if (e) _mm256_maskstore_ps(e + c, k, e0);
        s0 = _mm256_add_ps(s0, e0);
    }
    return hsum_avx2(_mm256_add_ps(s0, s1));
}

EKI_TARGET_AVX2 void eki_row_affine_avx2(float *y, int64_t cols, float a, float b, float s) {
    __m256 av = _mm256_set1_ps(a), bv = _mm256_set1_ps(b), sv = _mm256_set1_ps(s);
    int64_t c = 0;
    for (; c + 8 <= cols; c += 8)
        _mm256_storeu_ps(y + c, _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(y + c), av), bv), sv));
    for (; c < cols; c++) y[c] = (y[c] * a - b) * s;
}

EKI_TARGET_AVX2 void eki_vexp_avx2(int64_t n, const float *x, float *y) {
    for (int64_t i = 0; i < n; i += 8) {
        __m256i k = cols_mask_avx2(n - i);
        _mm256_maskstore_ps(y + i, k, exp_avx2(_mm256_maskload_ps(x + i, k)));
    }
}
#endif
