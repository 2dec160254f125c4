import CKernels

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

    /// The sum of all elements, a scalar (added in order, as a sequential loop).
    public func sum() -> Tensor {
        precondition(dtype == .float32, "sum: needs a float tensor")
        let full = shape
        return Tensor(shape: [], floats: TensorKernels.sumDim(floats, outer: 1, n: count, inner: 1))
            .recorded("SumBackward0", [self]) { g in [.dense(.full(full, g.floats[0]))] }
    }

    /// The sum over dimension `dim`.
    public func sum(dim: Int, keepDim: Bool = false) -> Tensor {
        precondition(dtype == .float32, "sum: needs a float tensor")
        let d = normalizedDim(dim, op: "sum"), (outer, n, inner) = split(at: d), full = shape
        let out = TensorKernels.sumDim(floats, outer: outer, n: n, inner: inner)
        return Tensor(shape: reducedShape(d, keepDim: keepDim), floats: out).recorded("SumBackward1", [self]) { g in
            // g [outer, inner] expanded along the summed dimension
            [.dense(Tensor(shape: full, floats: TensorKernels.gather(g, [outer, n, inner], strides: [Int64(inner), 0, 1]).floats))]
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
        var best = FloatStorage.uninitialized(count: outer * inner), at = [Int64](repeating: 0, count: outer * inner)
        floats.withPointer { x in
            best.withMutablePointer { m in mustSucceed(ek_max_dim_f32(Int64(outer), Int64(n), Int64(inner), x, m, &at), "max") }
        }
        let outShape = reducedShape(d, keepDim: keepDim), chosen = at
        let values = Tensor(shape: outShape, floats: best).recorded("MaxBackward0", [self]) { g in
            var grad = FloatStorage.uninitialized(count: outer * n * inner)
            g.floats.withPointer { pg in
                grad.withMutablePointer { px in
                    mustSucceed(ek_max_dim_backward_f32(Int64(outer), Int64(n), Int64(inner), chosen, pg, px), "max")
                }
            }
            return [.dense(Tensor(shape: full, floats: grad))]
        }
        return (values, Tensor(shape: outShape, ints: at))
    }

    /// The index of the largest element over `dim`.
    public func argmax(dim: Int) -> Tensor { withoutGradients { max(dim: dim).indices } }

    /// The position of the largest element in row-major order (PyTorch's `argmax()` without a
    /// dimension, as an `Int`): the first of equal maxima; a NaN counts as the largest, as in PyTorch.
    /// Works for both dtypes. Throws `EmbeddingKitError` (`.invalidArgument`) for an empty tensor.
    public func argmax() throws(EmbeddingKitError) -> Int {
        guard count > 0 else {
            throw EmbeddingKitError(.invalidArgument, "argmax(): expected a non-empty tensor, got shape \(shape)")
        }
        var best = 0
        if dtype == .int64 {
            for i in 1..<count where ints[i] > ints[best] { best = i }
        } else {
            for i in 1..<count where !floats[best].isNaN && (floats[i].isNaN || floats[i] > floats[best]) { best = i }
        }
        return best
    }

    /// The p-norm over dimension `dim` (p = 2 by default).
    public func norm(p: Float = 2, dim: Int, keepDim: Bool = false) -> Tensor {
        precondition(p > 0, "norm: p=\(p) must be positive")
        // PyTorch's Tensor.norm is torch.linalg.vector_norm, one node
        if p == 2 { return (self * self).sum(dim: dim, keepDim: keepDim).sqrt().renamingNode("LinalgVectorNormBackward0") }
        return map(EK_UNARY_ABS).recordedAbs(of: self).pow(p).sum(dim: dim, keepDim: keepDim).pow(1 / p).renamingNode("LinalgVectorNormBackward0")
    }

    /// |x| with the gradient sign(x), recorded on top of `source`.
    private func recordedAbs(of source: Tensor) -> Tensor {
        recorded("AbsBackward0", [source]) { g in [.dense(Tensor.zipBroadcast(g, source, op: "abs", EK_BINARY_SIGN_MUL))] }
    }
}
