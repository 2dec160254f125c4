import EmbeddingKit

/// A trained `LangIDModel` with its n-gram tables quantized row-wise to 8, 4 or 2 bits
/// (`QuantizedEmbeddingBag`, the FBGEMM / PyTorch layout); the hidden and output layers stay
/// float32. Prediction only: it has no gradient and no dropout.
///
/// ```swift
/// let q = try QuantizedLangIDModel(model, bits: 8)
/// try q.save(to: "langid.q8.safetensors")
/// let labels = try LangIDPredictor(q).predict(["Der frühe Vogel fängt den Wurm."])
/// ```
///
/// The tables are most of the model (the demo's: 221,184 rows of 16 floats), and each packed row
/// carries its scale and bias: at width 16 an 8-bit row is 24 bytes against 64 in float32, a 4-bit
/// row 12.
public final class QuantizedLangIDModel: LangIDClassifier {
    public let configuration: LangIDConfiguration
    public let featurizer: NGramFeaturizer
    /// One quantized table per n-gram order.
    public let embeddings: [QuantizedEmbeddingBag]
    public let hidden: Linear
    public let output: Linear

    /// Quantizes `model`'s tables with `bits` per element (8, 4 or 2) and copies its dense layers.
    /// Throws `invalidArgument` for other bits, for tables not held in float32 (a model trained with
    /// `TableStorage.bfloat16` / `.float16`: save and load it, which widens them), or for a table
    /// the format cannot hold (a non-finite value; at 4 and 2 bits a row past fp16's range).
    public init(_ model: LangIDModel, bits: Int) throws(EmbeddingKitError) {
        _ = try QuantizedFormat(bits: bits)
        for (i, table) in model.embeddings.enumerated() where table.weight.dtype != .float32 {
            throw EmbeddingKitError(.invalidArgument, "QuantizedLangIDModel: table embeddings.\(i) is \(table.weight.dtype), "
                                    + "not float32; save and load the model to widen it before quantizing")
        }
        configuration = model.configuration
        featurizer = model.featurizer
        var tables: [QuantizedEmbeddingBag] = []
        for (i, table) in model.embeddings.enumerated() {
            do {
                tables.append(try QuantizedEmbeddingBag(table, bits: bits))
            } catch {
                throw EmbeddingKitError(error.kind, "table embeddings.\(i) (n-gram order \(model.configuration.orders[i])): \(error.message)")
            }
        }
        embeddings = tables
        // copies: later training of `model` must not change this one
        hidden = try Self.copy(model.hidden)
        output = try Self.copy(model.output)
    }

    /// A model from its parts (read from a file); `configuration` was validated against them.
    init(configuration: LangIDConfiguration, embeddings: [QuantizedEmbeddingBag], hidden: Linear,
         output: Linear) throws(EmbeddingKitError) {
        self.configuration = configuration
        featurizer = try configuration.featurizer
        self.embeddings = embeddings
        self.hidden = hidden
        self.output = output
    }

    private static func copy(_ layer: Linear) throws(EmbeddingKitError) -> Linear {
        let copy = try Linear(layer.weight.shape[1], layer.weight.shape[0], bias: layer.bias != nil, generator: Generator(seed: 0))
        try copy.loadStateDict(layer.stateDict())
        copy.eval()
        return copy
    }

    /// Each table's quantization error against the float table it was made from (empty for a
    /// model read from a file: the float table is gone).
    public var quantizationErrors: [QuantizationError] { embeddings.compactMap(\.quantizationError) }

    /// One row of logits per sample of `batch`, `[batch.count, languages]`: `LangIDModel`'s forward
    /// in evaluation mode, over the quantized tables.
    public func logits(_ batch: FeatureBatch) throws(EmbeddingKitError) -> Tensor {
        guard batch.bags.count == embeddings.count else {
            throw EmbeddingKitError(.shape, "QuantizedLangIDModel: the batch has \(batch.bags.count) n-gram orders, the model \(embeddings.count)")
        }
        var parts: [Tensor] = []
        parts.reserveCapacity(embeddings.count)
        for (bag, table) in zip(batch.bags, embeddings) {
            let input = Tensor(shape: [bag.indices.count], indices: bag.indices)
            let offsets = Tensor(shape: [bag.offsets.count], indices: bag.offsets)
            let weights = Tensor(shape: [bag.weights.count], values: bag.weights)
            parts.append(try table(input, offsets: offsets, perSampleWeights: weights))
        }
        return output(relu(hidden(Tensor.cat(parts, dim: 1))))
    }
}
