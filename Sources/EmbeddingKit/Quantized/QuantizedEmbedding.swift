import CKernels

/// An inference-only `Embedding` over a row-wise quantized table (8, 4 or 2 bits per element, the
/// FBGEMM / PyTorch layout). A lookup returns the dequantized rows, bit for bit those of
/// `dequantized()` (`ek_lookup_forward` on EK_DTYPE_Q8 / Q4 / Q2). No gradient. Thread-safe.
///
/// ```swift
/// let q = try QuantizedEmbedding(embed, bits: 4)
/// let rows = try q(Tensor(indices: [3, 1]))                // [2, dimension]
/// ```
public final class QuantizedEmbedding: @unchecked Sendable {
    /// The packed format.
    public var format: QuantizedFormat { table.format }
    /// The number of rows.
    public var count: Int { table.count }
    /// The size of each row.
    public var dimension: Int { table.dimension }
    /// The padding row of the module it was made from (a lookup returns that row as it is, as
    /// PyTorch's forward does), if any.
    public let paddingIndex: Int?
    /// The quantization error against the float table, for a module made by quantizing.
    public let quantizationError: QuantizationError?
    /// The packed rows: `count` x `format.rowBytes(dimension:)` bytes.
    public var packedBytes: [UInt8] { table.bytes }

    let table: QuantizedTable

    /// Quantizes a trained table (`maxNorm` is not kept: renormalise before quantizing). Throws as
    /// `QuantizedEmbeddingBag.init(_:bits:)`.
    public init(_ embedding: Embedding, bits: Int) throws(EmbeddingKitError) {
        let (t, e) = try QuantizedTable.quantize(embedding.weight, format: try QuantizedFormat(bits: bits))
        table = t
        quantizationError = e
        paddingIndex = embedding.paddingIndex
    }

    /// A table over packed rows from elsewhere (PyTorch's prepack); throws as
    /// `QuantizedEmbeddingBag.init(packed:...)`.
    public init(packed: [UInt8], count: Int, dimension: Int, format: QuantizedFormat,
                paddingIndex: Int? = nil) throws(EmbeddingKitError) {
        table = try QuantizedTable(packed: packed, count: count, dimension: dimension, format: format)
        let p = try resolvedPadding(paddingIndex, count: count, op: "QuantizedEmbedding")
        self.paddingIndex = p == Int64.min ? nil : Int(p)
        quantizationError = nil
    }

    /// The float table the packed rows stand for, `[count, dimension]`.
    public func dequantized() -> Tensor { table.dequantized() }

    /// The rows for `indices` (int64, any shape): shape `indices.shape + [dimension]`. Throws,
    /// changing nothing, when an index is out of range.
    public func callAsFunction(_ indices: Tensor) throws(EmbeddingKitError) -> Tensor {
        precondition(indices.dtype == .int64, "QuantizedEmbedding: indices must be an int64 tensor, got \(indices.dtype)")
        let n = indices.count, dim = dimension
        var out = FloatStorage.uninitialized(count: n * dim)
        let values = indices.ints
        let status = table.withTable { t in
            values.withUnsafeBufferPointer { ix in
                out.withMutablePointer { pout in
                    var inp = ek_bag_input()
                    inp.struct_size = Int64(MemoryLayout<ek_bag_input>.size)
                    inp.index_type = EK_INDEX_I64
                    inp.indices = UnsafeRawPointer(ix.baseAddress)
                    inp.num_indices = Int64(n)
                    return ek_lookup_forward(t, &inp, pout)
                }
            }
        }
        try checkKernel(status)
        return Tensor(shape: indices.shape + [dim], floats: out)
    }

    /// Writes the module as a safetensors file (atomically; `QuantizedFile` describes the layout).
    public func save(to path: String) throws(EmbeddingKitError) {
        var extra: [String: String] = [:]
        if let p = paddingIndex { extra[QuantizedFile.prefix + "padding_index"] = String(p) }
        try QuantizedFile.contents(table, module: "Embedding", extra: extra).write(to: path)
    }

    /// Reads a module `save(to:)` wrote; throws as `QuantizedEmbeddingBag.load(from:)`.
    public static func load(from path: String) throws(EmbeddingKitError) -> QuantizedEmbedding {
        let (table, metadata) = try QuantizedFile.read(path, module: "Embedding")
        var padding: Int? = nil
        if let text = metadata[QuantizedFile.prefix + "padding_index"] {
            guard let p = Int(text) else {
                throw EmbeddingKitError(.invalidArgument, "\(path): \(QuantizedFile.prefix)padding_index=\(quoted(text)) is not an integer")
            }
            padding = p
        }
        return try QuantizedEmbedding(packed: table.bytes, count: table.count, dimension: table.dimension,
                                      format: table.format, paddingIndex: padding)
    }
}
