import Testing
@testable import EmbeddingKit

/// An empty batch (a 0-sized batch dimension) goes through every layer and comes out empty, as in
/// PyTorch, instead of stopping the process. It used to crash in broadcasting (0 against 1 became 1).
@Suite("Empty batches") struct EmptyBatchTests {
    @Test func broadcastingKeepsAZeroSizedDimension() {
        #expect(Broadcast.shape([0, 4], [1, 4], op: "test") == [0, 4])
        #expect(Broadcast.shape([1, 4], [0, 4], op: "test") == [0, 4])
        #expect(Broadcast.shape([3, 1], [1, 4], op: "test") == [3, 4])
        #expect((Tensor.zeros([0, 4]) + Tensor.ones([1, 4])).shape == [0, 4])
    }

    @Test func attentionAndEncoderTakeAnEmptyBatch() throws {
        let g = Generator(seed: 5)
        let attention = try MultiheadAttention(embedDim: 8, numHeads: 2, batchFirst: true, generator: g)
        let x = Tensor.zeros([0, 3, 8])   // batch 0, sequence 3, width 8
        let (out, weights) = attention(x, x, x)
        #expect(out.shape == [0, 3, 8])
        #expect(weights?.shape == [0, 3, 3])

        let encoder = try TransformerEncoder(try TransformerEncoderLayer(dModel: 8, nHead: 2, dimFeedforward: 16, dropout: 0,
                                                                 batchFirst: true, generator: g), numLayers: 2)
        encoder.eval()
        #expect(encoder(x).shape == [0, 3, 8])
    }
}
