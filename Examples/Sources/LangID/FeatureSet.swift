/// The n-gram features of many texts, computed once (`NGramFeaturizer.featurize(_:threads:)`) and
/// stored compactly, so that training can assemble a batch of any samples — a shuffled minibatch —
/// every step without featurising again.
///
/// Storage: the texts are cut into chunks of `chunkSize` (1,024) consecutive texts, one per unit of
/// parallel work, and each chunk keeps the bags of its texts back to back, text by text and within a
/// text order by order — bucket ids (`Int32`, half the memory of `Int64`; batches widen them) and
/// weights — with each bag's start. One text's bags are thus one run of memory: a shuffled batch
/// reads 3 scattered places per sample (starts, ids, weights) rather than 3 per sample and order,
/// which made assembly wait on cache misses. Keeping the chunks as they were computed avoids copying
/// the whole set (~700 MB for the demo's training set, 8 bytes per entry) into one array.
/// `bag(_:order:)` copies out one text's bag.
/// A `FeatureSet` is immutable and can be shared between threads.
public struct FeatureSet: Sendable {
    /// Texts per chunk.
    public static let chunkSize = 1024

    /// The bags of `chunkSize` consecutive texts (fewer in the last chunk), in buffers allocated
    /// once at an upper bound of their size (pages never written cost no memory) and never moved,
    /// so batch assembly can read them through plain pointers. Immutable once the worker is done.
    final class Chunk: @unchecked Sendable {
        let orderCount: Int
        let textCount: Int
        /// Bucket ids and weights of every bag: text by text, and within a text order by order.
        let indices: UnsafeMutablePointer<Int32>
        let weights: UnsafeMutablePointer<Float>
        /// Bag `t * orderCount + o` (text `t`, order `o`) is `starts[that] ..< starts[that + 1]`
        /// (`textCount * orderCount + 1` entries, the first 0).
        let starts: UnsafeMutablePointer<Int>
        /// Entries written per order.
        private(set) var counts: [Int]
        private var bags = 0, used = 0

        /// `capacity`: the most entries one order's bags of all the chunk's texts can hold.
        init(orderCount: Int, textCount: Int, capacity: Int) {
            self.orderCount = orderCount
            self.textCount = textCount
            indices = .allocate(capacity: max(capacity * orderCount, 1))
            weights = .allocate(capacity: max(capacity * orderCount, 1))
            starts = .allocate(capacity: textCount * orderCount + 1)
            starts[0] = 0
            counts = [Int](repeating: 0, count: orderCount)
        }

        deinit {
            indices.deallocate()
            weights.deallocate()
            starts.deallocate()
        }

        /// Appends the bag of order `o` of the next text; call for every order of a text in turn.
        func append(order o: Int, indices newIndices: UnsafePointer<Int32>, weights newWeights: UnsafePointer<Float>,
                    count n: Int) {
            precondition(o == bags % orderCount, "FeatureSet.Chunk.append: order \(o) out of turn")
            (indices + used).update(from: newIndices, count: n)
            (weights + used).update(from: newWeights, count: n)
            used += n
            counts[o] += n
            bags += 1
            starts[bags] = used
        }

        /// Where the bag of local text `t` and order `o` starts and ends.
        @inline(__always) func range(text t: Int, order o: Int) -> (start: Int, end: Int) {
            let k = t * orderCount + o
            return (starts[k], starts[k + 1])
        }
    }

    /// The n-gram orders, as in the featurizer.
    public let orders: [Int]
    /// The bucket count of each order, as in the featurizer.
    public let buckets: [Int]
    /// The number of texts.
    public let count: Int
    let chunks: [Chunk]

    init(orders: [Int], buckets: [Int], count: Int, chunks: [Chunk]) {
        self.orders = orders
        self.buckets = buckets
        self.count = count
        self.chunks = chunks
    }

    /// The number of stored entries (bucket, weight) of each order, over all texts.
    public var entryCounts: [Int] {
        orders.indices.map { o in chunks.reduce(0) { $0 + $1.counts[o] } }
    }

    /// Text `i`'s bag of `orders[order]`: bucket ids and weights, in first-occurrence order.
    public func bag(_ i: Int, order: Int) -> (indices: ArraySlice<Int32>, weights: ArraySlice<Float>) {
        precondition(i >= 0 && i < count, "FeatureSet.bag: text \(i) is out of range for \(count) texts")
        let chunk = chunks[i / Self.chunkSize]
        let (start, end) = chunk.range(text: i % Self.chunkSize, order: order)
        return (Array(UnsafeBufferPointer(start: chunk.indices + start, count: end - start))[...],
                Array(UnsafeBufferPointer(start: chunk.weights + start, count: end - start))[...])
    }

    /// Assembles the bags of `samples` (ids in `0..<count`, any order, repeats allowed) into
    /// `batch`, replacing its contents but keeping its buffers' capacity: bag `j` of each order is
    /// sample `samples[j]`'s. Precondition: every id is in range.
    public func assemble(_ samples: [Int], into batch: inout FeatureBatch) {
        samples.withUnsafeBufferPointer { assemble($0, into: &batch) }
    }

    /// `assemble(_:into:)` for a slice (a minibatch of a shuffled permutation).
    public func assemble(_ samples: ArraySlice<Int>, into batch: inout FeatureBatch) {
        samples.withUnsafeBufferPointer { assemble($0, into: &batch) }
    }

    /// `assemble(_:into:)` for a range of consecutive samples (evaluation in order).
    public func assemble(_ samples: Range<Int>, into batch: inout FeatureBatch) {
        Array(samples).withUnsafeBufferPointer { assemble($0, into: &batch) }
    }

    /// `assemble(_:into:)` for ids in a buffer.
    public func assemble(_ samples: UnsafeBufferPointer<Int>, into batch: inout FeatureBatch) {
        for sample in samples {
            precondition(sample >= 0 && sample < count,
                         "FeatureSet.assemble: sample \(sample) is out of range for \(count) samples")
        }
        if batch.bags.count != orders.count {
            batch.bags = orders.map { _ in FeatureBatch.Bag() }
        }
        batch.count = samples.count
        let size = Self.chunkSize, orderCount = orders.count
        // Sample by sample, all orders at once: each sample's bags are one run of memory. The chunks
        // outlive the call (`self` holds them).
        var totals = [Int](repeating: 0, count: orderCount)
        for sample in samples {
            let chunk = chunks[sample / size], local = sample % size
            for o in 0..<orderCount {
                let (start, end) = chunk.range(text: local, order: o)
                totals[o] += end - start
            }
        }
        for o in orders.indices {
            batch.bags[o].order = orders[o]
            batch.bags[o].buckets = buckets[o]
        }
        FeatureBatch.Bag.fill(&batch.bags, count: samples.count, totals: totals) { outputs in
            var positions = [Int](repeating: 0, count: orderCount)
            for (j, sample) in samples.enumerated() {
                let chunk = chunks[sample / size], local = sample % size
                for o in 0..<orderCount {
                    let out = outputs[o], position = positions[o]
                    out.offsets[j] = Int64(position)
                    let (start, end) = chunk.range(text: local, order: o)
                    let n = end - start, from = chunk.indices + start
                    for k in 0..<n { out.indices[position + k] = Int64(from[k]) }
                    if n > 0 { (out.weights.baseAddress! + position).update(from: chunk.weights + start, count: n) }
                    positions[o] = position + n
                }
            }
        }
        withExtendedLifetime(chunks) {}
    }
}
