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

/* The row primitives of isa.h's table (softmax part), scalar versions; the vector ones, with their
 * exp, are in x86/<isa>/softmax.c.
 *   row_max:     the largest x[c], NaN ignored (a NaN then poisons the sum)
 *   row_exp_sum: Σ exp(x[c] - m), each term stored in e[c] unless e is NULL; m is row_max(x)
 *                (the vector versions rely on x[c] - m <= 0); the vector versions prefetch
 *                `next` (the row read after this one, or NULL) while the exp keeps the core busy
 *   row_affine:  y[c] = (y[c] * a - b) * s */
float eki_row_max_scalar(const float *x, int64_t cols) {
    float m = -INFINITY;
    for (int64_t c = 0; c < cols; c++) m = x[c] > m ? x[c] : m;
    return m;
}
float eki_row_exp_sum_scalar(const float *x, int64_t cols, float m, float *e, const float *next) {
    (void)next;
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; c++) {
        float v = expf(x[c] - m);
        if (e) e[c] = v;
        sum += v;
    }
    return sum;
}
void eki_row_affine_scalar(float *y, int64_t cols, float a, float b, float s) {
    for (int64_t c = 0; c < cols; c++) y[c] = (y[c] * a - b) * s;
}

/* y[i] = exp(x[i]) (libm) */
void eki_vexp_scalar(int64_t n, const float *x, float *y) {
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

static ek_status softmax_forward(int64_t rows, int64_t cols, const float *x, float *y, int log_space) {
    const char *op = log_space ? "log_softmax" : "softmax";
    ek_status s = check_matrix(op, rows, cols, x, "x", NULL, NULL, y, "y");
    if (s) return s;
    const eki_kernels *k = eki_dispatch();
    EKI_PARALLEL_FOR(rows * cols >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < rows; i++) {
        const float *xi = x + i * cols;
        float *yi = y + i * cols;
        float m = k->row_max(xi, cols);
        if (log_space) {
            /* (x - m) - log Σ, in this order: folding log Σ into m first loses it when |m| is large */
            float log_sum = logf(k->row_exp_sum(xi, cols, m, NULL, i + 1 < rows ? xi + cols : NULL));
            for (int64_t c = 0; c < cols; c++) yi[c] = (xi[c] - m) - log_sum;
        } else {
            /* exp once, into y; then y * (1 / Σ) */
            float sum = k->row_exp_sum(xi, cols, m, yi, i + 1 < rows ? xi + cols : NULL);
            k->row_affine(yi, cols, 1.0f / sum, 0.0f, 1.0f);
        }
    });
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
    EKI_PARALLEL_FOR(rows * cols >= EKI_PARALLEL_MIN_WORK, (static),
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
    });
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
    const eki_kernels *k = eki_dispatch();
    EKI_PARALLEL_FOR(rows * classes >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < rows; i++) {
        const float *xi = logits + i * classes;
        float *gi = grad_logits ? grad_logits + i * classes : NULL;
        int64_t t = eki_at(targets, i);
        if (t == ignore_index) {
            row_loss[i] = 0.0f;
            if (gi) for (int64_t c = 0; c < classes; c++) gi[c] = 0.0f;
            continue;
        }
        float m = k->row_max(xi, classes);
        float sum = k->row_exp_sum(xi, classes, m, gi, i + 1 < rows ? xi + classes : NULL); /* gi (when wanted) holds exp(x - m) until the end */
        float log_sum = logf(sum); /* log-probability of c: (x_c - m) - log_sum, as in log_softmax */
        float l = -(1.0f - eps) * ((xi[t] - m) - log_sum);
        if (eps > 0.0f) {
            float lp_sum = 0.0f;
            for (int64_t c = 0; c < classes; c++) lp_sum += (xi[c] - m) - log_sum;
            l -= uniform * lp_sum;
        }
        row_loss[i] = l;
        if (gi) {
            k->row_affine(gi, classes, 1.0f / sum, uniform, scale); /* (exp(x - m) / Σ - eps / C) * scale */
            gi[t] -= (1.0f - eps) * scale;
        }
    });
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
