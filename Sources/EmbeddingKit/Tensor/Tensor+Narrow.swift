/// Slices along one dimension, differentiable (PyTorch's `narrow` and `chunk`).
extension Tensor {
    /// The elements whose index along `dim` lies in `start..<start+length`, as a new tensor.
    public func narrow(_ dim: Int, start: Int, length: Int) -> Tensor {
        let d = normalizedDim(dim, op: "narrow")
        precondition(start >= 0 && length >= 0 && start + length <= shape[d],
                     "narrow: start \(start) and length \(length) do not fit dimension \(dim) of size \(shape[d])")
        let outer = shape[..<d].reduce(1, *), inner = shape[(d + 1)...].reduce(1, *), size = shape[d]
        var outShape = shape
        outShape[d] = length
        var out = [Float](), ints = [Int64]()
        let sourceShape = shape
        if dtype == .float32 { out.reserveCapacity(outer * length * inner) } else { ints.reserveCapacity(outer * length * inner) }
        for o in 0..<outer {
            let from = (o * size + start) * inner, to = from + length * inner
            if dtype == .float32 { out.append(contentsOf: floats[from..<to]) } else { ints.append(contentsOf: self.ints[from..<to]) }
        }
        if dtype == .int64 { return Tensor(shape: outShape, ints: ints) }
        return Tensor(shape: outShape, floats: out).recorded("SliceBackward0", [self]) { g in
            var full = [Float](repeating: 0, count: sourceShape.reduce(1, *))
            for o in 0..<outer {
                let from = (o * size + start) * inner
                full.replaceSubrange(from..<(from + length * inner), with: g.floats[(o * length * inner)..<((o + 1) * length * inner)])
            }
            return [.dense(Tensor(shape: sourceShape, floats: full))]
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
