import CKernels

/// Creating tensors: from Swift arrays and literals, filled, random and ranges.
extension Tensor {
    /// A 1-D float tensor: `Tensor([1.5, 2])`, or any `[Float]`.
    public convenience init(_ values: [Float]) { self.init(shape: [values.count], floats: values) }

    /// A 1-D int64 tensor, as PyTorch's `torch.tensor([3, 6])`: an array of integer literals picks
    /// this initialiser (Swift's default literal type is `Int`), so `Tensor([3, 6])` is a class-index
    /// target, while one float literal (`Tensor([3.0, 6])`) or a `[Float]` gives float32. Nested
    /// literals follow the same rule (`Tensor([[1, 2], [3, 4]])` is int64, `[[1.0, 2], [3, 4]]` float32).
    public convenience init(_ values: [Int]) { self.init(shape: [values.count], ints: values.map(Int64.init)) }

    /// A 2-D int64 tensor from integer literal rows, as PyTorch's `torch.tensor([[1, 2], [3, 4]])`.
    public convenience init(_ rows: [[Int]]) {
        let width = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == width }, "Tensor: rows of unequal length")
        self.init(shape: [rows.count, width], ints: rows.flatMap { $0 }.map(Int64.init))
    }

    /// A 2-D float tensor from rows of equal length.
    public convenience init(_ rows: [[Float]]) {
        let width = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == width }, "Tensor: rows of unequal length")
        self.init(shape: [rows.count, width], floats: rows.flatMap { $0 })
    }

    /// A 3-D int64 tensor from integer literals (`torch.tensor([[[1, 2]], [[3, 4]]])`).
    public convenience init(_ planes: [[[Int]]]) {
        let rows = planes.first?.count ?? 0, width = planes.first?.first?.count ?? 0
        precondition(planes.allSatisfy { $0.count == rows && $0.allSatisfy { $0.count == width } },
                     "Tensor: nested arrays of unequal length")
        self.init(shape: [planes.count, rows, width], ints: planes.flatMap { $0.flatMap { $0 } }.map(Int64.init))
    }

    /// A 3-D float tensor from nested arrays of equal lengths.
    public convenience init(_ planes: [[[Float]]]) {
        let rows = planes.first?.count ?? 0, width = planes.first?.first?.count ?? 0
        precondition(planes.allSatisfy { $0.count == rows && $0.allSatisfy { $0.count == width } },
                     "Tensor: nested arrays of unequal length")
        self.init(shape: [planes.count, rows, width], floats: planes.flatMap { $0.flatMap { $0 } })
    }

    /// A 1-D index tensor (PyTorch's `LongTensor([...])`).
    public convenience init(indices: [Int]) { self.init(shape: [indices.count], ints: indices.map(Int64.init)) }

    /// A 2-D index tensor from rows of equal length.
    public convenience init(indices rows: [[Int]]) {
        let width = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == width }, "Tensor: rows of unequal length")
        self.init(shape: [rows.count, width], ints: rows.flatMap { $0.map(Int64.init) })
    }

    /// A float scalar tensor (shape `[]`).
    public convenience init(scalar: Float) { self.init(shape: [], floats: [scalar]) }

    /// Zeros of `shape`.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, floats: FloatStorage(repeating: 0, count: shape.reduce(1, *))) }

    /// Ones of `shape`.
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }

    /// `value` everywhere in `shape`.
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        Tensor(shape: shape, floats: FloatStorage(repeating: value, count: shape.reduce(1, *)))
    }

    /// Standard normal samples, N(0, 1).
    public static func randn(_ shape: [Int], generator: Generator = .default) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, floats: generator.draw { rng in (0..<n).map { _ in rng.normal() } })
    }

    /// Uniform samples in [low, high).
    public static func rand(_ shape: [Int], low: Float = 0, high: Float = 1, generator: Generator = .default) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, floats: generator.draw { rng in (0..<n).map { _ in low + (high - low) * rng.uniform() } })
    }

    /// Uniform integers in `low..<high`, as an index tensor (PyTorch's `randint`).
    public static func randint(_ low: Int, _ high: Int, _ shape: [Int], generator: Generator = .default) -> Tensor {
        precondition(high > low, "randint: empty range \(low)..<\(high)")
        let n = shape.reduce(1, *), span = UInt64(high - low)
        return Tensor(shape: shape, ints: generator.draw { rng in (0..<n).map { _ in Int64(low) + Int64(rng.next(upperBound: span)) } })
    }

    /// `start, start + step, ...` below `end`, as floats (PyTorch's `arange` with float bounds).
    public static func arange(_ start: Float, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0, "arange: step is 0")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor(shape: [n], floats: (0..<n).map { start + Float($0) * step })
    }

    /// `0..<end` as an index tensor (PyTorch's integer `arange`).
    public static func arange(_ end: Int) -> Tensor { Tensor(shape: [end], ints: (0..<Int64(end)).map { $0 }) }

    /// A copy converted to float32 (indices become their values).
    public func toFloat() -> Tensor {
        if dtype == .float32 { return detach() }
        var values = FloatStorage.uninitialized(count: ints.count)
        values.withMutablePointer { y in mustSucceed(ek_i64_to_f32(Int64(ints.count), ints, y), "toFloat") }
        return Tensor(shape: shape, floats: values)
    }
}
