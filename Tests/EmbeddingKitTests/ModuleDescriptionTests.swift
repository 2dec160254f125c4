import Testing
@testable import EmbeddingKit

/// Issue 17: `print(model)` prints what PyTorch's `print(model)` prints.
@Suite("Module printing")
struct ModuleDescriptionTests {
    @Test("leaf modules print PyTorch's extra_repr")
    func leaves() throws {
        #expect(try EmbeddingBag(count: 10, dimension: 3, mode: .sum).description == "EmbeddingBag(10, 3, mode='sum')")
        #expect(try EmbeddingBag(count: 10, dimension: 3, paddingIndex: 2, maxNorm: 1.5, normType: 1, sparse: true).description
                == "EmbeddingBag(10, 3, max_norm=1.5, norm_type=1.0, mode='mean', padding_idx=2)")
        #expect(try Linear(3, 4).description == "Linear(in_features=3, out_features=4, bias=True)")
        #expect(try Linear(3, 4, bias: false).description == "Linear(in_features=3, out_features=4, bias=False)")
        #expect(try Embedding(count: 10, dimension: 3, paddingIndex: 0, sparse: true).description
                == "Embedding(10, 3, padding_idx=0, sparse=True)")
        #expect(try Embedding(count: 10, dimension: 3, paddingIndex: -1, maxNorm: 2, scaleGradByFrequency: true).description
                == "Embedding(10, 3, padding_idx=9, max_norm=2.0, scale_grad_by_freq=True)")
        #expect(try LayerNorm(4).description == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)")
        #expect(try LayerNorm([2, 3], elementwiseAffine: false).description == "LayerNorm((2, 3), eps=1e-05, elementwise_affine=False)")
        #expect(try Dropout(0.1).description == "Dropout(p=0.1, inplace=False)")
        #expect(ReLU().description == "ReLU()")
        #expect(GELU(approximate: .tanh).description == "GELU(approximate='tanh')")
        #expect(Softmax(dim: -1).description == "Softmax(dim=-1)")
        #expect("\(try EmbeddingBag(count: 10, dimension: 3, mode: .sum))" == "EmbeddingBag(10, 3, mode='sum')")
    }

    @Test("containers print their children with names and indentation, ModuleList folded")
    func nested() throws {
        let seq = Sequential(try Linear(3, 4), ReLU(), try Linear(4, 2))
        #expect(seq.description == """
            Sequential(
              (0): Linear(in_features=3, out_features=4, bias=True)
              (1): ReLU()
              (2): Linear(in_features=4, out_features=2, bias=True)
            )
            """)
        let encoder = try TransformerEncoder(TransformerEncoderLayer(dModel: 4, nHead: 2, dimFeedforward: 8), numLayers: 2)
        #expect(encoder.description == """
            TransformerEncoder(
              (layers): ModuleList(
                (0-1): 2 x TransformerEncoderLayer(
                  (self_attn): MultiheadAttention(
                    (out_proj): NonDynamicallyQuantizableLinear(in_features=4, out_features=4, bias=True)
                  )
                  (linear1): Linear(in_features=4, out_features=8, bias=True)
                  (dropout): Dropout(p=0.1, inplace=False)
                  (linear2): Linear(in_features=8, out_features=4, bias=True)
                  (norm1): LayerNorm((4,), eps=1e-05, elementwise_affine=True)
                  (norm2): LayerNorm((4,), eps=1e-05, elementwise_affine=True)
                  (dropout1): Dropout(p=0.1, inplace=False)
                  (dropout2): Dropout(p=0.1, inplace=False)
                )
              )
            )
            """)
    }

    final class TextClassifier: Module {
        let bag = try! EmbeddingBag(count: 10, dimension: 3, mode: .sum)
        let heads = [try! Linear(3, 2), try! Linear(3, 2), try! Linear(3, 5)]
        var isTraining = true
        var extraDescription: String { "classes=2" }
    }

    @Test("a custom module prints its type, its extra description and its reflected children")
    func custom() {
        #expect(TextClassifier().description == """
            TextClassifier(
              classes=2
              (bag): EmbeddingBag(10, 3, mode='sum')
              (heads): ModuleList(
                (0-1): 2 x Linear(in_features=3, out_features=2, bias=True)
                (2): Linear(in_features=3, out_features=5, bias=True)
              )
            )
            """)
    }
}
