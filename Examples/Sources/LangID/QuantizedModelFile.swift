import EmbeddingKit
import Foundation

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

    /// Writes the model atomically (a failed save leaves an existing file intact). Throws `io`
    /// naming the path and the system's reason.
    public func save(to path: String) throws(EmbeddingKitError) {
        let c = configuration
        func list(_ values: [Int]) -> String { values.map(String.init).joined(separator: ",") }
        let metadata = [
            "format": Self.formatTag, "table_formats": embeddings.map(\.format.rawValue).joined(separator: ","),
            "languages": c.languages.joined(separator: ","), "orders": list(c.orders), "buckets": list(c.buckets),
            "dimensions": list(c.dimensions), "hidden": String(c.hidden),
        ]
        // (name, dtype, shape, little-endian bytes), in file order
        var tensors: [(String, String, [Int], [UInt8])] = []
        for (i, table) in embeddings.enumerated() {
            tensors.append(("embeddings.\(i).weight", "U8", [table.count, try table.format.rowBytes(dimension: table.dimension)], table.packedBytes))
        }
        for (name, layer) in [("hidden", hidden), ("output", output)] {
            for (suffix, tensor) in [("weight", layer.weight), ("bias", layer.bias)] {
                guard let tensor else { continue }
                tensors.append(("\(name).\(suffix)", "F32", tensor.shape, Self.littleEndianBytes(tensor.scalars)))
            }
        }
        let bytes = Self.safetensors(tensors, metadata: metadata)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw EmbeddingKitError(.io, "cannot write '\(path)': \(error.localizedDescription)")
        }
    }

    /// Reads a model `save(to:)` wrote, checked as `LangIDModel.load` checks a float model (header,
    /// metadata, tensor names, dtypes and shapes, file size) and each table's scales and biases
    /// finite. A float model is read by `loadLangIDClassifier(from:)`, which takes either.
    /// Memory while loading: 8 bytes per packed byte (`SafeTensors` reads `U8` as int64).
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
            let file = try SafeTensors(bytes: reader.bytes)
            var tables: [QuantizedEmbeddingBag] = []
            for (i, format) in formats.enumerated() {
                let packed = try file.tensors["embeddings.\(i).weight"]!.toArray(Int.self).map { UInt8(truncatingIfNeeded: $0) }   // shapes checked by the reader
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

    static func littleEndianBytes(_ values: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
        return out
    }

    /// The safetensors layout: 8-byte little-endian header length, the JSON header (metadata first,
    /// padded with spaces to a multiple of 8), then the tensors' bytes in order. (EmbeddingKit's
    /// `SafeTensors` writes float and int64 tensors only, not the `U8` packed tables.)
    static func safetensors(_ tensors: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])],
                            metadata: [String: String]) -> [UInt8] {
        func json(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        var entries = ["\"__metadata__\":{" + metadata.keys.sorted().map { json($0) + ":" + json(metadata[$0]!) }.joined(separator: ",") + "}"]
        var offset = 0
        for t in tensors {
            entries.append(json(t.name) + ":{\"dtype\":\"\(t.dtype)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],"
                           + "\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        out += header
        for t in tensors { out += t.bytes }
        return out
    }
}
