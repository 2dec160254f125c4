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

        /// Where `fill(_:count:totals:_:)` lets one bag be written.
        struct Buffers {
            let indices: UnsafeMutableBufferPointer<Int64>
            let offsets: UnsafeMutableBufferPointer<Int64>
            let weights: UnsafeMutableBufferPointer<Float>
        }

        /// Resizes every bag of `bags` to `count` offsets and `totals[o]` entries (keeping capacity)
        /// and lets `body` write them all at once: assembly goes sample by sample, across orders.
        static func fill(_ bags: inout [Bag], count: Int, totals: [Int], _ body: ([Buffers]) -> Void) {
            precondition(totals.count == bags.count, "FeatureBatch.Bag.fill: \(totals.count) totals for \(bags.count) bags")
            for o in bags.indices {
                resize(&bags[o].indices, totals[o], 0)
                resize(&bags[o].offsets, count, 0)
                resize(&bags[o].weights, totals[o], 0)
            }
            bags.withUnsafeMutableBufferPointer { all in
                var buffers: [Buffers] = []
                buffers.reserveCapacity(all.count)
                // one bag's arrays at a time, nested, so every pointer stays valid while `body` runs
                func open(_ o: Int) {
                    guard o < all.count else { return body(buffers) }
                    all[o].indices.withUnsafeMutableBufferPointer { i in
                        all[o].offsets.withUnsafeMutableBufferPointer { f in
                            all[o].weights.withUnsafeMutableBufferPointer { w in
                                buffers.append(Buffers(indices: i, offsets: f, weights: w))
                                open(o + 1)
                            }
                        }
                    }
                }
                open(0)
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
