/* blas.c — dense matrix product through OpenBLAS (Linear and attention layers call this). */
#include <cblas.h>

#include "internal.h"

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
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, alpha, a, trans_a ? (int)m : (int)k, b, trans_b ? (int)k : (int)n,
                beta, c, (int)n);
    return EK_OK;
}
