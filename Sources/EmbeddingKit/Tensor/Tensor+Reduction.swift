import Foundation

/// Reductions over all elements or one dimension, differentiable.
extension Tensor {
    /// `self` seen as `[outer, n, inner]` around dimension `d`.
    private func split(at d: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<d].reduce(1, *), shape[d], shape[(d + 1)...].reduce(1, *))
    }

    private func reducedShape(_ d: Int, keepDim: Bool) -> [Int] {
        var s = shape
        if keepDim { s[d] = 1 } else { s.remove(at: d) }
        return s
    }

    /// The sum of all elements, a scalar.
    public func sum() -> Tensor {
        precondition(dtype == .float32, "sum: needs a float tensor")
        let full = shape
        return Tensor(scalar: floats.reduce(0, +)).recorded("SumBackward0", [self]) { g in [.dense(.full(full, g.floats[0]))] }
    }

    /// The sum over dimension `dim`.
    public func sum(dim: Int, keepDim: Bool = false) -> Tensor {
        precondition(dtype == .float32, "sum: needs a float tensor")
        let d = normalizedDim(dim, op: "sum"), (outer, n, inner) = split(at: d), full = shape
        var out = [Float](repeating: 0, count: outer * inner)
        for o in 0..<outer { for k in 0..<n { for i in 0..<inner { out[o * inner + i] += floats[(o * n + k) * inner + i] } } }
        return Tensor(shape: reducedShape(d, keepDim: keepDim), floats: out).recorded("SumBackward1", [self]) { g in
            var values = [Float](repeating: 0, count: outer * n * inner)
            for o in 0..<outer { for k in 0..<n { for i in 0..<inner { values[(o * n + k) * inner + i] = g.floats[o * inner + i] } } }
            return [.dense(Tensor(shape: full, floats: values))]
        }
    }

    /// The mean of all elements, a scalar.
    public func mean() -> Tensor { (sum() / Float(count)).renamingNode("MeanBackward0") }

    /// The mean over dimension `dim`.
    public func mean(dim: Int, keepDim: Bool = false) -> Tensor {
        (sum(dim: dim, keepDim: keepDim) / Float(shape[normalizedDim(dim, op: "mean")])).renamingNode("MeanBackward1")
    }

    /// The largest element over dimension `dim` and where it is (the first, for ties), like
    /// PyTorch's `max(dim)`. The gradient flows to the chosen element.
    public func max(dim: Int, keepDim: Bool = false) -> (values: Tensor, indices: Tensor) {
        precondition(dtype == .float32, "max: needs a float tensor")
        let d = normalizedDim(dim, op: "max"), (outer, n, inner) = split(at: d), full = shape
        precondition(n > 0, "max: dimension \(dim) is empty")
        var best = [Float](repeating: 0, count: outer * inner), at = [Int64](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var m = floats[o * n * inner + i], k0 = 0
                for k in 1..<Swift.max(n, 1) {
                    let v = floats[(o * n + k) * inner + i]
                    if v > m || (v.isNaN && !m.isNaN) { m = v; k0 = k }
                }
                best[o * inner + i] = m
                at[o * inner + i] = Int64(k0)
            }
        }
        let outShape = reducedShape(d, keepDim: keepDim)
        let values = Tensor(shape: outShape, floats: best).recorded("MaxBackward0", [self]) { g in
            var grad = [Float](repeating: 0, count: outer * n * inner)
            for o in 0..<outer { for i in 0..<inner { grad[(o * n + Int(at[o * inner + i])) * inner + i] = g.floats[o * inner + i] } }
            return [.dense(Tensor(shape: full, floats: grad))]
        }
        return (values, Tensor(shape: outShape, ints: at))
    }

    /// The index of the largest element over `dim`.
    public func argmax(dim: Int) -> Tensor { withoutGradients { max(dim: dim).indices } }

    /// The p-norm over dimension `dim` (p = 2 by default).
    public func norm(p: Float = 2, dim: Int, keepDim: Bool = false) -> Tensor {
        precondition(p > 0, "norm: p=\(p) must be positive")
        // PyTorch's Tensor.norm is torch.linalg.vector_norm, one node
        if p == 2 { return (self * self).sum(dim: dim, keepDim: keepDim).sqrt().renamingNode("LinalgVectorNormBackward0") }
        return map(abs).recordedAbs(of: self).pow(p).sum(dim: dim, keepDim: keepDim).pow(1 / p).renamingNode("LinalgVectorNormBackward0")
    }

    /// |x| with the gradient sign(x), recorded on top of `source`.
    private func recordedAbs(of source: Tensor) -> Tensor {
        recorded("AbsBackward0", [source]) { g in [.dense(Tensor.zipBroadcast(g, source, op: "abs") { $1 < 0 ? -$0 : ($1 > 0 ? $0 : 0) })] }
    }
}
