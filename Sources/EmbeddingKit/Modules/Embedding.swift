/// A lookup table of `count` vectors of size `dimension`: `embedding(indices)` returns the rows.
/// PyTorch's `nn.Embedding`; see `embedding(_:_:paddingIndex:maxNorm:normType:scaleGradByFrequency:sparse:)`.
///
/// ```swift
/// let embed = try Embedding(count: 10, dimension: 3)
/// let vectors = try embed(Tensor(indices: [1, 2, 4]))   // shape [3, 3]
/// ```
///
/// **Thread safety.** Without `maxNorm`, a lookup only reads `weight`: calls from several threads at
/// once are safe and give the serial results (recording gradients or not). Not thread-safe — none may
/// overlap any other use of the module: a lookup with `maxNorm` (it rescales the looked-up rows of
/// `weight` in place), training (`backward()` through an output accumulates into `weight.grad`; an
/// optimizer step or `zeroGrad()` writes `weight` or its gradient), loading weights, and
/// `train(_:)` / `eval()`.
public final class Embedding: Module {
    /// The table, `[count, dimension]`, initialised from N(0, 1) (the padding row zeroed), held as
    /// `storage` says: a float16 / bfloat16 table shows its values through `weight.scalars` (widened,
    /// a copy) or `weight.widened()`.
    public let weight: Tensor
    /// The row that gets no gradient (already wrapped to `0..<count`), if any.
    public let paddingIndex: Int?
    /// Rows looked up with a larger norm are rescaled to this norm first.
    public let maxNorm: Float?
    /// The p of the norm that `maxNorm` bounds.
    public let normType: Float
    /// Whether gradients are divided by each index's frequency in the batch.
    public let scaleGradByFrequency: Bool
    /// Whether `weight`'s gradient is sparse (only the rows looked up).
    public let sparse: Bool
    /// Whether the module is in training mode (the lookup is the same in both).
    public var isTraining = true

    /// A table of `count` rows of size `dimension`. A negative `paddingIndex` counts from the end.
    /// `storage` picks the element type (``TableStorage``: `.float32`, `.float16`, `.bfloat16`, with
    /// their update rounding); a half table is drawn in float32 and rounded to the nearest half.
    ///
    /// Throws `EmbeddingKitError`, creating nothing, for a negative `count` or `dimension`, a
    /// `paddingIndex` outside `-count..<count`, a `maxNorm` / `normType` out of range (the
    /// functional `embedding`'s messages), or `maxNorm` with a half `storage`.
    public init(count: Int, dimension: Int, paddingIndex: Int? = nil, maxNorm: Float? = nil, normType: Float = 2,
                scaleGradByFrequency: Bool = false, sparse: Bool = false, storage: TableStorage = .float32,
                generator: Generator = .default) throws(EmbeddingKitError) {
        try EmbeddingOptions.checkSizes(count: count, dimension: dimension, op: "Embedding")
        try EmbeddingOptions.checkNorm(maxNorm: maxNorm, normType: normType, op: "Embedding")
        try EmbeddingOptions.checkStorage(storage, maxNorm: maxNorm, op: "Embedding")
        self.paddingIndex = try EmbeddingOptions.wrappedPadding(paddingIndex, count: count, op: "Embedding")
        weight = Embedding.initialTable(count: count, dimension: dimension, paddingIndex: self.paddingIndex, storage: storage,
                                        generator: generator)
        self.maxNorm = maxNorm
        self.normType = normType
        self.scaleGradByFrequency = scaleGradByFrequency
        self.sparse = sparse
    }

    /// A module around existing vectors (`[count, dimension]`, copied), frozen by default, like
    /// PyTorch's `Embedding.from_pretrained`. The padding row is not zeroed. `storage` picks the
    /// table's element type as for `init(count:...)`: a half `storage` rounds each float32 value to
    /// the nearest half (ties to even).
    ///
    /// Throws `EmbeddingKitError`, creating nothing, for weights that are not a 2-D float32 tensor
    /// (PyTorch: `Embeddings parameter is expected to be 2-dimensional`) and for the options
    /// `init(count:...)` refuses (`maxNorm` with a half `storage` among them).
    public init(pretrained weights: Tensor, freeze: Bool = true, paddingIndex: Int? = nil, maxNorm: Float? = nil,
                normType: Float = 2, scaleGradByFrequency: Bool = false, sparse: Bool = false,
                storage: TableStorage = .float32) throws(EmbeddingKitError) {
        try EmbeddingOptions.checkPretrained(weights, op: "Embedding")
        try EmbeddingOptions.checkNorm(maxNorm: maxNorm, normType: normType, op: "Embedding")
        try EmbeddingOptions.checkStorage(storage, maxNorm: maxNorm, op: "Embedding")
        self.paddingIndex = try EmbeddingOptions.wrappedPadding(paddingIndex, count: weights.shape[0], op: "Embedding")
        weight = EmbeddingOptions.pretrainedTable(weights, freeze: freeze, storage: storage)
        self.maxNorm = maxNorm
        self.normType = normType
        self.scaleGradByFrequency = scaleGradByFrequency
        self.sparse = sparse
    }

    /// PyTorch's `Embedding.from_pretrained(weights, freeze=...)`; see `init(pretrained:...)`.
    public static func fromPretrained(_ weights: Tensor, freeze: Bool = true, paddingIndex: Int? = nil,
                                      storage: TableStorage = .float32) throws(EmbeddingKitError) -> Embedding {
        try Embedding(pretrained: weights, freeze: freeze, paddingIndex: paddingIndex, storage: storage)
    }

    /// The element type of the table and the rounding of its updates.
    public var storage: TableStorage { weight.storage }

    /// The number of rows.
    public var count: Int { weight.shape[0] }
    /// The size of each row.
    public var dimension: Int { weight.shape[1] }

    /// The table, named `weight` as in PyTorch.
    public var directParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

    /// The rows for `indices` (int64, any shape): shape `indices.shape + [dimension]`.
    /// Throws, changing nothing, when an index is out of range.
    public func callAsFunction(_ indices: Tensor) throws(EmbeddingKitError) -> Tensor {
        try embedding(indices, weight, paddingIndex: paddingIndex, maxNorm: maxNorm, normType: normType,
                      scaleGradByFrequency: scaleGradByFrequency, sparse: sparse)
    }

    /// N(0, 1) rows, the padding row zeroed, requiring a gradient (PyTorch's initialisation), held as
    /// `storage` says (drawn in float32, then rounded to the nearest half).
    static func initialTable(count: Int, dimension: Int, paddingIndex: Int?, storage: TableStorage = .float32,
                             generator: Generator) -> Tensor {
        let table = Tensor.randn([count, dimension], generator: generator)
        if let p = paddingIndex { // the row written with a broadcast 0 (ek_strided_copy)
            let zero: [Float] = [0]
            zero.withUnsafeBufferPointer { src in
                table.floats.withUnsafeMutableBufferPointer { dst in
                    TensorKernels.copy([dimension], from: src, srcStrides: [0], into: dst, dstOffset: p * dimension, dstStrides: [1])
                }
            }
        }
        let stored = table.converted(to: storage)
        stored.requiresGrad = true
        return stored
    }

}
