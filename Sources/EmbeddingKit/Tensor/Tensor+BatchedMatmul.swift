import CKernels

/// Batched matrix products through OpenBLAS: one sgemm per batch entry, no copies.
extension Tensor {
    /// `a @ op(b)` for each batch entry: `a` `[B, n, k]`, `b` `[B, k, m]` (or `[B, m, k]` with
    /// `transposeB`), giving `[B, n, m]` (PyTorch's `torch.bmm`).
    public static func bmm(_ a: Tensor, _ b: Tensor, transposeB: Bool = false) -> Tensor {
        precondition(a.dtype == .float32 && b.dtype == .float32 && a.rank == 3 && b.rank == 3,
                     "bmm: needs 3-D float tensors, got \(a.shape) and \(b.shape)")
        let batch = a.shape[0], n = a.shape[1], k = a.shape[2]
        let m = transposeB ? b.shape[1] : b.shape[2], bk = transposeB ? b.shape[2] : b.shape[1]
        precondition(b.shape[0] == batch && bk == k, "bmm: shapes \(a.shape) and \(b.shape) do not chain")
        let out = batchedProduct(batch, n, m, k, a.floats, false, b.floats, transposeB)
        return Tensor(shape: [batch, n, m], floats: out).recorded("BmmBackward0", [a, b]) { g in
            // dA = dC op(B)^T ; dB = A^T dC (or dC^T A when B was transposed)
            let ga = a.requiresGrad ? batchedProduct(batch, n, k, m, g.floats, false, b.floats, !transposeB) : nil
            let gb = b.requiresGrad
                ? (transposeB ? batchedProduct(batch, m, k, n, g.floats, true, a.floats, false)
                              : batchedProduct(batch, k, m, n, a.floats, true, g.floats, false))
                : nil
            return [ga.map { .dense(Tensor(shape: a.shape, floats: $0)) }, gb.map { .dense(Tensor(shape: b.shape, floats: $0)) }]
        }
    }

    /// C[i] = op(A[i]) op(B[i]) (each m x n, inner k) for i in 0..<batch, row-major and contiguous.
    static func batchedProduct(_ batch: Int, _ m: Int, _ n: Int, _ k: Int, _ a: FloatStorage, _ transA: Bool,
                               _ b: FloatStorage, _ transB: Bool) -> FloatStorage {
        var c = FloatStorage(repeating: 0, count: batch * m * n)
        if c.isEmpty || k == 0 { return c } // empty, or a sum over nothing: zeros, as in PyTorch
        a.withPointer { pa in
            b.withPointer { pb in
                c.withMutablePointer { pc in
                    for i in 0..<batch {
                        mustSucceed(ek_matmul_f32(Int64(m), Int64(n), Int64(k), pa + i * m * k, transA ? 1 : 0,
                                                  pb + i * k * n, transB ? 1 : 0, 1, 0, pc + i * m * n))
                    }
                }
            }
        }
        return c
    }
}
