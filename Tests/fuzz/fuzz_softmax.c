/* fuzz_softmax.c — softmax / log-softmax forward and backward (in place or not) and the fused
 * cross-entropy, int64 and int32 targets (embeddingkit.h section 8): logits scaled up to 2^20,
 * ignore_index (matching, past int32, INT64_MIN), out-of-range targets, label_smoothing in and out of
 * [0, 1], every reduction and invalid ones, grad_logits NULL or not.
 *
 * Input: [flags] [rows] [cols] [scale exponent] [aliasing] [ignore_index] [label_smoothing]
 *        [reduction] [grad_logits?] [nulls], then x (the logits), y, grad_y, the targets (one byte each:
 *        an index, or ignore_index). */
#include "fuzz_common.h"

enum { S_X, S_Y, S_GRAD_Y, S_GRAD_X, S_TARGETS, S_LOSS, S_COUNT };

static float decode_smoothing(fz_in *f) {
    static const float odd[8] = {-0.0f, -0.0625f, 1.0625f, NAN, INFINITY, 1e-40f, 1.0f, 0.999f};
    uint8_t b = fz_u8(f);
    return b < 0xE0 ? (float)(b % 17) / 16.0f : odd[b & 7];
}

static int64_t decode_ignore(fz_in *f, int64_t classes) {
    uint8_t b = fz_u8(f);
    switch (b % 8) {
    case 0: case 1: case 2: return -100;
    case 3: return classes > 0 ? b % classes : 0; /* a real class is ignored */
    case 4: return -1;
    case 5: return INT64_MIN;
    case 6: return (INT64_C(1) << 32) - 100; /* narrows to -100 in int32, but never equals an int32 target */
    default: return classes;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in f = fz_begin(data, size);
    int wild = 0;
    int64_t rows = fz_size(&f, 32, &wild), cols = fz_size(&f, 64, &wild);
    float mult = ldexpf(1.0f, fz_u8(&f) % 21);
    uint8_t alias = fz_u8(&f);
    int64_t ignore_index = decode_ignore(&f, wild ? 1 : cols);
    float smoothing = decode_smoothing(&f);
    uint8_t rb = fz_u8(&f);
    static const int32_t bad_reductions[4] = {3, -1, 7, INT32_MIN};
    ek_reduction reduction = (ek_reduction)(rb < 0xF0 ? rb % 3 : bad_reductions[rb & 3]);
    int want_grad = fz_u8(&f) & 1;
    fz_nulls z = fz_decode_nulls(&f, S_COUNT);

    int64_t cells = wild ? FZ_DUMMY : rows * cols, nrows = wild ? FZ_DUMMY : rows;
    fz_bufs R = {0};
    float *x = fz_alloc(&R, "x", 4 * (size_t)cells, 1);
    float *y_in = fz_alloc(&R, "y (backward input)", 4 * (size_t)cells, 1);
    float *gy = fz_alloc(&R, "grad_y", 4 * (size_t)cells, 1);
    int64_t *t64 = fz_alloc(&R, "targets(i64)", 8 * (size_t)nrows, 1);
    int32_t *t32 = fz_alloc(&R, "targets(i32)", 4 * (size_t)nrows, 1);
    float *y = fz_alloc(&R, "y", 4 * (size_t)cells, 0);
    float *gx = fz_alloc(&R, "grad_x", 4 * (size_t)cells, 0);
    float *xio = fz_alloc(&R, "x (in place)", 4 * (size_t)cells, 0);   /* y aliasing x */
    float *gio = fz_alloc(&R, "grad_y (in place)", 4 * (size_t)cells, 0); /* grad_x aliasing grad_y */
    float *loss = fz_alloc(&R, "loss", 4 * (size_t)(nrows > 0 ? nrows : 1), 0);
    float *grad_logits = fz_alloc(&R, "grad_logits", 4 * (size_t)cells, 0);
    int64_t *wide32 = calloc((size_t)nrows + 1, 8);
    if (!wild) {
        fz_floats(&f, x, cells);
        for (int64_t i = 0; i < cells; i++) x[i] *= mult;
        fz_floats(&f, y_in, cells);
        fz_floats(&f, gy, cells);
        for (int64_t i = 0; i < rows; i++) {
            uint8_t b = fz_u8(&f);
            fz_in one = {&b, 1, 0, 0, 0}; /* the same byte, decoded as an index */
            t64[i] = b >= 0xC0 && b < 0xE0 ? ignore_index : fz_index(&one, cols);
        }
        memcpy(xio, x, 4 * (size_t)cells);
        memcpy(gio, gy, 4 * (size_t)cells);
    }
    fz_narrow(t64, t32, wide32, nrows);
    fz_freeze(&R);
    float *ref = malloc(4 * (size_t)cells + 4), *ref_loss = malloc(4 * (size_t)nrows + 8);
    float *scale = malloc(4 * (size_t)cells + 4);

    fz_mask base = 0;
    fz_need_size(&base, rows, 0), fz_need_size(&base, cols, 1), fz_need_bytes(&base, rows, cols, 4);
    int size_bad = base != 0;

    /* ---- softmax / log-softmax, forward and backward ---- */
    /* finding F3: the softmax kernels compute rows * cols before checking it */
    int skip_f3 = fz_allowed("softmax-cells-overflow") && fz_mul_overflows(rows, cols);
    for (int op = 0; op < 4 && (!wild || size_bad) && !skip_f3; op++) {
        int log_space = op & 1, backward = op >> 1, in_place = (alias >> op) & 1;
        const float *p_a = fz_ptr(&z, backward ? S_Y : S_X, backward ? y_in : in_place ? xio : x, fz_elems(rows, cols));
        const float *p_gy = backward ? fz_ptr(&z, S_GRAD_Y, in_place ? gio : gy, fz_elems(rows, cols)) : NULL;
        float *p_out = fz_ptr(&z, S_GRAD_X, backward ? (in_place ? gio : gx) : (in_place ? xio : y), fz_elems(rows, cols));
        if (in_place && !backward && p_a) p_out = (float *)p_a; /* y aliases x (allowed) */
        fz_mask m = base;
        fz_need_ptr(&m, p_a, rows, cols), fz_need_ptr(&m, p_out, rows, cols);
        if (backward) fz_need_ptr(&m, p_gy, rows, cols);
        if (wild) m = FZ_ANY_ERROR;
        static const char *names[4] = {"ek_softmax_forward_f32", "ek_log_softmax_forward_f32", "ek_softmax_backward_f32",
                                       "ek_log_softmax_backward_f32"};
        fz_ctx_set("%s(rows=%lld, cols=%lld)%s", names[op], (long long)rows, (long long)cols, in_place ? " in place" : "");
        if (!wild) {
            fz_ctx_f32s(backward ? "y" : "x", backward ? y_in : x, cells);
            if (backward) fz_ctx_f32s("grad_y", gy, cells);
        }
        fz_reset(&R);
        ek_status s;
        switch (op) {
        case 0: s = ek_softmax_forward_f32(rows, cols, p_a, p_out); break;
        case 1: s = ek_log_softmax_forward_f32(rows, cols, p_a, p_out); break;
        case 2: s = ek_softmax_backward_f32(rows, cols, p_a, p_gy, p_out); break;
        default: s = ek_log_softmax_backward_f32(rows, cols, p_a, p_gy, p_out); break;
        }
        fz_check_status(s, m);
        fz_check_buffers(&R, s);
        if (s != EK_OK || f.any_special) continue;
        const float *used_scale = NULL;
        if (!backward) {
            ekref_softmax(rows, cols, x, ref, log_space);
        } else {
            ekref_softmax_backward(rows, cols, y_in, gy, ref, log_space);
            for (int64_t i = 0; i < rows; i++) { /* the terms a float dot product sums and cancels */
                double dot = 0.0;
                for (int64_t c = 0; c < cols; c++)
                    dot += log_space ? fabs((double)gy[i * cols + c]) : fabs((double)gy[i * cols + c] * y_in[i * cols + c]);
                for (int64_t c = 0; c < cols; c++) {
                    double yv = y_in[i * cols + c], g = fabs((double)gy[i * cols + c]);
                    scale[i * cols + c] = (float)(log_space ? g + exp(yv) * dot : fabs(yv) * (g + dot));
                }
            }
            used_scale = scale;
        }
        fz_close(backward ? "grad_x" : "y", p_out, ref, rows * cols, used_scale);
    }

    /* ---- cross-entropy ---- */
    for (int w32 = 0; w32 <= 1 && (!wild || size_bad); w32++) {
        const int64_t *tx = w32 ? wide32 : t64;
        const void *p_t = fz_ptr(&z, S_TARGETS, w32 ? (void *)t32 : (void *)t64, rows);
        const float *p_x = fz_ptr(&z, S_X, x, fz_elems(rows, cols));
        int64_t loss_count = reduction == EK_REDUCTION_NONE ? rows : 1;
        float *p_loss = fz_ptr(&z, S_LOSS, loss, loss_count);
        float *p_grad = want_grad ? fz_ptr(&z, S_GRAD_X, grad_logits, fz_elems(rows, cols)) : NULL;
        fz_mask m = base;
        fz_need_int_bytes(&m, rows, 1, w32 ? 4 : 8);
        if (wild && !m) continue; /* valid only with huge buffers: cannot be called */
        fz_need_ptr(&m, p_x, rows, cols), fz_need_ptr(&m, p_t, rows, 1), fz_need_ptr(&m, p_loss, loss_count, 1);
        if ((unsigned)reduction > EK_REDUCTION_SUM) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
        if (!(smoothing >= 0.0f && smoothing <= 1.0f)) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
        if (!wild && p_t)
            for (int64_t i = 0; i < rows; i++)
                if (tx[i] != ignore_index && (tx[i] < 0 || tx[i] >= cols)) m |= FZ_BIT(EK_ERR_INDEX_OUT_OF_RANGE);
        if (wild) m = FZ_ANY_ERROR;
        fz_ctx_set("ek_cross_entropy_f32_%s(rows=%lld, classes=%lld, ignore_index=%lld, label_smoothing=%.9g, reduction=%d, "
                   "grad_logits=%s)",
                   w32 ? "i32" : "i64", (long long)rows, (long long)cols, (long long)ignore_index, (double)smoothing,
                   (int)reduction, p_grad ? "set" : "NULL");
        if (!wild) fz_ctx_i64s("targets", tx, rows), fz_ctx_f32s("logits", x, cells);
        fz_reset(&R);
        ek_status s = w32 ? ek_cross_entropy_f32_i32(rows, cols, p_x, p_t, ignore_index, smoothing, reduction, p_loss, p_grad)
                          : ek_cross_entropy_f32_i64(rows, cols, p_x, p_t, ignore_index, smoothing, reduction, p_loss, p_grad);
        fz_check_status(s, m);
        fz_check_buffers(&R, s);
        if (s != EK_OK || f.any_special) continue;
        ekref_cross_entropy(rows, cols, x, tx, ignore_index, smoothing, reduction, ref_loss, p_grad ? ref : NULL);
        fz_close("loss", loss, ref_loss, loss_count, NULL);
        if (p_grad) fz_close("grad_logits", grad_logits, ref, rows * cols, NULL);
    }
    free(wide32), free(ref), free(ref_loss), free(scale);
    fz_free_all(&R);
    return 0;
}
