import EmbeddingKit

/// A trained `LangIDModel` on disk: its weights as a `.safetensors` file (names `embeddings.0.weight`,
/// `hidden.weight`, ...) and its configuration in the file's metadata, as plain strings:
/// `format` = `embedkit-langid-1`, `languages` = `bg,cs,de,...`, `orders`, `buckets`, `dimensions`
/// (comma-separated integers) and `hidden`.
///
/// A model with a bag that is not character n-grams — order 0 (whole words) or -1 (letters outside
/// ASCII) in `orders` — is written as `embedkit-langid-2`: a reader that knows only format 1 then
/// refuses it by its tag instead of misreading an order. Character-only models stay format 1, so
/// files written before format 2 existed load unchanged.
extension LangIDModel {
    static let formatTag = "embedkit-langid-1"
    /// The format of models with word or letter bags.
    static let formatTagWithBags = "embedkit-langid-2"

    /// The format tag for these orders.
    static func formatTag(orders: [Int]) -> String {
        orders.contains { $0 < 1 } ? formatTagWithBags : formatTag
    }

    /// Writes the model atomically (a failed save leaves an existing file intact).
    public func save(to path: String) throws(EmbeddingKitError) {
        let c = configuration
        func list(_ values: [Int]) -> String { values.map(String.init).joined(separator: ",") }
        try save(to: path, metadata: [
            "format": Self.formatTag(orders: c.orders), "languages": c.languages.joined(separator: ","), "orders": list(c.orders),
            "buckets": list(c.buckets), "dimensions": list(c.dimensions), "hidden": String(c.hidden),
        ])
    }

    /// Reads a model `save(to:)` wrote. Nothing is allocated before the file has proved to be one:
    /// `ModelFileReader` checks the header, the metadata (against `LangIDConfiguration.Limits`), the
    /// tensors' names, dtypes and shapes and the file size first. Throws `invalidArgument` naming the
    /// path and what is wrong, or `io` for a file that cannot be read.
    /// A quantized model (`QuantizedLangIDModel`) is refused naming its format: it can only predict.
    public static func load(from path: String) throws(EmbeddingKitError) -> LangIDModel {
        var reader = ModelFileReader(path: path)
        try reader.read()
        return try LangIDModel(reading: reader)
    }

    /// The model of a float file `reader` has read.
    convenience init(reading reader: ModelFileReader) throws(EmbeddingKitError) {
        do {
            let file = try SafeTensors(bytes: reader.bytes)
            try self.init(reader.configuration, generator: Generator(seed: 0))
            try loadStateDict(file.tensors)
            eval()
        } catch {
            throw EmbeddingKitError(error.kind, "\(reader.path): \(error.message)")
        }
    }
}
