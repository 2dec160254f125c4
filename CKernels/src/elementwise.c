/* elementwise.c — element-wise arithmetic with broadcasting, unary maps and conversions (section 11
 * of embeddingkit.h). One pass over the output: the layout is validated and coalesced once per call
 * (strided.h), then runs of rows of the innermost dimension go through flat loops, specialised for
 * the stride pairs that vectorise (both 1; one operand a scalar; a row vector into every row, in
 * place). Runs of rows, or blocks of a long row, are split among threads; every element is computed
 * on its own, so the thread count changes nothing. */
#include <math.h>
#include <string.h>

#include "strided.h"

/* Elements per parallel task: a long innermost row is cut into blocks of this many; short rows are
 * grouped into runs of about this many elements. */
#define EKI_ELEMENTWISE_BLOCK 8192

/* A run of `rows` rows: y[r * ry + i * sy] = OP(a[r * ra + i * sa], b[r * rb + i * sb]) for r in
 * [0, rows), i in [0, n). The stride case is chosen once per run, not once per row (narrow rows, such
 * as a bias add over [4096, 64], spent more in that choice and the call than in the arithmetic); each
 * branch gives the vectoriser a loop with unit or zero strides, and all compute the same expression.
 * No restrict on the arguments: y may be a (in place, read and written through the same strides). */
#define EKI_DEFINE_ROWS(name, EXPR)                                                                  \
    static void name(int64_t rows, int64_t n, const float *a, int64_t ra, int64_t sa, const float *b,   \
                     int64_t rb, int64_t sb, float p, float *y, int64_t ry, int64_t sy) {               \
        (void)p;                                                                                     \
        if (y == a && sy == 1 && sa == 1 && sb <= 1) { /* in place: y = y OP b, restrict-qualified */ \
            if (sb == 1 && rb == 0) { /* one row vector into every row (a bias add) */                \
                const float *restrict bb = b;                                                        \
                for (int64_t r = 0; r < rows; r++) {                                                 \
                    float *restrict yy = y + r * ry;                                                 \
                    for (int64_t i = 0; i < n; i++) { float x = yy[i], z = bb[i]; yy[i] = (EXPR); }   \
                }                                                                                    \
            } else if (sb == 1) {                                                                    \
                for (int64_t r = 0; r < rows; r++) {                                                 \
                    float *restrict yy = y + r * ry;                                                 \
                    const float *restrict bb = b + r * rb;                                           \
                    for (int64_t i = 0; i < n; i++) { float x = yy[i], z = bb[i]; yy[i] = (EXPR); }   \
                }                                                                                    \
            } else {                                                                                 \
                for (int64_t r = 0; r < rows; r++) {                                                 \
                    float *restrict yy = y + r * ry;                                                 \
                    const float z = b[r * rb];                                                       \
                    for (int64_t i = 0; i < n; i++) { float x = yy[i]; yy[i] = (EXPR); }             \
                }                                                                                    \
            }                                                                                        \
        } else if (sy == 1 && sa == 1 && sb == 1) {                                                  \
            for (int64_t r = 0; r < rows; r++) {                                                     \
                const float *ar = a + r * ra, *br = b + r * rb;                                      \
                float *yr = y + r * ry;                                                              \
                for (int64_t i = 0; i < n; i++) { float x = ar[i], z = br[i]; yr[i] = (EXPR); }      \
            }                                                                                        \
        } else if (sy == 1 && sa == 1 && sb == 0) {                                                  \
            for (int64_t r = 0; r < rows; r++) {                                                     \
                const float *ar = a + r * ra, z = b[r * rb];                                         \
                float *yr = y + r * ry;                                                              \
                for (int64_t i = 0; i < n; i++) { float x = ar[i]; yr[i] = (EXPR); }                 \
            }                                                                                        \
        } else if (sy == 1 && sa == 0 && sb == 1) {                                                  \
            for (int64_t r = 0; r < rows; r++) {                                                     \
                const float x = a[r * ra], *br = b + r * rb;                                         \
                float *yr = y + r * ry;                                                              \
                for (int64_t i = 0; i < n; i++) { float z = br[i]; yr[i] = (EXPR); }                 \
            }                                                                                        \
        } else {                                                                                     \
            for (int64_t r = 0; r < rows; r++)                                                       \
                for (int64_t i = 0; i < n; i++) {                                                    \
                    float x = a[r * ra + i * sa], z = b[r * rb + i * sb];                            \
                    y[r * ry + i * sy] = (EXPR);                                                     \
                }                                                                                    \
        }                                                                                            \
    }

EKI_DEFINE_ROWS(rows_add, x + z)
EKI_DEFINE_ROWS(rows_sub, x - z)
EKI_DEFINE_ROWS(rows_mul, x * z)
EKI_DEFINE_ROWS(rows_div, x / z)
EKI_DEFINE_ROWS(rows_neg_div_sq, -x / (z * z))
EKI_DEFINE_ROWS(rows_div_twice, x / (2.0f * z))
EKI_DEFINE_ROWS(rows_pow_grad, x * p * (float)pow((double)z, (double)(p - 1.0f)))
EKI_DEFINE_ROWS(rows_sign_mul, z < 0.0f ? -x : (z > 0.0f ? x : 0.0f))
EKI_DEFINE_ROWS(rows_eq, x == z ? 1.0f : 0.0f)
EKI_DEFINE_ROWS(rows_lt, x < z ? 1.0f : 0.0f)
EKI_DEFINE_ROWS(rows_gt, x > z ? 1.0f : 0.0f)

typedef void (*rows_fn)(int64_t, int64_t, const float *, int64_t, int64_t, const float *, int64_t, int64_t, float,
                        float *, int64_t, int64_t);

static rows_fn rows_of(ek_binary_op op) {
    switch (op) {
    case EK_BINARY_ADD: return rows_add;
    case EK_BINARY_SUB: return rows_sub;
    case EK_BINARY_MUL: return rows_mul;
    case EK_BINARY_DIV: return rows_div;
    case EK_BINARY_NEG_DIV_SQ: return rows_neg_div_sq;
    case EK_BINARY_DIV_TWICE: return rows_div_twice;
    case EK_BINARY_POW_GRAD: return rows_pow_grad;
    case EK_BINARY_SIGN_MUL: return rows_sign_mul;
    case EK_BINARY_EQ: return rows_eq;
    case EK_BINARY_LT: return rows_lt;
    case EK_BINARY_GT: return rows_gt;
    }
    return NULL;
}

/* A coalesced call cut into tasks (ek_binary_f32). */
typedef struct {
    rows_fn run;
    float p;
    eki_layout l;
    int64_t inner, plane_rows, blocks, run_rows, runs_per_plane;
    int64_t s[3], r[3]; /* per operand (a, b, out): the element stride along a row, and between rows */
} binary_plan;

static inline void binary_task(const binary_plan *pl, int64_t t, const float *a, const float *b, float *y) {
    const int64_t k = t / pl->blocks, i0 = (t % pl->blocks) * EKI_ELEMENTWISE_BLOCK;
    const int64_t n = pl->inner - i0 < EKI_ELEMENTWISE_BLOCK ? pl->inner - i0 : EKI_ELEMENTWISE_BLOCK;
    const int64_t plane = k / pl->runs_per_plane, r0 = (k % pl->runs_per_plane) * pl->run_rows;
    const int64_t m = pl->plane_rows - r0 < pl->run_rows ? pl->plane_rows - r0 : pl->run_rows;
    int64_t off[3];
    eki_row_offsets(&pl->l, plane * pl->plane_rows + r0, off);
    pl->run(m, n, a + off[0] + i0 * pl->s[0], pl->r[0], pl->s[0], b + off[1] + i0 * pl->s[1], pl->r[1], pl->s[1], pl->p,
            y + off[2] + i0 * pl->s[2], pl->r[2], pl->s[2]);
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
    if (!rows_of(op)) return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: op=%d is not an ek_binary_op", name, (int)op);
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
    binary_plan pl = {.run = rows_of(op), .p = p};
    eki_coalesce(rank, shape, 3, strides, &pl.l);
    /* The innermost dimension is the row (n elements); the one outside it (if any) steps between rows
     * of a run; the dimensions outside both are "planes". A task is a run of whole rows of one plane
     * (all of them when serial, else about EKI_ELEMENTWISE_BLOCK elements) or, for a row longer than
     * that, one block of one row. */
    const int last = pl.l.rank - 1;
    pl.inner = pl.l.shape[last];
    pl.plane_rows = last > 0 ? pl.l.shape[last - 1] : 1;
    for (int k = 0; k < 3; k++) {
        pl.s[k] = pl.l.stride[k][last];
        pl.r[k] = last > 0 ? pl.l.stride[k][last - 1] : 0;
    }
    pl.blocks = eki_ceil_div(pl.inner, EKI_ELEMENTWISE_BLOCK);
    /* pow costs about 20 multiplications: fork earlier */
    const int64_t work = op == EK_BINARY_POW_GRAD ? count * 16 : count;
    const int threads = work >= EKI_PARALLEL_MIN_WORK ? eki_num_threads() : 1;
    const int64_t per_run = EKI_ELEMENTWISE_BLOCK / pl.inner; /* >= 1 when blocks == 1 */
    pl.run_rows = pl.blocks > 1 ? 1 : threads > 1 && per_run < pl.plane_rows ? per_run : pl.plane_rows;
    pl.runs_per_plane = eki_ceil_div(pl.plane_rows, pl.run_rows);
    const int64_t tasks = (count / pl.inner / pl.plane_rows) * pl.runs_per_plane * pl.blocks;
    EKI_PARALLEL_FOR(threads > 1 && tasks > 1, (static),
    for (int64_t t = 0; t < tasks; t++) binary_task(&pl, t, a, b, out));
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
    switch (op) {
    case EK_UNARY_NEG:
        EKI_PARALLEL_FOR(work >= EKI_PARALLEL_MIN_WORK, (static),
        for (int64_t i = 0; i < n; i++) y[i] = -x[i]);
        break;
    case EK_UNARY_ABS:
        EKI_PARALLEL_FOR(work >= EKI_PARALLEL_MIN_WORK, (static),
        for (int64_t i = 0; i < n; i++) y[i] = fabsf(x[i]));
        break;
    case EK_UNARY_SQRT:
        EKI_PARALLEL_FOR(work >= EKI_PARALLEL_MIN_WORK, (static),
        for (int64_t i = 0; i < n; i++) y[i] = sqrtf(x[i]));
        break;
    case EK_UNARY_POW:
        EKI_PARALLEL_FOR(work >= EKI_PARALLEL_MIN_WORK, (static),
        for (int64_t i = 0; i < n; i++) y[i] = (float)pow((double)x[i], (double)p));
        break;
    case EK_UNARY_FILL_NONZERO:
        EKI_PARALLEL_FOR(work >= EKI_PARALLEL_MIN_WORK, (static),
        for (int64_t i = 0; i < n; i++) y[i] = x[i] != 0.0f ? p : 0.0f);
        break;
    }
    return EK_OK;
}

ek_status ek_i64_to_f32(int64_t n, const int64_t *x, float *y) {
    ek_status s;
    if ((s = check_map("i64_to_f32", n, x, y, sizeof(int64_t)))) return s;
    EKI_PARALLEL_FOR(n >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < n; i++) y[i] = (float)x[i]);
    return EK_OK;
}

ek_status ek_zero_masked_rows_f32(int64_t rows, int64_t cols, const float *x, float *y) {
    static const char op[] = "zero_masked_rows";
    ek_status s;
    if ((s = eki_check_size(op, "rows", rows, 0)) || (s = eki_check_size(op, "cols", cols, 0)) ||
        (s = eki_check_bytes(op, "x", rows, cols, sizeof(float))) || (s = eki_check_ptr(op, "x", x, rows * cols)) ||
        (s = eki_check_ptr(op, "y", y, rows * cols)))
        return s;
    EKI_PARALLEL_FOR(rows * cols >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        int64_t c = 0;
        while (c < cols && xr[c] == -INFINITY) c++;
        if (c == cols) memset(y + r * cols, 0, sizeof(float) * (size_t)cols);
    });
    return EK_OK;
}
