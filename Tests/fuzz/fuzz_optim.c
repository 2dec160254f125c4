/* fuzz_optim.c — the sparse optimizer row updates SGD (momentum, dampening, nesterov, weight decay),
 * Adagrad and Adam/AdamW (embeddingkit.h section 9): rows NULL (dense), coalesced, unsorted, repeated,
 * out of range; hyperparameters inside and outside their domains; step counts; missing state tables.
 *
 * Input: [flags] [optimizer] [num_rows] [dim] [nnz] [rows kind] [corruption: 2] [lr] [momentum]
 *        [dampening] [weight_decay] [nesterov] [eps] [beta1] [beta2] [step] [nulls], then the rows, the
 *        gradient values, the weight table and the state tables. */
#include "fuzz_common.h"

enum { S_ROWS, S_VALUES, S_WEIGHT, S_STATE1, S_STATE2, S_COUNT };
enum { K_LR, K_MOMENTUM, K_DAMPENING, K_DECAY, K_EPS, K_BETA };

/* A hyperparameter: a typical value for its kind, or 1 in 8 a value at or past a domain's edge. */
static float hyper(fz_in *f, int kind) {
    static const float odd[16] = {-0.0625f, NAN, INFINITY, -INFINITY, 1.0f, 0.0f, -0.0f, 1e-40f,
                                  FLT_MAX, 0.5f, -1.0f, 2.0f, 1e-8f, 0.999f, 1e30f, 0.9f};
    uint8_t b = fz_u8(f);
    float v;
    if (b >= 0xE0) {
        v = odd[b & 15];
    } else {
        switch (kind) {
        case K_LR: v = (float)(b % 32) / 16.0f; break;
        case K_MOMENTUM: v = (float)(b % 16) / 16.0f; break;
        case K_DAMPENING: v = (float)(b % 16) / 16.0f - 0.25f; break;
        case K_DECAY: v = (float)(b % 8) / 16.0f; break;
        case K_EPS: v = b % 2 ? 1e-8f : (float)(b % 8 + 1) / 64.0f; break;
        default: v = (float)(b % 16) / 16.0f; break;
        }
    }
    if (!isfinite(v) || fabsf(v) > 1e6f || (v != 0.0f && fabsf(v) < 1e-12f)) f->any_special = 1;
    return v;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* lo <= v < hi (or <= hi), as the header's domains; NaN is outside every domain. */
static int in_range(float v, float lo, int lo_incl, float hi, int hi_incl) {
    return (lo_incl ? v >= lo : v > lo) && (hi_incl ? v <= hi : v < hi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in f = fz_begin(data, size);
    int op = fz_u8(&f) % 3, wild = 0;
    int64_t num = fz_size(&f, 64, &wild), dim = fz_size(&f, 16, &wild), nnz = fz_size(&f, 64, &wild);
    uint8_t rows_kind = fz_u8(&f), corrupt_at = fz_u8(&f), corrupt_value = fz_u8(&f);
    float lr = hyper(&f, K_LR), momentum = hyper(&f, K_MOMENTUM), dampening = hyper(&f, K_DAMPENING);
    float weight_decay = hyper(&f, K_DECAY);
    int32_t nesterov = fz_flag(&f);
    float eps = hyper(&f, K_EPS), beta1 = hyper(&f, K_BETA), beta2 = hyper(&f, K_BETA);
    static const int64_t steps[16] = {1, 2, 3, 10, 1000, 0, -1, INT64_MIN, INT64_MAX, INT64_C(1) << 31, 5, 100, 1, 1, 2, 7};
    int64_t step = steps[fz_u8(&f) & 15];
    fz_nulls z = fz_decode_nulls(&f, S_COUNT);

    int64_t table_elems = wild ? FZ_DUMMY : num * dim, value_elems = wild ? FZ_DUMMY : nnz * dim;
    int64_t row_elems = wild ? FZ_DUMMY : nnz;
    fz_bufs R = {0};
    int64_t *rows = fz_alloc(&R, "rows", 8 * (size_t)row_elems, 1);
    float *values = fz_alloc(&R, "values", 4 * (size_t)value_elems, 1);
    float *weight = fz_alloc(&R, "weight", 4 * (size_t)table_elems, 0);
    float *state1 = fz_alloc(&R, op == 0 ? "momentum_buffer" : op == 1 ? "state_sum" : "exp_avg", 4 * (size_t)table_elems, 0);
    float *state2 = fz_alloc(&R, "exp_avg_sq", 4 * (size_t)table_elems, 0);
    int rows_null = rows_kind % 4 == 0;
    if (!wild) {
        for (int64_t i = 0; i < nnz; i++) rows[i] = fz_index(&f, num);
        if (rows_kind % 4 == 1 || rows_kind % 4 == 2) { /* coalesced: sorted, repeats bumped */
            qsort(rows, (size_t)nnz, 8, cmp_i64);
            for (int64_t i = 1; i < nnz; i++)
                if (rows[i] <= rows[i - 1] && rows[i - 1] < INT64_MAX) rows[i] = rows[i - 1] + 1;
        }
        if (rows_kind % 4 == 2 && nnz > 0) { /* then one entry broken */
            int64_t at = corrupt_at % nnz;
            const int64_t v[6] = {at > 0 ? rows[at - 1] : -1, -1, num, INT64_MIN, INT64_MAX, at > 0 && rows[at - 1] > INT64_MIN ? rows[at - 1] - 1 : 0};
            rows[at] = v[corrupt_value % 6];
        }
        fz_floats(&f, values, nnz * dim);
        fz_floats(&f, weight, num * dim);
        fz_floats(&f, state1, num * dim);
        fz_floats(&f, state2, num * dim);
    }
    fz_freeze(&R);

    const int64_t *p_rows = rows_null ? NULL : fz_ptr(&z, S_ROWS, rows, nnz);
    const float *p_values = fz_ptr(&z, S_VALUES, values, fz_elems(nnz, dim));
    float *p_w = fz_ptr(&z, S_WEIGHT, weight, fz_elems(num, dim));
    float *p_s1 = fz_ptr(&z, S_STATE1, state1, fz_elems(num, dim));
    float *p_s2 = fz_ptr(&z, S_STATE2, state2, fz_elems(num, dim));
    fz_mask m = 0;
    fz_need_size(&m, num, 0), fz_need_size(&m, dim, 1), fz_need_size(&m, nnz, 0);
    fz_need_bytes(&m, num, dim, 4), fz_need_bytes(&m, nnz, dim, 4);
    if (p_rows) fz_need_int_bytes(&m, nnz, 1, 8);
    int size_bad = m != 0;
    if (wild && !size_bad) goto done;
    if (fz_allowed("optim-values-overflow") && fz_mul_overflows(nnz, dim)) goto done; /* finding F4 */
    fz_need_ptr(&m, p_values, nnz, dim), fz_need_ptr(&m, p_w, num, dim);
    if (!p_rows && nnz >= 0 && num >= 0 && nnz > num) m |= FZ_BIT(EK_ERR_SHAPE);
    if (p_rows && !wild)
        for (int64_t i = 0; i < nnz; i++) {
            if (rows[i] < 0 || rows[i] >= num) m |= FZ_BIT(EK_ERR_INDEX_OUT_OF_RANGE);
            if (i > 0 && rows[i] <= rows[i - 1]) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT); /* not coalesced */
        }
    const fz_mask bad_arg = FZ_BIT(EK_ERR_INVALID_ARGUMENT);
    if (!in_range(lr, 0, 1, INFINITY, 0)) m |= bad_arg;
    if (!in_range(weight_decay, 0, 1, INFINITY, 0)) m |= bad_arg;
    if (op == 0) {
        if (!in_range(momentum, 0, 1, INFINITY, 0)) m |= bad_arg;
        if (!in_range(dampening, -INFINITY, 0, INFINITY, 0)) m |= bad_arg;
        if (nesterov && !(momentum > 0.0f && dampening == 0.0f)) m |= bad_arg;
        fz_need_flag(&m, nesterov);
        if (momentum != 0.0f) fz_need_ptr(&m, p_s1, num, dim);
    } else if (op == 1) {
        if (!in_range(eps, 0, 1, INFINITY, 0)) m |= bad_arg;
        fz_need_ptr(&m, p_s1, num, dim);
    } else {
        if (!in_range(beta1, 0, 1, 1, 0) || !in_range(beta2, 0, 1, 1, 0) || !in_range(eps, 0, 0, INFINITY, 0)) m |= bad_arg;
        if (step < 1) m |= bad_arg;
        fz_need_ptr(&m, p_s1, num, dim), fz_need_ptr(&m, p_s2, num, dim);
    }
    if (wild) m = FZ_ANY_ERROR;

    static const char *names[3] = {"ek_sgd_update_f32", "ek_adagrad_update_f32", "ek_adam_update_f32"};
    fz_ctx_set("%s(num_rows=%lld, dim=%lld, nnz=%lld, lr=%.9g, momentum=%.9g, dampening=%.9g, weight_decay=%.9g, "
               "nesterov=%d, eps=%.9g, beta1=%.9g, beta2=%.9g, step=%lld)",
               names[op], (long long)num, (long long)dim, (long long)nnz, (double)lr, (double)momentum, (double)dampening,
               (double)weight_decay, (int)nesterov, (double)eps, (double)beta1, (double)beta2, (long long)step);
    if (!wild) fz_ctx_i64s("rows", p_rows, nnz);
    fz_reset(&R);
    ek_status s;
    if (op == 0) s = ek_sgd_update_f32(num, dim, nnz, p_rows, p_values, lr, momentum, dampening, weight_decay, nesterov, p_w, p_s1);
    else if (op == 1) s = ek_adagrad_update_f32(num, dim, nnz, p_rows, p_values, lr, eps, weight_decay, p_w, p_s1);
    else s = ek_adam_update_f32(num, dim, nnz, p_rows, p_values, lr, beta1, beta2, eps, weight_decay, step, p_w, p_s1, p_s2);
    fz_check_status(s, m);
    fz_check_buffers(&R, s);
    if (s == EK_OK && !f.any_special) {
        size_t bytes = 4 * (size_t)(num * dim);
        float *rw = malloc(bytes + 4), *r1 = malloc(bytes + 4), *r2 = malloc(bytes + 4), *scale = malloc(bytes + 4);
        memcpy(rw, fz_initial(&R, weight), bytes), memcpy(r1, fz_initial(&R, state1), bytes);
        memcpy(r2, fz_initial(&R, state2), bytes);
        if (op == 0) ekref_sgd(dim, nnz, p_rows, values, lr, momentum, dampening, weight_decay, nesterov, rw, r1);
        else if (op == 1) ekref_adagrad(dim, nnz, p_rows, values, lr, eps, weight_decay, rw, r1);
        else ekref_adam(dim, nnz, p_rows, values, lr, beta1, beta2, eps, weight_decay, step, rw, r1, r2);
        const float *w0 = fz_initial(&R, weight);
        for (int64_t i = 0; i < num * dim; i++) /* Adam: w * decay - step cancels; float vs double denominators */
            scale[i] = (float)(2.0 * (fabs((double)w0[i]) * (1.0 + fabs((double)lr * weight_decay)) + fabs((double)rw[i])));
        fz_close("weight", weight, rw, num * dim, op == 2 ? scale : NULL);
        /* the state tables an update does not use stay as they were, as in the reference */
        fz_close(op == 0 ? "momentum_buffer" : op == 1 ? "state_sum" : "exp_avg", state1, r1, num * dim, NULL);
        fz_close("exp_avg_sq", state2, r2, num * dim, NULL);
        free(rw), free(r1), free(r2), free(scale);
    }
done:
    fz_free_all(&R);
    return 0;
}
