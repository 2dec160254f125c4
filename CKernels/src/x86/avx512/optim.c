/* x86/avx512/optim.c — the avx512 optimizer row updates (semantics: optim.c's scalar rows, isa.h).
 * 16 lanes, the same operations in the same order per element as the scalar row (square root and
 * division are correctly rounded in both; no FMA), the tail by the scalar row: bit-identical. */
#include "internal.h"

#if EKI_X86
#include <immintrin.h>

/* No a * b + c fused into an FMA: clang contracts by default under an "fma" target. */
#pragma STDC FP_CONTRACT OFF

EKI_TARGET_AVX512 void eki_sgd_row_avx512(float *w, float *buf, const float *g, int64_t dim, float lr, float momentum,
                              float dampening, float weight_decay, int32_t nesterov) {
    __m512 lrv = _mm512_set1_ps(lr), mv = _mm512_set1_ps(momentum), dv = _mm512_set1_ps(1.0f - dampening),
           wdv = _mm512_set1_ps(weight_decay);
    int64_t d = 0;
    for (; d + 16 <= dim; d += 16) {
        __m512 wv = _mm512_loadu_ps(w + d);
        __m512 step = _mm512_add_ps(_mm512_loadu_ps(g + d), _mm512_mul_ps(wdv, wv));
        if (buf) {
            __m512 b = _mm512_add_ps(_mm512_mul_ps(mv, _mm512_loadu_ps(buf + d)), _mm512_mul_ps(dv, step));
            _mm512_storeu_ps(buf + d, b);
            step = nesterov ? _mm512_add_ps(step, _mm512_mul_ps(mv, b)) : b;
        }
        _mm512_storeu_ps(w + d, _mm512_sub_ps(wv, _mm512_mul_ps(lrv, step)));
    }
    if (d < dim)
        eki_sgd_row_scalar(w + d, buf ? buf + d : NULL, g + d, dim - d, lr, momentum, dampening, weight_decay, nesterov);
}

EKI_TARGET_AVX512 void eki_adagrad_row_avx512(float *restrict w, float *restrict acc, const float *restrict g, int64_t dim,
                                  float lr, float eps, float weight_decay) {
    __m512 lrv = _mm512_set1_ps(lr), ev = _mm512_set1_ps(eps), wdv = _mm512_set1_ps(weight_decay);
    int64_t d = 0;
    for (; d + 16 <= dim; d += 16) {
        __m512 wv = _mm512_loadu_ps(w + d);
        __m512 step = _mm512_add_ps(_mm512_loadu_ps(g + d), _mm512_mul_ps(wdv, wv));
        __m512 a = _mm512_add_ps(_mm512_loadu_ps(acc + d), _mm512_mul_ps(step, step));
        _mm512_storeu_ps(acc + d, a);
        __m512 delta = _mm512_div_ps(_mm512_mul_ps(lrv, step), _mm512_add_ps(_mm512_sqrt_ps(a), ev));
        _mm512_storeu_ps(w + d, _mm512_sub_ps(wv, delta));
    }
    if (d < dim) eki_adagrad_row_scalar(w + d, acc + d, g + d, dim - d, lr, eps, weight_decay);
}

EKI_TARGET_AVX512 void eki_rowwise_apply_avx512(float *restrict w, const float *restrict g, int64_t dim, float m,
                                    float weight_decay) {
    __m512 mv = _mm512_set1_ps(m), wdv = _mm512_set1_ps(weight_decay);
    int64_t d = 0;
    for (; d + 16 <= dim; d += 16) {
        __m512 wv = _mm512_loadu_ps(w + d);
        __m512 step = _mm512_add_ps(_mm512_loadu_ps(g + d), _mm512_mul_ps(wdv, wv));
        _mm512_storeu_ps(w + d, _mm512_sub_ps(wv, _mm512_mul_ps(mv, step)));
    }
    if (d < dim) eki_rowwise_apply_scalar(w + d, g + d, dim - d, m, weight_decay);
}

EKI_TARGET_AVX512 void eki_adam_row_avx512(float *w, float *m, float *v, const float *g, int64_t dim, float beta1, float beta2,
                               float eps, float weight_decay, float step_size, float bias2_sqrt, float decay) {
    __m512 b1 = _mm512_set1_ps(beta1), b2 = _mm512_set1_ps(beta2), c1 = _mm512_set1_ps(1.0f - beta1),
           c2 = _mm512_set1_ps(1.0f - beta2), ev = _mm512_set1_ps(eps), sv = _mm512_set1_ps(step_size),
           bv = _mm512_set1_ps(bias2_sqrt), decv = _mm512_set1_ps(decay);
    int64_t d = 0;
    for (; d + 16 <= dim; d += 16) {
        __m512 wv = _mm512_loadu_ps(w + d), gv = _mm512_loadu_ps(g + d);
        if (weight_decay != 0.0f) wv = _mm512_mul_ps(wv, decv);
        __m512 mm = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m + d)), _mm512_mul_ps(c1, gv));
        __m512 vv = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(v + d)), _mm512_mul_ps(_mm512_mul_ps(c2, gv), gv));
        _mm512_storeu_ps(m + d, mm);
        _mm512_storeu_ps(v + d, vv);
        __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vv), bv), ev);
        _mm512_storeu_ps(w + d, _mm512_sub_ps(wv, _mm512_div_ps(_mm512_mul_ps(sv, mm), denom)));
    }
    if (d < dim)
        eki_adam_row_scalar(w + d, m + d, v + d, g + d, dim - d, beta1, beta2, eps, weight_decay, step_size, bias2_sqrt,
                            decay);
}

#endif
