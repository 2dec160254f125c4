/* losses.c — negative log-likelihood and mean squared error, fused with their gradients (section 12
 * of embeddingkit.h). Validation reads everything before anything is written. The reduced loss is a
 * double sum in element order, so it does not depend on the thread count. */
#include <math.h>
#include <stdint.h>

#include "internal.h"

static ek_status check_reduction(const char *op, ek_reduction reduction) {
    if (reduction != EK_REDUCTION_NONE && reduction != EK_REDUCTION_MEAN && reduction != EK_REDUCTION_SUM)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: reduction=%d is not none (0), mean (1) or sum (2)", op, (int)reduction);
    return EK_OK;
}

ek_status ek_nll_loss_f32_i64(int64_t rows, int64_t classes, const float *log_probs, const int64_t *targets,
                              int64_t ignore_index, ek_reduction reduction, float *loss, float *grad) {
    static const char op[] = "nll_loss";
    ek_status s;
    if ((s = eki_check_size(op, "rows", rows, 0)) || (s = eki_check_size(op, "classes", classes, 1)) ||
        (s = eki_check_bytes(op, "log_probs", rows, classes, sizeof(float))) ||
        (s = eki_check_bytes(op, "targets", rows, 1, sizeof(int64_t))) ||
        (s = eki_check_ptr(op, "log_probs", log_probs, rows * classes)) || (s = eki_check_ptr(op, "targets", targets, rows)) ||
        (s = check_reduction(op, reduction)) ||
        (s = eki_check_ptr(op, "loss", loss, reduction == EK_REDUCTION_NONE ? rows : 1)))
        return s;
    int64_t valid = 0;
    for (int64_t i = 0; i < rows; i++) {
        int64_t t = targets[i];
        if (t == ignore_index) continue;
        if (t < 0 || t >= classes)
            return eki_fail(EK_ERR_INDEX_OUT_OF_RANGE, "%s: target %lld at position %lld is out of range for %lld classes", op,
                            (long long)t, (long long)i, (long long)classes);
        valid++;
    }
    float r = reduction == EK_REDUCTION_MEAN ? 1.0f / (float)valid : 1.0f;
    double total = 0.0;
    for (int64_t i = 0; i < rows; i++) {
        int64_t t = targets[i];
        float l = t == ignore_index ? 0.0f : -log_probs[i * classes + t];
        if (reduction == EK_REDUCTION_NONE) loss[i] = l;
        total += l;
        if (grad) {
            float *gi = grad + i * classes;
            for (int64_t c = 0; c < classes; c++) gi[c] = 0.0f;
            if (t != ignore_index) gi[t] = -r;
        }
    }
    if (reduction != EK_REDUCTION_NONE)
        loss[0] = reduction == EK_REDUCTION_SUM ? (float)total : (float)(total / (double)valid); /* 0/0: NaN */
    return EK_OK;
}

ek_status ek_mse_loss_f32(int64_t n, const float *input, const float *target, ek_reduction reduction,
                          float *loss, float *grad) {
    static const char op[] = "mse_loss";
    ek_status s;
    if ((s = eki_check_size(op, "n", n, 0)) || (s = eki_check_bytes(op, "input", n, 1, sizeof(float))) ||
        (s = eki_check_ptr(op, "input", input, n)) || (s = eki_check_ptr(op, "target", target, n)) ||
        (s = check_reduction(op, reduction)) ||
        (s = eki_check_ptr(op, "loss", loss, reduction == EK_REDUCTION_NONE ? n : 1)))
        return s;
    float r = reduction == EK_REDUCTION_MEAN ? (float)(1.0 / (double)n) : 1.0f;
    if (grad || reduction == EK_REDUCTION_NONE) {
        EKI_PARALLEL_FOR(n >= EKI_PARALLEL_MIN_WORK, (static),
        for (int64_t i = 0; i < n; i++) {
            float d = input[i] - target[i];
            if (reduction == EK_REDUCTION_NONE) loss[i] = d * d;
            if (grad) grad[i] = 2.0f * d * r;
        });
    }
    if (reduction != EK_REDUCTION_NONE) {
        double total = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double d = (double)input[i] - (double)target[i];
            total += d * d;
        }
        loss[0] = reduction == EK_REDUCTION_SUM ? (float)total : (float)(total / (double)n); /* n == 0: NaN */
    }
    return EK_OK;
}
