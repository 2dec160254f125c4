import CKernels

/// The element type of a tensor: 32-bit floats for values, 64-bit integers for indices and labels,
/// and the 2-byte floats an embedding table may be held in (``TableStorage``).
public enum DType: Sendable, Equatable {
    /// 32-bit IEEE floats: values, weights and gradients.
    case float32
    /// 64-bit signed integers: indices, offsets and class labels (PyTorch's `torch.long`).
    case int64
    /// IEEE half precision (`torch.float16`): embedding tables only (`Embedding(..., storage: .float16)`);
    /// lookups, bags, optimizers and checkpoints take them, other ops take `widened()`.
    case float16
    /// bfloat16 (`torch.bfloat16`), the top 16 bits of a float32: embedding tables only, as `float16`.
    case bfloat16
}

/// An n-dimensional array of `Float` values or `Int64` indices, with a shape and, for float tensors,
/// a place in the autograd graph.
///
/// Tensors are reference types, as in PyTorch: a module's parameter and the optimizer that updates
/// it share one tensor. Elements are stored contiguously in row-major order.
///
/// ```swift
/// let x = Tensor([[1.0, 2, 3], [4, 5, 6]])          // float32, shape [2, 3]
/// let i = Tensor(indices: [0, 4, 5])               // int64, shape [3]
/// let target = Tensor([3, 6])                      // int64: integer literals, as torch.tensor([3, 6])
/// let w = Tensor([3.0, 6])                         // float32
/// ```
///
/// **Thread safety.** `Tensor` is `Sendable` (unchecked: the compiler cannot see the contract) so
/// that inputs, outputs and models can cross tasks. Reading a tensor from several threads at once —
/// forward passes, `scalars`, printing — is safe; writing it (an optimizer step, `backward()` into its
/// gradient, loading weights, setting `requiresGrad` or `grad`) must not overlap any other use.
public final class Tensor: @unchecked Sendable {
    /// The size of each dimension.
    public internal(set) var shape: [Int]
    /// The element type.
    public let dtype: DType
    /// Float elements (empty for int64 tensors), 64-byte aligned.
    var floats: FloatStorage
    /// Integer elements (empty for float tensors).
    var ints: [Int64]
    /// The 2-byte elements of a float16 / bfloat16 tensor (empty otherwise).
    var halves: HalfStorage

    /// Whether autograd records operations on this tensor and computes its gradient.
    public var requiresGrad: Bool {
        didSet { precondition(!requiresGrad || dtype != .int64, "requiresGrad: only float tensors have gradients") }
    }
    /// The accumulated gradient of a leaf tensor after `backward()`; dense or sparse.
    public var grad: Gradient?
    /// The operation that produced this tensor (nil for leaves and tensors made without gradients).
    var gradNode: GradNode?
    /// The storage of a sparse gradient `zeroGrad()` released, for the next backward to write into.
    var spareGradient: SpareGradientStorage?

    init(shape: [Int], floats: FloatStorage) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == floats.count, "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, got \(floats.count)")
        self.shape = shape
        self.dtype = .float32
        self.floats = floats
        self.ints = []
        self.halves = HalfStorage.empty
        self.requiresGrad = false
    }

    /// The elements of `floats` copied into aligned storage.
    convenience init(shape: [Int], floats: [Float]) { self.init(shape: shape, floats: FloatStorage(floats)) }

    init(shape: [Int], ints: [Int64]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == ints.count, "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, got \(ints.count)")
        self.shape = shape
        self.dtype = .int64
        self.floats = []
        self.ints = ints
        self.halves = HalfStorage.empty
        self.requiresGrad = false
    }

    /// A float16 or bfloat16 tensor over `halves` (a table: see ``TableStorage``).
    init(shape: [Int], halves: HalfStorage, dtype: DType) {
        precondition(dtype.isHalf, "Tensor: \(dtype) is not a half type")
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == halves.count, "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, got \(halves.count)")
        self.shape = shape
        self.dtype = dtype
        self.floats = []
        self.ints = []
        self.halves = halves
        self.requiresGrad = false
    }

    /// A float tensor of `shape` holding `values` in row-major order.
    public convenience init(shape: [Int], values: [Float]) { self.init(shape: shape, floats: values) }

    /// An index tensor of `shape` holding `values` in row-major order.
    public convenience init(shape: [Int], indices: [Int64]) { self.init(shape: shape, ints: indices) }

    /// The number of dimensions.
    public var rank: Int { shape.count }
    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The size of dimension `dim` (negative counts from the end), like PyTorch's `size(dim)`.
    public func size(_ dim: Int) -> Int { shape[normalizedDim(dim, op: "size")] }

    /// The float elements in row-major order. For a float16 / bfloat16 table, its elements widened
    /// exactly to float32: a copy made on each read (writing to it does not change the table).
    public var scalars: [Float] {
        precondition(dtype != .int64, "scalars: an int64 tensor has `indices`")
        return dtype.isHalf ? halves.widened.array : floats.array
    }

    /// The integer elements in row-major order.
    public var indices: [Int64] {
        precondition(dtype == .int64, "indices: a \(dtype) tensor has `scalars`")
        return ints
    }

    /// The single element of a one-element float tensor.
    public var item: Float {
        precondition(count == 1 && dtype == .float32, "item: needs one float element, shape is \(shape)")
        return floats[0]
    }

    /// A tensor with the same elements and no place in the graph.
    public func detach() -> Tensor {
        switch dtype {
        case .float32: Tensor(shape: shape, floats: floats)
        case .int64: Tensor(shape: shape, ints: ints)
        case .float16, .bfloat16: Tensor(shape: shape, halves: halves, dtype: dtype)
        }
    }

    /// `dim` in `0..<rank` (negative counts from the end), or a precondition failure naming `op`.
    func normalizedDim(_ dim: Int, op: String, rank: Int? = nil) -> Int {
        let r = rank ?? self.rank
        let d = dim < 0 ? dim + r : dim
        precondition(d >= 0 && d < r, "\(op): dimension \(dim) is out of range for a tensor of shape \(shape)")
        return d
    }
}
