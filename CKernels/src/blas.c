/* blas.c — dense matrix product through OpenBLAS (Linear and attention layers call this). */
#include <cblas.h>

#include "internal.h"

/* Rows of C per sgemm call (a fixed size, so results do not depend on the thread count). */
#define MATMUL_BLOCK_ROWS 256

ek_status ek_matmul_f32(int64_t m, int64_t n, int64_t k, const float *a, int32_t trans_a,
                        const float *b, int32_t trans_b, float alpha, float beta, float *c) {
    static const char op[] = "matmul";
    ek_status s;
    if ((s = eki_check_size(op, "m", m, 0)) || (s = eki_check_size(op, "n", n, 0)) ||
        (s = eki_check_size(op, "k", k, 0)))
        return s;
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
        return eki_fail(EK_ERR_OVERFLOW, "matmul: m=%lld, n=%lld, k=%lld exceed BLAS's 32-bit sizes",
                        (long long)m, (long long)n, (long long)k);
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
    /* Fixed blocks of MATMUL_BLOCK_ROWS rows of C, each one single-threaded sgemm: the same calls
     * whatever the thread count, so the result is bit-identical for any count (threads.c). */
    eki_blas_single_threaded();
    int64_t blocks = (m + MATMUL_BLOCK_ROWS - 1) / MATMUL_BLOCK_ROWS;
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (blocks > 1 && m * n * k >= 64 * EKI_PARALLEL_MIN_WORK)
    for (int64_t blk = 0; blk < blocks; blk++) {
        int64_t i0 = blk * MATMUL_BLOCK_ROWS, rows = m - i0 < MATMUL_BLOCK_ROWS ? m - i0 : MATMUL_BLOCK_ROWS;
        /* rows i0.. of op(A): row offset in A, or column offset when A is stored transposed (k x m) */
        const float *a_rows = trans_a ? a + i0 : a + i0 * k;
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    (int)rows, (int)n, (int)k, alpha, a_rows, trans_a ? (int)m : (int)k, b, trans_b ? (int)k : (int)n,
                    beta, c + i0 * n, (int)n);
    }
    return EK_OK;
}
