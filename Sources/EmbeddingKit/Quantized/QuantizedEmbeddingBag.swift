import CKernels

/// An inference-only `EmbeddingBag` over a row-wise quantized table (8, 4 or 2 bits per element, the
/// FBGEMM / PyTorch layout): a quarter (8 bits) to a tenth of the float table's bytes.
///
/// ```swift
/// let q = try QuantizedEmbeddingBag(bag, bits: 8)          // from a trained EmbeddingBag
/// let out = try q(Tensor(indices: [1, 2, 4]), offsets: Tensor(indices: [0, 2]))
/// try q.save(to: "bag.q8.safetensors")
/// let back = try QuantizedEmbeddingBag.load(from: "bag.q8.safetensors")
/// ```
///
/// The forward equals the float `embeddingBag` over the dequantized table bit for bit, in every
/// mode (sum, mean, max), with per-sample weights, padding and `includeLastOffset` (the C kernels'
/// rule, `ek_bag_forward` on EK_DTYPE_Q8 / Q4 / Q2). No gradient: the result never requires one.
/// Thread-safe: the module is immutable.
public final class QuantizedEmbeddingBag: @unchecked Sendable {
    /// The packed format.
    public var format: QuantizedFormat { table.format }
    /// The number of rows.
    public var count: Int { table.count }
    /// The size of each row.
    public var dimension: Int { table.dimension }
    /// How each bag's rows are reduced.
    public let mode: EmbeddingBagMode
    /// The row skipped in every bag (wrapped to `0..<count`), if any.
    public let paddingIndex: Int?
    /// Whether the last offset is the end of the last bag.
    public let includeLastOffset: Bool
    /// The quantization error against the float table, for a module made by quantizing; nil for one
    /// loaded from packed bytes.
    public let quantizationError: QuantizationError?
    /// The packed rows: `count` x `format.rowBytes(dimension:)` bytes.
    public var packedBytes: [UInt8] { table.bytes }

    let table: QuantizedTable

    /// Quantizes a trained bag's table (its mode, padding row and `includeLastOffset` are kept;
    /// `maxNorm` is not: a frozen table is never renormalised, so renormalise before quantizing).
    /// Throws `invalidArgument` for bits other than 8, 4, 2 and for a table PyTorch's prepack would
    /// break (a non-finite value; at 4 and 2 bits, a row minimum or range past fp16's range).
    public init(_ bag: EmbeddingBag, bits: Int) throws(EmbeddingKitError) {
        let (t, e) = try QuantizedTable.quantize(bag.weight, format: try QuantizedFormat(bits: bits))
        table = t
        quantizationError = e
        mode = bag.mode
        paddingIndex = bag.paddingIndex
        includeLastOffset = bag.includeLastOffset
    }

    /// A bag over packed rows from elsewhere, for example `torch.ops.quantized.embedding_bag_4bit_prepack(w)`'s
    /// bytes (`count` x the packed row size). Throws for a byte count that does not fit `count` and
    /// `dimension`, a non-finite scale or bias (naming the row), or a padding row out of range.
    public init(packed: [UInt8], count: Int, dimension: Int, format: QuantizedFormat, mode: EmbeddingBagMode = .sum,
                paddingIndex: Int? = nil, includeLastOffset: Bool = false) throws(EmbeddingKitError) {
        table = try QuantizedTable(packed: packed, count: count, dimension: dimension, format: format)
        let p = try resolvedPadding(paddingIndex, count: count, op: "QuantizedEmbeddingBag")
        self.paddingIndex = p == Int64.min ? nil : Int(p)
        self.mode = mode
        self.includeLastOffset = includeLastOffset
        quantizationError = nil
    }

    /// The float table the packed rows stand for, `[count, dimension]`.
    public func dequantized() -> Tensor { table.dequantized() }

    /// One row per bag, `[B, dimension]`: `input` is `[B, L]` (no offsets) or 1-D with `offsets`
    /// (int64). Throws, changing nothing, for bad indices, offsets or weights (the kernel's messages).
    public func callAsFunction(_ input: Tensor, offsets: Tensor? = nil,
                               perSampleWeights: Tensor? = nil) throws(EmbeddingKitError) -> Tensor {
        precondition(input.dtype == .int64, "QuantizedEmbeddingBag: indices must be an int64 tensor, got \(input.dtype)")
        precondition(offsets == nil ? input.rank == 2 : input.rank == 1,
                     "QuantizedEmbeddingBag: input must be 2-D without offsets or 1-D with offsets, got shape \(input.shape)")
        precondition(offsets.map { $0.dtype == .int64 && $0.rank == 1 } ?? true, "QuantizedEmbeddingBag: offsets must be 1-D int64")
        precondition(perSampleWeights.map { $0.dtype == .float32 } ?? true, "QuantizedEmbeddingBag: perSampleWeights must be float")
        if includeLastOffset, let offsets, offsets.count == 0 {
            throw EmbeddingKitError(.shape, "embedding_bag: include_last_offset: number of offsets should be at least 1, got 0")
        }
        let bags = offsets.map { $0.count - (includeLastOffset ? 1 : 0) } ?? input.shape[0]
        let dim = dimension, n = input.count
        var out = FloatStorage.uninitialized(count: bags * dim)
        let indices = input.ints, offsetValues = offsets?.ints ?? []
        let status = table.withTable { t in
            indices.withUnsafeBufferPointer { ix in
                offsetValues.withUnsafeBufferPointer { off in
                    withOptionalPointer(perSampleWeights?.floats) { psw in
                        out.withMutablePointer { pout in
                            var inp = ek_bag_input()
                            inp.struct_size = Int64(MemoryLayout<ek_bag_input>.size)
                            inp.index_type = EK_INDEX_I64
                            inp.indices = UnsafeRawPointer(ix.baseAddress)
                            inp.num_indices = Int64(n)
                            inp.offsets = offsets == nil ? nil : UnsafeRawPointer(off.baseAddress)
                            inp.num_bags = Int64(bags)
                            inp.include_last_offset = offsets != nil && includeLastOffset ? 1 : 0
                            inp.per_sample_weights = psw
                            inp.num_weights = Int64(perSampleWeights?.count ?? 0)
                            inp.has_padding = paddingIndex == nil ? 0 : 1
                            inp.padding_idx = Int64(paddingIndex ?? 0)
                            var o = ek_bag_options()
                            o.struct_size = Int64(MemoryLayout<ek_bag_options>.size)
                            o.mode = ek_bag_mode(UInt32(mode.rawValue))
                            return ek_bag_forward(t, &inp, &o, pout, nil, nil)
                        }
                    }
                }
            }
        }
        try checkKernel(status)
        return Tensor(shape: [bags, dim], floats: out)
    }

    /// Writes the module as a safetensors file (atomically; see `QuantizedFile` for the layout: a
    /// `U8` tensor `weight` and the format in the metadata). PyTorch reads the tensor with
    /// `safetensors.torch.load_file` and passes it to `embedding_bag_*_rowwise_offsets` as it is.
    public func save(to path: String) throws(EmbeddingKitError) {
        var extra = [QuantizedFile.prefix + "mode": mode == .sum ? "sum" : mode == .mean ? "mean" : "max",
                     QuantizedFile.prefix + "include_last_offset": includeLastOffset ? "true" : "false"]
        if let p = paddingIndex { extra[QuantizedFile.prefix + "padding_index"] = String(p) }
        try QuantizedFile.contents(table, module: "EmbeddingBag", extra: extra).write(to: path)
    }

    /// Reads a module `save(to:)` wrote. Throws, making nothing, for a file that is not one: another
    /// or no format in the metadata (`invalidArgument` naming the value), a row size that does not
    /// match the dimension, a non-finite scale or bias, an unknown mode.
    public static func load(from path: String) throws(EmbeddingKitError) -> QuantizedEmbeddingBag {
        let (table, metadata) = try QuantizedFile.read(path, module: "EmbeddingBag")
        let key = QuantizedFile.prefix
        let mode: EmbeddingBagMode
        switch metadata[key + "mode"] {
        case "sum": mode = .sum
        case "mean": mode = .mean
        case "max": mode = .max
        case let other: throw EmbeddingKitError(.invalidArgument, "\(path): \(key)mode=\(quoted(other ?? "")) is not sum, mean or max")
        }
        var padding: Int? = nil
        if let text = metadata[key + "padding_index"] {
            guard let p = Int(text) else {
                throw EmbeddingKitError(.invalidArgument, "\(path): \(key)padding_index=\(quoted(text)) is not an integer")
            }
            padding = p
        }
        let last = metadata[key + "include_last_offset"] ?? "false"
        guard last == "true" || last == "false" else {
            throw EmbeddingKitError(.invalidArgument, "\(path): \(key)include_last_offset=\(quoted(last)) is not true or false")
        }
        return try QuantizedEmbeddingBag(packed: table.bytes, count: table.count, dimension: table.dimension,
                                         format: table.format, mode: mode, paddingIndex: padding,
                                         includeLastOffset: last == "true")
    }
}
