/* fuzz_dense.c — the dense kernels of embeddingkit.h sections 10-12: ek_matmul_f32, layer norm forward
 * and backward, ReLU and GELU forward and backward (in place or not), dropout forward and backward, and
 * the NLL and MSE losses. One byte picks the family; the references are written here, in double, from
 * the header's formulas (ref.c has none for these kernels).
 *
 * Input: [flags] [family] and then
 *   0 layer norm:  [rows] [cols] [eps] [options] [nulls], then x, weight, bias, mean, rstd (the
 *                  backward's), grad_y, grad_weight, grad_bias (initial values)
 *   1 activations: [n] [approximate] [aliasing] [nulls], then x, grad_y
 *   2 dropout:     [n] [p] [seed] [options] [nulls], then x, grad_y, the mask bytes
 *   3 losses:      [rows] [classes] [ignore_index] [reduction] [options] [nulls], then max(rows * classes,
 *                  rows) floats (NLL: log_probs; MSE, over n = rows: the input), the targets (a byte each),
 *                  as many floats again (the MSE target)
 *   4 matmul:      [m] [n] [k] [trans_a] [trans_b] [alpha] [beta] [nulls], then a, b, c
 * Issue 14 found what this harness checks first: byte counts of the per-column arrays when rows == 0,
 * flags that are not 0 or 1, and empty products of any size (a wild size with nothing to touch is
 * called and must succeed). */
#include "fuzz_common.h"

/* Whether a wild-size call that the header makes valid can still be made: every array it may touch
 * fits in the FZ_DUMMY-element buffers handed over (rows == 0 with a huge cols, an empty product).
 * Elements per array, -1 ends the list. */
static int fz_all_small(const int64_t *counts) {
    for (; *counts != -1; counts++)
        if (*counts > FZ_DUMMY) return 0;
    return 1;
}

/* For a valid call: EK_OK expected, unless a wild size makes it impossible to call (skip: returns 0). */
static int fz_decide_wild(int wild, fz_mask *m, const int64_t *touched) {
    if (!wild) return 1;
    if (*m) {
        *m = FZ_ANY_ERROR;
        return 1;
    }
    return fz_all_small(touched);
}

/* ---- 0: layer norm ------------------------------------------------------------------------------ */

enum { LN_X, LN_Y, LN_MEAN, LN_RSTD, LN_GY, LN_COUNT };

static double decode_eps(fz_in *f) {
    static const double eps[14] = {1e-5, 1e-3, 0.25, 1.0, 1e-12, 0.0, -1e-5, NAN, INFINITY, -INFINITY, -0.0,
                                   1e-300, 5e-324, 1e300};
    uint8_t b = fz_u8(f);
    double e = eps[b % 14];
    if (e > 0 && (e < 1e-30 || e > 1e30)) f->any_special = 1; /* float and double part ways (rstd overflows) */
    return e;
}

static void fuzz_layer_norm(fz_in *f) {
    int wild = 0;
    int64_t rows = fz_size(f, 16, &wild), cols = fz_size(f, 32, &wild);
    double eps = decode_eps(f);
    uint8_t opt = fz_u8(f);
    int has_w = opt & 1, has_b = (opt >> 1) & 1, has_gx = (opt >> 2) & 1, has_gw = (opt >> 3) & 1, has_gb = (opt >> 4) & 1;
    fz_nulls z = fz_decode_nulls(f, LN_COUNT);
    int64_t cells = wild ? FZ_DUMMY : rows * cols, R_ = wild ? FZ_DUMMY : rows, C_ = wild ? FZ_DUMMY : cols;
    fz_bufs R = {0};
    float *x = fz_alloc(&R, "x", 4 * (size_t)cells, 1), *w = fz_alloc(&R, "weight", 4 * (size_t)C_, 1);
    float *b = fz_alloc(&R, "bias", 4 * (size_t)C_, 1), *mean_in = fz_alloc(&R, "mean (backward)", 4 * (size_t)R_, 1);
    float *rstd_in = fz_alloc(&R, "rstd (backward)", 4 * (size_t)R_, 1), *gy = fz_alloc(&R, "grad_y", 4 * (size_t)cells, 1);
    float *y = fz_alloc(&R, "y", 4 * (size_t)cells, 0), *mean = fz_alloc(&R, "mean", 4 * (size_t)R_, 0);
    float *rstd = fz_alloc(&R, "rstd", 4 * (size_t)R_, 0), *gx = fz_alloc(&R, "grad_x", 4 * (size_t)cells, 0);
    float *gw = fz_alloc(&R, "grad_weight", 4 * (size_t)C_, 0), *gb = fz_alloc(&R, "grad_bias", 4 * (size_t)C_, 0);
    if (!wild) {
        fz_floats(f, x, cells), fz_floats(f, w, cols), fz_floats(f, b, cols), fz_floats(f, mean_in, rows);
        fz_floats(f, rstd_in, rows), fz_floats(f, gy, cells), fz_floats(f, gw, cols), fz_floats(f, gb, cols);
    }
    fz_freeze(&R);
    const float *p_w = has_w ? w : NULL, *p_b = has_b ? b : NULL;

    /* forward */
    {
        const float *p_x = fz_ptr(&z, LN_X, x, fz_elems(rows, cols));
        float *p_y = fz_ptr(&z, LN_Y, y, fz_elems(rows, cols));
        float *p_mean = fz_ptr(&z, LN_MEAN, mean, rows), *p_rstd = fz_ptr(&z, LN_RSTD, rstd, rows);
        fz_mask m = 0;
        fz_need_size(&m, rows, 0), fz_need_size(&m, cols, 1), fz_need_bytes(&m, rows, cols, 4);
        if (p_w) fz_need_bytes(&m, 1, cols, 4);
        if (p_b) fz_need_bytes(&m, 1, cols, 4);
        fz_need_ptr(&m, p_x, rows, cols), fz_need_ptr(&m, p_y, rows, cols);
        fz_need_ptr(&m, p_mean, rows, 1), fz_need_ptr(&m, p_rstd, rows, 1);
        if (!(eps >= 0.0) || isinf(eps)) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
        const int64_t touched[] = {fz_elems(rows, cols), rows, p_w || p_b ? cols : 0, -1};
        if (fz_decide_wild(wild, &m, touched)) {
            fz_ctx_set("ek_layer_norm_forward_f32(rows=%lld, cols=%lld, eps=%.17g, weight=%s, bias=%s)", (long long)rows,
                       (long long)cols, eps, p_w ? "set" : "NULL", p_b ? "set" : "NULL");
            if (!wild) fz_ctx_f32s("x", x, cells);
            fz_reset(&R);
            ek_status s = ek_layer_norm_forward_f32(rows, cols, p_x, p_w, p_b, eps, p_y, p_mean, p_rstd);
            fz_check_status(s, m);
            fz_check_buffers(&R, s);
            if (s == EK_OK && !wild && !f->any_special) {
                float *ref_y = malloc(4 * (size_t)cells + 4), *scale = malloc(4 * (size_t)cells + 4);
                float ref_m[16], ref_r[16], scale_m[16];
                for (int64_t i = 0; i < rows; i++) {
                    const float *xi = x + i * cols;
                    double sum = 0, var = 0, big = 0;
                    for (int64_t c = 0; c < cols; c++) sum += xi[c], big = fmax(big, fabs((double)xi[c]));
                    double mu = sum / (double)cols;
                    for (int64_t c = 0; c < cols; c++) var += ((double)xi[c] - mu) * ((double)xi[c] - mu);
                    double r = 1.0 / sqrt(var / (double)cols + eps);
                    ref_m[i] = (float)mu, ref_r[i] = (float)r, scale_m[i] = (float)big;
                    for (int64_t c = 0; c < cols; c++) {
                        double wc = p_w ? w[c] : 1.0, bc = p_b ? b[c] : 0.0;
                        ref_y[i * cols + c] = (float)(((double)xi[c] - mu) * r * wc + bc);
                        scale[i * cols + c] = (float)((fabs((double)xi[c]) + fabs(mu)) * r * fabs(wc) + fabs(bc));
                    }
                }
                fz_close("y", y, ref_y, cells, scale);
                fz_close("mean", mean, ref_m, rows, scale_m);
                for (int64_t i = 0; i < rows; i++)
                    if (!fz_same_float(rstd[i], ref_r[i]) && /* eps = 0 on a constant row: both inf */
                        !(fabs((double)rstd[i] - ref_r[i]) <= 1e-5 * fabs((double)ref_r[i]) + 1e-30))
                        fz_fail("rstd[%lld] = %.9g, the reference gives %.9g", (long long)i, (double)rstd[i],
                                (double)ref_r[i]);
                free(ref_y), free(scale);
            }
        }
    }
    /* backward */
    {
        const float *p_x = fz_ptr(&z, LN_X, x, fz_elems(rows, cols)), *p_gy = fz_ptr(&z, LN_GY, gy, fz_elems(rows, cols));
        const float *p_mean = fz_ptr(&z, LN_MEAN, mean_in, rows), *p_rstd = fz_ptr(&z, LN_RSTD, rstd_in, rows);
        float *p_gx = has_gx ? gx : NULL, *p_gw = has_gw ? gw : NULL, *p_gb = has_gb ? gb : NULL;
        fz_mask m = 0;
        fz_need_size(&m, rows, 0), fz_need_size(&m, cols, 1), fz_need_bytes(&m, rows, cols, 4);
        if (p_w) fz_need_bytes(&m, 1, cols, 4);
        if (p_gw) fz_need_bytes(&m, 1, cols, 4);
        if (p_gb) fz_need_bytes(&m, 1, cols, 4);
        fz_need_ptr(&m, p_x, rows, cols), fz_need_ptr(&m, p_gy, rows, cols);
        fz_need_ptr(&m, p_mean, rows, 1), fz_need_ptr(&m, p_rstd, rows, 1);
        const int64_t touched[] = {fz_elems(rows, cols), rows, p_w || p_gw || p_gb ? cols : 0, -1};
        if (fz_decide_wild(wild, &m, touched)) {
            fz_ctx_set("ek_layer_norm_backward_f32(rows=%lld, cols=%lld, weight=%s, grad_x=%s, grad_weight=%s, grad_bias=%s)",
                       (long long)rows, (long long)cols, p_w ? "set" : "NULL", p_gx ? "set" : "NULL",
                       p_gw ? "set" : "NULL", p_gb ? "set" : "NULL");
            if (!wild) fz_ctx_f32s("x", x, cells), fz_ctx_f32s("grad_y", gy, cells);
            fz_reset(&R);
            ek_status s = ek_layer_norm_backward_f32(rows, cols, p_x, p_mean, p_rstd, p_w, p_gy, p_gx, p_gw, p_gb);
            fz_check_status(s, m);
            fz_check_buffers(&R, s);
            if (s == EK_OK && !wild && !f->any_special) {
                size_t nb = 4 * (size_t)(cells + cols) + 4;
                float *ref_gx = malloc(nb), *sc_gx = malloc(nb), *ref_gw = malloc(nb), *ref_gb = malloc(nb);
                float *sc_gw = malloc(nb), *sc_gb = malloc(nb);
                const float *gw0 = fz_initial(&R, gw), *gb0 = fz_initial(&R, gb);
                for (int64_t c = 0; c < cols; c++) {
                    double aw = 0, ab = 0, mw = 0, mb = 0;
                    for (int64_t i = 0; i < rows; i++) {
                        double xh = ((double)x[i * cols + c] - mean_in[i]) * rstd_in[i], g = gy[i * cols + c];
                        aw += g * xh, ab += g;
                        mw += fabs(g) * (fabs((double)x[i * cols + c]) + fabs((double)mean_in[i])) * fabs((double)rstd_in[i]);
                        mb += fabs(g);
                    }
                    ref_gw[c] = (float)(gw0[c] + aw), ref_gb[c] = (float)(gb0[c] + ab);
                    sc_gw[c] = (float)(fabs((double)gw0[c]) + mw), sc_gb[c] = (float)(fabs((double)gb0[c]) + mb);
                }
                for (int64_t i = 0; i < rows; i++) {
                    double sg = 0, sgx = 0, ag = 0, agx = 0, r = rstd_in[i];
                    for (int64_t c = 0; c < cols; c++) {
                        double g = (double)gy[i * cols + c] * (p_w ? w[c] : 1.0);
                        double xh = ((double)x[i * cols + c] - mean_in[i]) * r;
                        double xs = (fabs((double)x[i * cols + c]) + fabs((double)mean_in[i])) * fabs(r);
                        sg += g, sgx += g * xh, ag += fabs(g), agx += fabs(g) * xs;
                    }
                    for (int64_t c = 0; c < cols; c++) {
                        double g = (double)gy[i * cols + c] * (p_w ? w[c] : 1.0);
                        double xh = ((double)x[i * cols + c] - mean_in[i]) * r;
                        double xs = (fabs((double)x[i * cols + c]) + fabs((double)mean_in[i])) * fabs(r);
                        ref_gx[i * cols + c] = (float)(r * (g - sg / (double)cols - xh * sgx / (double)cols));
                        sc_gx[i * cols + c] = (float)(fabs(r) * (fabs(g) + ag / (double)cols + xs * agx / (double)cols));
                    }
                }
                if (p_gx) fz_close("grad_x", gx, ref_gx, cells, sc_gx);
                if (p_gw) fz_close("grad_weight", gw, ref_gw, cols, sc_gw);
                if (p_gb) fz_close("grad_bias", gb, ref_gb, cols, sc_gb);
                free(ref_gx), free(sc_gx), free(ref_gw), free(ref_gb), free(sc_gw), free(sc_gb);
            }
        }
    }
    fz_free_all(&R);
}

/* ---- 1: ReLU and GELU ---------------------------------------------------------------------------- */

enum { AC_X, AC_Y, AC_GY, AC_GX, AC_COUNT };

static double gelu_ref(double v, int tanh_form, double *deriv) {
    const double pi = 3.14159265358979323846, k = sqrt(2.0 / pi), c = 0.044715;
    if (tanh_form) {
        double t = tanh(k * (v + c * v * v * v));
        *deriv = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * c * v * v);
        return 0.5 * v * (1 + t);
    }
    *deriv = 0.5 * (1 + erf(v / sqrt(2.0))) + v * exp(-0.5 * v * v) / sqrt(2 * pi);
    return 0.5 * v * (1 + erf(v / sqrt(2.0)));
}

static void fuzz_activations(fz_in *f) {
    int wild = 0;
    int64_t n = fz_size(f, 255, &wild);
    int32_t approximate = fz_flag(f);
    uint8_t alias = fz_u8(f);
    fz_nulls z = fz_decode_nulls(f, AC_COUNT);
    int64_t N = wild ? FZ_DUMMY : n;
    fz_bufs R = {0};
    float *x = fz_alloc(&R, "x", 4 * (size_t)N, 1), *gy = fz_alloc(&R, "grad_y", 4 * (size_t)N, 1);
    float *y = fz_alloc(&R, "y", 4 * (size_t)N, 0), *gx = fz_alloc(&R, "grad_x", 4 * (size_t)N, 0);
    float *xio = fz_alloc(&R, "x (in place)", 4 * (size_t)N, 0), *gio = fz_alloc(&R, "grad_y (in place)", 4 * (size_t)N, 0);
    if (!wild) {
        fz_floats(f, x, n), fz_floats(f, gy, n);
        memcpy(xio, x, 4 * (size_t)n), memcpy(gio, gy, 4 * (size_t)n);
    }
    fz_freeze(&R);
    float *ref = malloc(4 * (size_t)N + 4), *scale = malloc(4 * (size_t)N + 4);
    for (int op = 0; op < 4; op++) {
        int gelu = op >> 1, backward = op & 1, in_place = (alias >> op) & 1;
        /* in place: y is the buffer x is read from (forward), grad_x the one grad_y is (backward) */
        const float *p_x = fz_ptr(&z, AC_X, backward || !in_place ? x : xio, n);
        const float *p_gy = backward ? fz_ptr(&z, AC_GY, in_place ? gio : gy, n) : NULL;
        float *p_out = fz_ptr(&z, backward ? AC_GX : AC_Y, backward ? (in_place ? gio : gx) : (in_place ? xio : y), n);
        fz_mask m = 0;
        fz_need_size(&m, n, 0), fz_need_bytes(&m, n, 1, 4);
        fz_need_ptr(&m, p_x, n, 1), fz_need_ptr(&m, p_out, n, 1);
        if (backward) fz_need_ptr(&m, p_gy, n, 1);
        if (gelu) fz_need_flag(&m, approximate);
        const int64_t touched[] = {n, -1};
        if (!fz_decide_wild(wild, &m, touched)) continue;
        static const char *names[4] = {"ek_relu_forward_f32", "ek_relu_backward_f32", "ek_gelu_forward_f32",
                                       "ek_gelu_backward_f32"};
        fz_ctx_set("%s(n=%lld%s)%s", names[op], (long long)n, gelu ? (approximate ? ", tanh" : ", erf") : "",
                   in_place ? " in place" : "");
        if (gelu) fz_ctx_add(" approximate=%d", (int)approximate);
        if (!wild) fz_ctx_f32s("x", x, n), fz_ctx_f32s("grad_y", gy, n);
        fz_reset(&R);
        ek_status s;
        switch (op) {
        case 0: s = ek_relu_forward_f32(n, p_x, p_out); break;
        case 1: s = ek_relu_backward_f32(n, p_x, p_gy, p_out); break;
        case 2: s = ek_gelu_forward_f32(n, p_x, approximate, p_out); break;
        default: s = ek_gelu_backward_f32(n, p_x, approximate, p_gy, p_out); break;
        }
        fz_check_status(s, m);
        fz_check_buffers(&R, s);
        if (s != EK_OK || wild) continue;
        if (!gelu) {
            /* copies, compared exactly whatever the values: relu(NaN) = NaN; the gradient passes where the
             * output is not <= 0 (PyTorch's threshold_backward), so also at NaN */
            for (int64_t i = 0; i < n; i++) ref[i] = backward ? (x[i] <= 0.0f ? 0.0f : gy[i]) : (x[i] < 0.0f ? 0.0f : x[i]);
            for (int64_t i = 0; i < n; i++)
                if (!fz_same_float(p_out[i], ref[i]))
                    fz_fail("%s[%lld] = %.9g, want %.9g", backward ? "grad_x" : "y", (long long)i, (double)p_out[i],
                            (double)ref[i]);
            continue;
        }
        if (f->any_special) continue;
        for (int64_t i = 0; i < n; i++) {
            double d, v = gelu_ref(x[i], approximate, &d);
            ref[i] = (float)(backward ? d * gy[i] : v);
            scale[i] = (float)(backward ? 2 * fabs((double)gy[i]) : fabs((double)x[i]));
        }
        fz_close(backward ? "grad_x" : "y", p_out, ref, n, scale);
    }
    free(ref), free(scale);
    fz_free_all(&R);
}

/* ---- 2: dropout ---------------------------------------------------------------------------------- */

enum { DR_X, DR_Y, DR_MASK, DR_GY, DR_GX, DR_COUNT };

static void fuzz_dropout(fz_in *f) {
    static const double ps[14] = {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, -0.1, 1.5, NAN, INFINITY, -0.0, 1e-300,
                                  0.99999999999999989};
    int wild = 0;
    int64_t n = fz_size(f, 255, &wild);
    double p = ps[fz_u8(f) % 14];
    uint64_t seed = (uint64_t)fz_u8(f) * 0x9E3779B97F4A7C15ull;
    uint8_t opt = fz_u8(f);
    fz_nulls z = fz_decode_nulls(f, DR_COUNT);
    int64_t N = wild ? FZ_DUMMY : n;
    fz_bufs R = {0};
    float *x = fz_alloc(&R, "x", 4 * (size_t)N, 1), *gy = fz_alloc(&R, "grad_y", 4 * (size_t)N, 1);
    uint8_t *mask_in = fz_alloc(&R, "mask (backward)", (size_t)N, 1);
    float *y = fz_alloc(&R, "y", 4 * (size_t)N, 0), *gx = fz_alloc(&R, "grad_x", 4 * (size_t)N, 0);
    uint8_t *mask = fz_alloc(&R, "mask", (size_t)N, 0);
    float *xio = fz_alloc(&R, "x (in place)", 4 * (size_t)N, 0), *gio = fz_alloc(&R, "grad_y (in place)", 4 * (size_t)N, 0);
    if (!wild) {
        fz_floats(f, x, n), fz_floats(f, gy, n);
        for (int64_t i = 0; i < n; i++) {
            uint8_t b = fz_u8(f);
            mask_in[i] = b < 0xF0 ? b & 1 : b; /* any non-zero byte keeps */
        }
        memcpy(xio, x, 4 * (size_t)n), memcpy(gio, gy, 4 * (size_t)n);
    }
    fz_freeze(&R);
    int bad_p = !(p >= 0.0 && p <= 1.0);
    float scale = p < 1.0 ? (float)(1.0 / (1.0 - p)) : 0.0f;

    /* forward: a mask (or none), in place or not */
    {
        int in_place = (opt >> 1) & 1;
        const float *p_x = fz_ptr(&z, DR_X, in_place ? xio : x, n);
        float *p_y = fz_ptr(&z, DR_Y, in_place ? xio : y, n); /* in place: y is x's buffer */
        uint8_t *p_mask = (opt & 1) ? mask : NULL; /* nullable */
        fz_mask m = 0;
        fz_need_size(&m, n, 0), fz_need_bytes(&m, n, 1, 4), fz_need_ptr(&m, p_x, n, 1), fz_need_ptr(&m, p_y, n, 1);
        if (bad_p) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
        const int64_t touched[] = {n, -1};
        if (fz_decide_wild(wild, &m, touched)) {
            fz_ctx_set("ek_dropout_forward_f32(n=%lld, p=%.17g, seed=%llu, mask=%s)%s", (long long)n, p,
                       (unsigned long long)seed, p_mask ? "set" : "NULL", in_place ? " in place" : "");
            if (!wild) fz_ctx_f32s("x", x, n);
            fz_reset(&R);
            ek_status s = ek_dropout_forward_f32(n, p_x, p, seed, p_y, p_mask);
            fz_check_status(s, m);
            fz_check_buffers(&R, s);
            if (s == EK_OK && !wild) {
                /* the mask is the kernel's own (a hash of seed and i), but it must be 0/1, the same on a
                 * second call, p == 0 keeps all and p == 1 none, and y must be x * 1/(1-p) or 0 by it */
                uint8_t *keep = malloc((size_t)n + 1);
                float *y2 = malloc(4 * (size_t)n + 4);
                if (ek_dropout_forward_f32(n, x, p, seed, y2, keep) != EK_OK) fz_fail("a repeated valid call failed");
                for (int64_t i = 0; i < n; i++) {
                    if (keep[i] > 1) fz_fail("mask[%lld] = %d, not 0 or 1", (long long)i, keep[i]);
                    if ((p == 0.0 && !keep[i]) || (p == 1.0 && keep[i]))
                        fz_fail("mask[%lld] = %d with p = %g", (long long)i, keep[i], p);
                    if (p_mask && p_mask[i] != keep[i]) fz_fail("mask[%lld] differs between two calls", (long long)i);
                    float want = keep[i] ? x[i] * scale : 0.0f;
                    if (!fz_same_float(p_y[i], want) || !fz_same_float(y2[i], want))
                        fz_fail("y[%lld] = %.9g, want %.9g (x = %.9g, kept %d)", (long long)i, (double)p_y[i], (double)want,
                                (double)x[i], keep[i]);
                }
                free(keep), free(y2);
            }
        }
    }
    /* backward */
    {
        int in_place = (opt >> 2) & 1;
        const uint8_t *p_mask = fz_ptr(&z, DR_MASK, mask_in, n);
        const float *p_gy = fz_ptr(&z, DR_GY, in_place ? gio : gy, n);
        float *p_gx = fz_ptr(&z, DR_GX, in_place ? gio : gx, n); /* in place: grad_x is grad_y's buffer */
        fz_mask m = 0;
        fz_need_size(&m, n, 0), fz_need_bytes(&m, n, 1, 4);
        fz_need_ptr(&m, p_mask, n, 1), fz_need_ptr(&m, p_gy, n, 1), fz_need_ptr(&m, p_gx, n, 1);
        if (bad_p) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
        const int64_t touched[] = {n, -1};
        if (fz_decide_wild(wild, &m, touched)) {
            fz_ctx_set("ek_dropout_backward_f32(n=%lld, p=%.17g)%s", (long long)n, p, in_place ? " in place" : "");
            if (!wild) fz_ctx_f32s("grad_y", gy, n);
            fz_reset(&R);
            ek_status s = ek_dropout_backward_f32(n, p_mask, p, p_gy, p_gx);
            fz_check_status(s, m);
            fz_check_buffers(&R, s);
            if (s == EK_OK && !wild)
                for (int64_t i = 0; i < n; i++) {
                    float want = mask_in[i] ? gy[i] * scale : 0.0f;
                    if (!fz_same_float(p_gx[i], want))
                        fz_fail("grad_x[%lld] = %.9g, want %.9g", (long long)i, (double)p_gx[i], (double)want);
                }
        }
    }
    fz_free_all(&R);
}

/* ---- 3: NLL and MSE losses ----------------------------------------------------------------------- */

enum { LS_IN, LS_T, LS_LOSS, LS_COUNT };

static void fuzz_losses(fz_in *f) {
    int wild = 0;
    int64_t rows = fz_size(f, 32, &wild), classes = fz_size(f, 16, &wild);
    uint8_t ib = fz_u8(f), rb = fz_u8(f), opt = fz_u8(f);
    int64_t C = wild ? 1 : classes;
    const int64_t ignores[6] = {-100, C > 0 ? ib % C : 0, -1, INT64_MIN, C, INT64_MAX};
    int64_t ignore_index = ignores[ib % 6];
    static const int32_t bad_reductions[4] = {3, -1, 7, INT32_MIN};
    ek_reduction reduction = (ek_reduction)(rb < 0xF0 ? rb % 3 : bad_reductions[rb & 3]);
    int want_grad = opt & 1, mse = (opt >> 1) & 1;
    fz_nulls z = fz_decode_nulls(f, LS_COUNT);
    int64_t cells = wild ? FZ_DUMMY : rows * classes, R_ = wild ? FZ_DUMMY : rows, NB = cells > R_ ? cells : R_;
    fz_bufs R = {0};
    float *in = fz_alloc(&R, mse ? "input" : "log_probs", 4 * (size_t)NB, 1);
    int64_t *t = fz_alloc(&R, "targets", 8 * (size_t)R_, 1);
    float *target = fz_alloc(&R, "target", 4 * (size_t)NB, 1);
    float *loss = fz_alloc(&R, "loss", 4 * (size_t)NB + 4, 0);
    float *grad = fz_alloc(&R, "grad", 4 * (size_t)NB, 0);
    if (!wild) {
        fz_floats(f, in, NB);
        for (int64_t i = 0; i < rows; i++) {
            uint8_t b = fz_u8(f);
            fz_in one = {&b, 1, 0, 0, 0};
            t[i] = b >= 0xC0 && b < 0xE0 ? ignore_index : fz_index(&one, classes);
        }
        fz_floats(f, target, NB);
    }
    fz_freeze(&R);
    double big = 0;
    if (!wild)
        for (int64_t i = 0; i < NB; i++) big = fmax(big, fabs((double)in[i]) + (mse ? fabs((double)target[i]) : 0));

    if (mse) { /* over n = rows elements (classes unused) */
        int64_t n = rows, loss_count = reduction == EK_REDUCTION_NONE ? n : 1;
        const float *p_in = fz_ptr(&z, LS_IN, in, n), *p_tg = fz_ptr(&z, LS_T, target, n);
        float *p_loss = fz_ptr(&z, LS_LOSS, loss, loss_count), *p_grad = want_grad ? grad : NULL;
        fz_mask m = 0;
        fz_need_size(&m, n, 0), fz_need_bytes(&m, n, 1, 4);
        fz_need_ptr(&m, p_in, n, 1), fz_need_ptr(&m, p_tg, n, 1);
        if ((unsigned)reduction > EK_REDUCTION_SUM) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
        else fz_need_ptr(&m, p_loss, loss_count, 1);
        const int64_t touched[] = {n, -1};
        if (!fz_decide_wild(wild, &m, touched)) goto done;
        fz_ctx_set("ek_mse_loss_f32(n=%lld, reduction=%d, grad=%s)", (long long)n, (int)reduction, p_grad ? "set" : "NULL");
        if (!wild) fz_ctx_f32s("input", in, n), fz_ctx_f32s("target", target, n);
        fz_reset(&R);
        ek_status s = ek_mse_loss_f32(n, p_in, p_tg, reduction, p_loss, p_grad);
        fz_check_status(s, m);
        fz_check_buffers(&R, s);
        if (s != EK_OK || wild || f->any_special) goto done;
        double total = 0, r = reduction == EK_REDUCTION_MEAN ? 1.0 / (double)n : 1.0;
        float *ref = malloc(4 * (size_t)n + 4), *sc = malloc(4 * (size_t)n + 4);
        for (int64_t i = 0; i < n; i++) {
            double d = (double)in[i] - (double)target[i];
            total += d * d;
            ref[i] = (float)(d * d), sc[i] = (float)(big * big);
        }
        if (reduction == EK_REDUCTION_NONE) {
            fz_close("loss", loss, ref, n, sc);
        } else {
            float want = (float)(reduction == EK_REDUCTION_SUM ? total : total / (double)n), s1 = (float)(big * big * (double)n);
            fz_close("loss", loss, &want, 1, &s1);
        }
        if (p_grad) {
            for (int64_t i = 0; i < n; i++) {
                double d = (double)in[i] - (double)target[i];
                ref[i] = (float)(2 * d * r), sc[i] = (float)(2 * big * r);
            }
            fz_close("grad", grad, ref, n, sc);
        }
        free(ref), free(sc);
        goto done;
    }
    /* NLL over rows x classes log-probabilities */
    {
        int64_t loss_count = reduction == EK_REDUCTION_NONE ? rows : 1;
        const float *p_lp = fz_ptr(&z, LS_IN, in, fz_elems(rows, classes));
        const int64_t *p_t = fz_ptr(&z, LS_T, t, rows);
        float *p_loss = fz_ptr(&z, LS_LOSS, loss, loss_count), *p_grad = want_grad ? grad : NULL;
        fz_mask m = 0;
        fz_need_size(&m, rows, 0), fz_need_size(&m, classes, 1), fz_need_bytes(&m, rows, classes, 4);
        fz_need_int_bytes(&m, rows, 1, 8);
        fz_need_ptr(&m, p_lp, rows, classes), fz_need_ptr(&m, p_t, rows, 1);
        if ((unsigned)reduction > EK_REDUCTION_SUM) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
        else fz_need_ptr(&m, p_loss, loss_count, 1);
        if (!wild && p_t)
            for (int64_t i = 0; i < rows; i++)
                if (t[i] != ignore_index && (t[i] < 0 || t[i] >= classes)) m |= FZ_BIT(EK_ERR_INDEX_OUT_OF_RANGE);
        const int64_t touched[] = {rows, fz_elems(rows, classes), -1};
        if (!fz_decide_wild(wild, &m, touched)) goto done;
        fz_ctx_set("ek_nll_loss_f32_i64(rows=%lld, classes=%lld, ignore_index=%lld, reduction=%d, grad=%s)",
                   (long long)rows, (long long)classes, (long long)ignore_index, (int)reduction, p_grad ? "set" : "NULL");
        if (!wild) fz_ctx_f32s("log_probs", in, cells), fz_ctx_i64s("targets", t, rows);
        fz_reset(&R);
        ek_status s = ek_nll_loss_f32_i64(rows, classes, p_lp, p_t, ignore_index, reduction, p_loss, p_grad);
        fz_check_status(s, m);
        fz_check_buffers(&R, s);
        if (s != EK_OK || wild) goto done;
        int64_t valid = 0;
        double total = 0;
        for (int64_t i = 0; i < rows; i++)
            if (t[i] != ignore_index) valid++, total += -(double)in[i * classes + t[i]];
        if (reduction == EK_REDUCTION_NONE) {
            for (int64_t i = 0; i < rows; i++) {
                float want = t[i] == ignore_index ? 0.0f : -in[i * classes + t[i]]; /* a copy: exact */
                if (!fz_same_float(loss[i], want)) fz_fail("loss[%lld] = %.9g, want %.9g", (long long)i, (double)loss[i], (double)want);
            }
        } else if (!f->any_special) {
            float want = (float)(reduction == EK_REDUCTION_SUM ? total : total / (double)valid), sc = (float)(big * (double)rows);
            fz_close("loss", loss, &want, 1, &sc);
        }
        if (p_grad) {
            float r = reduction == EK_REDUCTION_MEAN ? (float)(1.0 / (double)valid) : 1.0f;
            for (int64_t i = 0; i < rows; i++)
                for (int64_t c = 0; c < classes; c++) {
                    float want = t[i] != ignore_index && c == t[i] ? -r : 0.0f;
                    if (!fz_same_float(grad[i * classes + c], want))
                        fz_fail("grad[%lld, %lld] = %.9g, want %.9g", (long long)i, (long long)c,
                                (double)grad[i * classes + c], (double)want);
                }
        }
    }
done:
    fz_free_all(&R);
}

/* ---- 4: matmul ----------------------------------------------------------------------------------- */

enum { MM_A, MM_B, MM_C, MM_COUNT };

static void fuzz_matmul(fz_in *f) {
    int wild = 0;
    int64_t m_ = fz_size(f, 16, &wild), n = fz_size(f, 16, &wild), k = fz_size(f, 16, &wild);
    int32_t ta = fz_flag(f), tb = fz_flag(f);
    float alpha = fz_float(f), beta = fz_float(f);
    fz_nulls z = fz_decode_nulls(f, MM_COUNT);
    int64_t A = wild ? FZ_DUMMY : m_ * k, B = wild ? FZ_DUMMY : k * n, Cn = wild ? FZ_DUMMY : m_ * n;
    fz_bufs R = {0};
    float *a = fz_alloc(&R, "a", 4 * (size_t)A, 1), *b = fz_alloc(&R, "b", 4 * (size_t)B, 1);
    float *c = fz_alloc(&R, "c", 4 * (size_t)Cn, 0);
    if (!wild) fz_floats(f, a, A), fz_floats(f, b, B), fz_floats(f, c, Cn);
    fz_freeze(&R);
    const float *p_a = fz_ptr(&z, MM_A, a, fz_elems(m_, k)), *p_b = fz_ptr(&z, MM_B, b, fz_elems(k, n));
    float *p_c = fz_ptr(&z, MM_C, c, fz_elems(m_, n));
    fz_mask m = 0;
    fz_need_size(&m, m_, 0), fz_need_size(&m, n, 0), fz_need_size(&m, k, 0);
    fz_need_flag(&m, ta), fz_need_flag(&m, tb);
    fz_need_bytes(&m, m_, k, 4), fz_need_bytes(&m, k, n, 4), fz_need_bytes(&m, m_, n, 4);
    fz_need_ptr(&m, p_a, m_, k), fz_need_ptr(&m, p_b, k, n), fz_need_ptr(&m, p_c, m_, n);
    /* BLAS's 32-bit sizes matter only for a product it computes (none is empty) */
    if (m_ > 0 && n > 0 && k > 0 && (m_ > INT32_MAX || n > INT32_MAX || k > INT32_MAX)) m |= FZ_BIT(EK_ERR_OVERFLOW);
    const int64_t touched[] = {fz_elems(m_, k), fz_elems(k, n), fz_elems(m_, n), -1};
    if (fz_decide_wild(wild, &m, touched)) {
        fz_ctx_set("ek_matmul_f32(m=%lld, n=%lld, k=%lld, trans_a=%d, trans_b=%d, alpha=%.9g, beta=%.9g)", (long long)m_,
                   (long long)n, (long long)k, (int)ta, (int)tb, (double)alpha, (double)beta);
        if (!wild) fz_ctx_f32s("a", a, A), fz_ctx_f32s("b", b, B), fz_ctx_f32s("c", c, Cn);
        fz_reset(&R);
        ek_status s = ek_matmul_f32(m_, n, k, p_a, ta, p_b, tb, alpha, beta, p_c);
        fz_check_status(s, m);
        fz_check_buffers(&R, s);
        if (s == EK_OK && !wild && !f->any_special) {
            const float *c0 = fz_initial(&R, c);
            float *ref = malloc(4 * (size_t)Cn + 4), *sc = malloc(4 * (size_t)Cn + 4);
            for (int64_t i = 0; i < m_; i++)
                for (int64_t j = 0; j < n; j++) {
                    double sum = 0, mag = 0;
                    for (int64_t t = 0; t < k; t++) {
                        double av = ta ? a[t * m_ + i] : a[i * k + t], bv = tb ? b[j * k + t] : b[t * n + j];
                        sum += av * bv, mag += fabs(av * bv);
                    }
                    double keep = beta == 0.0f ? 0.0 : (double)beta * c0[i * n + j]; /* beta 0 ignores C (BLAS) */
                    ref[i * n + j] = (float)((double)alpha * sum + keep);
                    sc[i * n + j] = (float)(fabs((double)alpha) * mag + fabs(keep));
                }
            fz_close("c", c, ref, Cn, sc);
            free(ref), free(sc);
        }
    }
    fz_free_all(&R);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in f = fz_begin(data, size);
    switch (fz_u8(&f) % 5) {
    case 0: fuzz_layer_norm(&f); break;
    case 1: fuzz_activations(&f); break;
    case 2: fuzz_dropout(&f); break;
    case 3: fuzz_losses(&f); break;
    default: fuzz_matmul(&f); break;
    }
    return 0;
}
