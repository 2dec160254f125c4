import CKernels

/// The safetensors file of a quantized module: one `U8` tensor `weight` of shape `[count, rowBytes]`
/// (the packed rows, as PyTorch's prepack returns them) and the format in the metadata:
///
///     embeddingkit.quantized.format   rowwise_q8 | rowwise_q4 | rowwise_q2
///     embeddingkit.quantized.module   Embedding | EmbeddingBag
///     embeddingkit.quantized.dimension, and for bags .mode (sum | mean | max), .padding_index
///     (absent: none), .include_last_offset (true | false); Embedding: .padding_index
///
/// A file with another format (or none) is refused: `invalidArgument` naming the key and value.
enum QuantizedFile {
    static let prefix = "embeddingkit.quantized."

    /// The file's bytes: the safetensors layout (8-byte header length, JSON header padded with spaces
    /// to a multiple of 8, then the data).
    static func serialize(_ table: QuantizedTable, module: String, extra: [String: String]) -> [UInt8] {
        var metadata = extra
        metadata[prefix + "format"] = table.format.rawValue
        metadata[prefix + "module"] = module
        metadata[prefix + "dimension"] = String(table.dimension)
        var header = [UInt8]()
        header.append(contentsOf: Array("{\"__metadata__\":{".utf8))
        for (i, key) in metadata.keys.sorted().enumerated() {
            if i > 0 { header.append(UInt8(ascii: ",")) }
            appendJSONString(key, to: &header)
            header.append(UInt8(ascii: ":"))
            appendJSONString(metadata[key]!, to: &header)
        }
        header.append(contentsOf: Array("},\"weight\":{\"dtype\":\"U8\",\"shape\":[\(table.count),\(table.rowBytes)],\"data_offsets\":[0,\(table.bytes.count)]}}".utf8))
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + table.bytes.count)
        var length = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        out.append(contentsOf: table.bytes)
        return out
    }

    /// The packed table and the metadata of a file written by `serialize` (or by hand from PyTorch's
    /// prepacked bytes with the same keys). Everything is checked before a module is made.
    static func read(_ path: String, module: String) throws(EmbeddingKitError) -> (QuantizedTable, [String: String]) {
        let file = try SafeTensors(contentsOf: path)
        func fail(_ message: String) -> EmbeddingKitError { EmbeddingKitError(.invalidArgument, "\(path): \(message)") }
        guard let formatName = file.metadata[prefix + "format"] else {
            throw fail("no \(prefix)format in the metadata: not a quantized EmbeddingKit table")
        }
        guard let format = QuantizedFormat(rawValue: formatName) else {
            throw fail("\(prefix)format=\(quoted(formatName)) is not a known format (\(QuantizedFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard file.metadata[prefix + "module"] == module else {
            throw fail("\(prefix)module=\(quoted(file.metadata[prefix + "module"] ?? "")) is not \(module)")
        }
        guard let weight = file.tensors["weight"], file.storedDTypes["weight"] == .uint8, weight.rank == 2 else {
            throw fail("tensor \"weight\" must be a 2-D U8 tensor (the packed rows)")
        }
        guard let dimText = file.metadata[prefix + "dimension"], let dimension = Int(dimText), dimension >= 1 else {
            throw fail("\(prefix)dimension=\(quoted(file.metadata[prefix + "dimension"] ?? "")) is not a positive integer")
        }
        let rb = try format.rowBytes(dimension: dimension)
        guard weight.shape[1] == rb else {
            throw EmbeddingKitError(.shape, "\(path): tensor \"weight\" has rows of \(weight.shape[1]) bytes, but a \(format.rawValue) row of dimension \(dimension) is \(rb) bytes")
        }
        let bytes = weight.ints.map { UInt8(truncatingIfNeeded: $0) } // U8 values are read as int64 0...255
        do {
            return (try QuantizedTable(packed: bytes, count: weight.shape[0], dimension: dimension, format: format), file.metadata)
        } catch {
            throw EmbeddingKitError(error.kind, "\(path): \(error.message)")
        }
    }
}
