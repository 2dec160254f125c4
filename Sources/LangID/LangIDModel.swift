import EmbeddingKit

/// The shape of a language-ID model: which n-grams it reads, how wide each table is, the hidden
/// layer, and the languages it tells apart. Saved with the weights as safetensors metadata.
public struct LangIDConfiguration: Sendable, Equatable, Codable {
    /// The n-gram orders, e.g. `[1, 2, 3, 4]`.
    public var orders: [Int]
    /// Hash buckets (embedding rows) per order.
    public var buckets: [Int]
    /// Embedding width per order.
    public var dimensions: [Int]
    /// Width of the hidden layer.
    public var hidden: Int
    /// ISO 639-1 codes, in output order.
    public var languages: [String]

    public init(orders: [Int] = NGramFeaturizer.defaultOrders, buckets: [Int] = NGramFeaturizer.defaultBuckets,
                dimensions: [Int]? = nil, hidden: Int = 64, languages: [String]) {
        self.orders = orders
        self.buckets = buckets
        self.dimensions = dimensions ?? orders.map { _ in 16 }
        self.hidden = hidden
        self.languages = languages
    }

    /// The featurizer these orders and buckets describe.
    public var featurizer: NGramFeaturizer { NGramFeaturizer(orders: orders, buckets: buckets) }
}

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
    /// One table per n-gram order (sparse gradients).
    public let embeddings: [EmbeddingBag]
    public let hidden: Linear
    public let output: Linear
    public var isTraining = true
    /// Dropout on the concatenated bag vectors while `isTraining` (0: off). Not saved: it only
    /// shapes training, where it keeps the model from memorising the few samples of rare languages.
    public var dropout: Float = 0
    private let generator: Generator

    public init(_ configuration: LangIDConfiguration, generator: Generator = .default) throws(EmbeddingKitError) {
        let c = configuration
        precondition(c.orders.count == c.buckets.count && c.orders.count == c.dimensions.count,
                     "LangIDModel: orders, buckets and dimensions must have one entry per order")
        precondition(!c.languages.isEmpty, "LangIDModel: no languages")
        self.configuration = c
        self.generator = generator
        // N(0, 1) rows, as PyTorch: a bag is a weighted mean, so its vector is already small
        var tables: [EmbeddingBag] = []
        for (buckets, dimension) in zip(c.buckets, c.dimensions) {
            tables.append(try EmbeddingBag(count: buckets, dimension: dimension, mode: .sum, sparse: true, generator: generator))
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
        precondition(batch.bags.count == embeddings.count, "LangIDModel: the batch has \(batch.bags.count) orders, the model \(embeddings.count)")
        var parts: [Tensor] = []
        parts.reserveCapacity(embeddings.count)
        for (bag, table) in zip(batch.bags, embeddings) {
            let input = Tensor(shape: [bag.indices.count], indices: bag.indices)
            let offsets = Tensor(shape: [bag.offsets.count], indices: bag.offsets)
            let weights = Tensor(shape: [bag.weights.count], values: bag.weights)
            parts.append(try table(input, offsets: offsets, perSampleWeights: weights))
        }
        var features = Tensor.cat(parts, dim: 1)
        if isTraining && dropout > 0 { features = try EmbeddingKit.dropout(features, p: dropout, generator: generator) }
        return output(relu(hidden(features)))
    }
}
