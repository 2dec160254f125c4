/// Sums, averages or takes the maximum of bags of embeddings without materialising them, PyTorch's
/// `nn.EmbeddingBag`; see `embeddingBag(_:_:offsets:mode:perSampleWeights:paddingIndex:includeLastOffset:scaleGradByFrequency:sparse:maxNorm:normType:)`.
///
/// ```swift
/// let bag = try EmbeddingBag(count: 10, dimension: 3, mode: .sum)
/// let out = try bag(Tensor(indices: [1, 2, 4, 5, 4, 3, 2, 9]), offsets: Tensor(indices: [0, 4]))  // [2, 3]
/// ```
///
/// **Thread safety.** Without `maxNorm`, a forward pass only reads `weight`: calls from several threads
/// at once are safe and give the serial results (every mode, with or without offsets and per-sample
/// weights, recording gradients or not). Not thread-safe — none may overlap any other use of the
/// module: a forward pass with `maxNorm` (it rescales the looked-up rows of `weight` in place),
/// training (`backward()` through an output accumulates into `weight.grad`; an optimizer step or
/// `zeroGrad()` writes `weight` or its gradient), loading weights, and `train(_:)` / `eval()`.
public final class EmbeddingBag: Module {
    /// The table, `[count, dimension]`, initialised from N(0, 1) (the padding row zeroed), held as
    /// `storage` says: a float16 / bfloat16 table shows its values through `weight.scalars` (widened,
    /// a copy) or `weight.widened()`.
    public let weight: Tensor
    /// How each bag's rows are reduced: sum, mean or maximum.
    public let mode: EmbeddingBagMode
    /// The row skipped in every bag, getting no gradient (already wrapped to `0..<count`), if any.
    public let paddingIndex: Int?
    /// Rows looked up with a larger norm are rescaled to this norm first.
    public let maxNorm: Float?
    /// The p of the norm that `maxNorm` bounds (default 2).
    public let normType: Float
    /// Whether gradients are divided by each index's frequency in the batch.
    public let scaleGradByFrequency: Bool
    /// Whether `weight`'s gradient is sparse (only the rows looked up).
    public let sparse: Bool
    /// Whether the last offset is the end of the last bag (CSR style) instead of a bag's start.
    public let includeLastOffset: Bool
    /// Whether the module is in training mode (the reduction is the same in both).
    public var isTraining = true

    /// A bag of `count` rows of size `dimension` reduced by `mode` (PyTorch's default is `.mean`).
    ///
    /// `storage` picks the element type (``TableStorage``), as for `Embedding`; a half table cannot
    /// give per-sample weights a gradient (the forward throws).
    ///
    /// Throws `EmbeddingKitError`, creating nothing, for what `Embedding.init(count:...)` refuses and
    /// for `.max` with `scaleGradByFrequency` (PyTorch's `max mode does not support scaling the
    /// gradient by the frequency`).
    public init(count: Int, dimension: Int, mode: EmbeddingBagMode = .mean, paddingIndex: Int? = nil,
                maxNorm: Float? = nil, normType: Float = 2, scaleGradByFrequency: Bool = false, sparse: Bool = false,
                includeLastOffset: Bool = false, storage: TableStorage = .float32,
                generator: Generator = .default) throws(EmbeddingKitError) {
        try EmbeddingOptions.checkSizes(count: count, dimension: dimension, op: "EmbeddingBag")
        try EmbeddingOptions.checkNorm(maxNorm: maxNorm, normType: normType, op: "EmbeddingBag")
        try EmbeddingOptions.checkBagMode(mode, scaleGradByFrequency: scaleGradByFrequency)
        try EmbeddingOptions.checkStorage(storage, maxNorm: maxNorm, op: "EmbeddingBag")
        self.paddingIndex = try EmbeddingOptions.wrappedPadding(paddingIndex, count: count, op: "EmbeddingBag")
        weight = Embedding.initialTable(count: count, dimension: dimension, paddingIndex: self.paddingIndex, storage: storage,
                                        generator: generator)
        self.mode = mode
        self.maxNorm = maxNorm
        self.normType = normType
        self.scaleGradByFrequency = scaleGradByFrequency
        self.sparse = sparse
        self.includeLastOffset = includeLastOffset
    }

    /// A bag around existing vectors (`[count, dimension]`, copied), frozen by default, like
    /// PyTorch's `EmbeddingBag.from_pretrained` (its default mode is `.mean`). The padding row is not
    /// zeroed. `storage` picks the table's element type: a half `storage` rounds each float32 value
    /// to the nearest half (ties to even).
    ///
    /// Throws `EmbeddingKitError`, creating nothing, for weights that are not a 2-D float32 tensor
    /// and for the options `init(count:...)` refuses.
    public init(pretrained weights: Tensor, freeze: Bool = true, mode: EmbeddingBagMode = .mean, paddingIndex: Int? = nil,
                maxNorm: Float? = nil, normType: Float = 2, scaleGradByFrequency: Bool = false, sparse: Bool = false,
                includeLastOffset: Bool = false, storage: TableStorage = .float32) throws(EmbeddingKitError) {
        try EmbeddingOptions.checkPretrained(weights, op: "EmbeddingBag")
        try EmbeddingOptions.checkNorm(maxNorm: maxNorm, normType: normType, op: "EmbeddingBag")
        try EmbeddingOptions.checkBagMode(mode, scaleGradByFrequency: scaleGradByFrequency)
        try EmbeddingOptions.checkStorage(storage, maxNorm: maxNorm, op: "EmbeddingBag")
        self.paddingIndex = try EmbeddingOptions.wrappedPadding(paddingIndex, count: weights.shape[0], op: "EmbeddingBag")
        weight = EmbeddingOptions.pretrainedTable(weights, freeze: freeze, storage: storage)
        self.mode = mode
        self.maxNorm = maxNorm
        self.normType = normType
        self.scaleGradByFrequency = scaleGradByFrequency
        self.sparse = sparse
        self.includeLastOffset = includeLastOffset
    }

    /// PyTorch's `EmbeddingBag.from_pretrained(embeddings, freeze=..., mode=...)`; see `init(pretrained:...)`.
    public static func fromPretrained(_ weights: Tensor, freeze: Bool = true, mode: EmbeddingBagMode = .mean,
                                      paddingIndex: Int? = nil, includeLastOffset: Bool = false,
                                      storage: TableStorage = .float32) throws(EmbeddingKitError) -> EmbeddingBag {
        try EmbeddingBag(pretrained: weights, freeze: freeze, mode: mode, paddingIndex: paddingIndex,
                         includeLastOffset: includeLastOffset, storage: storage)
    }

    /// The element type of the table and the rounding of its updates.
    public var storage: TableStorage { weight.storage }

    /// The table, named `weight` as in PyTorch.
    public var directParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

    /// One row per bag, `[B, dimension]`: `input` is `[B, L]` (no offsets) or 1-D with `offsets`.
    /// Throws, changing nothing, for bad indices, offsets or weights.
    public func callAsFunction(_ input: Tensor, offsets: Tensor? = nil,
                               perSampleWeights: Tensor? = nil) throws(EmbeddingKitError) -> Tensor {
        try embeddingBag(input, weight, offsets: offsets, mode: mode, perSampleWeights: perSampleWeights,
                         paddingIndex: paddingIndex, includeLastOffset: includeLastOffset,
                         scaleGradByFrequency: scaleGradByFrequency, sparse: sparse, maxNorm: maxNorm, normType: normType)
    }
}
