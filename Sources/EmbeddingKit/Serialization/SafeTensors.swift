import CKernels
import Glibc

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

    /// The writer's order (the safetensors library sorts by its dtype enum, the later first).
    var order: Int { Self.allCases.firstIndex(of: self)! }

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
///
/// Raw bytes (packed quantized rows, PyTorch's `torch.uint8` tensors) are ``ByteTensor``s in
/// `byteTensors`, written as `U8`; a reader given `keepingBytes: true` puts a file's `U8` tensors
/// there, byte for byte, instead of widening them to `int64` tensors.
public struct SafeTensors {
    /// The tensors by name: `float32` (files' F32, F16, BF16) or `int64` (files' integer dtypes).
    public var tensors: [String: Tensor]
    /// The raw byte tensors by name, written as `U8`; read from a file's `U8` tensors with
    /// `keepingBytes: true` (else empty). A name may not be in both `tensors` and `byteTensors`.
    public var byteTensors: [String: ByteTensor]
    /// The header's `__metadata__` map (empty when there is none).
    public var metadata: [String: String]
    /// For a value read from a file, each tensor's dtype in that file; empty for one built in memory.
    public internal(set) var storedDTypes: [String: SafeTensorsDType]

    /// Tensors, byte tensors and metadata to write.
    public init(tensors: [String: Tensor] = [:], byteTensors: [String: ByteTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.byteTensors = byteTensors
        self.metadata = metadata
        self.storedDTypes = [:]
    }

    /// The limits of a file (the C reader's): at most `maximumHeaderBytes` of header (the
    /// safetensors library's own limit), `maximumTensorCount` tensors and `maximumMetadataCount`
    /// metadata entries. Reading refuses a file over a limit before reading on; writing refuses to
    /// produce one.
    public static let maximumHeaderBytes = Int(EK_SAFETENSORS_MAX_HEADER)
    /// See `maximumHeaderBytes`.
    public static let maximumTensorCount = Int(EK_SAFETENSORS_MAX_TENSORS)
    /// See `maximumHeaderBytes`.
    public static let maximumMetadataCount = Int(EK_SAFETENSORS_MAX_METADATA)

    /// Parses a whole file held in memory.
    ///
    /// Throws, before converting anything, when the file is truncated, its header length runs past
    /// its end or is over `maximumHeaderBytes`, the header is not the format's JSON (malformed, an
    /// unknown dtype, a repeated name or field, a negative or fractional size), it lists more than
    /// `maximumTensorCount` tensors or `maximumMetadataCount` metadata entries, a tensor's byte count
    /// differs from its shape times its dtype's size (or overflows), or the tensors' bytes overlap,
    /// leave gaps or do not cover the data; the message names the tensor, the field and the value (the
    /// C reader's, `ek_safetensors_parse_header`). Also throws for a tensor EmbeddingKit cannot hold
    /// exactly: F64, the 8-bit floats, a U64 value above `Int64.max`; and (`allocation`) when the
    /// tensors, as float32 and int64, need more memory than this process can have (physical memory,
    /// `ulimit -v`, the cgroup's limit), checked before any is allocated.
    ///
    /// Memory: each tensor once, in its EmbeddingKit form (4 bytes per float element; 8 per integer
    /// element, so a U8 or BOOL tensor takes 8 times its bytes in the file), plus the header.
    ///
    /// With `keepingBytes`, each `U8` tensor goes to `byteTensors` as it is (1 byte per element)
    /// instead of `tensors`; other dtypes are read as without it.
    public init(bytes: [UInt8], keepingBytes: Bool = false) throws(EmbeddingKitError) {
        self.init()
        let result: Result<SafeTensors, EmbeddingKitError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(EmbeddingKitError) in try SafeTensors.decode(.memory(buffer), keepingBytes: keepingBytes) }
        }
        self = try result.get()
    }

    /// Reads and parses the file at `path` (see `init(bytes:)`); errors name the path.
    ///
    /// The file is never read whole: its 8-byte header length first, then the header, checked
    /// against the file's size, then each tensor's bytes straight into its storage, 1 MiB at a time.
    /// Anything but a regular file (symbolic links followed) is refused before it is opened, with
    /// kind `io`: a device such as `/dev/zero`, a FIFO, a directory.
    ///
    /// With `keepingHalfPrecision`, F16 and BF16 tensors stay `float16` / `bfloat16` tensors (2 bytes
    /// per element, the file's bits), as a half-precision module loads them (`Module.load(from:)`);
    /// without it they are widened to `float32`. With `keepingBytes`, `U8` tensors go to
    /// `byteTensors` byte for byte (see `init(bytes:keepingBytes:)`).
    public init(contentsOf path: String, keepingHalfPrecision: Bool = false, keepingBytes: Bool = false) throws(EmbeddingKitError) {
        let file = try FileIO.ReadableFile(path)
        do {
            self = try SafeTensors.decode(.file(file), keepingHalves: keepingHalfPrecision, keepingBytes: keepingBytes)
        } catch {
            // read errors name the path already
            throw error.kind == .io ? error : EmbeddingKitError(error.kind, "\(path): \(error.message)")
        }
    }

    /// The tensors of the file at `path` (its metadata dropped); see `init(contentsOf:)`.
    public static func load(from path: String) throws(EmbeddingKitError) -> [String: Tensor] {
        try SafeTensors(contentsOf: path).tensors
    }

    /// Writes `tensors`, `byteTensors` and `metadata` to `path` atomically; see `write(to:)`.
    public static func save(_ tensors: [String: Tensor], byteTensors: [String: ByteTensor] = [:], metadata: [String: String] = [:],
                            to path: String) throws(EmbeddingKitError) {
        try SafeTensors(tensors: tensors, byteTensors: byteTensors, metadata: metadata).write(to: path)
    }

    /// The file's bytes: the layout `safetensors.torch.save_file` writes (tensors ordered by dtype,
    /// the later in the format's list first — I64, F32, BF16, F16, U8 — then by name; compact JSON
    /// with `__metadata__` first, its keys sorted (the Python library writes two or more in a random
    /// order, a hash map's; every order reads the same); the header padded with spaces to a multiple of 8
    /// bytes), data little-endian: `float32` as F32, `int64` as I64, `float16` / `bfloat16` tables as
    /// F16 / BF16 (their 2-byte elements as they are, PyTorch's layout), byte tensors as U8.
    ///
    /// Throws `invalidArgument` for a name that is `__metadata__`, is in both `tensors` and
    /// `byteTensors`, or holds a NUL character, and for a metadata key or value holding one (the
    /// format's readers take C strings); and for a file over the limits (see
    /// `maximumHeaderBytes`): more than `maximumTensorCount` tensors (both kinds together) or
    /// `maximumMetadataCount` metadata entries, or a header (the names, shapes and metadata, as JSON)
    /// over `maximumHeaderBytes`, which PyTorch's reader would refuse too.
    public func serialized() throws(EmbeddingKitError) -> [UInt8] {
        let tensorCount = tensors.count + byteTensors.count
        if tensorCount > Self.maximumTensorCount {
            throw EmbeddingKitError(.invalidArgument, "safetensors: \(tensorCount) tensors, more than the limit of \(Self.maximumTensorCount) in a file")
        }
        if metadata.count > Self.maximumMetadataCount {
            throw EmbeddingKitError(.invalidArgument, "safetensors: \(metadata.count) __metadata__ entries, more than the limit of \(Self.maximumMetadataCount) in a file")
        }
        // the names and the metadata as they are, before any is escaped: a cheap lower bound
        var rawBytes = 0
        for name in tensors.keys { rawBytes += name.utf8.count }
        for name in byteTensors.keys { rawBytes += name.utf8.count }
        for (key, value) in metadata { rawBytes += key.utf8.count + value.utf8.count }
        if rawBytes > Self.maximumHeaderBytes { throw headerTooLarge("at least \(rawBytes)") }
        for name in Array(tensors.keys) + Array(byteTensors.keys) {
            if name == "__metadata__" {
                throw EmbeddingKitError(.invalidArgument, "safetensors: \"__metadata__\" cannot name a tensor")
            }
            if containsNUL(name) {
                throw EmbeddingKitError(.invalidArgument, "safetensors: tensor name \(quoted(name)) contains a NUL character")
            }
        }
        for name in byteTensors.keys where tensors[name] != nil {
            throw EmbeddingKitError(.invalidArgument, "safetensors: tensor name \(quoted(name)) is in both tensors and byteTensors")
        }
        for (key, value) in metadata where containsNUL(key) || containsNUL(value) {
            throw EmbeddingKitError(.invalidArgument, "safetensors: __metadata__ entry \(quoted(key)) contains a NUL character")
        }
        // Every tensor as (name, dtype, shape, byte count), in the safetensors library's order: by
        // dtype, the larger enum value (wider) first, then by name.
        var entries: [(name: String, type: SafeTensorsDType, shape: [Int], bytes: Int)] = []
        entries.reserveCapacity(tensorCount)
        for (name, t) in tensors { entries.append((name, t.dtype.fileType, t.shape, t.count * t.dtype.fileType.byteSize)) }
        for (name, b) in byteTensors { entries.append((name, .uint8, b.shape, b.bytes.count)) }
        entries.sort { a, b in
            if a.type.order != b.type.order { return a.type.order > b.type.order }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
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
        for e in entries {
            if !first { header.append(UInt8(ascii: ",")) }
            first = false
            appendJSONString(e.name, to: &header)
            let shape = e.shape.map(String.init).joined(separator: ",")
            header += Array(":{\"dtype\":\"\(e.type.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + e.bytes)]}".utf8)
            offset += e.bytes
        }
        header.append(UInt8(ascii: "}"))
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        if header.count > Self.maximumHeaderBytes { throw headerTooLarge("\(header.count)") }

        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + offset)
        var length = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &length) { out += $0 }
        out += header
        for e in entries {
            if e.type == .uint8 {
                out += byteTensors[e.name]!.bytes
                continue
            }
            let t = tensors[e.name]!
            #if _endian(little)
            switch t.dtype {
            case .int64: t.ints.withUnsafeBytes { out += $0 }
            case .float32: t.floats.withUnsafeBytes { out += $0 }
            case .float16, .bfloat16: t.withTableData { out += UnsafeRawBufferPointer(start: $0, count: 2 * t.count) }
            }
            #else
            if t.dtype == .int64 {
                for v in t.ints { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
            } else {
                for v in t.floats { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
            }
            #endif
        }
        // Never hand out bytes our own reader would refuse (a check of the header and the offsets).
        var handle: OpaquePointer?
        let status = out.withUnsafeBufferPointer { ek_safetensors_parse($0.baseAddress, Int64($0.count), &handle) }
        ek_safetensors_free(handle)
        do {
            try checkKernel(status)
        } catch {
            throw EmbeddingKitError(error.kind, "safetensors: the file to write would not load: \(error.message)")
        }
        return out
    }

    private func headerTooLarge(_ size: String) -> EmbeddingKitError {
        let metadataBytes = metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        return EmbeddingKitError(.invalidArgument,
            "safetensors: the header would be \(size) bytes (\(tensors.count + byteTensors.count) tensors; metadata: \(metadata.count) entries, \(metadataBytes) bytes), more than the format's limit of \(Self.maximumHeaderBytes) bytes; nothing was written")
    }

    /// Writes `serialized()` to `path` atomically: into a new temporary file in the same folder,
    /// flushed to disk (`fsync`), then renamed over `path`, and the folder flushed. On any failure
    /// the temporary file is removed and the file at `path`, if any, is untouched; the error
    /// (kind `io`) names the path, the step and the system's reason. A process killed mid-write
    /// leaves the old file whole and a `.ek-save-*` file beside it, which the next save into that
    /// folder removes once its writer is gone.
    ///
    /// A symbolic link at `path` is followed: the file it leads to is replaced, atomically, and the
    /// link stays. The replaced file keeps its permission bits (and, where allowed, its owner); a new
    /// file gets the umask's default. A target that is not a regular file (`/dev/null` or another
    /// device, a FIFO, a directory) is refused, `io`, before anything is written.
    public func write(to path: String) throws(EmbeddingKitError) {
        try FileIO.writeAtomically(try serialized(), to: path)
    }
}

extension DType {
    /// The safetensors dtype a tensor of this type is written as.
    var fileType: SafeTensorsDType {
        switch self {
        case .float32: .float32
        case .int64: .int64
        case .float16: .float16
        case .bfloat16: .bfloat16
        }
    }
}

/// `"name"` with the JSON escapes, for messages.
func quoted(_ s: String) -> String {
    var bytes = [UInt8]()
    appendJSONString(s, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
}

/// Whether `s` holds a NUL character (strlen stops at the first; fast for 100 MB of metadata).
private func containsNUL(_ s: String) -> Bool { s.withCString { strlen($0) } != s.utf8.count }

/// The bytes a JSON string escapes, but NUL: control characters, `"` and `\`.
private let jsonEscapedBytes: [CChar] = (1..<0x20).map { CChar($0) } + [CChar(UInt8(ascii: "\"")), CChar(UInt8(ascii: "\\")), 0]

/// A JSON string as serde_json writes it (what the safetensors library emits): `"` and `\` escaped,
/// control characters as `\n`, `\t`, ... or `\u00XX` (lowercase hex), everything else raw UTF-8.
func appendJSONString(_ s: String, to out: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    out.append(UInt8(ascii: "\""))
    // Most strings need no escape: found by strcspn and copied whole (metadata can be 100 MB). A NUL
    // ends strcspn's scan early and takes the byte loop.
    let plain = s.withCString { strcspn($0, jsonEscapedBytes) } == s.utf8.count
    if plain {
        s.utf8.withContiguousStorageIfAvailable { out.append(contentsOf: $0) } ?? out.append(contentsOf: Array(s.utf8))
        out.append(UInt8(ascii: "\""))
        return
    }
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
