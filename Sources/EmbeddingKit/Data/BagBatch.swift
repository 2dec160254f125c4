/// A batch of variable-length bags in the form `EmbeddingBag` takes: the ids of every bag one after
/// another, each bag's starting offset, and optionally a weight per id and the batch's targets.
///
/// ```swift
/// let batch = try BagBatch.collate([[3, 6, 1], [2], [7, 7]])
/// // batch.indices: [3, 6, 1, 2, 7, 7], batch.offsets: [0, 3, 4]
/// let out = try bag(batch.indices, offsets: batch.offsets, perSampleWeights: batch.perSampleWeights)
/// ```
public struct BagBatch {
    /// Every bag's ids, concatenated: int64, `[total]`.
    public let indices: Tensor
    /// Where each bag starts in `indices`: int64, `[bags]` (an empty bag repeats the next offset).
    public let offsets: Tensor
    /// One weight per id, float32 `[total]`, when weights were given (EmbeddingBag's `perSampleWeights`).
    public let perSampleWeights: Tensor?
    /// The batch's rows of the loader's targets (one row per bag), when it has targets.
    public let targets: Tensor?

    /// The number of bags.
    public var count: Int { offsets.count }

    /// Concatenates `bags` into indices and offsets, and `weights` (one list per bag, each as long as
    /// its bag) into per-sample weights; `targets`, if given, is passed through.
    ///
    /// Throws `EmbeddingKitError` (`.shape`) when `weights` does not have one list per bag, or a
    /// list's length differs from its bag's, naming the bag.
    public static func collate(_ bags: [[Int]], weights: [[Float]]? = nil,
                               targets: Tensor? = nil) throws(EmbeddingKitError) -> BagBatch {
        var ids = [Int64](), offsets = [Int64]()
        ids.reserveCapacity(bags.reduce(0) { $0 + $1.count })
        offsets.reserveCapacity(bags.count)
        for bag in bags {
            offsets.append(Int64(ids.count))
            ids.append(contentsOf: bag.lazy.map(Int64.init))
        }
        var perSample: Tensor?
        if let weights {
            guard weights.count == bags.count else {
                throw EmbeddingKitError(.shape, "collate: \(weights.count) weight lists for \(bags.count) bags")
            }
            for (i, (bag, w)) in zip(bags, weights).enumerated() where bag.count != w.count {
                throw EmbeddingKitError(.shape, "collate: bag \(i) has \(bag.count) ids but \(w.count) weights")
            }
            perSample = Tensor(shape: [ids.count], floats: weights.flatMap { $0 })
        }
        return BagBatch(indices: Tensor(shape: [ids.count], ints: ids), offsets: Tensor(shape: [offsets.count], ints: offsets),
                        perSampleWeights: perSample, targets: targets)
    }
}
