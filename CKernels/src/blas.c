/* blas.c — dense matrix product through OpenBLAS (Linear and attention layers call this). */
#include <cblas.h>

#include "internal.h"

/* C is cut into a grid of blocks, each one single-threaded sgemm. The grid depends only on the shape
 * (never on the thread count), so the same calls run whatever the count and the result is
 * bit-identical for any count (threads.c says why OpenBLAS's own threads are not used). */

/* At most this many rows per block: a larger product keeps its blocks this tall, so B is packed
 * once per 256 rows of C, as before. */
#define MATMUL_MAX_ROWS 256
/* Multiply-adds per block: a product is split into 2, 4, ... equal blocks while each keeps at least
 * this much. Measured on W9's products (1.6 M multiply-adds, m = 256 or 100): two blocks take 2
 * threads from 31 to 16-19 us (OpenBLAS's Haswell kernels) and cost 1 thread 0-4 us; four cost
 * 1 thread up to 10 us more and gain nothing at 2. */
#define MATMUL_BLOCK_WORK ((int64_t)1 << 19)
/* The split stops at 16 blocks (power-of-two counts divide evenly among 1, 2, 4, 8, 16 threads). */
#define MATMUL_MAX_SPLIT 16
/* Blocks keep at least this many rows; below it the columns are split instead (with few rows,
 * splitting rows reads all of B once per block: 8 x 512 x 512 took 1 thread from 74 to 110 us). */
#define MATMUL_MIN_ROWS 32
/* Column blocks start at multiples of 16 floats: whole 64-byte lines of C per block, and whole
 * vectors of OpenBLAS's kernels. */
#define MATMUL_COL_ALIGN 16

typedef struct {
    int64_t row_blocks, col_blocks;
} matmul_grid;

/* m * n * k, saturated (m * n fits: C's byte count was checked). */
static int64_t matmul_work(int64_t m, int64_t n, int64_t k) { return m * n > INT64_MAX / k ? INT64_MAX : m * n * k; }

static matmul_grid matmul_grid_for(int64_t m, int64_t n, int64_t k) {
    int64_t split = 1;
    while (split < MATMUL_MAX_SPLIT && matmul_work(m, n, k) / (2 * split) >= MATMUL_BLOCK_WORK) split *= 2;
    int64_t rows_max = m / MATMUL_MIN_ROWS > 1 ? m / MATMUL_MIN_ROWS : 1;
    int64_t row_split = split < rows_max ? split : rows_max;
    int64_t cols_max = n / MATMUL_COL_ALIGN > 1 ? n / MATMUL_COL_ALIGN : 1;
    int64_t col_split = split / row_split < cols_max ? split / row_split : cols_max;
    int64_t tall = eki_ceil_div(m, MATMUL_MAX_ROWS);
    return (matmul_grid){row_split > tall ? row_split : tall, col_split};
}

/* First row of row block b of `blocks` (equal parts). */
static int64_t block_row(int64_t m, int64_t b, int64_t blocks) { return m * b / blocks; }

/* First column of column block b of `blocks`: equal parts rounded down to MATMUL_COL_ALIGN. */
static int64_t block_col(int64_t n, int64_t b, int64_t blocks) {
    return b >= blocks ? n : n * b / blocks / MATMUL_COL_ALIGN * MATMUL_COL_ALIGN;
}

ek_status ek_matmul_f32(int64_t m, int64_t n, int64_t k, const float *a, int32_t trans_a,
                        const float *b, int32_t trans_b, float alpha, float beta, float *c) {
    static const char op[] = "matmul";
    ek_status s;
    if ((s = eki_check_size(op, "m", m, 0)) || (s = eki_check_size(op, "n", n, 0)) ||
        (s = eki_check_size(op, "k", k, 0)) || (s = eki_check_flag(op, "trans_a", trans_a)) ||
        (s = eki_check_flag(op, "trans_b", trans_b)))
        return s;
    if ((s = eki_check_bytes(op, "a", m, k, sizeof(float))) || (s = eki_check_bytes(op, "b", k, n, sizeof(float))) ||
        (s = eki_check_bytes(op, "c", m, n, sizeof(float))))
        return s;
    if ((s = eki_check_ptr(op, "a", a, m * k)) || (s = eki_check_ptr(op, "b", b, k * n)) ||
        (s = eki_check_ptr(op, "c", c, m * n)))
        return s;
    if (m == 0 || n == 0) return EK_OK;
    if (k == 0) { /* C = beta * C; BLAS would also do this, but some builds reject lda = 0 */
        for (int64_t i = 0; i < m * n; i++) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
        return EK_OK;
    }
    /* only a product BLAS computes needs 32-bit sizes: an empty one of any size is done above */
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
        return eki_fail(EK_ERR_OVERFLOW, "matmul: m=%lld, n=%lld, k=%lld exceed BLAS's 32-bit sizes",
                        (long long)m, (long long)n, (long long)k);
    eki_blas_single_threaded();
    matmul_grid g = matmul_grid_for(m, n, k);
    int64_t blocks = g.row_blocks * g.col_blocks;
    EKI_PARALLEL_FOR(blocks > 1 && matmul_work(m, n, k) >= 2 * MATMUL_BLOCK_WORK, (static),
    for (int64_t blk = 0; blk < blocks; blk++) {
        int64_t bi = blk / g.col_blocks, bj = blk % g.col_blocks;
        int64_t i0 = block_row(m, bi, g.row_blocks), rows = block_row(m, bi + 1, g.row_blocks) - i0;
        int64_t j0 = block_col(n, bj, g.col_blocks), cols = block_col(n, bj + 1, g.col_blocks) - j0;
        /* rows i0.. of op(A): row offset in A, or column offset when A is stored transposed (k x m);
         * columns j0.. of op(B): column offset in B, or row offset when B is stored transposed (n x k) */
        const float *a_rows = trans_a ? a + i0 : a + i0 * k;
        const float *b_cols = trans_b ? b + j0 * k : b + j0;
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    (int)rows, (int)cols, (int)k, alpha, a_rows, trans_a ? (int)m : (int)k, b_cols,
                    trans_b ? (int)k : (int)n, beta, c + i0 * n + j0, (int)n);
    });
    return EK_OK;
}
