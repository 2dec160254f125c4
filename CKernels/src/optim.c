/* optim.c — optimizer row updates over a coalesced COO gradient (or a dense one, rows == NULL).
 * Only present rows are read or written, in the table and in every state table: that is what
 * makes sparse training lazy. Rows are unique, so the loop over them is parallel and exact. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

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

/* ---- one row of each update, scalar (the reference; the vector rows of x86/<isa>/optim.c do the
 * same operations in the same order). The loops below and the fused bag updates run the dispatch
 * table's rows (eki_optim_rows), so both give the same bits ---- */

void eki_sgd_row_scalar(float *w, float *buf, const float *g, int64_t dim, float lr, float momentum, float dampening,
                        float weight_decay, int32_t nesterov) {
    for (int64_t d = 0; d < dim; d++) {
        float step = g[d] + weight_decay * w[d];
        if (buf) {
            buf[d] = momentum * buf[d] + (1.0f - dampening) * step;
            step = nesterov ? step + momentum * buf[d] : buf[d];
        }
        w[d] -= lr * step;
    }
}

void eki_adagrad_row_scalar(float *restrict w, float *restrict acc, const float *restrict g, int64_t dim, float lr,
                            float eps, float weight_decay) {
    for (int64_t d = 0; d < dim; d++) {
        float step = g[d] + weight_decay * w[d];
        float a = acc[d] + step * step;
        acc[d] = a;
        w[d] -= lr * step / (sqrtf(a) + eps);
    }
}

/* Row-wise Adagrad's second half: w[d] -= m * (g[d] + weight_decay * w[d]). */
void eki_rowwise_apply_scalar(float *restrict w, const float *restrict g, int64_t dim, float m, float weight_decay) {
    for (int64_t d = 0; d < dim; d++) {
        float step = g[d] + weight_decay * w[d];
        w[d] -= m * step;
    }
}

/* The state update, in double in element order (not vectorised: the order is part of the result). */
static inline void rowwise_adagrad_row(const eki_kernels *k, float *restrict w, float *restrict acc,
                                       const float *restrict g, int64_t dim, float lr, float eps, float weight_decay) {
    double sum = 0.0;
    for (int64_t d = 0; d < dim; d++) {
        float step = g[d] + weight_decay * w[d];
        sum += (double)step * (double)step;
    }
    float a = *acc + (float)(sum / (double)dim);
    *acc = a;
    k->rowwise_apply(w, g, dim, lr / (sqrtf(a) + eps), weight_decay);
}

void eki_adam_row_scalar(float *w, float *m, float *v, const float *g, int64_t dim, float beta1, float beta2, float eps,
                         float weight_decay, float step_size, float bias2_sqrt, float decay) {
    for (int64_t d = 0; d < dim; d++) {
        if (weight_decay != 0.0f) w[d] *= decay;
        m[d] = beta1 * m[d] + (1.0f - beta1) * g[d];
        v[d] = beta2 * v[d] + (1.0f - beta2) * g[d] * g[d];
        w[d] -= step_size * m[d] / (sqrtf(v[d]) / bias2_sqrt + eps);
    }
}

static inline int64_t row_at(const int64_t *rows, int64_t i) { return rows ? rows[i] : i; }

/* The ek_*_update_f32 loops with the weight's rows `ws` elements apart (ek_optimizer_update's strided
 * table; the public functions pass dim); state tables stay dense. */
static ek_status sgd_update(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                            float lr, float momentum, float dampening, float weight_decay, int32_t nesterov,
                            float *weight, int64_t ws, float *momentum_buffer) {
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

    const eki_kernels *k = eki_dispatch();
    EKI_PARALLEL_FOR(nnz * dim >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < nnz; i++) {
        if (rows && i + EKI_PREFETCH_ROWS < nnz) { /* scattered rows: fetch them ahead (see adagrad) */
            int64_t ahead = rows[i + EKI_PREFETCH_ROWS];
            EKI_PREFETCH_SPAN(weight + ahead * ws, sizeof(float) * (size_t)dim, 1);
            if (momentum) EKI_PREFETCH_SPAN(momentum_buffer + ahead * dim, sizeof(float) * (size_t)dim, 1);
        }
        int64_t r = row_at(rows, i);
        k->sgd_row(weight + r * ws, momentum ? momentum_buffer + r * dim : NULL, values + i * dim, dim, lr, momentum,
                   dampening, weight_decay, nesterov);
    });
    return EK_OK;
}

/* How many rows ahead the sparse updates prefetch (FBGEMM uses 16 for its row loops). */
#define ADAGRAD_PREFETCH 8

static ek_status adagrad_update(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                                float lr, float eps, float weight_decay, float *weight, int64_t ws, float *state_sum) {
    static const char op[] = "adagrad_update";
    ek_status s = check_update(op, num_rows, dim, nnz, rows, values, weight);
    if (s || (s = check_hyper(op, "lr", lr, 0, 1, INFINITY, 0)) || (s = check_hyper(op, "eps", eps, 0, 1, INFINITY, 0)) ||
        (s = check_hyper(op, "weight_decay", weight_decay, 0, 1, INFINITY, 0)) ||
        (s = eki_check_ptr(op, "state_sum", state_sum, num_rows * dim)))
        return s;

    const eki_kernels *k = eki_dispatch();
    EKI_PARALLEL_FOR(nnz * dim >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < nnz; i++) {
        /* sparse rows are scattered over large tables: fetch the rows a few updates ahead, or every
         * update waits on two cache misses */
        if (rows && i + ADAGRAD_PREFETCH < nnz) {
            int64_t ahead = rows[i + ADAGRAD_PREFETCH];
            for (int64_t d = 0; d < dim; d += 16) {
                __builtin_prefetch(weight + ahead * ws + d, 1, 1);
                __builtin_prefetch(state_sum + ahead * dim + d, 1, 1);
            }
        }
        int64_t r = row_at(rows, i);
        k->adagrad_row(weight + r * ws, state_sum + r * dim, values + i * dim, dim, lr, eps, weight_decay);
    });
    return EK_OK;
}

static ek_status adam_update(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                             float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step,
                             float *weight, int64_t ws, float *exp_avg, float *exp_avg_sq) {
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
    const eki_kernels *k = eki_dispatch();
    EKI_PARALLEL_FOR(nnz * dim >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < nnz; i++) {
        if (rows && i + EKI_PREFETCH_ROWS < nnz) {
            int64_t ahead = rows[i + EKI_PREFETCH_ROWS];
            EKI_PREFETCH_SPAN(weight + ahead * ws, sizeof(float) * (size_t)dim, 1);
            EKI_PREFETCH_SPAN(exp_avg + ahead * dim, sizeof(float) * (size_t)dim, 1);
            EKI_PREFETCH_SPAN(exp_avg_sq + ahead * dim, sizeof(float) * (size_t)dim, 1);
        }
        int64_t r = row_at(rows, i);
        k->adam_row(weight + r * ws, exp_avg + r * dim, exp_avg_sq + r * dim, values + i * dim, dim, beta1, beta2, eps,
                    weight_decay, step_size, bias2_sqrt, decay);
    });
    return EK_OK;
}

static ek_status rowwise_adagrad_update(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows,
                                        const float *values, float lr, float eps, float weight_decay, float *weight,
                                        int64_t ws, float *state_sum) {
    static const char op[] = "rowwise_adagrad_update";
    ek_status s = check_update(op, num_rows, dim, nnz, rows, values, weight);
    if (s || (s = check_hyper(op, "lr", lr, 0, 1, INFINITY, 0)) || (s = check_hyper(op, "eps", eps, 0, 1, INFINITY, 0)) ||
        (s = check_hyper(op, "weight_decay", weight_decay, 0, 1, INFINITY, 0)) ||
        (s = eki_check_ptr(op, "state_sum", state_sum, num_rows)))
        return s;

    const eki_kernels *k = eki_dispatch();
    EKI_PARALLEL_FOR(nnz * dim >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < nnz; i++) {
        if (rows && i + EKI_PREFETCH_ROWS < nnz)
            EKI_PREFETCH_SPAN(weight + rows[i + EKI_PREFETCH_ROWS] * ws, sizeof(float) * (size_t)dim, 1);
        int64_t r = row_at(rows, i);
        rowwise_adagrad_row(k, weight + r * ws, state_sum + r, values + i * dim, dim, lr, eps, weight_decay);
    });
    return EK_OK;
}

ek_status ek_sgd_update_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                            float lr, float momentum, float dampening, float weight_decay, int32_t nesterov,
                            float *weight, float *momentum_buffer) {
    return sgd_update(num_rows, dim, nnz, rows, values, lr, momentum, dampening, weight_decay, nesterov, weight, dim,
                      momentum_buffer);
}

ek_status ek_adagrad_update_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                                float lr, float eps, float weight_decay, float *weight, float *state_sum) {
    return adagrad_update(num_rows, dim, nnz, rows, values, lr, eps, weight_decay, weight, dim, state_sum);
}

ek_status ek_adam_update_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                             float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step,
                             float *weight, float *exp_avg, float *exp_avg_sq) {
    return adam_update(num_rows, dim, nnz, rows, values, lr, beta1, beta2, eps, weight_decay, step, weight, dim, exp_avg,
                       exp_avg_sq);
}

ek_status ek_rowwise_adagrad_update_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows,
                                        const float *values, float lr, float eps, float weight_decay, float *weight,
                                        float *state_sum) {
    return rowwise_adagrad_update(num_rows, dim, nnz, rows, values, lr, eps, weight_decay, weight, dim, state_sum);
}

/* ---- the optimizer descriptor ---- */

ek_status eki_prepare_optimizer(const char *op, const ek_optimizer *optimizer, int64_t rows, int64_t dim, ek_dtype dtype,
                                eki_opt *out) {
    ek_status s = eki_copy_struct(op, "optimizer", "ek_optimizer", optimizer, EKI_OPTIMIZER_SIZE_0_2, sizeof(ek_optimizer),
                                  &out->o);
    if (s) return s;
    const ek_optimizer *o = &out->o;
    out->dtype = dtype;
    out->stride = dim;
    out->k = eki_dispatch();
    out->round_key = 0, out->fused_bf16_sgd = 0;
    if (dtype != EK_DTYPE_F32) {
        if (o->rounding != EK_ROUND_NEAREST && o->rounding != EK_ROUND_STOCHASTIC)
            return eki_fail(EK_ERR_INVALID_ARGUMENT,
                            "%s: optimizer->rounding=%d is not EK_ROUND_NEAREST (0) or EK_ROUND_STOCHASTIC (1)", op,
                            (int)o->rounding);
        if (o->rounding == EK_ROUND_STOCHASTIC && o->step < 1)
            return eki_fail(EK_ERR_INVALID_ARGUMENT,
                            "%s: optimizer->step=%lld must be >= 1 with stochastic rounding (the step counter keys the "
                            "random stream)", op, (long long)o->step);
        out->round_key = eki_round_step_key(o->seed, o->step);
        out->fused_bf16_sgd = dtype == EK_DTYPE_BF16 && o->rounding == EK_ROUND_STOCHASTIC && o->kind == EK_OPT_SGD &&
                              o->momentum == 0.0f;
    }
    int64_t cells;
    if (__builtin_mul_overflow(rows, dim, &cells)) cells = INT64_MAX; /* the table's own check reports it */
    if ((s = check_hyper(op, "optimizer->lr", o->lr, 0, 1, INFINITY, 0))) return s;
    switch (o->kind) {
    case EK_OPT_SGD:
        if ((s = check_hyper(op, "optimizer->momentum", o->momentum, 0, 1, INFINITY, 0)) ||
            (s = check_hyper(op, "optimizer->dampening", o->dampening, -INFINITY, 0, INFINITY, 0)) ||
            (s = check_hyper(op, "optimizer->weight_decay", o->weight_decay, 0, 1, INFINITY, 0)) ||
            (s = eki_check_flag(op, "optimizer->nesterov", o->nesterov)))
            return s;
        if (o->nesterov && (o->momentum <= 0.0f || o->dampening != 0.0f))
            return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: nesterov needs momentum > 0 and dampening 0 (got %g, %g)", op,
                            (double)o->momentum, (double)o->dampening);
        if (o->momentum != 0.0f && (s = eki_check_ptr(op, "optimizer->momentum_buffer", o->momentum_buffer, cells)))
            return s;
        return EK_OK;
    case EK_OPT_ADAGRAD:
    case EK_OPT_ROWWISE_ADAGRAD:
        if ((s = check_hyper(op, "optimizer->eps", o->eps, 0, 1, INFINITY, 0)) ||
            (s = check_hyper(op, "optimizer->weight_decay", o->weight_decay, 0, 1, INFINITY, 0)) ||
            (s = eki_check_ptr(op, "optimizer->state_sum", o->state_sum, o->kind == EK_OPT_ADAGRAD ? cells : rows)))
            return s;
        return EK_OK;
    case EK_OPT_ADAM: {
        if ((s = check_hyper(op, "optimizer->beta1", o->beta1, 0, 1, 1, 0)) ||
            (s = check_hyper(op, "optimizer->beta2", o->beta2, 0, 1, 1, 0)) ||
            (s = check_hyper(op, "optimizer->eps", o->eps, 0, 0, INFINITY, 0)) ||
            (s = check_hyper(op, "optimizer->weight_decay", o->weight_decay, 0, 1, INFINITY, 0)) ||
            (s = eki_check_ptr(op, "optimizer->exp_avg", o->exp_avg, cells)) ||
            (s = eki_check_ptr(op, "optimizer->exp_avg_sq", o->exp_avg_sq, cells)))
            return s;
        if (o->step < 1)
            return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: optimizer->step=%lld must be >= 1", op, (long long)o->step);
        /* as ek_adam_update_f32 computes them */
        double bias1 = 1.0 - pow((double)o->beta1, (double)o->step), bias2 = 1.0 - pow((double)o->beta2, (double)o->step);
        out->step_size = (float)(o->lr / bias1), out->bias2_sqrt = (float)sqrt(bias2), out->decay = 1.0f - o->lr * o->weight_decay;
        return EK_OK;
    }
    default:
        return eki_fail(EK_ERR_INVALID_ARGUMENT,
                        "%s: optimizer->kind=%d is not SGD (0), Adagrad (1), row-wise Adagrad (2) or Adam (3)", op,
                        (int)o->kind);
    }
}

/* The f32 update of row r held in w (the table's row, or its widened copy). */
static void update_row(const eki_opt *p, int64_t r, int64_t dim, const float *g, float *w) {
    const ek_optimizer *o = &p->o;
    const eki_kernels *k = p->k;
    switch (o->kind) {
    case EK_OPT_SGD:
        k->sgd_row(w, o->momentum != 0.0f ? o->momentum_buffer + r * dim : NULL, g, dim, o->lr, o->momentum,
                   o->dampening, o->weight_decay, o->nesterov);
        break;
    case EK_OPT_ADAGRAD: k->adagrad_row(w, o->state_sum + r * dim, g, dim, o->lr, o->eps, o->weight_decay); break;
    case EK_OPT_ROWWISE_ADAGRAD: rowwise_adagrad_row(k, w, o->state_sum + r, g, dim, o->lr, o->eps, o->weight_decay); break;
    case EK_OPT_ADAM:
        k->adam_row(w, o->exp_avg + r * dim, o->exp_avg_sq + r * dim, g, dim, o->beta1, o->beta2, o->eps,
                    o->weight_decay, p->step_size, p->bias2_sqrt, p->decay);
        break;
    }
}

void eki_optimizer_row(const eki_opt *p, int64_t r, int64_t dim, const float *g, void *table, float *scratch) {
    if (p->dtype == EK_DTYPE_F32) {
        update_row(p, r, dim, g, (float *)table + r * p->stride);
        return;
    }
    uint16_t *row = (uint16_t *)table + r * p->stride;
    if (p->fused_bf16_sgd) {
        eki_bf16_sgd_row(p, r, dim, 1.0f, g, table);
        return;
    }
    (p->dtype == EK_DTYPE_F16 ? p->k->cvt_f16 : p->k->cvt_bf16)(dim, row, scratch);
    update_row(p, r, dim, g, scratch);
    eki_round_row_half(p->dtype, dim, scratch, row, p->o.rounding, p->round_key, r);
}

void eki_optimizer_prefetch_state(const eki_opt *p, int64_t r, int64_t dim) {
    const ek_optimizer *o = &p->o;
    size_t floats = sizeof(float) * (size_t)dim;
    switch (o->kind) {
    case EK_OPT_SGD:
        if (o->momentum != 0.0f) EKI_PREFETCH_SPAN(o->momentum_buffer + r * dim, floats, 1);
        break;
    case EK_OPT_ADAGRAD: EKI_PREFETCH_SPAN(o->state_sum + r * dim, floats, 1); break;
    case EK_OPT_ROWWISE_ADAGRAD: __builtin_prefetch(o->state_sum + r, 1, 3); break;
    case EK_OPT_ADAM:
        EKI_PREFETCH_SPAN(o->exp_avg + r * dim, floats, 1);
        EKI_PREFETCH_SPAN(o->exp_avg_sq + r * dim, floats, 1);
        break;
    }
}

uint32_t ek_round_bits(uint64_t seed, int64_t step, int64_t row, int64_t column) {
    return eki_round_bits(seed, step, row, column);
}

/* ek_optimizer_update on an fp16 / bf16 table: each present row widened, updated, rounded back.
 * Rows are unique and the rounding is keyed by (row, column): parallel and exact. */
static ek_status half_update(const char *op, const eki_call *t, int64_t nnz, const int64_t *rows, const float *values,
                             const ek_optimizer *optimizer) {
    eki_opt p;
    ek_status s;
    if ((s = eki_prepare_optimizer(op, optimizer, t->rows, t->dim, t->dtype, &p)) ||
        (s = check_update(op, t->rows, t->dim, nnz, rows, values, (const float *)t->raw)))
        return s;
    p.stride = t->stride;
    int64_t dim = t->dim;
    int T = nnz * dim >= EKI_PARALLEL_MIN_WORK ? eki_num_threads() : 1;
    size_t mark = eki_scratch_mark();
    float *scratch = eki_scratch_alloc(sizeof(float) * (size_t)dim * (size_t)T);
    if (!scratch) return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch rows for %d threads", op, T);
    void *table = (void *)t->raw;
    /* a share of the rows per slot, with its own scratch row (internal.h: slots) */
    EKI_PARALLEL_FOR(T > 1, (static, 1),
    for (int slot = 0; slot < T; slot++) {
        float *w = scratch + (size_t)dim * (size_t)slot;
        for (int64_t i = eki_share(nnz, slot, T), e = eki_share(nnz, slot + 1, T); i < e; i++) {
            if (rows && i + EKI_PREFETCH_ROWS < e) eki_optimizer_prefetch(&p, rows[i + EKI_PREFETCH_ROWS], dim, table);
            eki_optimizer_row(&p, row_at(rows, i), dim, values + i * dim, table, w);
        }
    });
    eki_scratch_release(mark);
    return EK_OK;
}

ek_status ek_optimizer_update(const ek_table *table, int64_t nnz, const int64_t *rows, const float *values,
                              const ek_optimizer *optimizer) {
    static const char op[] = "optimizer_update";
    eki_call t;
    ek_optimizer o;
    ek_status s;
    if ((s = eki_decode_table_training(op, table, &t))) return s;
    if (t.dtype != EK_DTYPE_F32) return half_update(op, &t, nnz, rows, values, optimizer);
    if ((s = eki_copy_struct(op, "optimizer", "ek_optimizer", optimizer, EKI_OPTIMIZER_SIZE_0_2, sizeof o, &o)))
        return s;
    switch (o.kind) {
    case EK_OPT_SGD:
        return sgd_update(t.rows, t.dim, nnz, rows, values, o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov,
                          t.data, t.stride, o.momentum_buffer);
    case EK_OPT_ADAGRAD:
        return adagrad_update(t.rows, t.dim, nnz, rows, values, o.lr, o.eps, o.weight_decay, t.data, t.stride, o.state_sum);
    case EK_OPT_ROWWISE_ADAGRAD:
        return rowwise_adagrad_update(t.rows, t.dim, nnz, rows, values, o.lr, o.eps, o.weight_decay, t.data, t.stride,
                                      o.state_sum);
    case EK_OPT_ADAM:
        return adam_update(t.rows, t.dim, nnz, rows, values, o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.step,
                           t.data, t.stride, o.exp_avg, o.exp_avg_sq);
    default:
        return eki_fail(EK_ERR_INVALID_ARGUMENT,
                        "%s: optimizer->kind=%d is not SGD (0), Adagrad (1), row-wise Adagrad (2) or Adam (3)", op,
                        (int)o.kind);
    }
}
