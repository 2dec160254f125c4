/// One batch of bags per n-gram order, ready for `EmbeddingBag(mode: .sum)` with
/// `perSampleWeights`: for order `o`, `bags[o].indices` (input), `bags[o].offsets` (one per sample,
/// the first 0) and `bags[o].weights` (perSampleWeights, same length as indices).
///
/// Create one and pass it to `FeatureSet.assemble(_:into:)` or `NGramFeaturizer.batch(_:into:threads:)`
/// again and again: its arrays keep their capacity, so steady-state training allocates nothing here.
/// A sample with no n-grams of an order (an empty text) has an empty bag: its offset equals the next
/// sample's (or `indices.count`), and `EmbeddingBag` gives it a zero vector.
public struct FeatureBatch: Sendable {
    /// The bags of one order.
    public struct Bag: Sendable {
        /// The n-gram length.
        public var order = 0
        /// The number of buckets (rows of this order's embedding table).
        public var buckets = 0
        /// Bucket ids of all samples' bags, back to back.
        public var indices: [Int64] = []
        /// Where each sample's bag starts in `indices`; one per sample.
        public var offsets: [Int64] = []
        /// Per-entry weights (relative n-gram frequencies).
        public var weights: [Float] = []

        public init() {}

        /// Resizes the arrays to `count` offsets and `total` entries (keeping capacity) and lets
        /// `body` write them.
        mutating func fill(count: Int, total: Int,
                           _ body: (UnsafeMutableBufferPointer<Int64>, UnsafeMutableBufferPointer<Int64>,
                                    UnsafeMutableBufferPointer<Float>) -> Void) {
            Self.resize(&indices, total, 0)
            Self.resize(&offsets, count, 0)
            Self.resize(&weights, total, 0)
            indices.withUnsafeMutableBufferPointer { i in
                offsets.withUnsafeMutableBufferPointer { o in
                    weights.withUnsafeMutableBufferPointer { w in body(i, o, w) }
                }
            }
        }

        private static func resize<T>(_ array: inout [T], _ count: Int, _ zero: T) {
            if array.count > count {
                array.removeSubrange(count...)
            } else if array.count < count {
                array.append(contentsOf: repeatElement(zero, count: count - array.count))
            }
        }
    }

    /// The number of samples in the batch.
    public var count = 0
    /// One entry per n-gram order, in the featurizer's order.
    public var bags: [Bag] = []

    public init() {}
}
