/* quant.c — row-wise quantized tables (embeddingkit.h, section 12): the packed formats of FBGEMM and
 * PyTorch, prepack (ek_quantize), ek_dequantize, ek_quant_validate, the error report, and the scalar
 * row kernels of the forward verbs (isa.h: q_dequant, q_axpy; the vector ones in x86/<isa>/quant.c).
 *
 * Prepack follows PyTorch's embedding_bag_byte_prepack / _4bit_ / _2bit_prepack operation for
 * operation in float32 (the fixtures in Tests/Fixtures/quant check the bytes): 8-bit keeps a float32
 * scale and bias and divides by range + 1e-8; 4- and 2-bit round the bias (the row minimum) to fp16
 * FIRST and measure the range from that rounded minimum, round the scale to fp16, and fall back to a
 * scale of 1 where it rounds to 0 or its inverse overflows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"

/* float32 -> IEEE half, round to nearest even (finite inputs; too large gives infinity). */
static uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to 65520 or more */
    if (ax < 0x38800000u) {                                     /* below 2^-14: a subnormal half */
        float a;
        memcpy(&a, &ax, 4);
        return (uint16_t)(sign | (uint32_t)nearbyintf(a * 0x1p24f)); /* exact scaling, then to even */
    }
    uint32_t m = ax - 0x38000000u; /* exponent rebased by -112 */
    m += 0x0fffu + ((m >> 13) & 1u);
    return (uint16_t)(sign | (m >> 13));
}

/* ---- sizes and checks ---- */

static ek_status check_dtype(const char *op, ek_dtype dtype, int *slot) {
    *slot = eki_quant_slot(dtype);
    if (*slot < 0)
        return eki_fail(EK_ERR_INVALID_ARGUMENT,
                        "%s: dtype=%d is not a quantized dtype (EK_DTYPE_Q8 (3), EK_DTYPE_Q4 (4) or EK_DTYPE_Q2 (5))",
                        op, (int)dtype);
    return EK_OK;
}

ek_status ek_quant_row_bytes(ek_dtype dtype, int64_t dim, int64_t *out_bytes) {
    static const char op[] = "quant_row_bytes";
    int slot;
    ek_status s;
    if ((s = check_dtype(op, dtype, &slot)) || (s = eki_check_size(op, "dim", dim, 1)) ||
        (s = eki_check_ptr(op, "out_bytes", out_bytes, 1)))
        return s;
    if (dim > INT64_MAX - 8)
        return eki_fail(EK_ERR_OVERFLOW, "%s: dim=%lld gives a row past INT64_MAX bytes", op, (long long)dim);
    *out_bytes = eki_quant_row_size(slot, dim);
    return EK_OK;
}

/* The checks every table function shares: dtype, sizes, byte counts of both sides, pointers. */
static ek_status check_table(const char *op, ek_dtype dtype, int64_t rows, int64_t dim, const void *floats,
                             const char *floats_name, const void *packed, const char *packed_name, int *slot,
                             int64_t *row_bytes) {
    ek_status s;
    if ((s = check_dtype(op, dtype, slot)) || (s = eki_check_size(op, "rows", rows, 0)) ||
        (s = eki_check_size(op, "dim", dim, 1)) ||
        (floats_name && (s = eki_check_bytes(op, floats_name, rows, dim, sizeof(float)))))
        return s;
    if (dim > INT64_MAX - 8)
        return eki_fail(EK_ERR_OVERFLOW, "%s: dim=%lld gives a row past INT64_MAX bytes", op, (long long)dim);
    *row_bytes = eki_quant_row_size(*slot, dim);
    if ((s = eki_check_bytes(op, packed_name, rows, *row_bytes, 1)) ||
        (floats_name && (s = eki_check_ptr(op, floats_name, floats, rows * dim))) ||
        (s = eki_check_ptr(op, packed_name, packed, rows * *row_bytes)))
        return s;
    return EK_OK;
}

/* ---- prepack ---- */

/* One row's parameters, exactly as PyTorch computes them (see the header of this file). */
typedef struct {
    float min;       /* the minimum the values are measured from (fp16-rounded for Q4 / Q2) */
    float inv;       /* 1 / scale, as PyTorch rounds it */
    float scale;     /* stored scale (float32 value) */
    uint16_t scale16, bias16;
} row_params;

static void row_min_max(int64_t dim, const float *x, float *mn, float *mx) {
    float lo = x[0], hi = x[0];
    for (int64_t d = 1; d < dim; d++) {
        lo = x[d] < lo ? x[d] : lo;
        hi = x[d] > hi ? x[d] : hi;
    }
    *mn = lo, *mx = hi;
}

/* Fails (naming the row) where Q4 / Q2 would store a non-finite fp16 bias or scale. */
static ek_status nbit_params(const char *op, int slot, int64_t r, float mn, float mx, row_params *p) {
    float n = (float)((1 << eki_quant_bits(slot)) - 1);
    p->bias16 = f32_to_f16(mn);
    p->min = eki_f16_to_f32(p->bias16);
    if (isinf(p->min))
        return eki_fail(EK_ERR_INVALID_ARGUMENT,
                        "%s: row %lld: minimum %.9g does not fit the fp16 bias of a %d-bit row (|x| <= 65504)", op,
                        (long long)r, (double)mn, eki_quant_bits(slot));
    float range = mx - p->min;
    float scale = range == 0.0f ? 1.0f : range / n;
    p->scale16 = f32_to_f16(scale);
    scale = eki_f16_to_f32(p->scale16);
    if (isinf(scale))
        return eki_fail(EK_ERR_INVALID_ARGUMENT,
                        "%s: row %lld: range %.9g does not fit the fp16 scale of a %d-bit row (range / %d < 65520)", op,
                        (long long)r, (double)range, eki_quant_bits(slot), (int)n);
    if (scale == 0.0f) scale = 1.0f; /* a constant row: any scale, the values are all 0 */
    float inv = 1.0f / scale;
    if (isinf(inv)) scale = inv = 1.0f;
    p->scale = scale, p->inv = inv;
    p->scale16 = f32_to_f16(scale);
    return EK_OK;
}

static void pack_row(int slot, int64_t dim, const float *x, const row_params *p, uint8_t *row) {
    if (slot == 0) {
        for (int64_t d = 0; d < dim; d++) {
            float q = nearbyintf((x[d] - p->min) * p->inv); /* lrintf: to nearest even */
            row[d] = (uint8_t)(q < 0.0f ? 0.0f : q > 255.0f ? 255.0f : q);
        }
        memcpy(row + dim, &p->scale, 4), memcpy(row + dim + 4, &p->min, 4);
        return;
    }
    int bits = eki_quant_bits(slot), per_byte = 8 / bits;
    float n = (float)((1 << bits) - 1);
    int64_t nb = eki_quant_data_bytes(slot, dim);
    memset(row, 0, (size_t)nb);
    for (int64_t d = 0; d < dim; d++) {
        float q = nearbyintf((x[d] - p->min) * p->inv);
        unsigned v = (unsigned)(q < 0.0f ? 0.0f : q > n ? n : q);
        row[d / per_byte] |= (uint8_t)(v << (bits * (int)(d % per_byte)));
    }
    memcpy(row + nb, &p->scale16, 2), memcpy(row + nb + 2, &p->bias16, 2);
}

ek_status ek_quantize(ek_dtype dtype, int64_t rows, int64_t dim, const float *src, uint8_t *dst) {
    static const char op[] = "quantize";
    int slot;
    int64_t rb;
    ek_status s = check_table(op, dtype, rows, dim, src, "src", dst, "dst", &slot, &rb);
    if (s) return s;
    /* every check first (finite values, fp16 parameters), so that a failure writes nothing */
    for (int64_t r = 0; r < rows; r++) {
        const float *x = src + r * dim;
        for (int64_t d = 0; d < dim; d++)
            if (!isfinite(x[d]))
                return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: src[%lld, %lld]=%g is not finite", op, (long long)r,
                                (long long)d, (double)x[d]);
        float mn, mx;
        row_params p;
        row_min_max(dim, x, &mn, &mx);
        if (slot == 0 && isinf(mx - mn)) /* the float32 scale would be infinite */
            return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: row %lld: range %.9g - (%.9g) overflows float32", op,
                            (long long)r, (double)mx, (double)mn);
        if (slot != 0 && (s = nbit_params(op, slot, r, mn, mx, &p))) return s;
    }
    EKI_PARALLEL_FOR(rows * dim >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t r = 0; r < rows; r++) {
        const float *x = src + r * dim;
        float mn, mx;
        row_params p;
        row_min_max(dim, x, &mn, &mx);
        if (slot == 0) {
            float range = mx - mn;
            p.min = mn, p.scale = range / 255.0f, p.inv = 255.0f / (range + 1e-8f);
        } else {
            nbit_params(op, slot, r, mn, mx, &p); /* checked above */
        }
        pack_row(slot, dim, x, &p, dst + r * rb);
    });
    return EK_OK;
}

/* ---- dequantize, validate, error report ---- */

ek_status ek_dequantize(ek_dtype dtype, int64_t rows, int64_t dim, const uint8_t *src, float *dst) {
    int slot;
    int64_t rb;
    ek_status s = check_table("dequantize", dtype, rows, dim, dst, "dst", src, "src", &slot, &rb);
    if (s) return s;
    eki_qrow_fn dq = eki_dispatch()->q_dequant[slot];
    EKI_PARALLEL_FOR(rows * dim >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t r = 0; r < rows; r++) dq(dim, src + r * rb, dst + r * dim));
    return EK_OK;
}

ek_status ek_quant_validate(ek_dtype dtype, int64_t rows, int64_t dim, const uint8_t *packed) {
    static const char op[] = "quant_validate";
    int slot;
    int64_t rb;
    ek_status s = check_table(op, dtype, rows, dim, NULL, NULL, packed, "packed", &slot, &rb);
    if (s) return s;
    for (int64_t r = 0; r < rows; r++) {
        float scale, bias;
        eki_quant_scale_bias(slot, dim, packed + r * rb, &scale, &bias);
        if (!isfinite(scale))
            return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: row %lld: scale=%g is not finite", op, (long long)r,
                            (double)scale);
        if (!isfinite(bias))
            return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: row %lld: bias=%g is not finite", op, (long long)r,
                            (double)bias);
    }
    return EK_OK;
}

ek_status ek_quant_error_report(ek_dtype dtype, int64_t rows, int64_t dim, const float *original,
                                const uint8_t *packed, ek_quant_error *out) {
    static const char op[] = "quant_error_report";
    int slot;
    int64_t rb;
    ek_status s = check_table(op, dtype, rows, dim, original, "original", packed, "packed", &slot, &rb);
    if (s || (s = eki_check_ptr(op, "out", out, 1))) return s;
    size_t mark = eki_scratch_mark();
    float *row = eki_scratch_alloc(sizeof(float) * (size_t)dim);
    if (!row) return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate a row of %lld floats", op, (long long)dim);
    ek_quant_error e = {0, 0, -1, 0, 0};
    eki_qrow_fn dq = eki_dispatch()->q_dequant[slot];
    double total = 0;
    for (int64_t r = 0; r < rows; r++) {
        dq(dim, packed + r * rb, row);
        double row_sq = 0, row_max = -1;
        for (int64_t d = 0; d < dim; d++) {
            double x = original[r * dim + d], err = fabs((double)row[d] - x);
            row_sq += err * err;
            if (err > row_max) row_max = err;
            if (fabs(x) > e.max_abs_value) e.max_abs_value = fabs(x);
        }
        total += row_sq;
        if (e.worst_row < 0 || row_max > e.max_abs) e.max_abs = row_max, e.worst_row = r, e.worst_row_rms = sqrt(row_sq / (double)dim);
    }
    if (rows > 0) e.rms = sqrt(total / ((double)rows * (double)dim));
    eki_scratch_release(mark);
    *out = e;
    return EK_OK;
}

/* ---- the scalar row kernels ---- */

void eki_q8_dequant_scalar(int64_t dim, const uint8_t *row, float *dst) {
    float scale, bias;
    eki_quant_scale_bias(0, dim, row, &scale, &bias);
    for (int64_t d = 0; d < dim; d++) dst[d] = eki_quant_value(row[d], scale, bias);
}

void eki_q8_axpy_scalar(int64_t dim, float w, const uint8_t *row, float *acc) {
    float scale, bias;
    eki_quant_scale_bias(0, dim, row, &scale, &bias);
    for (int64_t d = 0; d < dim; d++) acc[d] = fmaf(w, eki_quant_value(row[d], scale, bias), acc[d]);
}

/* Q4 / Q2: q * scale is exact in float32 (11 significant bits times 4 or 2), so the fma is a multiply
 * and an add here. */
#define EKI_NBIT_KERNELS(name, slot)                                                                   \
    void eki_##name##_dequant_scalar(int64_t dim, const uint8_t *row, float *dst) {                    \
        float scale, bias;                                                                             \
        eki_quant_scale_bias(slot, dim, row, &scale, &bias);                                           \
        for (int64_t d = 0; d < dim; d++) dst[d] = (float)eki_quant_q(slot, row, d) * scale + bias;    \
    }                                                                                                  \
    void eki_##name##_axpy_scalar(int64_t dim, float w, const uint8_t *row, float *acc) {              \
        float scale, bias;                                                                             \
        eki_quant_scale_bias(slot, dim, row, &scale, &bias);                                           \
        for (int64_t d = 0; d < dim; d++) acc[d] = fmaf(w, (float)eki_quant_q(slot, row, d) * scale + bias, acc[d]); \
    }
EKI_NBIT_KERNELS(q4, 1)
EKI_NBIT_KERNELS(q2, 2)
