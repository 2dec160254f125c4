import CKernels

/// Matrix products through OpenBLAS (`ek_matmul_f32`).
extension Tensor {
    /// `a @ b`: `[..., n, k] @ [k, m] -> [..., n, m]`, or batched `[B, n, k] @ [B, k, m]`.
    public static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.dtype == .float32 && b.dtype == .float32, "matmul: needs float tensors")
        precondition(a.rank >= 1 && b.rank >= 1, "matmul: scalars have no matrix product")
        if a.rank == 3 && b.rank == 3 {
            precondition(a.shape[0] == b.shape[0], "matmul: batch sizes \(a.shape[0]) and \(b.shape[0]) differ")
            return stack((0..<a.shape[0]).map { matmul(a[$0], b[$0]) }).renamingNode(PyTorchNodeNames.matmul(leftRank: 3, rightRank: 3))
        }
        precondition(b.rank == 2, "matmul: right operand of shape \(b.shape) must be 2-D (or both 3-D)")
        let k = a.shape.last!, m = b.shape[1]
        precondition(b.shape[0] == k, "matmul: shapes \(a.shape) and \(b.shape) do not chain (\(k) vs \(b.shape[0]))")
        let n = a.shape.dropLast().reduce(1, *) // not count / k: k may be 0
        let out = Tensor(shape: Array(a.shape.dropLast()) + [m], floats: product(n, m, k, a.floats, false, b.floats, false))
        return out.recorded(PyTorchNodeNames.matmul(leftRank: a.rank, rightRank: b.rank), [a, b]) { g in
            let ga = a.requiresGrad ? Tensor(shape: a.shape, floats: product(n, k, m, g.floats, false, b.floats, true)) : nil
            let gb = b.requiresGrad ? Tensor(shape: b.shape, floats: product(k, m, n, a.floats, true, g.floats, false)) : nil
            return [ga.map { .dense($0) }, gb.map { .dense($0) }]
        }
    }

    /// C = op(A) op(B) for row-major A (m x k or k x m) and B (k x n or n x k). Empty shapes work as
    /// in PyTorch: an empty C for m or n = 0 (whatever k), zeros for k = 0.
    static func product(_ m: Int, _ n: Int, _ k: Int, _ a: FloatStorage, _ transA: Bool, _ b: FloatStorage,
                        _ transB: Bool) -> FloatStorage {
        if m == 0 || n == 0 || k == 0 { return FloatStorage(repeating: 0, count: m * n) }
        var c = FloatStorage.uninitialized(count: m * n) // beta = 0: sgemm writes every element
        a.withPointer { pa in
            b.withPointer { pb in
                c.withMutablePointer { pc in
                    mustSucceed(ek_matmul_f32(Int64(m), Int64(n), Int64(k), pa, transA ? 1 : 0, pb, transB ? 1 : 0, 1, 0, pc))
                }
            }
        }
        return c
    }
}
