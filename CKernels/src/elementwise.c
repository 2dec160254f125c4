/* elementwise.c — element-wise arithmetic with broadcasting, unary maps and conversions (section 11
 * of embeddingkit.h). One pass over the output: the layout is validated and coalesced once per call
 * (strided.h), then each row of the innermost dimension runs a flat loop, specialised for the
 * stride pairs that vectorise (both 1; one operand a scalar). Rows, or blocks of a long row, are
 * split among threads; every element is computed on its own, so the thread count changes nothing. */
#include <math.h>
#include <string.h>

#include "strided.h"

/* Elements per parallel task: a long innermost row is cut into blocks of this many. */
#define EKI_ELEMENTWISE_BLOCK 8192

/* One row: y[i * sy] = OP(a[i * sa], b[i * sb]) for i in [0, n). The branches give the vectoriser
 * loops with unit or zero strides; all compute the same expression. No restrict: y may be a. */
#define EKI_DEFINE_ROW(name, EXPR)                                                                   \
    static void name(int64_t n, const float *a, int64_t sa, const float *b, int64_t sb, float p,    \
                     float *y, int64_t sy) {                                                         \
        (void)p;                                                                                     \
        if (y == a && sy == 1 && sa == 1 && sb <= 1) { /* in place: y = y OP b, restrict-qualified */ \
            float *restrict yy = y;                                                                  \
            const float *restrict bb = b;                                                            \
            if (sb == 1) for (int64_t i = 0; i < n; i++) { float x = yy[i], z = bb[i]; yy[i] = (EXPR); } \
            else { const float z = bb[0]; for (int64_t i = 0; i < n; i++) { float x = yy[i]; yy[i] = (EXPR); } } \
        } else if (sy == 1 && sa == 1 && sb == 1) {                                                  \
            for (int64_t i = 0; i < n; i++) { float x = a[i], z = b[i]; y[i] = (EXPR); }             \
        } else if (sy == 1 && sa == 1 && sb == 0) {                                                  \
            const float z = b[0];                                                                    \
            for (int64_t i = 0; i < n; i++) { float x = a[i]; y[i] = (EXPR); }                       \
        } else if (sy == 1 && sa == 0 && sb == 1) {                                                  \
            const float x = a[0];                                                                    \
            for (int64_t i = 0; i < n; i++) { float z = b[i]; y[i] = (EXPR); }                       \
        } else {                                                                                     \
            for (int64_t i = 0; i < n; i++) { float x = a[i * sa], z = b[i * sb]; y[i * sy] = (EXPR); } \
        }                                                                                            \
    }

EKI_DEFINE_ROW(row_add, x + z)
EKI_DEFINE_ROW(row_sub, x - z)
EKI_DEFINE_ROW(row_mul, x * z)
EKI_DEFINE_ROW(row_div, x / z)
EKI_DEFINE_ROW(row_neg_div_sq, -x / (z * z))
EKI_DEFINE_ROW(row_div_twice, x / (2.0f * z))
EKI_DEFINE_ROW(row_pow_grad, x * p * (float)pow((double)z, (double)(p - 1.0f)))
EKI_DEFINE_ROW(row_sign_mul, z < 0.0f ? -x : (z > 0.0f ? x : 0.0f))
EKI_DEFINE_ROW(row_eq, x == z ? 1.0f : 0.0f)
EKI_DEFINE_ROW(row_lt, x < z ? 1.0f : 0.0f)
EKI_DEFINE_ROW(row_gt, x > z ? 1.0f : 0.0f)

typedef void (*row_fn)(int64_t, const float *, int64_t, const float *, int64_t, float, float *, int64_t);

static row_fn binary_row(ek_binary_op op) {
    switch (op) {
    case EK_BINARY_ADD: return row_add;
    case EK_BINARY_SUB: return row_sub;
    case EK_BINARY_MUL: return row_mul;
    case EK_BINARY_DIV: return row_div;
    case EK_BINARY_NEG_DIV_SQ: return row_neg_div_sq;
    case EK_BINARY_DIV_TWICE: return row_div_twice;
    case EK_BINARY_POW_GRAD: return row_pow_grad;
    case EK_BINARY_SIGN_MUL: return row_sign_mul;
    case EK_BINARY_EQ: return row_eq;
    case EK_BINARY_LT: return row_lt;
    case EK_BINARY_GT: return row_gt;
    }
    return NULL;
}

/* In-place use: out is a (or b) read through the same strides it is written with. */
static ek_status check_alias(const char *op, const char *name, const float *in, const int64_t *in_strides,
                             const float *out, const int64_t *out_strides, int64_t rank, int64_t count) {
    if (count == 0 || in != out) return EK_OK;
    if (rank > 0 && memcmp(in_strides, out_strides, sizeof(int64_t) * (size_t)rank) != 0)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: out is %s but written with other strides than %s is read with",
                        op, name, name);
    return EK_OK;
}

ek_status ek_binary_f32(ek_binary_op op, int64_t rank, const int64_t *shape, const float *a, int64_t a_len,
                        const int64_t *a_strides, const float *b, int64_t b_len, const int64_t *b_strides, float p,
                        float *out, int64_t out_len, const int64_t *out_strides) {
    static const char name[] = "binary";
    row_fn row = binary_row(op);
    if (!row) return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: op=%d is not an ek_binary_op", name, (int)op);
    ek_status s;
    int64_t count;
    if ((s = eki_check_shape(name, rank, shape, sizeof(float), &count)) ||
        (s = eki_check_operand(name, "a", rank, shape, count, a, a_len, a_strides)) ||
        (s = eki_check_operand(name, "b", rank, shape, count, b, b_len, b_strides)) ||
        (s = eki_check_operand(name, "out", rank, shape, count, out, out_len, out_strides)) ||
        (s = eki_check_distinct(name, "out", rank, shape, out_strides)) ||
        (s = check_alias(name, "a", a, a_strides, out, out_strides, rank, count)) ||
        (s = check_alias(name, "b", b, b_strides, out, out_strides, rank, count)))
        return s;
    if (count == 0) return EK_OK;

    const int64_t *strides[3] = {a_strides, b_strides, out_strides};
    eki_layout l;
    eki_coalesce(rank, shape, 3, strides, &l);
    const int last = l.rank - 1;
    const int64_t inner = l.shape[last], rows = count / inner;
    const int64_t blocks = eki_ceil_div(inner, EKI_ELEMENTWISE_BLOCK), tasks = rows * blocks;
    const int64_t sa = l.stride[0][last], sb = l.stride[1][last], sy = l.stride[2][last];
    /* pow costs about 20 multiplications: fork earlier */
    const int64_t work = op == EK_BINARY_POW_GRAD ? count * 16 : count;
    (void)work;
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (tasks > 1 && work >= EKI_PARALLEL_MIN_WORK)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t r = t / blocks, i0 = (t % blocks) * EKI_ELEMENTWISE_BLOCK;
        int64_t n = inner - i0 < EKI_ELEMENTWISE_BLOCK ? inner - i0 : EKI_ELEMENTWISE_BLOCK;
        int64_t off[3];
        eki_row_offsets(&l, r, off);
        row(n, a + off[0] + i0 * sa, sa, b + off[1] + i0 * sb, sb, p, out + off[2] + i0 * sy, sy);
    }
    return EK_OK;
}

static ek_status check_map(const char *op, int64_t n, const void *x, const void *y, size_t elem_size) {
    ek_status s;
    if ((s = eki_check_size(op, "n", n, 0)) || (s = eki_check_bytes(op, "x", n, 1, elem_size)) ||
        (s = eki_check_ptr(op, "x", x, n)) || (s = eki_check_ptr(op, "y", y, n)))
        return s;
    return EK_OK;
}

ek_status ek_unary_f32(ek_unary_op op, int64_t n, const float *x, float p, float *y) {
    static const char name[] = "unary";
    ek_status s;
    if ((unsigned)op > EK_UNARY_FILL_NONZERO)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: op=%d is not an ek_unary_op", name, (int)op);
    if ((s = check_map(name, n, x, y, sizeof(float)))) return s;
    const int64_t work = op == EK_UNARY_POW ? n * 16 : n;
    (void)work;
    switch (op) {
    case EK_UNARY_NEG:
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (work >= EKI_PARALLEL_MIN_WORK)
        for (int64_t i = 0; i < n; i++) y[i] = -x[i];
        break;
    case EK_UNARY_ABS:
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (work >= EKI_PARALLEL_MIN_WORK)
        for (int64_t i = 0; i < n; i++) y[i] = fabsf(x[i]);
        break;
    case EK_UNARY_SQRT:
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (work >= EKI_PARALLEL_MIN_WORK)
        for (int64_t i = 0; i < n; i++) y[i] = sqrtf(x[i]);
        break;
    case EK_UNARY_POW:
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (work >= EKI_PARALLEL_MIN_WORK)
        for (int64_t i = 0; i < n; i++) y[i] = (float)pow((double)x[i], (double)p);
        break;
    case EK_UNARY_FILL_NONZERO:
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (work >= EKI_PARALLEL_MIN_WORK)
        for (int64_t i = 0; i < n; i++) y[i] = x[i] != 0.0f ? p : 0.0f;
        break;
    }
    return EK_OK;
}

ek_status ek_i64_to_f32(int64_t n, const int64_t *x, float *y) {
    ek_status s;
    if ((s = check_map("i64_to_f32", n, x, y, sizeof(int64_t)))) return s;
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (n >= EKI_PARALLEL_MIN_WORK)
    for (int64_t i = 0; i < n; i++) y[i] = (float)x[i];
    return EK_OK;
}

ek_status ek_zero_masked_rows_f32(int64_t rows, int64_t cols, const float *x, float *y) {
    static const char op[] = "zero_masked_rows";
    ek_status s;
    if ((s = eki_check_size(op, "rows", rows, 0)) || (s = eki_check_size(op, "cols", cols, 0)) ||
        (s = eki_check_bytes(op, "x", rows, cols, sizeof(float))) || (s = eki_check_ptr(op, "x", x, rows * cols)) ||
        (s = eki_check_ptr(op, "y", y, rows * cols)))
        return s;
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (rows * cols >= EKI_PARALLEL_MIN_WORK)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        int64_t c = 0;
        while (c < cols && xr[c] == -INFINITY) c++;
        if (c == cols) memset(y + r * cols, 0, sizeof(float) * (size_t)cols);
    }
    return EK_OK;
}
