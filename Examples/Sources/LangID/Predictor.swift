import EmbeddingKit

/// Language probabilities for texts from a trained model — float32 (`LangIDModel`) or quantized
/// (`QuantizedLangIDModel`) — batched, without gradients.
public struct LangIDPredictor {
    public let model: any LangIDClassifier
    let featurizer: NGramFeaturizer

    /// A batch holds at most this many text bytes (each text counted up to
    /// `NGramFeaturizer.maxTextBytes`): batch tensors cost about 200 bytes per text byte, so a
    /// batch of long texts stays near 100 MB whatever the input.
    public static let maxBatchBytes = 512 * 1024

    public init(_ model: any LangIDClassifier) {
        self.model = model
        featurizer = model.featurizer
    }

    /// The probability of every language for each text, `[texts.count][languages]`. Batches hold
    /// at most `batchSize` texts (at least 1) and `maxBatchBytes` bytes.
    public func probabilities(_ texts: [String], batchSize: Int = 1024) throws -> [[Float]] {
        let languages = model.configuration.languages.count
        var result: [[Float]] = []
        result.reserveCapacity(texts.count)
        var batch = FeatureBatch()
        var start = 0
        while start < texts.count {
            var end = start, bytes = 0
            while end < texts.count && end - start < Swift.max(batchSize, 1) {
                let size = Swift.min(texts[end].utf8.count, NGramFeaturizer.maxTextBytes)
                if end > start && bytes + size > Self.maxBatchBytes { break }
                bytes += size
                end += 1
            }
            let chunk = Array(texts[start..<end])
            featurizer.batch(chunk, into: &batch)
            let p = try withoutGradients { () throws(EmbeddingKitError) -> Tensor in softmax(try model.logits(batch), dim: 1) }.scalars
            for i in 0..<chunk.count { result.append(Array(p[(i * languages)..<((i + 1) * languages)])) }
            start += chunk.count
        }
        return result
    }

    /// The most likely language of each text (index into `languages`).
    public func predict(_ texts: [String], batchSize: Int = 1024) throws -> [Int] {
        try probabilities(texts, batchSize: batchSize).map { p in p.indices.max { p[$0] < p[$1] }! }
    }

    /// The `k` most likely languages of `text` with their probabilities, most likely first.
    public func top(_ k: Int, of text: String) throws -> [(language: String, probability: Float)] {
        let p = try probabilities([text])[0]
        return p.indices.sorted { p[$0] > p[$1] }.prefix(k).map { (model.configuration.languages[$0], p[$0]) }
    }
}
