/* reduce.c — sums and maxima over one dimension, and the sum that undoes a broadcast (section 11 of
 * embeddingkit.h). Determinism: each output element is accumulated by one thread, its terms added in
 * the input's order starting from 0 (single precision, as the sequential loop), so results are
 * bit-identical for any thread count; threads split the outputs (leading indices, blocks of
 * columns), never one output's terms. ek_norm_f32 (clipGradNorm's norm) accumulates in double on one
 * thread, in order. */
#include <math.h>
#include <string.h>

#include "strided.h"

/* Columns per task when the innermost dimension is kept: 1 KiB of outputs stays in L1 while the
 * reduced rows stream past. */
#define EKI_REDUCE_COLS 256

static ek_status check_split(const char *op, int64_t outer, int64_t n, int64_t inner, int64_t *total, int64_t *kept) {
    ek_status s;
    int64_t on;
    if ((s = eki_check_size(op, "outer", outer, 0)) || (s = eki_check_size(op, "n", n, 0)) ||
        (s = eki_check_size(op, "inner", inner, 0)) || (s = eki_check_bytes(op, "outer * n", outer, n, sizeof(float))))
        return s;
    on = outer * n;
    if ((s = eki_check_bytes(op, "x", on, inner, sizeof(float))) ||
        (s = eki_check_bytes(op, "outer * inner", outer, inner, sizeof(int64_t))))
        return s;
    *total = on * inner;
    *kept = outer * inner;
    return EK_OK;
}

ek_status ek_sum_dim_f32(int64_t outer, int64_t n, int64_t inner, const float *x, float *y) {
    static const char op[] = "sum_dim";
    ek_status s;
    int64_t total, kept;
    if ((s = check_split(op, outer, n, inner, &total, &kept)) || (s = eki_check_ptr(op, "x", x, total)) ||
        (s = eki_check_ptr(op, "y", y, kept)))
        return s;
    if (kept == 0) return EK_OK;
    if (inner == 1) { /* one contiguous run per output */
        EKI_PARALLEL_FOR(outer > 1 && total >= EKI_PARALLEL_MIN_WORK, (static),
        for (int64_t o = 0; o < outer; o++) {
            const float *xo = x + o * n;
            float acc = 0.0f;
            for (int64_t k = 0; k < n; k++) acc += xo[k];
            y[o] = acc;
        });
        return EK_OK;
    }
    const int64_t blocks = eki_ceil_div(inner, EKI_REDUCE_COLS), tasks = outer * blocks;
    EKI_PARALLEL_FOR(tasks > 1 && total >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / blocks, c0 = (t % blocks) * EKI_REDUCE_COLS;
        int64_t w = inner - c0 < EKI_REDUCE_COLS ? inner - c0 : EKI_REDUCE_COLS;
        const float *restrict xo = x + o * n * inner + c0;
        float acc[EKI_REDUCE_COLS]; /* the block's sums, in L1 while the rows stream past */
        for (int64_t i = 0; i < w; i++) acc[i] = 0.0f;
        for (int64_t k = 0; k < n; k++) {
            const float *restrict xk = xo + k * inner;
            for (int64_t i = 0; i < w; i++) acc[i] += xk[i];
        }
        memcpy(y + o * inner + c0, acc, sizeof(float) * (size_t)w);
    });
    return EK_OK;
}

ek_status ek_sum_to_f32(int64_t rank, const int64_t *shape, const float *x, float *y, int64_t y_len,
                        const int64_t *y_strides) {
    static const char op[] = "sum_to";
    ek_status s;
    int64_t count;
    if ((s = eki_check_shape(op, rank, shape, sizeof(float), &count)) || (s = eki_check_ptr(op, "x", x, count)) ||
        (s = eki_check_operand(op, "y", rank, shape, count, y, y_len, y_strides)))
        return s;
    int64_t kept_shape[EK_MAX_RANK]; /* the dimensions y keeps must reach distinct elements */
    for (int64_t d = 0; d < rank; d++) kept_shape[d] = y_strides[d] ? shape[d] : 1;
    if ((s = eki_check_distinct(op, "y", rank, kept_shape, y_strides))) return s;
    if (count == 0) return EK_OK;

    int64_t x_strides[EK_MAX_RANK], step = 1;
    for (int64_t d = rank - 1; d >= 0; d--) {
        x_strides[d] = step;
        step *= shape[d];
    }
    const int64_t *strides[2] = {x_strides, y_strides};
    eki_layout l;
    eki_coalesce(rank, shape, 2, strides, &l);
    const int last = l.rank - 1;
    const int64_t inner = l.shape[last], rows = count / inner, sy = l.stride[1][last];
    /* tasks: leading indices y keeps (rank >= 2) times blocks of kept innermost columns */
    const int64_t leads = l.rank >= 2 && l.stride[1][0] != 0 ? l.shape[0] : 1, rows_per_lead = rows / leads;
    const int64_t width = sy != 0 ? EKI_REDUCE_COLS : inner, blocks = eki_ceil_div(inner, width);
    const int64_t tasks = leads * blocks;
    EKI_PARALLEL_FOR(tasks > 1 && count >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t t = 0; t < tasks; t++) {
        int64_t lead = t / blocks, c0 = (t % blocks) * width, w = inner - c0 < width ? inner - c0 : width;
        int64_t r0 = lead * rows_per_lead, r1 = r0 + rows_per_lead, off[2];
        for (int64_t r = r0; r < r1; r++) { /* the task's outputs, zeroed */
            eki_row_offsets(&l, r, off);
            float *yr = y + off[1] + c0 * sy;
            for (int64_t i = 0; i < w; i++) yr[i * sy] = 0.0f;
        }
        for (int64_t r = r0; r < r1; r++) { /* then their terms, in x's order */
            eki_row_offsets(&l, r, off);
            const float *xr = x + off[0] + c0;
            float *yr = y + off[1] + c0 * sy;
            if (sy == 1) {
                for (int64_t i = 0; i < w; i++) yr[i] += xr[i];
            } else if (sy == 0) {
                float acc = yr[0];
                for (int64_t i = 0; i < w; i++) acc += xr[i];
                yr[0] = acc;
            } else {
                for (int64_t i = 0; i < w; i++) yr[i * sy] += xr[i];
            }
        }
    });
    return EK_OK;
}

ek_status ek_max_dim_f32(int64_t outer, int64_t n, int64_t inner, const float *x, float *values, int64_t *indices) {
    static const char op[] = "max_dim";
    ek_status s;
    int64_t total, kept;
    if ((s = check_split(op, outer, n, inner, &total, &kept)) || (s = eki_check_ptr(op, "x", x, total)) ||
        (s = eki_check_ptr(op, "values", values, kept)) || (s = eki_check_ptr(op, "indices", indices, kept)))
        return s;
    if (kept == 0) return EK_OK;
    if (n == 0) return eki_fail(EK_ERR_SHAPE, "%s: n=0: the maximum of no elements (outer=%lld, inner=%lld)", op,
                                (long long)outer, (long long)inner);
    const int64_t blocks = eki_ceil_div(inner, EKI_REDUCE_COLS), tasks = outer * blocks;
    EKI_PARALLEL_FOR(tasks > 1 && total >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / blocks, c0 = (t % blocks) * EKI_REDUCE_COLS;
        int64_t w = inner - c0 < EKI_REDUCE_COLS ? inner - c0 : EKI_REDUCE_COLS;
        float *restrict m = values + o * inner + c0;
        int64_t *restrict at = indices + o * inner + c0;
        const float *restrict xo = x + o * n * inner + c0;
        for (int64_t i = 0; i < w; i++) m[i] = xo[i], at[i] = 0;
        for (int64_t k = 1; k < n; k++) {
            const float *restrict xk = xo + k * inner;
            for (int64_t i = 0; i < w; i++) {
                float v = xk[i];
                if (v > m[i] || (isnan(v) && !isnan(m[i]))) m[i] = v, at[i] = k;
            }
        }
    });
    return EK_OK;
}

ek_status ek_max_dim_backward_f32(int64_t outer, int64_t n, int64_t inner, const int64_t *indices,
                                  const float *grad_values, float *grad_x) {
    static const char op[] = "max_dim_backward";
    ek_status s;
    int64_t total, kept;
    if ((s = check_split(op, outer, n, inner, &total, &kept)) || (s = eki_check_ptr(op, "indices", indices, kept)) ||
        (s = eki_check_ptr(op, "grad_values", grad_values, kept)) || (s = eki_check_ptr(op, "grad_x", grad_x, total)) ||
        (s = eki_check_indices(op, eki_i64(indices), kept, n, "positions along the dimension")))
        return s;
    if (total == 0) return EK_OK;
    EKI_PARALLEL_FOR(outer > 1 && total >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t o = 0; o < outer; o++) {
        float *go = grad_x + o * n * inner;
        memset(go, 0, sizeof(float) * (size_t)(n * inner));
        for (int64_t i = 0; i < inner; i++) go[indices[o * inner + i] * inner + i] = grad_values[o * inner + i];
    });
    return EK_OK;
}

ek_status ek_norm_f32(int64_t n, const float *x, float p, double *acc) {
    static const char op[] = "norm";
    ek_status s;
    if ((s = eki_check_size(op, "n", n, 0)) || (s = eki_check_ptr(op, "x", x, n)) || (s = eki_check_ptr(op, "acc", acc, 1)))
        return s;
    if (!(p > 0)) return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: p=%g must be positive or infinity", op, (double)p);
    double a = *acc;
    if (isinf(p)) {
        for (int64_t i = 0; i < n && !isnan(a); i++) a = isnan(x[i]) ? (double)NAN : fmax(a, fabs((double)x[i]));
    } else {
        const double e = (double)p;
        for (int64_t i = 0; i < n; i++) a += pow(fabs((double)x[i]), e);
    }
    *acc = a;
    return EK_OK;
}
