import CKernels

/// The element types of the safetensors format, with the names its header uses.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    /// `BOOL`: one byte, 0 or 1.
    case bool = "BOOL"
    /// `U8`: unsigned 8-bit integers.
    case uint8 = "U8"
    /// `I8`: signed 8-bit integers.
    case int8 = "I8"
    /// `F8_E5M2`: 8-bit floats (read as raw entries only; EmbeddingKit does not convert them).
    case float8E5M2 = "F8_E5M2"
    /// `F8_E4M3`: 8-bit floats (read as raw entries only; EmbeddingKit does not convert them).
    case float8E4M3 = "F8_E4M3"
    /// `I16`: signed 16-bit integers.
    case int16 = "I16"
    /// `U16`: unsigned 16-bit integers.
    case uint16 = "U16"
    /// `F16`: IEEE half precision; read exactly into `float32`.
    case float16 = "F16"
    /// `BF16`: bfloat16; read exactly into `float32`.
    case bfloat16 = "BF16"
    /// `I32`: signed 32-bit integers.
    case int32 = "I32"
    /// `U32`: unsigned 32-bit integers.
    case uint32 = "U32"
    /// `F32`: single precision, EmbeddingKit's `float32`.
    case float32 = "F32"
    /// `F64`: double precision (not read: it would round; convert it before saving).
    case float64 = "F64"
    /// `I64`: signed 64-bit integers, EmbeddingKit's `int64`.
    case int64 = "I64"
    /// `U64`: unsigned 64-bit integers; read into `int64` when every value fits.
    case uint64 = "U64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .uint8, .int8, .float8E5M2, .float8E4M3: 1
        case .int16, .uint16, .float16, .bfloat16: 2
        case .int32, .uint32, .float32: 4
        case .float64, .int64, .uint64: 8
        }
    }

    init(_ c: ek_safetensors_dtype) {
        self = SafeTensorsDType(rawValue: String(cString: ek_safetensors_dtype_name(c))) ?? .uint8
    }
}

/// A set of named tensors with string metadata: the contents of a `.safetensors` file, the format
/// PyTorch and Hugging Face users exchange weights in (`safetensors.torch.save_file` / `load_file`).
///
/// Reading validates the whole file before converting anything (see `init(bytes:)`); writing
/// produces the bytes `safetensors.torch.save_file` writes for the same tensors and metadata, and
/// ``write(to:)`` replaces the file atomically.
///
/// ```swift
/// let file = try SafeTensors(contentsOf: "model.safetensors")
/// let weight = file.tensors["embed.weight"]!          // float32, F16 and BF16 widened exactly
/// try SafeTensors(tensors: ["w": weight], metadata: ["format": "pt"]).write(to: "copy.safetensors")
/// ```
public struct SafeTensors {
    /// The tensors by name: `float32` (files' F32, F16, BF16) or `int64` (files' integer dtypes).
    public var tensors: [String: Tensor]
    /// The header's `__metadata__` map (empty when there is none).
    public var metadata: [String: String]
    /// For a value read from a file, each tensor's dtype in that file; empty for one built in memory.
    public private(set) var storedDTypes: [String: SafeTensorsDType]

    /// Tensors and metadata to write.
    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
        self.storedDTypes = [:]
    }

    /// Parses a whole file held in memory.
    ///
    /// Throws, before converting anything, when the file is truncated, its header length runs past
    /// its end, the header is not the format's JSON (malformed, an unknown dtype, a repeated name or
    /// field, a negative or fractional size), a tensor's byte count differs from its shape times its
    /// dtype's size, or the tensors' bytes overlap, leave gaps or do not cover the data; the message
    /// names the tensor, the field and the value (the C reader's, `ek_safetensors_parse`). Also throws
    /// for a tensor EmbeddingKit cannot hold exactly: F64, the 8-bit floats, a U64 value above
    /// `Int64.max`.
    public init(bytes: [UInt8]) throws(EmbeddingKitError) {
        self.init()
        let result: Result<SafeTensors, EmbeddingKitError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(EmbeddingKitError) in try SafeTensors.decode(buffer) }
        }
        self = try result.get()
    }

    /// Reads and parses the file at `path` (see `init(bytes:)`); errors name the path.
    public init(contentsOf path: String) throws(EmbeddingKitError) {
        let bytes = try FileIO.readAll(path)
        do {
            try self.init(bytes: bytes)
        } catch {
            throw EmbeddingKitError(error.kind, "\(path): \(error.message)")
        }
    }

    /// The tensors of the file at `path` (its metadata dropped); see `init(contentsOf:)`.
    public static func load(from path: String) throws(EmbeddingKitError) -> [String: Tensor] {
        try SafeTensors(contentsOf: path).tensors
    }

    /// Writes `tensors` and `metadata` to `path` atomically; see `write(to:)`.
    public static func save(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws(EmbeddingKitError) {
        try SafeTensors(tensors: tensors, metadata: metadata).write(to: path)
    }

    /// The file's bytes: the layout `safetensors.torch.save_file` writes (tensors ordered by dtype,
    /// the wider first, then by name; compact JSON with `__metadata__` first, its keys sorted; the
    /// header padded with spaces to a multiple of 8 bytes), F32 and I64 data little-endian.
    ///
    /// Throws `invalidArgument` for a name that is `__metadata__`, or a name, key or value holding
    /// a NUL character (the format's readers take C strings).
    public func serialized() throws(EmbeddingKitError) -> [UInt8] {
        for name in tensors.keys {
            if name == "__metadata__" {
                throw EmbeddingKitError(.invalidArgument, "safetensors: \"__metadata__\" cannot name a tensor")
            }
            if name.utf8.contains(0) {
                throw EmbeddingKitError(.invalidArgument, "safetensors: tensor name \(quoted(name)) contains a NUL character")
            }
        }
        for (key, value) in metadata where key.utf8.contains(0) || value.utf8.contains(0) {
            throw EmbeddingKitError(.invalidArgument, "safetensors: __metadata__ entry \(quoted(key)) contains a NUL character")
        }
        // The safetensors library orders by dtype, the larger enum value (wider) first, then by name.
        let order = tensors.keys.sorted { a, b in
            let (ta, tb) = (tensors[a]!.dtype == .int64 ? 1 : 0, tensors[b]!.dtype == .int64 ? 1 : 0)
            if ta != tb { return ta > tb }
            return a.utf8.lexicographicallyPrecedes(b.utf8)
        }
        var header: [UInt8] = Array("{".utf8)
        var first = true
        if !metadata.isEmpty {
            header += Array("\"__metadata__\":{".utf8)
            for (k, key) in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if k > 0 { header.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &header)
                header.append(UInt8(ascii: ":"))
                appendJSONString(metadata[key]!, to: &header)
            }
            header.append(UInt8(ascii: "}"))
            first = false
        }
        var offset = 0
        for name in order {
            let t = tensors[name]!
            let bytes = t.count * (t.dtype == .int64 ? 8 : 4)
            if !first { header.append(UInt8(ascii: ",")) }
            first = false
            appendJSONString(name, to: &header)
            let shape = t.shape.map(String.init).joined(separator: ",")
            header += Array(":{\"dtype\":\"\(t.dtype == .int64 ? "I64" : "F32")\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}".utf8)
            offset += bytes
        }
        header.append(UInt8(ascii: "}"))
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + offset)
        var length = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &length) { out += $0 }
        out += header
        for name in order {
            let t = tensors[name]!
            #if _endian(little)
            if t.dtype == .int64 { t.ints.withUnsafeBytes { out += $0 } } else { t.floats.withUnsafeBytes { out += $0 } }
            #else
            if t.dtype == .int64 {
                for v in t.ints { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
            } else {
                for v in t.floats { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
            }
            #endif
        }
        // Never hand out bytes our own reader would refuse.
        var handle: OpaquePointer?
        let status = out.withUnsafeBufferPointer { ek_safetensors_parse($0.baseAddress, Int64($0.count), &handle) }
        ek_safetensors_free(handle)
        precondition(status == EK_OK, "SafeTensors.serialized: wrote a file the reader rejects: \(String(cString: ek_last_error()))")
        return out
    }

    /// Writes `serialized()` to `path` atomically: into a new temporary file in the same folder,
    /// flushed to disk (`fsync`), then renamed over `path`, and the folder flushed. On any failure
    /// the temporary file is removed and the file at `path`, if any, is untouched; the error
    /// (kind `io`) names the path, the step and the system's reason. A process killed mid-write
    /// leaves the old file whole (and possibly a `.<name>.tmp-*` file beside it).
    public func write(to path: String) throws(EmbeddingKitError) {
        try FileIO.writeAtomically(try serialized(), to: path)
    }

    static func decode(_ buffer: UnsafeBufferPointer<UInt8>) throws(EmbeddingKitError) -> SafeTensors {
        var handle: OpaquePointer?
        try checkKernel(ek_safetensors_parse(buffer.baseAddress, Int64(buffer.count), &handle))
        defer { ek_safetensors_free(handle) }
        var result = SafeTensors()
        for m in 0..<ek_safetensors_metadata_count(handle) {
            var key: UnsafePointer<CChar>?, value: UnsafePointer<CChar>?
            try checkKernel(ek_safetensors_metadata(handle, m, &key, &value))
            result.metadata[String(cString: key!)] = String(cString: value!)
        }
        for i in 0..<ek_safetensors_count(handle) {
            var info = ek_safetensors_tensor()
            try checkKernel(ek_safetensors_get(handle, i, &info))
            let name = String(cString: info.name)
            let dtype = SafeTensorsDType(info.dtype)
            let shape = (0..<Int(info.rank)).map { Int(info.shape[$0]) }
            let n = Int(info.num_elements)
            switch dtype {
            case .float32, .float16, .bfloat16:
                var values = FloatStorage(repeating: 0, count: n)
                try checkKernel(values.withMutablePointer { ek_safetensors_copy_f32(handle, i, Int64(n), $0) })
                result.tensors[name] = Tensor(shape: shape, floats: values)
            case .float64, .float8E5M2, .float8E4M3:
                throw EmbeddingKitError(.invalidArgument,
                    "safetensors: tensor \(quoted(name)) is \(dtype.rawValue); EmbeddingKit reads F32, F16 and BF16 (as float32) and integer dtypes (as int64)")
            default:
                var values = [Int64](repeating: 0, count: n)
                try checkKernel(values.withUnsafeMutableBufferPointer { ek_safetensors_copy_i64(handle, i, Int64(n), $0.baseAddress) })
                result.tensors[name] = Tensor(shape: shape, ints: values)
            }
            result.storedDTypes[name] = dtype
        }
        return result
    }
}

/// `"name"` with the JSON escapes, for messages.
func quoted(_ s: String) -> String {
    var bytes = [UInt8]()
    appendJSONString(s, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
}

/// A JSON string as serde_json writes it (what the safetensors library emits): `"` and `\` escaped,
/// control characters as `\n`, `\t`, ... or `\u00XX` (lowercase hex), everything else raw UTF-8.
func appendJSONString(_ s: String, to out: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    out.append(UInt8(ascii: "\""))
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
        case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
        case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
        case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
        case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
        case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
        case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
        case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
        default: out.append(b)
        }
    }
    out.append(UInt8(ascii: "\""))
}
