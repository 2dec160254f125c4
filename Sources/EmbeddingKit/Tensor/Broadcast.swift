/// NumPy / PyTorch broadcasting: shapes align at the right; a dimension of 1 stretches.
enum Broadcast {
    /// The broadcast shape of `a` and `b`, or a precondition failure naming `op`.
    static func shape(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a, pb = [Int](repeating: 1, count: rank - b.count) + b
        return zip(pa, pb).map { x, y in
            precondition(x == y || x == 1 || y == 1, "\(op): shapes \(a) and \(b) do not broadcast")
            return x == 1 ? y : x   // not max: a 0-sized dimension against 1 stays 0 (an empty batch)
        }
    }

    /// For each element of `out` (row-major), the offset of the element of a tensor of `shape` it reads.
    static func offsets(of shape: [Int], in out: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: out.count - shape.count) + shape
        var strides = [Int](repeating: 0, count: out.count)
        var s = 1
        for d in stride(from: out.count - 1, through: 0, by: -1) {
            strides[d] = padded[d] == 1 ? 0 : s
            s *= padded[d]
        }
        return stridedOffsets(out, strides)
    }

    /// For each element of `shape` in row-major order, Σ index[d] * strides[d]: where a strided view
    /// (a broadcast, a permutation) reads it from.
    static func stridedOffsets(_ shape: [Int], _ strides: [Int]) -> [Int] {
        let n = shape.reduce(1, *)
        var result = [Int](repeating: 0, count: n)
        var index = [Int](repeating: 0, count: shape.count), offset = 0
        for i in 0..<n {
            result[i] = offset
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                offset += strides[d]
                if index[d] < shape[d] { break }
                offset -= strides[d] * index[d]
                index[d] = 0
                d -= 1
            }
        }
        return result
    }
}

extension Tensor {
    /// Sums `self` down to `shape` (undoing a broadcast): the gradient rule of every broadcasting op.
    func sumTo(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let map = Broadcast.offsets(of: target, in: shape)
        var out = [Float](repeating: 0, count: target.reduce(1, *))
        for i in 0..<count { out[map[i]] += floats[i] }
        return Tensor(shape: target, floats: out)
    }
}
