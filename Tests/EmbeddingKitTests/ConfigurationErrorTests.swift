import Testing
@testable import EmbeddingKit

/// Issue 14, items 5-10: values that come from configuration or data (sizes, eps, probabilities,
/// option combinations, padding indices, parameter lists) throw `EmbeddingKitError` and change
/// nothing, and empty dimensions work as in PyTorch. Before the fix each of these stopped the process
/// with a precondition (or, for `SGD([w, w])`, silently applied every step twice).
@Suite("Configuration errors and empty shapes")
struct ConfigurationErrorTests {
    private static func invalid(_ message: String) -> EmbeddingKitError { EmbeddingKitError(.invalidArgument, message) }

    // MARK: 5. layer norm eps

    /// PyTorch's `F.layer_norm(x, [4], eps=0)`: (x - mean) / sqrt(biased variance), here
    /// (x - 2.5) / sqrt(1.25) for x = [1, 2, 3, 4].
    @Test("layerNorm accepts eps = 0 as PyTorch does")
    func layerNormEpsZero() throws {
        let y = try layerNorm(Tensor([[1.0, 2, 3, 4]]), normalizedShape: [4], eps: 0)
        let s = Float(1.25).squareRoot()
        let want: [Float] = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]
        for (a, b) in zip(y.scalars, want) { #expect(abs(a - b) <= 1e-6) }
        let module = try LayerNorm(4, eps: 0)
        #expect(module(Tensor([[1.0, 2, 3, 4]])).scalars.map { ($0 * 1e5).rounded() } == want.map { ($0 * 1e5).rounded() })
    }

    @Test("A NaN, infinite or negative eps throws when the module is made and in the functional form")
    func layerNormBadEps() {
        #expect(throws: Self.invalid("LayerNorm: eps=nan must be finite and not negative")) { try LayerNorm(4, eps: .nan) }
        #expect(throws: Self.invalid("LayerNorm: eps=inf must be finite and not negative")) { try LayerNorm(4, eps: .infinity) }
        #expect(throws: Self.invalid("LayerNorm: eps=-1.0 must be finite and not negative")) { try LayerNorm([2, 2], eps: -1) }
        #expect(throws: Self.invalid("layerNorm: eps=nan must be finite and not negative")) {
            try layerNorm(Tensor([[1.0, 2]]), normalizedShape: [2], eps: .nan)
        }
        #expect(throws: Self.invalid("LayerNorm: normalizedShape[1]=-3 must not be negative")) { try LayerNorm([2, -3]) }
        #expect(throws: Self.invalid("LayerNorm: normalizedShape is empty")) { try LayerNorm([Int]()) }
        #expect(throws: EmbeddingKitError.self) { try layerNorm(Tensor([[1.0, 2, 3]]), normalizedShape: [2]) }
        #expect(throws: EmbeddingKitError.self) { try TransformerEncoderLayer(dModel: 4, nHead: 2, layerNormEps: .nan) }
    }

    @Test("Layer norm over an empty dimension or no rows gives an empty result and gradient")
    func layerNormEmpty() throws {
        let x = Tensor.zeros([2, 0])
        x.requiresGrad = true
        let norm = try LayerNorm(0)
        let y = norm(x)
        #expect(y.shape == [2, 0])
        y.sum().backward()
        #expect(x.grad?.toDense().shape == [2, 0])
        #expect(norm.weight?.grad?.toDense().shape == [0])
        #expect(try layerNorm(Tensor.zeros([0, 3]), normalizedShape: [3]).shape == [0, 3])
    }

    // MARK: 6. max mode with frequency scaling

    @Test("EmbeddingBag refuses mode max with scaleGradByFrequency up front, with PyTorch's message")
    func bagMaxWithFrequencyScaling() throws {
        let message = Self.invalid("max mode does not support scaling the gradient by the frequency")
        #expect(throws: message) { try EmbeddingBag(count: 6, dimension: 3, mode: .max, scaleGradByFrequency: true) }
        #expect(throws: message) {
            try EmbeddingBag(count: 6, dimension: 3, mode: .max, scaleGradByFrequency: true, sparse: true)
        }
        let table = Tensor.randn([6, 3], generator: Generator(seed: 3))
        table.requiresGrad = true
        let before = table.scalars
        #expect(throws: message) {
            try embeddingBag(Tensor(indices: [[1, 2], [3, 4]]), table, mode: .max, scaleGradByFrequency: true)
        }
        #expect(table.scalars == before && table.grad == nil)
        // the combinations PyTorch allows still work
        _ = try EmbeddingBag(count: 6, dimension: 3, mode: .sum, scaleGradByFrequency: true)
        _ = try EmbeddingBag(count: 6, dimension: 3, mode: .max)
    }

    // MARK: 7, 8. empty matrix products, Linear with no inputs

    @Test("matmul with an empty inner dimension gives zeros; with an empty outer one, an empty result")
    func emptyMatmul() throws {
        let a = Tensor.zeros([2, 0]), b = Tensor.zeros([0, 3])
        a.requiresGrad = true
        b.requiresGrad = true
        let c = Tensor.matmul(a, b)
        #expect(c.shape == [2, 3] && c.scalars == [Float](repeating: 0, count: 6))
        c.sum().backward()
        #expect(a.grad?.toDense().shape == [2, 0] && b.grad?.toDense().shape == [0, 3])
        // k > 2^31 with nothing to compute: no kernel call, an empty [0, 0]
        let wide = Tensor.matmul(Tensor.zeros([0, 3_000_000_000]), Tensor.zeros([3_000_000_000, 0]))
        #expect(wide.shape == [0, 0])
        #expect(Tensor.matmul(Tensor.zeros([3, 2, 0]), Tensor.zeros([0, 4])).scalars == [Float](repeating: 0, count: 24))
        #expect(Tensor.bmm(Tensor.zeros([2, 3, 0]), Tensor.zeros([2, 0, 1])).scalars == [Float](repeating: 0, count: 6))
    }

    /// PyTorch's `nn.Linear(0, 3)`: bound = 1/sqrt(fan_in) if fan_in > 0 else 0, so the bias is zeros
    /// and the layer outputs zeros of shape [batch, 3].
    @Test("Linear(0, n) has a zero bias and outputs zeros; negative sizes throw")
    func linearWithNoInputs() throws {
        let layer = try Linear(0, 3, generator: Generator(seed: 1))
        #expect(layer.bias?.scalars == [0, 0, 0])
        #expect(layer.weight.shape == [3, 0])
        let y = layer(Tensor.zeros([2, 0]))
        #expect(y.shape == [2, 3] && y.scalars == [Float](repeating: 0, count: 6))
        y.sum().backward()
        #expect(layer.bias?.grad?.toDense().scalars == [2, 2, 2])
        #expect(try Linear(3, 0)(Tensor.ones([2, 3])).shape == [2, 0])
        #expect(throws: Self.invalid("Linear: inFeatures=-1 must not be negative")) { try Linear(-1, 3) }
        #expect(throws: Self.invalid("Linear: outFeatures=-2 must not be negative")) { try Linear(3, -2) }
        #expect(throws: EmbeddingKitError.self) { try Linear(Int.max, 2) }
    }

    // MARK: 9. empty offsets with includeLastOffset, softmax over nothing

    @Test("includeLastOffset with no offsets throws (PyTorch raises), leaving the table alone")
    func includeLastOffsetWithoutOffsets() throws {
        let bag = try EmbeddingBag(count: 4, dimension: 2, mode: .sum, includeLastOffset: true)
        let before = bag.weight.scalars
        #expect(throws: EmbeddingKitError(.shape, "embedding_bag: include_last_offset: number of offsets should be at least 1, got 0")) {
            try bag(Tensor(indices: [Int]()), offsets: Tensor(indices: [Int]()))
        }
        #expect(bag.weight.scalars == before)
        // one offset with includeLastOffset is zero bags
        #expect(try bag(Tensor(indices: [Int]()), offsets: Tensor(indices: [0])).shape == [0, 2])
    }

    @Test("softmax and logSoftmax over an empty dimension, or of no rows, give empty results")
    func emptySoftmax() throws {
        let x = Tensor.zeros([2, 0])
        x.requiresGrad = true
        let y = softmax(x, dim: -1)
        #expect(y.shape == [2, 0])
        y.sum().backward()
        #expect(x.grad?.toDense().shape == [2, 0])
        #expect(logSoftmax(Tensor.zeros([0, 3]), dim: 1).shape == [0, 3])
        #expect(softmax(Tensor.zeros([0, 3]), dim: 0).shape == [0, 3])
    }

    /// A known divergence: PyTorch's `nn.Embedding(5, 0)` returns rows of no elements; the kernels
    /// refuse dim = 0, so the lookup throws (it must not stop the process).
    @Test("Tables of dimension 0 are refused by the kernels with an error, not a trap")
    func zeroDimensionTables() throws {
        let embed = try Embedding(count: 5, dimension: 0)
        #expect(throws: Self.invalid("embedding: dim=0 must be positive")) { try embed(Tensor(indices: [1, 2])) }
        let bag = try EmbeddingBag(count: 5, dimension: 0, mode: .sum)
        #expect(throws: Self.invalid("embedding_bag: dim=0 must be positive")) {
            try bag(Tensor(indices: [1, 2]), offsets: Tensor(indices: [0]))
        }
    }

    // MARK: 10. padding index, duplicate parameters

    @Test("Embedding and EmbeddingBag throw for a paddingIndex out of range, as the functional form does")
    func paddingIndexOutOfRange() throws {
        #expect(throws: EmbeddingKitError(.indexOutOfRange, "Embedding: paddingIndex=5 is out of range for 5 embeddings")) {
            try Embedding(count: 5, dimension: 2, paddingIndex: 5)
        }
        #expect(throws: EmbeddingKitError(.indexOutOfRange, "EmbeddingBag: paddingIndex=-6 is out of range for 5 embeddings")) {
            try EmbeddingBag(count: 5, dimension: 2, paddingIndex: -6)
        }
        #expect(throws: EmbeddingKitError(.indexOutOfRange, "Embedding: paddingIndex=0 is out of range for 0 embeddings")) {
            try Embedding(pretrained: Tensor.zeros([0, 2]), paddingIndex: 0)
        }
        #expect(try Embedding(count: 5, dimension: 2, paddingIndex: -5).paddingIndex == 0)
        #expect(throws: Self.invalid("Embedding: count=-1 must not be negative")) { try Embedding(count: -1, dimension: 2) }
        #expect(throws: Self.invalid("EmbeddingBag: dimension=-3 must not be negative")) { try EmbeddingBag(count: 2, dimension: -3) }
        #expect(throws: Self.invalid("Embedding: maxNorm=nan must be positive and finite")) {
            try Embedding(count: 2, dimension: 2, maxNorm: .nan)
        }
        #expect(throws: EmbeddingKitError.self) { try Embedding(pretrained: Tensor([1.0, 2, 3])) }
        #expect(try Embedding(count: 0, dimension: 3).weight.shape == [0, 3])
    }

    @Test("Optimizers refuse a parameter listed twice (it would be updated twice per step)")
    func duplicateParameters() throws {
        let w = Tensor([[1.0, 2]]), other = Tensor([[3.0, 4]])
        w.requiresGrad = true
        other.requiresGrad = true
        let message = Self.invalid("SGD: parameter 2 is the same tensor as parameter 0; optimizer contains a parameter group with duplicate parameters")
        #expect(throws: message) { try SGD([w, other, w], learningRate: 0.1) }
        #expect(throws: EmbeddingKitError.self) { try Adagrad([w, w]) }
        #expect(throws: EmbeddingKitError.self) { try Adam([w, w]) }
        // equal values in distinct tensors are distinct parameters
        _ = try SGD([w, Tensor([[1.0, 2]])], learningRate: 0.1)
    }

    // MARK: the same class: every module's configuration

    @Test("Dropout, MultiheadAttention, TransformerEncoder and the data loader refuse bad configuration")
    func otherConfiguration() throws {
        #expect(throws: Self.invalid("dropout probability has to be between 0 and 1, but got 2.0")) { try Dropout(2) }
        #expect(throws: Self.invalid("dropout probability has to be between 0 and 1, but got nan")) { try Dropout(.nan) }
        #expect(throws: Self.invalid("dropout probability has to be between 0 and 1, but got -0.5")) {
            try dropout(Tensor([1.0, 2]), p: -0.5)
        }
        #expect(throws: EmbeddingKitError.self) { try MultiheadAttention(embedDim: 4, numHeads: 3) }
        #expect(throws: EmbeddingKitError.self) { try MultiheadAttention(embedDim: 4, numHeads: 0) }
        #expect(throws: EmbeddingKitError.self) { try MultiheadAttention(embedDim: 4, numHeads: 2, dropout: 1.5) }
        #expect(throws: EmbeddingKitError.self) { try TransformerEncoderLayer(dModel: 4, nHead: 2, dimFeedforward: -1) }
        let layer = try TransformerEncoderLayer(dModel: 4, nHead: 2, dimFeedforward: 8, dropout: 0)
        #expect(throws: Self.invalid("TransformerEncoder: numLayers=-1 must not be negative")) { try TransformerEncoder(layer, numLayers: -1) }
        let src = Tensor.randn([3, 1, 4], generator: Generator(seed: 5))
        #expect(try TransformerEncoder(layer, numLayers: 0)(src).scalars == src.scalars) // PyTorch: no layers, the input
        let data = try TensorDataset(Tensor([[1.0, 2], [3, 4]]), Tensor([5.0, 6]))
        #expect(throws: Self.invalid("DataLoader: batch_size should be a positive integer value, but got batch_size=0")) {
            try DataLoader(data, batchSize: 0)
        }
        #expect(throws: EmbeddingKitError.self) { try TensorDataset(Tensor([1.0, 2, 3]), Tensor([1.0, 2])) }
        #expect(throws: EmbeddingKitError.self) { try TensorDataset(Tensor(scalar: 1)) }
    }
}
