/// The n-gram features of many texts, computed once (`NGramFeaturizer.featurize(_:threads:)`) and
/// stored compactly, so that training can assemble a batch of any samples — a shuffled minibatch —
/// every step without featurising again.
///
/// Storage: the texts are cut into chunks of `chunkSize` (1,024) consecutive texts, one per unit of
/// parallel work, and each chunk keeps, per order, the bags of its texts back to back — bucket ids
/// (`Int32`, half the memory of `Int64`; batches widen them) and weights — with each text's start.
/// Keeping the chunks as they were computed avoids copying the whole set (~270 MB for the fortune
/// corpus at orders 1–4, 8 bytes per entry) into one array. `bag(_:order:)` copies out one text's bag.
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
        /// Per order: bucket ids and weights, back to back; `starts` (`textCount + 1`, first 0).
        let indices: [UnsafeMutablePointer<Int32>]
        let weights: [UnsafeMutablePointer<Float>]
        let starts: [UnsafeMutablePointer<Int>]
        /// Entries written per order.
        private(set) var counts: [Int]
        private var written = 0

        init(orderCount: Int, textCount: Int, capacity: Int) {
            self.orderCount = orderCount
            self.textCount = textCount
            indices = (0..<orderCount).map { _ in .allocate(capacity: max(capacity, 1)) }
            weights = (0..<orderCount).map { _ in .allocate(capacity: max(capacity, 1)) }
            starts = (0..<orderCount).map { _ in
                let p = UnsafeMutablePointer<Int>.allocate(capacity: textCount + 1)
                p[0] = 0
                return p
            }
            counts = [Int](repeating: 0, count: orderCount)
        }

        deinit {
            for p in indices { p.deallocate() }
            for p in weights { p.deallocate() }
            for p in starts { p.deallocate() }
        }

        /// Appends the bag of order `o` of the next text; call for every order of a text in turn.
        func append(order o: Int, indices newIndices: UnsafePointer<Int32>, weights newWeights: UnsafePointer<Float>,
                    count n: Int) {
            (indices[o] + counts[o]).update(from: newIndices, count: n)
            (weights[o] + counts[o]).update(from: newWeights, count: n)
            counts[o] += n
            if o == 0 { written += 1 }
            starts[o][written] = counts[o]
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
        let chunk = chunks[i / Self.chunkSize], local = i % Self.chunkSize
        let start = chunk.starts[order][local], end = chunk.starts[order][local + 1]
        return (Array(UnsafeBufferPointer(start: chunk.indices[order] + start, count: end - start))[...],
                Array(UnsafeBufferPointer(start: chunk.weights[order] + start, count: end - start))[...])
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
        let size = Self.chunkSize
        for o in orders.indices {
            // This order's buffers of every chunk; the chunks outlive the call (`self` holds them).
            let sourceIndices = chunks.map { UnsafePointer($0.indices[o]) }
            let sourceWeights = chunks.map { UnsafePointer($0.weights[o]) }
            let sourceStarts = chunks.map { UnsafePointer($0.starts[o]) }
            var total = 0
            for sample in samples {
                let starts = sourceStarts[sample / size], local = sample % size
                total += starts[local + 1] - starts[local]
            }
            batch.bags[o].order = orders[o]
            batch.bags[o].buckets = buckets[o]
            batch.bags[o].fill(count: samples.count, total: total) { indices, offsets, weights in
                var position = 0
                for (j, sample) in samples.enumerated() {
                    offsets[j] = Int64(position)
                    let c = sample / size, local = sample % size
                    let start = sourceStarts[c][local], n = sourceStarts[c][local + 1] - start
                    let from = sourceIndices[c] + start
                    for k in 0..<n { indices[position + k] = Int64(from[k]) }
                    (weights.baseAddress! + position).update(from: sourceWeights[c] + start, count: n)
                    position += n
                }
            }
        }
        withExtendedLifetime(chunks) {}
    }
}
