/* softmax.c — row-wise softmax / log-softmax (forward, backward) and fused cross-entropy, whose
 * forward also writes the gradient to the logits in the same pass over each row. Parallel over rows;
 * reductions over rows are summed serially in row order, so results do not depend on threads. */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

static ek_status check_matrix(const char *op, int64_t rows, int64_t cols, const void *a, const char *a_name,
                              const void *b, const char *b_name, const void *c, const char *c_name) {
    ek_status s;
    if ((s = eki_check_size(op, "rows", rows, 0)) || (s = eki_check_size(op, "cols", cols, 1)) ||
        (s = eki_check_bytes(op, a_name, rows, cols, sizeof(float))))
        return s;
    int64_t cells = rows * cols; /* cannot overflow: checked above */
    if ((s = eki_check_ptr(op, a_name, a, cells)) || (b_name && (s = eki_check_ptr(op, b_name, b, cells))) ||
        (s = eki_check_ptr(op, c_name, c, cells)))
        return s;
    return EK_OK;
}

/* ---- vectorised exp ----
 *
 * exp(x) = 2^n e^r with n = round(x log2 e) and r = x - n ln 2 (ln 2 in two parts, Cody & Waite), e^r
 * by Cephes' degree-7 polynomial for expf on |r| <= ln2 / 2 (about 1 ulp); x is first clamped to
 * [-104, 89] (NaN passes through; beyond it exp is 0 or inf anyway). 2^n: AVX-512 scalef (exact, denormals included); AVX2 two
 * exponent-field multiplies 2^(n/2) 2^(n - n/2), so the denormal range is rounded once, too.
 * Tests/c/test_isa.c bounds the error against libm's expf. */
#define EKI_EXP_HI 89.0f
#define EKI_EXP_LO -104.0f
#define EKI_LOG2E 1.44269504088896341f
#define EKI_LN2_HI 0.693359375f
#define EKI_LN2_LO -2.12194440e-4f
#define EKI_EXP_P0 1.9875691500E-4f
#define EKI_EXP_P1 1.3981999507E-3f
#define EKI_EXP_P2 8.3334519073E-3f
#define EKI_EXP_P3 4.1665795894E-2f
#define EKI_EXP_P4 1.6666665459E-1f
#define EKI_EXP_P5 5.0000001201E-1f

#if EKI_X86
#include <immintrin.h>

#define EKI_INLINE512 EKI_TARGET_AVX512 static inline __attribute__((always_inline))
#define EKI_INLINE2 EKI_TARGET_AVX2 static inline __attribute__((always_inline))

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

EKI_INLINE2 __m256 exp_avx2(__m256 x) {
    x = _mm256_max_ps(_mm256_set1_ps(EKI_EXP_LO), _mm256_min_ps(_mm256_set1_ps(EKI_EXP_HI), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(EKI_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EKI_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EKI_LN2_LO), r);
    __m256 p = _mm256_set1_ps(EKI_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EKI_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EKI_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EKI_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EKI_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EKI_EXP_P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* n in [-150, 128]: n1 = n >> 1 and n2 = n - n1 both lie in [-75, 64], normal exponents */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

EKI_INLINE2 __m256i cols_mask_avx2(int64_t left) { /* lanes < left (left >= 1) */
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left > 8 ? 8 : (int)left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Row statistics and the exp pass. exp_to: e[c] = exp(x[c] - m) (e may be NULL: sum only).
 * The max ignores NaN, as row_max_scalar does (a NaN then poisons the sum). */
EKI_TARGET_AVX512 static float row_max_avx512(const float *x, int64_t cols) {
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

EKI_TARGET_AVX512 static float row_exp_sum_avx512(const float *x, int64_t cols, float m, float *e) {
    __m512 mv = _mm512_set1_ps(m), s0 = _mm512_setzero_ps(), s1 = s0;
    int64_t c = 0;
    for (; c + 32 <= cols; c += 32) {
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
EKI_TARGET_AVX512 static void row_affine_avx512(float *y, int64_t cols, float a, float b, float s) {
    __m512 av = _mm512_set1_ps(a), bv = _mm512_set1_ps(b), sv = _mm512_set1_ps(s);
    for (int64_t c = 0; c < cols; c += 16) {
        __mmask16 k = cols - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - c)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(k, y + c);
        _mm512_mask_storeu_ps(y + c, k, _mm512_mul_ps(_mm512_sub_ps(_mm512_mul_ps(v, av), bv), sv));
    }
}

EKI_TARGET_AVX2 static float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

EKI_TARGET_AVX2 static float row_max_avx2(const float *x, int64_t cols) {
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

EKI_TARGET_AVX2 static float row_exp_sum_avx2(const float *x, int64_t cols, float m, float *e) {
    __m256 mv = _mm256_set1_ps(m), s0 = _mm256_setzero_ps(), s1 = s0;
    int64_t c = 0;
    for (; c + 16 <= cols; c += 16) {
        __m256 e0 = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + c), mv));
        __m256 e1 = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + c + 8), mv));
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

EKI_TARGET_AVX2 static void row_affine_avx2(float *y, int64_t cols, float a, float b, float s) {
    __m256 av = _mm256_set1_ps(a), bv = _mm256_set1_ps(b), sv = _mm256_set1_ps(s);
    int64_t c = 0;
    for (; c + 8 <= cols; c += 8)
        _mm256_storeu_ps(y + c, _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(y + c), av), bv), sv));
    for (; c < cols; c++) y[c] = (y[c] * a - b) * s;
}

EKI_TARGET_AVX512 static void vexp_avx512(int64_t n, const float *x, float *y) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, k, exp_avx512(_mm512_maskz_loadu_ps(k, x + i)));
    }
}
EKI_TARGET_AVX2 static void vexp_avx2(int64_t n, const float *x, float *y) {
    for (int64_t i = 0; i < n; i += 8) {
        __m256i k = cols_mask_avx2(n - i);
        _mm256_maskstore_ps(y + i, k, exp_avx2(_mm256_maskload_ps(x + i, k)));
    }
}
#endif /* EKI_X86 */

static float row_max_scalar(const float *x, int64_t cols) {
    float m = -INFINITY;
    for (int64_t c = 0; c < cols; c++) m = x[c] > m ? x[c] : m;
    return m;
}
static float row_exp_sum_scalar(const float *x, int64_t cols, float m, float *e) {
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; c++) {
        float v = expf(x[c] - m);
        if (e) e[c] = v;
        sum += v;
    }
    return sum;
}
static void row_affine_scalar(float *y, int64_t cols, float a, float b, float s) {
    for (int64_t c = 0; c < cols; c++) y[c] = (y[c] * a - b) * s;
}

/* The row primitives of one ISA, picked once per call. */
typedef struct {
    float (*max)(const float *x, int64_t cols);
    float (*exp_sum)(const float *x, int64_t cols, float m, float *e);
    void (*affine)(float *y, int64_t cols, float a, float b, float s);
} row_ops;

static row_ops pick_row_ops(void) {
#if EKI_X86
    int isa = eki_isa();
    if (isa == EK_ISA_AVX512) return (row_ops){row_max_avx512, row_exp_sum_avx512, row_affine_avx512};
    if (isa == EK_ISA_AVX2) return (row_ops){row_max_avx2, row_exp_sum_avx2, row_affine_avx2};
#endif
    return (row_ops){row_max_scalar, row_exp_sum_scalar, row_affine_scalar};
}

/* For the tests: y = exp(x) with the given ISA's exp (scalar: libm expf). */
void eki_vexp(int isa, int64_t n, const float *x, float *y) {
#if EKI_X86
    if (isa == EK_ISA_AVX512) { vexp_avx512(n, x, y); return; }
    if (isa == EK_ISA_AVX2) { vexp_avx2(n, x, y); return; }
#endif
    (void)isa;
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

static ek_status softmax_forward(int64_t rows, int64_t cols, const float *x, float *y, int log_space) {
    const char *op = log_space ? "log_softmax" : "softmax";
    ek_status s = check_matrix(op, rows, cols, x, "x", NULL, NULL, y, "y");
    if (s) return s;
    row_ops ops = pick_row_ops();
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (rows * cols >= EKI_PARALLEL_MIN_WORK)
    for (int64_t i = 0; i < rows; i++) {
        const float *xi = x + i * cols;
        float *yi = y + i * cols;
        float m = ops.max(xi, cols);
        if (log_space) {
            /* (x - m) - log Σ, in this order: folding log Σ into m first loses it when |m| is large */
            float log_sum = logf(ops.exp_sum(xi, cols, m, NULL));
            for (int64_t c = 0; c < cols; c++) yi[c] = (xi[c] - m) - log_sum;
        } else {
            /* exp once, into y; then y * (1 / Σ) */
            float sum = ops.exp_sum(xi, cols, m, yi);
            ops.affine(yi, cols, 1.0f / sum, 0.0f, 1.0f);
        }
    }
    return EK_OK;
}

ek_status ek_softmax_forward_f32(int64_t rows, int64_t cols, const float *x, float *y) {
    return softmax_forward(rows, cols, x, y, 0);
}
ek_status ek_log_softmax_forward_f32(int64_t rows, int64_t cols, const float *x, float *y) {
    return softmax_forward(rows, cols, x, y, 1);
}

static ek_status softmax_backward(int64_t rows, int64_t cols, const float *y, const float *gy, float *gx, int log_space) {
    const char *op = log_space ? "log_softmax_backward" : "softmax_backward";
    ek_status s = check_matrix(op, rows, cols, y, "y", gy, "grad_y", gx, "grad_x");
    if (s) return s;
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (rows * cols >= EKI_PARALLEL_MIN_WORK)
    for (int64_t i = 0; i < rows; i++) {
        const float *yi = y + i * cols, *gyi = gy + i * cols;
        float *gxi = gx + i * cols, dot = 0.0f;
        if (log_space) {
            for (int64_t c = 0; c < cols; c++) dot += gyi[c];
            for (int64_t c = 0; c < cols; c++) gxi[c] = gyi[c] - expf(yi[c]) * dot;
        } else {
            for (int64_t c = 0; c < cols; c++) dot += gyi[c] * yi[c];
            for (int64_t c = 0; c < cols; c++) gxi[c] = yi[c] * (gyi[c] - dot);
        }
    }
    return EK_OK;
}

ek_status ek_softmax_backward_f32(int64_t rows, int64_t cols, const float *y, const float *grad_y, float *grad_x) {
    return softmax_backward(rows, cols, y, grad_y, grad_x, 0);
}
ek_status ek_log_softmax_backward_f32(int64_t rows, int64_t cols, const float *y, const float *grad_y, float *grad_x) {
    return softmax_backward(rows, cols, y, grad_y, grad_x, 1);
}

/* ---- fused cross-entropy ---- */

static ek_status cross_entropy(int64_t rows, int64_t classes, const float *logits, eki_index targets,
                               int64_t ignore_index, float label_smoothing, ek_reduction reduction, float *loss,
                               float *grad_logits) {
    static const char op[] = "cross_entropy";
    ek_status s;
    if ((s = eki_check_size(op, "rows", rows, 0)) || (s = eki_check_size(op, "classes", classes, 1)) ||
        (s = eki_check_bytes(op, "logits", rows, classes, sizeof(float))) ||
        (s = eki_check_bytes(op, "targets", rows, 1, sizeof(int64_t))) ||
        (s = eki_check_ptr(op, "logits", logits, rows * classes)) || (s = eki_check_ptr(op, "targets", targets.data, rows)))
        return s;
    if (reduction != EK_REDUCTION_NONE && reduction != EK_REDUCTION_MEAN && reduction != EK_REDUCTION_SUM)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: reduction=%d is not none (0), mean (1) or sum (2)", op, (int)reduction);
    if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f))
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: label_smoothing=%g must lie in [0, 1]", op, (double)label_smoothing);
    if ((s = eki_check_ptr(op, "loss", loss, reduction == EK_REDUCTION_NONE ? rows : 1))) return s;
    int64_t valid = 0;
    for (int64_t i = 0; i < rows; i++) {
        int64_t t = eki_at(targets, i);
        if (t == ignore_index) continue;
        if (t < 0 || t >= classes)
            return eki_fail(EK_ERR_INDEX_OUT_OF_RANGE, "%s: target %lld at position %lld is out of range for %lld classes", op,
                            (long long)t, (long long)i, (long long)classes);
        valid++;
    }
    float *row_loss = loss;
    if (reduction != EK_REDUCTION_NONE && !(row_loss = malloc(sizeof(float) * ((size_t)rows + 1))))
        return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for %lld rows", op, (long long)rows);

    float eps = label_smoothing, uniform = eps / (float)classes;
    float scale = reduction == EK_REDUCTION_MEAN ? 1.0f / (float)valid : 1.0f;
    row_ops ops = pick_row_ops();
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (rows * classes >= EKI_PARALLEL_MIN_WORK)
    for (int64_t i = 0; i < rows; i++) {
        const float *xi = logits + i * classes;
        float *gi = grad_logits ? grad_logits + i * classes : NULL;
        int64_t t = eki_at(targets, i);
        if (t == ignore_index) {
            row_loss[i] = 0.0f;
            if (gi) for (int64_t c = 0; c < classes; c++) gi[c] = 0.0f;
            continue;
        }
        float m = ops.max(xi, classes);
        float sum = ops.exp_sum(xi, classes, m, gi); /* gi (when wanted) holds exp(x - m) until the end */
        float log_sum = logf(sum); /* log-probability of c: (x_c - m) - log_sum, as in log_softmax */
        float l = -(1.0f - eps) * ((xi[t] - m) - log_sum);
        if (eps > 0.0f) {
            float lp_sum = 0.0f;
            for (int64_t c = 0; c < classes; c++) lp_sum += (xi[c] - m) - log_sum;
            l -= uniform * lp_sum;
        }
        row_loss[i] = l;
        if (gi) {
            ops.affine(gi, classes, 1.0f / sum, uniform, scale); /* (exp(x - m) / Σ - eps / C) * scale */
            gi[t] -= (1.0f - eps) * scale;
        }
    }
    if (reduction != EK_REDUCTION_NONE) {
        double total = 0.0;
        for (int64_t i = 0; i < rows; i++) total += row_loss[i];
        loss[0] = reduction == EK_REDUCTION_SUM ? (float)total : (float)(total / (double)valid); /* 0/0: NaN */
        free(row_loss);
    }
    return EK_OK;
}

ek_status ek_cross_entropy_f32_i64(int64_t rows, int64_t classes, const float *logits, const int64_t *targets,
                                   int64_t ignore_index, float label_smoothing, ek_reduction reduction, float *loss,
                                   float *grad_logits) {
    return cross_entropy(rows, classes, logits, eki_i64(targets), ignore_index, label_smoothing, reduction, loss,
                         grad_logits);
}
ek_status ek_cross_entropy_f32_i32(int64_t rows, int64_t classes, const float *logits, const int32_t *targets,
                                   int64_t ignore_index, float label_smoothing, ek_reduction reduction, float *loss,
                                   float *grad_logits) {
    return cross_entropy(rows, classes, logits, eki_i32(targets), ignore_index, label_smoothing, reduction, loss,
                         grad_logits);
}
