/* optim.c — optimizer row updates over a coalesced COO gradient (or a dense one, rows == NULL).
 * Only present rows are read or written, in the table and in every state table: that is what
 * makes sparse training lazy. Rows are unique, so the loop over them is parallel and exact. */
#include <math.h>

#include "internal.h"

/* Checks the table, the coalesced rows and the gradient values of an update. */
static ek_status check_update(const char *op, int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows,
                              const float *values, const float *weight) {
    ek_status s;
    if ((s = eki_check_size(op, "num_rows", num_rows, 0)) || (s = eki_check_size(op, "dim", dim, 1)) ||
        (s = eki_check_size(op, "nnz", nnz, 0)) || (s = eki_check_bytes(op, "weight", num_rows, dim, sizeof(float))) ||
        (s = eki_check_bytes(op, "values", nnz, dim, sizeof(float))) || (s = eki_check_bytes(op, "rows", nnz, 1, sizeof(int64_t))) ||
        (s = eki_check_ptr(op, "values", values, nnz * dim)) || (s = eki_check_ptr(op, "weight", weight, num_rows * dim)))
        return s;
    if (!rows) {
        if (nnz > num_rows)
            return eki_fail(EK_ERR_SHAPE, "%s: a dense update (rows NULL) of nnz=%lld rows exceeds num_rows=%lld", op,
                            (long long)nnz, (long long)num_rows);
        return EK_OK;
    }
    for (int64_t i = 0; i < nnz; i++) {
        if (rows[i] < 0 || rows[i] >= num_rows)
            return eki_fail(EK_ERR_INDEX_OUT_OF_RANGE, "%s: index %lld at position %lld is out of range for %lld rows", op,
                            (long long)rows[i], (long long)i, (long long)num_rows);
        if (i > 0 && rows[i] <= rows[i - 1])
            return eki_fail(EK_ERR_INVALID_ARGUMENT,
                            "%s: rows must be coalesced (strictly increasing), rows[%lld]=%lld >= rows[%lld]=%lld", op,
                            (long long)(i - 1), (long long)rows[i - 1], (long long)i, (long long)rows[i]);
    }
    return EK_OK;
}

static ek_status check_hyper(const char *op, const char *name, float value, float lo, int lo_inclusive, float hi,
                             int hi_inclusive) {
    int ok = (lo_inclusive ? value >= lo : value > lo) && (hi_inclusive ? value <= hi : value < hi);
    if (!ok)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: %s=%g must lie in %c%g, %g%c", op, name, (double)value,
                        lo_inclusive ? '[' : '(', (double)lo, (double)hi, hi_inclusive ? ']' : ')');
    return EK_OK;
}

static inline int64_t row_at(const int64_t *rows, int64_t i) { return rows ? rows[i] : i; }

ek_status ek_sgd_update_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                            float lr, float momentum, float dampening, float weight_decay, int32_t nesterov,
                            float *weight, float *momentum_buffer) {
    static const char op[] = "sgd_update";
    ek_status s = check_update(op, num_rows, dim, nnz, rows, values, weight);
    if (s || (s = check_hyper(op, "lr", lr, 0, 1, INFINITY, 0)) ||
        (s = check_hyper(op, "momentum", momentum, 0, 1, INFINITY, 0)) ||
        (s = check_hyper(op, "dampening", dampening, -INFINITY, 0, INFINITY, 0)) ||
        (s = check_hyper(op, "weight_decay", weight_decay, 0, 1, INFINITY, 0)) ||
        (s = eki_check_flag(op, "nesterov", nesterov)))
        return s;
    if (nesterov && (momentum <= 0.0f || dampening != 0.0f))
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: nesterov needs momentum > 0 and dampening 0 (got %g, %g)", op,
                        (double)momentum, (double)dampening);
    if (momentum != 0.0f && (s = eki_check_ptr(op, "momentum_buffer", momentum_buffer, num_rows * dim))) return s;

#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (nnz * dim >= EKI_PARALLEL_MIN_WORK)
    for (int64_t i = 0; i < nnz; i++) {
        if (rows && i + EKI_PREFETCH_ROWS < nnz) { /* scattered rows: fetch them ahead (see adagrad) */
            int64_t ahead = rows[i + EKI_PREFETCH_ROWS] * dim;
            EKI_PREFETCH_SPAN(weight + ahead, sizeof(float) * (size_t)dim, 1);
            if (momentum) EKI_PREFETCH_SPAN(momentum_buffer + ahead, sizeof(float) * (size_t)dim, 1);
        }
        int64_t r = row_at(rows, i);
        float *w = weight + r * dim, *buf = momentum ? momentum_buffer + r * dim : NULL;
        const float *g = values + i * dim;
        for (int64_t d = 0; d < dim; d++) {
            float step = g[d] + weight_decay * w[d];
            if (buf) {
                buf[d] = momentum * buf[d] + (1.0f - dampening) * step;
                step = nesterov ? step + momentum * buf[d] : buf[d];
            }
            w[d] -= lr * step;
        }
    }
    return EK_OK;
}

/* How many rows ahead the sparse updates prefetch (FBGEMM uses 16 for its row loops). */
#define ADAGRAD_PREFETCH 8

ek_status ek_adagrad_update_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                                float lr, float eps, float weight_decay, float *weight, float *state_sum) {
    static const char op[] = "adagrad_update";
    ek_status s = check_update(op, num_rows, dim, nnz, rows, values, weight);
    if (s || (s = check_hyper(op, "lr", lr, 0, 1, INFINITY, 0)) || (s = check_hyper(op, "eps", eps, 0, 1, INFINITY, 0)) ||
        (s = check_hyper(op, "weight_decay", weight_decay, 0, 1, INFINITY, 0)) ||
        (s = eki_check_ptr(op, "state_sum", state_sum, num_rows * dim)))
        return s;

#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (nnz * dim >= EKI_PARALLEL_MIN_WORK)
    for (int64_t i = 0; i < nnz; i++) {
        /* sparse rows are scattered over large tables: fetch the rows a few updates ahead, or every
         * update waits on two cache misses */
        if (rows && i + ADAGRAD_PREFETCH < nnz) {
            int64_t ahead = rows[i + ADAGRAD_PREFETCH] * dim;
            for (int64_t d = 0; d < dim; d += 16) {
                __builtin_prefetch(weight + ahead + d, 1, 1);
                __builtin_prefetch(state_sum + ahead + d, 1, 1);
            }
        }
        int64_t r = row_at(rows, i);
        float *restrict w = weight + r * dim, *restrict acc = state_sum + r * dim;
        const float *restrict g = values + i * dim;
        for (int64_t d = 0; d < dim; d++) {
            float step = g[d] + weight_decay * w[d];
            float a = acc[d] + step * step;
            acc[d] = a;
            w[d] -= lr * step / (sqrtf(a) + eps);
        }
    }
    return EK_OK;
}

ek_status ek_adam_update_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                             float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step,
                             float *weight, float *exp_avg, float *exp_avg_sq) {
    static const char op[] = "adam_update";
    ek_status s = check_update(op, num_rows, dim, nnz, rows, values, weight);
    if (s || (s = check_hyper(op, "lr", lr, 0, 1, INFINITY, 0)) || (s = check_hyper(op, "beta1", beta1, 0, 1, 1, 0)) ||
        (s = check_hyper(op, "beta2", beta2, 0, 1, 1, 0)) || (s = check_hyper(op, "eps", eps, 0, 0, INFINITY, 0)) ||
        (s = check_hyper(op, "weight_decay", weight_decay, 0, 1, INFINITY, 0)) ||
        (s = eki_check_ptr(op, "exp_avg", exp_avg, num_rows * dim)) ||
        (s = eki_check_ptr(op, "exp_avg_sq", exp_avg_sq, num_rows * dim)))
        return s;
    if (step < 1) return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: step=%lld must be >= 1", op, (long long)step);

    double bias1 = 1.0 - pow((double)beta1, (double)step), bias2 = 1.0 - pow((double)beta2, (double)step);
    float step_size = (float)(lr / bias1), bias2_sqrt = (float)sqrt(bias2), decay = 1.0f - lr * weight_decay;
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (nnz * dim >= EKI_PARALLEL_MIN_WORK)
    for (int64_t i = 0; i < nnz; i++) {
        if (rows && i + EKI_PREFETCH_ROWS < nnz) {
            int64_t ahead = rows[i + EKI_PREFETCH_ROWS] * dim;
            EKI_PREFETCH_SPAN(weight + ahead, sizeof(float) * (size_t)dim, 1);
            EKI_PREFETCH_SPAN(exp_avg + ahead, sizeof(float) * (size_t)dim, 1);
            EKI_PREFETCH_SPAN(exp_avg_sq + ahead, sizeof(float) * (size_t)dim, 1);
        }
        int64_t r = row_at(rows, i);
        float *w = weight + r * dim, *m = exp_avg + r * dim, *v = exp_avg_sq + r * dim;
        const float *g = values + i * dim;
        for (int64_t d = 0; d < dim; d++) {
            if (weight_decay != 0.0f) w[d] *= decay;
            m[d] = beta1 * m[d] + (1.0f - beta1) * g[d];
            v[d] = beta2 * v[d] + (1.0f - beta2) * g[d] * g[d];
            w[d] -= step_size * m[d] / (sqrtf(v[d]) / bias2_sqrt + eps);
        }
    }
    return EK_OK;
}
