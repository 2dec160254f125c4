/// Batches of variable-length bags for `EmbeddingBag` — what `DataLoader` with a `collate_fn` does
/// in PyTorch: each batch takes `batchSize` samples (the last one smaller unless `dropLast`) and
/// collates them with ``BagBatch/collate(_:weights:targets:)``; `shuffle` permutes the samples each
/// pass with `generator`, so a seeded generator gives the same order every run.
///
/// ```swift
/// let loader = try BagDataLoader(bags: documents, targets: Tensor(labels), batchSize: 32, shuffle: true,
///                                generator: Generator(seed: 42))
/// for batch in loader {
///     let logits = try model(try bag(batch.indices, offsets: batch.offsets))
///     ...
/// }
/// ```
public struct BagDataLoader: Sequence {
    /// The samples' ids, one list per sample.
    public let bags: [[Int]]
    /// A weight per id, one list per sample, if given.
    public let weights: [[Float]]?
    /// One row per sample (class labels, regression targets), if given.
    public let targets: Tensor?
    /// The number of samples per batch (the last batch may be smaller unless `dropLast`).
    public let batchSize: Int
    /// Whether each pass visits the samples in a new random order.
    public let shuffle: Bool
    /// Whether a last batch smaller than `batchSize` is left out.
    public let dropLast: Bool
    let generator: Generator

    /// A loader over `bags` (and `weights`, `targets`, sample by sample).
    ///
    /// Throws `EmbeddingKitError` for a `batchSize` below 1 (`.invalidArgument`, PyTorch's message),
    /// `weights` without one list per bag or with a list whose length differs from its bag's, or
    /// `targets` whose first dimension is not the number of bags (`.shape`).
    public init(bags: [[Int]], weights: [[Float]]? = nil, targets: Tensor? = nil, batchSize: Int = 1, shuffle: Bool = false,
                dropLast: Bool = false, generator: Generator = .default) throws(EmbeddingKitError) {
        guard batchSize >= 1 else {
            throw EmbeddingKitError(.invalidArgument, "BagDataLoader: batch_size should be a positive integer value, but got batch_size=\(batchSize)")
        }
        if let weights {   // checked once here, so that iterating cannot fail
            guard weights.count == bags.count else {
                throw EmbeddingKitError(.shape, "BagDataLoader: \(weights.count) weight lists for \(bags.count) bags")
            }
            for (i, (bag, w)) in zip(bags, weights).enumerated() where bag.count != w.count {
                throw EmbeddingKitError(.shape, "BagDataLoader: bag \(i) has \(bag.count) ids but \(w.count) weights")
            }
        }
        if let targets, targets.rank == 0 || targets.shape[0] != bags.count {
            throw EmbeddingKitError(.shape, "BagDataLoader: targets of shape \(targets.shape) for \(bags.count) bags (needs one row per bag)")
        }
        self.bags = bags
        self.weights = weights
        self.targets = targets
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.generator = generator
    }

    /// The number of samples.
    public var sampleCount: Int { bags.count }

    /// The number of batches per pass.
    public var count: Int { dropLast ? bags.count / batchSize : (bags.count + batchSize - 1) / batchSize }

    /// One pass: each call to `makeIterator()` — each `for` loop — is a new pass, reshuffled when
    /// `shuffle` is on.
    public func makeIterator() -> AnyIterator<BagBatch> {
        var order = Array(0..<bags.count)
        if shuffle { generator.draw { order.shuffle(using: &$0) } }
        let batches = count
        var produced = 0
        return AnyIterator {
            guard produced < batches else { return nil }
            let rows = order[(produced * batchSize)..<Swift.min((produced + 1) * batchSize, order.count)]
            produced += 1
            let target = targets.map { t in withoutGradients { Tensor.stack(rows.map { t[$0] }) } }
            // the lengths were checked in init
            return try! BagBatch.collate(rows.map { bags[$0] }, weights: weights.map { w in rows.map { w[$0] } }, targets: target)
        }
    }
}
