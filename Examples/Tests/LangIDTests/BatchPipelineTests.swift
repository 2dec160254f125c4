import XCTest
@testable import LangID

/// The batch pipeline hands out exactly the batches of the samples asked for, in line or on its
/// thread, across chunk boundaries and with its buffers reused.
final class BatchPipelineTests: XCTestCase {
    /// Sample `samples`' bags put together from `bag(_:order:)`, one text at a time.
    func expected(_ set: FeatureSet, _ samples: [Int], order o: Int) -> (offsets: [Int64], indices: [Int64], weights: [Float]) {
        var offsets: [Int64] = [], indices: [Int64] = [], weights: [Float] = []
        for i in samples {
            offsets.append(Int64(indices.count))
            let bag = set.bag(i, order: o)
            indices += bag.indices.map(Int64.init)
            weights += bag.weights
        }
        return (offsets, indices, weights)
    }

    func testBatchesAreTheSamplesAskedForInLineAndOnAThread() throws {
        // 2,500 texts: three chunks of FeatureSet.chunkSize; one empty text (empty bags)
        let texts = (0..<2500).map { $0 == 1500 ? "" : "text \($0) \(String(repeating: "ab", count: $0 % 7))" }
        let f = try NGramFeaturizer(orders: [-1, 1, 2, 3], buckets: [16, 64, 256, 1024])
        let set = f.featurize(texts, threads: 2)
        let steps = [[2499, 0, 1024, 1500, 7], [1023, 1024, 1025], [5], [], [1500, 1500, 2048, 12, 999, 2000]]
        for background in [false, true] {
            let pipeline = BatchPipeline(features: set, background: background)
            var batch = FeatureBatch()
            for samples in steps {
                pipeline.prefetch(samples)
                pipeline.take(into: &batch)
                XCTAssertEqual(batch.count, samples.count)
                XCTAssertEqual(batch.bags.count, f.orders.count)
                for (o, bag) in batch.bags.enumerated() {
                    let want = expected(set, samples, order: o)
                    XCTAssertEqual(bag.order, f.orders[o])
                    XCTAssertEqual(bag.buckets, f.buckets[o])
                    XCTAssertEqual(bag.offsets, want.offsets, "background \(background), samples \(samples), order \(o)")
                    XCTAssertEqual(bag.indices, want.indices, "background \(background), samples \(samples), order \(o)")
                    XCTAssertEqual(bag.weights, want.weights, "background \(background), samples \(samples), order \(o)")
                }
            }
        }
        // the text's bags hold what featurising it alone gives (the storage is per chunk)
        let alone = f.featurize(["text 1030 " + String(repeating: "ab", count: 1030 % 7)])
        for o in f.orders.indices {
            XCTAssertEqual(set.bag(1030, order: o).indices, alone.bag(0, order: o).indices)
            XCTAssertEqual(set.bag(1030, order: o).weights, alone.bag(0, order: o).weights)
        }
    }
}
