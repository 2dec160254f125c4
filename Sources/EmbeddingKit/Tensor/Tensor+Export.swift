/// Reading a tensor's elements out as Swift arrays (PyTorch's `numel()` and `tolist()`, flat).
extension Tensor {
    /// The number of elements, PyTorch's `numel()` (the same as `count`).
    public func numel() -> Int { count }

    /// Every element as a `Float`, in row-major order, whatever the dtype (int64 values are
    /// converted, exactly up to 2^24). PyTorch's `t.flatten().tolist()` for a float tensor.
    public func toArray() -> [Float] { dtype == .float32 ? floats.array : ints.map(Float.init) }

    /// Every element as an `Int`, in row-major order (PyTorch's `tolist()` of a `long` tensor).
    /// A float32 tensor's elements must be whole numbers: throws `EmbeddingKitError`
    /// (`.invalidArgument`) naming the first that is not (a fraction, NaN, infinity, out of range).
    public func toArray(_ type: Int.Type) throws(EmbeddingKitError) -> [Int] {
        if dtype == .int64 { return ints.map { Int($0) } }
        var out = [Int]()
        out.reserveCapacity(count)
        for (i, x) in floats.enumerated() {
            guard let v = Int(exactly: x) else {
                throw EmbeddingKitError(.invalidArgument, "toArray(Int.self): element \(i) is \(x), not a whole number")
            }
            out.append(v)
        }
        return out
    }
}
