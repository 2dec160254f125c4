import CKernels

/// The row-wise formats of a quantized table, bit-compatible with FBGEMM and PyTorch
/// (`torch.ops.quantized.embedding_bag_byte_prepack` / `_4bit_prepack` / `_2bit_prepack`).
public enum QuantizedFormat: String, Sendable, CaseIterable {
    /// 8-bit: per row, `dimension` bytes, then a float32 scale and a float32 bias.
    case int8 = "rowwise_q8"
    /// 4-bit: per row, ceil(dimension / 2) bytes (element 0 in the low bits), then fp16 scale and bias.
    case int4 = "rowwise_q4"
    /// 2-bit: per row, ceil(dimension / 4) bytes, then fp16 scale and bias.
    case int2 = "rowwise_q2"

    /// The format of `bits` (8, 4 or 2); throws `invalidArgument` for another number.
    public init(bits: Int) throws(EmbeddingKitError) {
        switch bits {
        case 8: self = .int8
        case 4: self = .int4
        case 2: self = .int2
        default: throw EmbeddingKitError(.invalidArgument, "quantize: bits=\(bits) is not 8, 4 or 2")
        }
    }

    /// Bits per element.
    public var bits: Int { self == .int8 ? 8 : self == .int4 ? 4 : 2 }

    var dtype: ek_dtype { self == .int8 ? EK_DTYPE_Q8 : self == .int4 ? EK_DTYPE_Q4 : EK_DTYPE_Q2 }

    /// Bytes of one packed row of `dimension` elements.
    public func rowBytes(dimension: Int) throws(EmbeddingKitError) -> Int {
        var out: Int64 = 0
        try checkKernel(ek_quant_row_bytes(dtype, Int64(dimension), &out))
        return Int(out)
    }
}

/// How far a quantized table is from the float table it was made from (`ek_quant_error_report`).
public struct QuantizationError: Sendable, Equatable {
    /// The largest |dequantized - original| over the table.
    public let maxAbsolute: Double
    /// sqrt(mean((dequantized - original)^2)) over the table.
    public let rms: Double
    /// The first row holding `maxAbsolute` (-1 for an empty table).
    public let worstRow: Int
    /// That row's root mean square error.
    public let worstRowRMS: Double
    /// The largest |original|, to put the others in proportion.
    public let maxAbsoluteValue: Double
}

/// A packed table: `count` rows of `rowBytes` bytes. Internal: the modules own one each.
struct QuantizedTable {
    let format: QuantizedFormat
    let count: Int, dimension: Int, rowBytes: Int
    let bytes: [UInt8]

    /// Prepacks `weight` (`[count, dimension]` float32) and reports the error.
    static func quantize(_ table: Tensor, format: QuantizedFormat) throws(EmbeddingKitError) -> (QuantizedTable, QuantizationError) {
        precondition(table.rank == 2, "quantize: a module's table is 2-D")
        let weight = table.widened() // an fp16 / bf16 table is quantized from its exact float32 values
        let count = weight.shape[0], dim = weight.shape[1]
        let rb = try format.rowBytes(dimension: dim)
        var bytes = [UInt8](repeating: 0, count: count * rb)
        var report = ek_quant_error()
        try weight.floats.withPointer { src throws(EmbeddingKitError) in
            try bytes.withUnsafeMutableBufferPointer { dst throws(EmbeddingKitError) in
                try checkKernel(ek_quantize(format.dtype, Int64(count), Int64(dim), src, dst.baseAddress))
                try checkKernel(ek_quant_error_report(format.dtype, Int64(count), Int64(dim), src, dst.baseAddress, &report))
            }
        }
        let error = QuantizationError(maxAbsolute: report.max_abs, rms: report.rms, worstRow: Int(report.worst_row),
                                      worstRowRMS: report.worst_row_rms, maxAbsoluteValue: report.max_abs_value)
        return (QuantizedTable(format: format, count: count, dimension: dim, rowBytes: rb, bytes: bytes), error)
    }

    /// Packed bytes from elsewhere (a file, PyTorch): the size must be count x the packed row size
    /// of `dimension`, and every scale and bias finite (`ek_quant_validate`).
    init(packed: [UInt8], count: Int, dimension: Int, format: QuantizedFormat) throws(EmbeddingKitError) {
        guard count >= 0 else { throw EmbeddingKitError(.invalidArgument, "quantized table: count=\(count) is negative") }
        let rb = try format.rowBytes(dimension: dimension)
        guard packed.count == count * rb else {
            throw EmbeddingKitError(.shape, "quantized table: \(packed.count) bytes, but \(count) rows of dimension \(dimension) in \(format.rawValue) are \(count) x \(rb) = \(count * rb) bytes")
        }
        try packed.withUnsafeBufferPointer { p throws(EmbeddingKitError) in
            try checkKernel(ek_quant_validate(format.dtype, Int64(count), Int64(dimension), p.baseAddress))
        }
        self.init(format: format, count: count, dimension: dimension, rowBytes: rb, bytes: packed)
    }

    private init(format: QuantizedFormat, count: Int, dimension: Int, rowBytes: Int, bytes: [UInt8]) {
        self.format = format
        self.count = count
        self.dimension = dimension
        self.rowBytes = rowBytes
        self.bytes = bytes
    }

    /// The float32 table (`ek_dequantize`): `[count, dimension]`.
    func dequantized() -> Tensor {
        var out = FloatStorage.uninitialized(count: count * dimension)
        bytes.withUnsafeBufferPointer { src in
            out.withMutablePointer { dst in
                mustSucceed(ek_dequantize(format.dtype, Int64(count), Int64(dimension), src.baseAddress, dst))
            }
        }
        return Tensor(shape: [count, dimension], floats: out)
    }

    /// `body` with an `ek_table` over the packed bytes.
    func withTable<R>(_ body: (UnsafePointer<ek_table>) -> R) -> R {
        bytes.withUnsafeBufferPointer { p in
            var t = ek_table()
            t.struct_size = Int64(MemoryLayout<ek_table>.size)
            t.rows = Int64(count)
            t.dim = Int64(dimension)
            t.dtype = format.dtype
            t.row_stride = Int64(rowBytes)
            t.data = UnsafeMutableRawPointer(mutating: p.baseAddress)
            return body(&t)
        }
    }
}
