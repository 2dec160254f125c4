/// Slices along one dimension, differentiable (PyTorch's `narrow` and `chunk`).
extension Tensor {
    /// The elements whose index along `dim` lies in `start..<start+length`, as a new tensor.
    public func narrow(_ dim: Int, start: Int, length: Int) -> Tensor {
        let d = normalizedDim(dim, op: "narrow")
        precondition(start >= 0 && length >= 0 && start + length <= shape[d],
                     "narrow: start \(start) and length \(length) do not fit dimension \(dim) of size \(shape[d])")
        let inner = shape[(d + 1)...].reduce(1, *), strides = Broadcast.contiguous(shape), sourceShape = shape
        var outShape = shape
        outShape[d] = length
        let out = TensorKernels.gather(self, outShape, offset: start * inner, strides: strides)
        if dtype == .int64 { return out }
        return out.recorded("SliceBackward0", [self]) { g in
            [.dense(Tensor(shape: sourceShape, floats: TensorKernels.scatter(g.floats, outShape, count: sourceShape.reduce(1, *),
                                                                             offset: start * inner, strides: strides)))]
        }
    }

    /// `chunks` equal slices along `dim` (its size must divide evenly).
    public func chunk(_ chunks: Int, dim: Int = 0) -> [Tensor] {
        let d = normalizedDim(dim, op: "chunk")
        precondition(chunks > 0 && shape[d] % chunks == 0, "chunk: dimension \(dim) of size \(shape[d]) does not split into \(chunks)")
        let step = shape[d] / chunks
        return (0..<chunks).map { narrow(d, start: $0 * step, length: step) }
    }
}
