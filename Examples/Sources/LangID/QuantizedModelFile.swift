import EmbeddingKit

/// A `QuantizedLangIDModel` on disk: one `.safetensors` file with the float model's metadata
/// (`languages`, `orders`, `buckets`, `dimensions`, `hidden`; see `LangIDModel.save(to:)`), `format`
/// = `embedkit-langid-quantized-1` and `table_formats` = each table's `QuantizedFormat` (e.g.
/// `rowwise_q8,rowwise_q8,...`). Tensors: `embeddings.N.weight` as `U8` `[buckets, packed row bytes]`
/// (PyTorch's prepacked table as it is), `hidden.*` and `output.*` as `F32`.
///
/// The new format tag keeps float-only readers (`LangIDModel.load`, hence training and quantizing)
/// from taking a quantized file for a float one: they refuse it naming the tag.
extension QuantizedLangIDModel {
    public static let formatTag = "embedkit-langid-quantized-1"

    /// Writes the model with `SafeTensors.write(to:)` (the tables as `ByteTensor`s): atomically, a
    /// failed save leaving an existing file intact. Throws `io` naming the path and the system's reason.
    public func save(to path: String) throws(EmbeddingKitError) {
        let c = configuration
        func list(_ values: [Int]) -> String { values.map(String.init).joined(separator: ",") }
        let metadata = [
            "format": Self.formatTag, "table_formats": embeddings.map(\.format.rawValue).joined(separator: ","),
            "languages": c.languages.joined(separator: ","), "orders": list(c.orders), "buckets": list(c.buckets),
            "dimensions": list(c.dimensions), "hidden": String(c.hidden),
        ]
        var tables: [String: ByteTensor] = [:]
        for (i, table) in embeddings.enumerated() {
            let shape = [table.count, try table.format.rowBytes(dimension: table.dimension)]
            tables["embeddings.\(i).weight"] = try ByteTensor(shape: shape, bytes: table.packedBytes)
        }
        var dense: [String: Tensor] = [:]
        for (name, layer) in [("hidden", hidden), ("output", output)] {
            dense[name + ".weight"] = layer.weight.widened()   // F32, as the reader requires
            if let bias = layer.bias { dense[name + ".bias"] = bias.widened() }
        }
        try SafeTensors(tensors: dense, byteTensors: tables, metadata: metadata).write(to: path)
    }

    /// Reads a model `save(to:)` wrote, checked as `LangIDModel.load` checks a float model (header,
    /// metadata, tensor names, dtypes and shapes, file size) and each table's scales and biases
    /// finite. A float model is read by `loadLangIDClassifier(from:)`, which takes either.
    /// Memory while loading: the file, then each table's packed bytes once more.
    public static func load(from path: String) throws(EmbeddingKitError) -> QuantizedLangIDModel {
        var reader = ModelFileReader(path: path)
        try reader.read(acceptingQuantized: true)
        guard let formats = reader.tableFormats else {
            throw EmbeddingKitError(.invalidArgument, "\(path): a float32 language-ID model, not a quantized one (load it with LangIDModel.load "
                                    + "or loadLangIDClassifier, or quantize it with `embedkit langid quantize`)")
        }
        return try QuantizedLangIDModel(reading: reader, formats: formats)
    }

    /// The model of a quantized file `reader` has read.
    convenience init(reading reader: ModelFileReader, formats: [QuantizedFormat]) throws(EmbeddingKitError) {
        let c = reader.configuration
        do {
            let file = try SafeTensors(bytes: reader.bytes, keepingBytes: true)
            var tables: [QuantizedEmbeddingBag] = []
            for (i, format) in formats.enumerated() {
                let packed = file.byteTensors["embeddings.\(i).weight"]!.bytes   // shapes checked by the reader
                tables.append(try QuantizedEmbeddingBag(packed: packed, count: c.buckets[i], dimension: c.dimensions[i], format: format, mode: .sum))
            }
            func layer(_ name: String, _ inputs: Int, _ outputs: Int) throws(EmbeddingKitError) -> Linear {
                let l = try Linear(inputs, outputs, generator: Generator(seed: 0))
                try l.loadStateDict(["weight": file.tensors[name + ".weight"]!, "bias": file.tensors[name + ".bias"]!])
                l.eval()
                return l
            }
            try self.init(configuration: c, embeddings: tables, hidden: try layer("hidden", c.dimensions.reduce(0, +), c.hidden),
                          output: try layer("output", c.hidden, c.languages.count))
        } catch {
            throw EmbeddingKitError(error.kind, "\(reader.path): \(error.message)")
        }
    }
}
