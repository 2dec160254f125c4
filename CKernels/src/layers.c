/* layers.c — layer norm, ReLU, GELU and dropout (section 11 of embeddingkit.h). Rows or elements are
 * independent, so every loop is parallel over them; the only reductions across rows (layer norm's
 * weight and bias gradients) run over rows in order inside one column, so no result depends on the
 * thread count. */
#include <math.h>
#include <stdint.h>

#include "internal.h"

/* ---- layer norm ------------------------------------------------------------------------------- */

static ek_status check_matrix(const char *op, int64_t rows, int64_t cols) {
    ek_status s;
    if ((s = eki_check_size(op, "rows", rows, 0)) || (s = eki_check_size(op, "cols", cols, 1)) ||
        (s = eki_check_bytes(op, "x", rows, cols, sizeof(float))))
        return s;
    return EK_OK;
}

/* A per-column array (cols floats: weight, bias and their gradients): its byte count is checked on
 * its own, as x's says nothing about it when rows == 0. NULL (absent) needs no check. */
static ek_status check_column_array(const char *op, const char *name, const float *p, int64_t cols) {
    return p ? eki_check_bytes(op, name, 1, cols, sizeof(float)) : EK_OK;
}

ek_status ek_layer_norm_forward_f32(int64_t rows, int64_t cols, const float *x, const float *weight,
                                    const float *bias, double eps, float *y, float *mean, float *rstd) {
    static const char op[] = "layer_norm_forward";
    ek_status s;
    if ((s = check_matrix(op, rows, cols)) || (s = check_column_array(op, "weight", weight, cols)) ||
        (s = check_column_array(op, "bias", bias, cols)) || (s = eki_check_ptr(op, "x", x, rows * cols)) ||
        (s = eki_check_ptr(op, "y", y, rows * cols)) || (s = eki_check_ptr(op, "mean", mean, rows)) ||
        (s = eki_check_ptr(op, "rstd", rstd, rows)))
        return s;
    if (!(eps >= 0.0) || isinf(eps)) /* eps = 0 is PyTorch's too: a constant row then gives NaN, as there */
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: eps=%g must be finite and not negative", op, eps);

    EKI_PARALLEL_FOR(rows * cols >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < rows; i++) {
        const float *xi = x + i * cols;
        float *yi = y + i * cols;
        /* two passes in double: exact enough that rows with a large mean keep their variance */
        double sum = 0.0;
        for (int64_t c = 0; c < cols; c++) sum += xi[c];
        double m = sum / (double)cols, var = 0.0;
        for (int64_t c = 0; c < cols; c++) var += ((double)xi[c] - m) * ((double)xi[c] - m);
        double r = 1.0 / sqrt(var / (double)cols + eps);
        float mf = (float)m, rf = (float)r;
        for (int64_t c = 0; c < cols; c++) {
            float v = (xi[c] - mf) * rf;
            if (weight) v *= weight[c];
            if (bias) v += bias[c];
            yi[c] = v;
        }
        mean[i] = mf;
        rstd[i] = rf;
    });
    return EK_OK;
}

ek_status ek_layer_norm_backward_f32(int64_t rows, int64_t cols, const float *x, const float *mean,
                                     const float *rstd, const float *weight, const float *grad_y,
                                     float *grad_x, float *grad_weight, float *grad_bias) {
    static const char op[] = "layer_norm_backward";
    ek_status s;
    if ((s = check_matrix(op, rows, cols)) || (s = check_column_array(op, "weight", weight, cols)) ||
        (s = check_column_array(op, "grad_weight", grad_weight, cols)) ||
        (s = check_column_array(op, "grad_bias", grad_bias, cols)) || (s = eki_check_ptr(op, "x", x, rows * cols)) ||
        (s = eki_check_ptr(op, "mean", mean, rows)) || (s = eki_check_ptr(op, "rstd", rstd, rows)) ||
        (s = eki_check_ptr(op, "grad_y", grad_y, rows * cols)))
        return s;
    int64_t work = rows * cols;

    if (grad_x) {
        EKI_PARALLEL_FOR(work >= EKI_PARALLEL_MIN_WORK, (static),
        for (int64_t i = 0; i < rows; i++) {
            const float *xi = x + i * cols, *gi = grad_y + i * cols;
            float m = mean[i], r = rstd[i];
            double sum_g = 0.0, sum_gx = 0.0;
            for (int64_t c = 0; c < cols; c++) {
                float gw = weight ? gi[c] * weight[c] : gi[c];
                sum_g += gw;
                sum_gx += (double)gw * ((xi[c] - m) * r);
            }
            float mean_g = (float)(sum_g / (double)cols), mean_gx = (float)(sum_gx / (double)cols);
            float *gx = grad_x + i * cols;
            for (int64_t c = 0; c < cols; c++) {
                float gw = weight ? gi[c] * weight[c] : gi[c];
                gx[c] = r * (gw - mean_g - (xi[c] - m) * r * mean_gx);
            }
        });
    }
    if (grad_weight || grad_bias) {
        /* column blocks, rows in order inside each: the sums are the same for any thread count */
        const int64_t block = 64, blocks = eki_ceil_div(cols, block);
        EKI_PARALLEL_FOR(work >= EKI_PARALLEL_MIN_WORK, (static),
        for (int64_t b = 0; b < blocks; b++) {
            int64_t c0 = b * block, c1 = c0 + block < cols ? c0 + block : cols;
            double acc_w[64] = {0}, acc_b[64] = {0};
            for (int64_t i = 0; i < rows; i++) {
                const float *xi = x + i * cols, *gi = grad_y + i * cols;
                float m = mean[i], r = rstd[i];
                for (int64_t c = c0; c < c1; c++) {
                    acc_w[c - c0] += (double)gi[c] * ((xi[c] - m) * r);
                    acc_b[c - c0] += gi[c];
                }
            }
            for (int64_t c = c0; c < c1; c++) {
                if (grad_weight) grad_weight[c] += (float)acc_w[c - c0];
                if (grad_bias) grad_bias[c] += (float)acc_b[c - c0];
            }
        });
    }
    return EK_OK;
}

/* ---- element-wise activations ------------------------------------------------------------------ */

static ek_status check_vector(const char *op, int64_t n, const void *a, const char *a_name, const void *b,
                              const char *b_name) {
    ek_status s;
    if ((s = eki_check_size(op, "n", n, 0)) || (s = eki_check_bytes(op, a_name, n, 1, sizeof(float))) ||
        (s = eki_check_ptr(op, a_name, a, n)) || (s = eki_check_ptr(op, b_name, b, n)))
        return s;
    return EK_OK;
}

ek_status ek_relu_forward_f32(int64_t n, const float *x, float *y) {
    ek_status s;
    if ((s = check_vector("relu_forward", n, x, "x", y, "y"))) return s;
    EKI_PARALLEL_FOR(n >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i]); /* NaN passes through */
    return EK_OK;
}

ek_status ek_relu_backward_f32(int64_t n, const float *x, const float *grad_y, float *grad_x) {
    static const char op[] = "relu_backward";
    ek_status s;
    if ((s = check_vector(op, n, x, "x", grad_y, "grad_y")) || (s = eki_check_ptr(op, "grad_x", grad_x, n))) return s;
    EKI_PARALLEL_FOR(n >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < n; i++) {
        /* grad_y read unconditionally: a select, not a branch the random signs mispredict */
        float g = grad_y[i];
        grad_x[i] = x[i] <= 0.0f ? 0.0f : g; /* NaN passes, as relu(NaN) = NaN */
    });
    return EK_OK;
}

static ek_status check_approximate(const char *op, int32_t approximate) {
    if (approximate != 0 && approximate != 1)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: approximate=%d is not 0 (erf) or 1 (tanh)", op, (int)approximate);
    return EK_OK;
}

static const double kSqrt1_2 = 0.70710678118654752440, kInvSqrt2Pi = 0.39894228040143267794,
                    kSqrt2OverPi = 0.79788456080286535588, kGeluCubic = 0.044715;

ek_status ek_gelu_forward_f32(int64_t n, const float *x, int32_t approximate, float *y) {
    static const char op[] = "gelu_forward";
    ek_status s;
    if ((s = check_vector(op, n, x, "x", y, "y")) || (s = check_approximate(op, approximate))) return s;
    EKI_PARALLEL_FOR(n >= EKI_PARALLEL_MIN_WORK / 8, (static),
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = approximate ? 0.5f * v * (1.0f + tanhf((float)kSqrt2OverPi * (v + (float)kGeluCubic * v * v * v)))
                           : 0.5f * v * (1.0f + erff(v * (float)kSqrt1_2));
    });
    return EK_OK;
}

ek_status ek_gelu_backward_f32(int64_t n, const float *x, int32_t approximate, const float *grad_y,
                               float *grad_x) {
    static const char op[] = "gelu_backward";
    ek_status s;
    if ((s = check_vector(op, n, x, "x", grad_y, "grad_y")) || (s = eki_check_ptr(op, "grad_x", grad_x, n)) ||
        (s = check_approximate(op, approximate)))
        return s;
    EKI_PARALLEL_FOR(n >= EKI_PARALLEL_MIN_WORK / 8, (static),
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], d;
        if (approximate) {
            float t = tanhf((float)kSqrt2OverPi * (v + (float)kGeluCubic * v * v * v));
            d = 0.5f * (1.0f + t) +
                0.5f * v * (1.0f - t * t) * (float)kSqrt2OverPi * (1.0f + 3.0f * (float)kGeluCubic * v * v);
        } else {
            d = 0.5f * (1.0f + erff(v * (float)kSqrt1_2)) + v * (float)kInvSqrt2Pi * expf(-0.5f * v * v);
        }
        grad_x[i] = grad_y[i] * d;
    });
    return EK_OK;
}

/* ---- dropout ----------------------------------------------------------------------------------- */

/* SplitMix64's finaliser over (seed, i): a counter-based stream, the same for any thread count. */
static inline double dropout_uniform(uint64_t seed, int64_t i) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * ((uint64_t)i + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

static ek_status check_probability(const char *op, double p) {
    if (!(p >= 0.0 && p <= 1.0))
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: p=%g must lie in [0, 1]", op, p);
    return EK_OK;
}

ek_status ek_dropout_forward_f32(int64_t n, const float *x, double p, uint64_t seed, float *y, uint8_t *mask) {
    static const char op[] = "dropout_forward";
    ek_status s;
    if ((s = check_vector(op, n, x, "x", y, "y")) || (s = check_probability(op, p))) return s;
    float scale = p < 1.0 ? (float)(1.0 / (1.0 - p)) : 0.0f;
    EKI_PARALLEL_FOR(n >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < n; i++) {
        /* Branch-free: keep is a coin flip, and a branch on it mispredicts half the time (most of
         * the demo's dropout time went there). */
        int keep = (p < 1.0) & (dropout_uniform(seed, i) >= p);
        float v = x[i] * scale;
        y[i] = keep ? v : 0.0f;
        if (mask) mask[i] = (uint8_t)keep;
    });
    return EK_OK;
}

ek_status ek_dropout_backward_f32(int64_t n, const uint8_t *mask, double p, const float *grad_y, float *grad_x) {
    static const char op[] = "dropout_backward";
    ek_status s;
    if ((s = check_vector(op, n, grad_y, "grad_y", grad_x, "grad_x")) || (s = eki_check_ptr(op, "mask", mask, n)) ||
        (s = check_probability(op, p)))
        return s;
    float scale = p < 1.0 ? (float)(1.0 / (1.0 - p)) : 0.0f;
    EKI_PARALLEL_FOR(n >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < n; i++) {
        float v = grad_y[i] * scale; /* computed unconditionally: a select, not a mispredicted branch */
        grad_x[i] = mask[i] ? v : 0.0f;
    });
    return EK_OK;
}
