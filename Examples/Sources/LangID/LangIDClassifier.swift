import EmbeddingKit

/// What prediction needs from a language-ID model: its configuration, its featurizer and one row
/// of logits per text. `LangIDModel` (float32, trainable) and `QuantizedLangIDModel` (8-, 4- or
/// 2-bit n-gram tables, prediction only) are the two kinds; `LangIDPredictor` takes either.
public protocol LangIDClassifier: AnyObject {
    var configuration: LangIDConfiguration { get }
    var featurizer: NGramFeaturizer { get }
    /// One row of logits per sample of `batch`, `[batch.count, languages]`.
    func logits(_ batch: FeatureBatch) throws(EmbeddingKitError) -> Tensor
}

extension LangIDModel: LangIDClassifier {
    /// `self(batch)`, in the model's current mode (a loaded model is in evaluation mode; call
    /// `eval()` on one fresh from training, or dropout applies).
    public func logits(_ batch: FeatureBatch) throws(EmbeddingKitError) -> Tensor { try self(batch) }
}

/// Reads a model file of either kind: a float32 model (`LangIDModel.save`) or a quantized one
/// (`QuantizedLangIDModel.save`), told apart by the metadata `format`. Throws as `LangIDModel.load`.
public func loadLangIDClassifier(from path: String) throws(EmbeddingKitError) -> any LangIDClassifier {
    var reader = ModelFileReader(path: path)
    try reader.read(acceptingQuantized: true)
    if let formats = reader.tableFormats {
        return try QuantizedLangIDModel(reading: reader, formats: formats)
    }
    return try LangIDModel(reading: reader)
}
