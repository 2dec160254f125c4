import EmbeddingKit

/// A trained `LangIDModel` on disk: its weights as a `.safetensors` file (names `embeddings.0.weight`,
/// `hidden.weight`, ...) and its configuration in the file's metadata, as plain strings:
/// `format` = `embedkit-langid-1`, `languages` = `bg,cs,de,...`, `orders`, `buckets`, `dimensions`
/// (comma-separated integers) and `hidden`.
extension LangIDModel {
    static let formatTag = "embedkit-langid-1"

    /// Writes the model atomically (a failed save leaves an existing file intact).
    public func save(to path: String) throws(EmbeddingKitError) {
        let c = configuration
        func list(_ values: [Int]) -> String { values.map(String.init).joined(separator: ",") }
        try save(to: path, metadata: [
            "format": Self.formatTag, "languages": c.languages.joined(separator: ","), "orders": list(c.orders),
            "buckets": list(c.buckets), "dimensions": list(c.dimensions), "hidden": String(c.hidden),
        ])
    }

    /// Reads a model `save(to:)` wrote. Nothing is allocated before the file has proved to be one:
    /// `ModelFileReader` checks the header, the metadata (against `LangIDConfiguration.Limits`), the
    /// tensors' names, dtypes and shapes and the file size first. Throws `invalidArgument` naming the
    /// path and what is wrong, or `io` for a file that cannot be read.
    public static func load(from path: String) throws(EmbeddingKitError) -> LangIDModel {
        var reader = ModelFileReader(path: path)
        try reader.read()
        do {
            let file = try SafeTensors(bytes: reader.bytes)
            let model = try LangIDModel(reader.configuration, generator: Generator(seed: 0))
            try model.loadStateDict(file.tensors)
            model.eval()
            return model
        } catch {
            throw EmbeddingKitError(error.kind, "\(path): \(error.message)")
        }
    }
}
