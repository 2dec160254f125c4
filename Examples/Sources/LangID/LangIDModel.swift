import EmbeddingKit

/// CLD3's design built from EmbeddingKit modules: for each n-gram order an `EmbeddingBag(mode:
/// .sum)` over hashed n-gram buckets, weighted by each n-gram's relative frequency in the text; the
/// bag vectors concatenated; one ReLU hidden layer; a linear layer to one logit per language.
///
/// ```swift
/// let model = LangIDModel(LangIDConfiguration(languages: corpus.languages))
/// let logits = try model(batch)            // batch: a FeatureBatch of n-gram bags
/// ```
public final class LangIDModel: Module {
    public let configuration: LangIDConfiguration
    /// The featurizer of `configuration`'s orders and buckets.
    public let featurizer: NGramFeaturizer
    /// One table per n-gram order (sparse gradients).
    public let embeddings: [EmbeddingBag]
    public let hidden: Linear
    public let output: Linear
    public var isTraining = true
    /// Dropout on the concatenated bag vectors while `isTraining` (0: off). Not saved: it only
    /// shapes training, where it keeps the model from memorising the few samples of rare languages.
    public var dropout: Float = 0
    private let generator: Generator

    /// Throws `invalidArgument` for a configuration outside `LangIDConfiguration`'s limits, before
    /// allocating anything. `storage`: the element type of the n-gram tables (``TableStorage``).
    public init(_ configuration: LangIDConfiguration, storage: TableStorage = .float32,
                generator: Generator = .default) throws(EmbeddingKitError) {
        try configuration.validate()
        let c = configuration
        self.configuration = c
        featurizer = try c.featurizer
        self.generator = generator
        // N(0, 1) rows, as PyTorch: a bag is a weighted mean, so its vector is already small
        var tables: [EmbeddingBag] = []
        for (buckets, dimension) in zip(c.buckets, c.dimensions) {
            tables.append(try EmbeddingBag(count: buckets, dimension: dimension, mode: .sum, sparse: true, storage: storage,
                                       generator: generator))
        }
        embeddings = tables
        hidden = try Linear(c.dimensions.reduce(0, +), c.hidden, generator: generator)
        output = try Linear(c.hidden, c.languages.count, generator: generator)
    }

    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    public var children: [(name: String, module: any Module)] {
        embeddings.enumerated().map { ("embeddings.\($0.offset)", $0.element as any Module) }
            + [("hidden", hidden), ("output", output)]
    }

    /// One row of logits per sample of `batch`, `[batch.count, languages]`.
    public func callAsFunction(_ batch: FeatureBatch) throws(EmbeddingKitError) -> Tensor {
        guard batch.bags.count == embeddings.count else {
            throw EmbeddingKitError(.shape, "LangIDModel: the batch has \(batch.bags.count) n-gram orders, the model \(embeddings.count)")
        }
        var parts: [Tensor] = []
        parts.reserveCapacity(embeddings.count)
        for (bag, table) in zip(batch.bags, embeddings) {
            let input = Tensor(shape: [bag.indices.count], indices: bag.indices)
            let offsets = Tensor(shape: [bag.offsets.count], indices: bag.offsets)
            let weights = Tensor(shape: [bag.weights.count], values: bag.weights)
            parts.append(try table(input, offsets: offsets, perSampleWeights: weights))
        }
        var features = Tensor.cat(parts, dim: 1)
        guard dropout >= 0 && dropout < 1 else {
            throw EmbeddingKitError(.invalidArgument, "LangIDModel: dropout \(dropout) is outside [0, 1)")
        }
        if isTraining && dropout > 0 { features = try EmbeddingKit.dropout(features, p: dropout, generator: generator) }
        return output(relu(hidden(features)))
    }
}
