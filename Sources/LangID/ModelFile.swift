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

    /// Reads a model `save(to:)` wrote: the configuration from the metadata, then the weights.
    public static func load(from path: String) throws(EmbeddingKitError) -> LangIDModel {
        let file = try SafeTensors(contentsOf: path)
        let m = file.metadata
        func fail(_ what: String) -> EmbeddingKitError {
            EmbeddingKitError(.invalidArgument, "\(path): not a language-ID model file (\(what))")
        }
        guard m["format"] == formatTag else { throw fail("metadata format is \(m["format"].map { "'\($0)'" } ?? "missing"), want '\(formatTag)'") }
        func integers(_ key: String) throws(EmbeddingKitError) -> [Int] {
            guard let text = m[key] else { throw fail("metadata '\(key)' is missing") }
            var values: [Int] = []
            for part in text.split(separator: ",") {
                guard let v = Int(part), v > 0 else { throw fail("metadata '\(key)' = '\(text)' is not a list of positive integers") }
                values.append(v)
            }
            return values
        }
        let orders = try integers("orders"), buckets = try integers("buckets"), dimensions = try integers("dimensions")
        let hidden = try integers("hidden")
        let languages = (m["languages"] ?? "").split(separator: ",").map(String.init)
        guard orders.count == buckets.count, orders.count == dimensions.count, hidden.count == 1, !languages.isEmpty else {
            throw fail("orders, buckets and dimensions must have one entry per order, hidden one value, languages at least one")
        }
        let model = try LangIDModel(LangIDConfiguration(orders: orders, buckets: buckets, dimensions: dimensions, hidden: hidden[0],
                                                    languages: languages), generator: Generator(seed: 0))
        do {
            try model.loadStateDict(file.tensors)
        } catch {
            throw EmbeddingKitError(error.kind, "\(path): \(error.message)")
        }
        model.eval()
        return model
    }
}
