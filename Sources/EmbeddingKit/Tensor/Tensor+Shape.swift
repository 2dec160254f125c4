/// Shape operations: views of the same elements in another shape, joins and selections.
/// Each is differentiable; index tensors pass through without gradients.
extension Tensor {
    /// The same elements in `shape` (one dimension may be -1: inferred), like PyTorch's `reshape`.
    public func reshape(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshape: cannot reshape \(shape) to \(newShape)")
            resolved[hole] = count / known
        }
        precondition(resolved.reduce(1, *) == count, "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        let old = shape
        let out = dtype == .float32 ? Tensor(shape: resolved, floats: floats) : Tensor(shape: resolved, ints: ints)
        return out.recorded("ViewBackward0", [self]) { g in [.dense(g.reshape(old))] }
    }

    /// PyTorch's `view`: the same as `reshape` here (storage is always contiguous).
    public func view(_ newShape: [Int]) -> Tensor { reshape(newShape) }

    /// Inserts a dimension of size 1 at `dim` (negative counts from the end of the result).
    public func unsqueeze(_ dim: Int) -> Tensor {
        let d = normalizedDim(dim, op: "unsqueeze", rank: rank + 1)
        var s = shape
        s.insert(1, at: d)
        return reshape(s).renamingNode("UnsqueezeBackward0")
    }

    /// Removes dimension `dim` if it has size 1, or every size-1 dimension when `dim` is nil.
    public func squeeze(_ dim: Int? = nil) -> Tensor {
        guard let dim else { return reshape(shape.filter { $0 != 1 }).renamingNode("SqueezeBackward0") }
        let d = normalizedDim(dim, op: "squeeze")
        guard shape[d] == 1 else { return self }
        var s = shape
        s.remove(at: d)
        return reshape(s).renamingNode("SqueezeBackward1")
    }

    /// The dimensions reordered: dimension `i` of the result is dimension `order[i]` of `self`.
    public func permute(_ order: [Int]) -> Tensor {
        let dims = order.map { normalizedDim($0, op: "permute") }
        precondition(Set(dims).count == rank && dims.count == rank, "permute: \(order) is not a permutation of \(rank) dimensions")
        let newShape = dims.map { shape[$0] }, strides = Broadcast.contiguous(shape)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, d) in dims.enumerated() { inverse[d] = i }
        return TensorKernels.gather(self, newShape, strides: dims.map { strides[$0] }).recorded("PermuteBackward0", [self]) { g in [.dense(g.permute(inverse))] }
    }

    /// Swaps two dimensions (PyTorch's `transpose`).
    public func transpose(_ a: Int, _ b: Int) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(normalizedDim(a, op: "transpose"), normalizedDim(b, op: "transpose"))
        return permute(order).renamingNode("TransposeBackward0")
    }

    /// Joins tensors along `dim`; all other dimensions must agree (PyTorch's `torch.cat`).
    public static func cat(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "cat: no tensors")
        let first = tensors[0], d = first.normalizedDim(dim, op: "cat")
        for t in tensors {
            precondition(t.dtype == first.dtype && t.rank == first.rank &&
                         t.shape.enumerated().allSatisfy { $0.offset == d || $0.element == first.shape[$0.offset] },
                         "cat: shapes \(tensors.map(\.shape)) differ outside dimension \(dim)")
        }
        var shape = first.shape
        shape[d] = tensors.map { $0.shape[d] }.reduce(0, +)
        // each input is copied into its slice of the result: the result's strides, from its start along d
        let joined = Broadcast.contiguous(shape), step = shape[(d + 1)...].reduce(1, *)
        let starts = tensors.reduce(into: [0]) { $0.append($0.last! + $1.shape[d]) }
        let out: Tensor
        if first.dtype == .float32 {
            var values = FloatStorage.uninitialized(count: shape.reduce(1, *))
            values.withUnsafeMutableBufferPointer { dst in
                for (t, start) in zip(tensors, starts) {
                    t.floats.withUnsafeBufferPointer { src in
                        TensorKernels.copy(t.shape, from: src, srcStrides: Broadcast.contiguous(t.shape), into: dst,
                                           dstOffset: start * step, dstStrides: joined)
                    }
                }
            }
            out = Tensor(shape: shape, floats: values)
        } else {
            var values = [Int64](repeating: 0, count: shape.reduce(1, *))
            values.withUnsafeMutableBufferPointer { dst in
                for (t, start) in zip(tensors, starts) {
                    t.ints.withUnsafeBufferPointer { src in
                        TensorKernels.copy(t.shape, from: src, srcStrides: Broadcast.contiguous(t.shape), into: dst,
                                           dstOffset: start * step, dstStrides: joined)
                    }
                }
            }
            out = Tensor(shape: shape, ints: values)
        }
        return out.recorded("CatBackward0", tensors) { g in
            zip(tensors, starts).map { t, start in .dense(TensorKernels.gather(g, t.shape, offset: start * step, strides: joined)) }
        }
    }

    /// Stacks tensors of one shape along a new dimension `dim` (PyTorch's `torch.stack`).
    public static func stack(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack: no tensors")
        return cat(tensors.map { $0.unsqueeze(dim) }, dim: dim).renamingNode("StackBackward0")
    }

    /// Row `i` along the first dimension (negative counts from the end), PyTorch's `x[i]`.
    public subscript(_ i: Int) -> Tensor {
        precondition(rank >= 1, "subscript: a scalar has no rows")
        let n = shape[0], row = i < 0 ? i + n : i
        precondition(row >= 0 && row < n, "subscript: index \(i) is out of range for dimension of size \(n)")
        let width = shape.dropFirst().reduce(1, *), rowShape = Array(shape.dropFirst()), full = shape
        let strides = Broadcast.contiguous(rowShape)
        return TensorKernels.gather(self, rowShape, offset: row * width, strides: strides).recorded("SelectBackward0", [self]) { g in
            [.dense(Tensor(shape: full, floats: TensorKernels.scatter(g.floats, rowShape, count: full.reduce(1, *),
                                                                      offset: row * width, strides: strides)))]
        }
    }
}
