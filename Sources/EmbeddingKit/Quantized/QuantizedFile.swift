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

    /// The file's contents: the packed rows as the `U8` tensor `weight`, `[count, rowBytes]`, and the
    /// metadata (`extra` and the format's keys). `write(to:)` saves it atomically.
    static func contents(_ table: QuantizedTable, module: String, extra: [String: String]) throws(EmbeddingKitError) -> SafeTensors {
        var metadata = extra
        metadata[prefix + "format"] = table.format.rawValue
        metadata[prefix + "module"] = module
        metadata[prefix + "dimension"] = String(table.dimension)
        let weight = try ByteTensor(shape: [table.count, table.rowBytes], bytes: table.bytes)
        return SafeTensors(byteTensors: ["weight": weight], metadata: metadata)
    }

    /// The packed table and the metadata of a file written from `contents` (or by hand from PyTorch's
    /// prepacked bytes with the same keys). Everything is checked before a module is made.
    static func read(_ path: String, module: String) throws(EmbeddingKitError) -> (QuantizedTable, [String: String]) {
        let file = try SafeTensors(contentsOf: path, keepingBytes: true)
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
        guard let weight = file.byteTensors["weight"], weight.rank == 2 else {
            throw fail("tensor \"weight\" must be a 2-D U8 tensor (the packed rows)")
        }
        guard let dimText = file.metadata[prefix + "dimension"], let dimension = Int(dimText), dimension >= 1 else {
            throw fail("\(prefix)dimension=\(quoted(file.metadata[prefix + "dimension"] ?? "")) is not a positive integer")
        }
        let rb = try format.rowBytes(dimension: dimension)
        guard weight.shape[1] == rb else {
            throw EmbeddingKitError(.shape, "\(path): tensor \"weight\" has rows of \(weight.shape[1]) bytes, but a \(format.rawValue) row of dimension \(dimension) is \(rb) bytes")
        }
        do {
            return (try QuantizedTable(packed: weight.bytes, count: weight.shape[0], dimension: dimension, format: format), file.metadata)
        } catch {
            throw EmbeddingKitError(error.kind, "\(path): \(error.message)")
        }
    }
}
