/// The construction-time checks `Embedding` and `EmbeddingBag` share: their options come from
/// configuration, so a bad one throws (naming the option and its value) before anything is allocated.
enum EmbeddingOptions {
    /// `count` and `dimension` must not be negative (0 is an empty table, as in PyTorch).
    static func checkSizes(count: Int, dimension: Int, op: String) throws(EmbeddingKitError) {
        try checkSize(count, "count", op: op)
        try checkSize(dimension, "dimension", op: op)
        guard count.multipliedReportingOverflow(by: dimension).overflow == false else {
            throw EmbeddingKitError(.overflow, "\(op): a table of \(count) x \(dimension) elements overflows the address space")
        }
    }

    /// The same rule as the renormalisation kernel: `maxNorm` positive and finite, `normType` >= 0.
    static func checkNorm(maxNorm: Float?, normType: Float, op: String) throws(EmbeddingKitError) {
        if let maxNorm, !(maxNorm > 0 && maxNorm.isFinite) {
            throw EmbeddingKitError(.invalidArgument, "\(op): maxNorm=\(maxNorm) must be positive and finite")
        }
        guard normType >= 0 else {
            throw EmbeddingKitError(.invalidArgument, "\(op): normType=\(normType) must be >= 0 (or infinity)")
        }
    }

    /// A half table cannot be renormalised: `maxNorm` needs `.float32` storage.
    static func checkStorage(_ storage: TableStorage, maxNorm: Float?, op: String) throws(EmbeddingKitError) {
        guard storage.dtype != .float32 else { return }
        guard storage.dtype.isHalf else {
            throw EmbeddingKitError(.invalidArgument, "\(op): storage=\(storage.dtype) is not float32, float16 or bfloat16")
        }
        if let maxNorm {
            throw EmbeddingKitError(.invalidArgument,
                "\(op): maxNorm=\(maxNorm) needs storage .float32, got \(storage) (the renormalisation rescales float32 rows only)")
        }
    }

    /// Pretrained weights must be a 2-D float32 table.
    static func checkPretrained(_ weights: Tensor, op: String) throws(EmbeddingKitError) {
        guard weights.rank == 2 && weights.dtype == .float32 else {
            throw EmbeddingKitError(.shape, "\(op): pretrained weights must be a 2-D float32 tensor, got \(weights.dtype) of shape \(weights.shape)")
        }
    }

    /// A copy of `weights` (no history) held as `storage` says, requiring a gradient unless frozen.
    static func pretrainedTable(_ weights: Tensor, freeze: Bool, storage: TableStorage) -> Tensor {
        let table = weights.detach().converted(to: storage)
        table.requiresGrad = !freeze
        return table
    }

    /// PyTorch refuses frequency scaling with max pooling when the module is made.
    static func checkBagMode(_ mode: EmbeddingBagMode, scaleGradByFrequency: Bool) throws(EmbeddingKitError) {
        if mode == .max && scaleGradByFrequency {
            throw EmbeddingKitError(.invalidArgument, "max mode does not support scaling the gradient by the frequency")
        }
    }

    /// `paddingIndex` wrapped into `0..<count` (negative counts from the end), or nil.
    static func wrappedPadding(_ paddingIndex: Int?, count: Int, op: String) throws(EmbeddingKitError) -> Int? {
        guard let p = paddingIndex else { return nil }
        let row = p < 0 ? p + count : p
        guard row >= 0 && row < count else {
            throw EmbeddingKitError(.indexOutOfRange, "\(op): paddingIndex=\(p) is out of range for \(count) embeddings")
        }
        return row
    }
}

/// A size option (a count or a dimension) must not be negative: `<op>: <name>=-1 must not be negative`.
func checkSize(_ value: Int, _ name: String, op: String) throws(EmbeddingKitError) {
    guard value >= 0 else { throw EmbeddingKitError(.invalidArgument, "\(op): \(name)=\(value) must not be negative") }
}
