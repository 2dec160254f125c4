import CKernels

/// Decoding a safetensors file without holding it: the 8-byte length first, then the header alone
/// (checked against the file's size by the C reader: every tensor's bytes within the file, byte counts
/// equal to shape times dtype size, no overflow), then each tensor's bytes straight into its storage,
/// read and converted a chunk at a time. Before anything is allocated beyond the header (at most
/// 100 MB), the tensors' total size in memory is checked against `MemoryBudget`.
extension SafeTensors {
    /// The bytes of a file: in memory, or in an open file, read at offsets.
    enum ByteSource {
        case memory(UnsafeRawBufferPointer)
        case file(FileIO.ReadableFile)

        var size: Int {
            switch self {
            case .memory(let buffer): buffer.count
            case .file(let file): file.size
            }
        }

        /// Runs `body` with the `count` bytes at `offset` (nil when there are none); a file's are read
        /// into `scratch`, which grows to `count` bytes.
        func withBytes<R>(at offset: Int, count: Int, scratch: inout [UInt8],
                          _ body: (UnsafeRawPointer?) throws(EmbeddingKitError) -> R) throws(EmbeddingKitError) -> R {
            switch self {
            case .memory(let buffer):
                return try body(count == 0 ? nil : UnsafeRawPointer(buffer.baseAddress! + offset))
            case .file(let file):
                if scratch.count < count { scratch = [UInt8](repeating: 0, count: count) }
                let read: Result<Void, EmbeddingKitError> = scratch.withUnsafeMutableBytes { buffer in
                    Result { () throws(EmbeddingKitError) in try file.read(into: buffer.baseAddress!, count: count, at: offset) }
                }
                try read.get()
                return try scratch.withUnsafeBytes { buffer -> Result<R, EmbeddingKitError> in
                    Result { () throws(EmbeddingKitError) in try body(count == 0 ? nil : buffer.baseAddress!) }
                }.get()
            }
        }
    }

    /// A tensor's bytes are read and converted this many at a time (about).
    static let readChunkBytes = 1 << 20

    /// The tensors of `source`; with `keepingHalves`, F16 / BF16 tensors keep their 2-byte elements;
    /// with `keepingBytes`, U8 tensors go to `byteTensors` as they are.
    static func decode(_ source: ByteSource, keepingHalves: Bool = false, keepingBytes: Bool = false) throws(EmbeddingKitError) -> SafeTensors {
        var scratch = [UInt8]()
        var headerSize: Int64 = 0
        try source.withBytes(at: 0, count: min(8, source.size), scratch: &scratch) { first throws(EmbeddingKitError) in
            try checkKernel(ek_safetensors_header_size(first, Int64(source.size), &headerSize))
        }
        var handle: OpaquePointer?
        try source.withBytes(at: 0, count: 8 + Int(headerSize), scratch: &scratch) { head throws(EmbeddingKitError) in
            try checkKernel(ek_safetensors_parse_header(head, 8 + headerSize, Int64(source.size), &handle))
        }
        defer { ek_safetensors_free(handle) }
        scratch = [] // the header's copy is no longer needed

        var result = SafeTensors()
        for m in 0..<ek_safetensors_metadata_count(handle) {
            var key: UnsafePointer<CChar>?, value: UnsafePointer<CChar>?
            try checkKernel(ek_safetensors_metadata(handle, m, &key, &value))
            result.metadata[String(cString: key!)] = String(cString: value!)
        }

        // Every tensor is described and judged before any is allocated.
        var infos = [ek_safetensors_tensor]()
        infos.reserveCapacity(Int(ek_safetensors_count(handle)))
        var needed = 0, largest = (bytes: -1, what: "")
        for i in 0..<ek_safetensors_count(handle) {
            var info = ek_safetensors_tensor()
            try checkKernel(ek_safetensors_get(handle, i, &info))
            let dtype = SafeTensorsDType(info.dtype)
            let elementBytes: Int
            switch dtype {
            case .float16, .bfloat16: elementBytes = keepingHalves ? 2 : 4
            case .float32: elementBytes = 4
            case .uint8 where keepingBytes: elementBytes = 1
            case .float64, .float8E5M2, .float8E4M3:
                throw EmbeddingKitError(.invalidArgument,
                    "safetensors: tensor \(quoted(String(cString: info.name))) is \(dtype.rawValue); EmbeddingKit reads F32, F16 and BF16 (as float32) and integer dtypes (as int64)")
            default: elementBytes = 8
            }
            let (bytes, overflow) = Int(info.num_elements).multipliedReportingOverflow(by: elementBytes)
            let (total, overflow2) = needed.addingReportingOverflow(bytes)
            needed = overflow || overflow2 ? Int.max : total
            if bytes > largest.bytes || overflow {
                largest = (overflow ? Int.max : bytes,
                           "\(quoted(String(cString: info.name))): \(dtype.rawValue), \(info.num_elements) elements at \(elementBytes) bytes each")
            }
            infos.append(info)
        }
        try MemoryBudget.check(needed, largest: largest.what)

        for (i, info) in infos.enumerated() {
            let name = String(cString: info.name)
            let dtype = SafeTensorsDType(info.dtype)
            let shape = (0..<Int(info.rank)).map { Int(info.shape[$0]) }
            let n = Int(info.num_elements), elementBytes = dtype.byteSize, offset = Int(info.offset)
            let perChunk = max(1, readChunkBytes / elementBytes)
            if keepingBytes && dtype == .uint8 {
                var bytes = [UInt8](repeating: 0, count: n)
                let copied: Result<Void, EmbeddingKitError> = bytes.withUnsafeMutableBytes { out in
                    Result { () throws(EmbeddingKitError) in
                        for first in stride(from: 0, to: n, by: perChunk) {
                            let run = min(perChunk, n - first)
                            try source.withBytes(at: offset + first, count: run, scratch: &scratch) { chunk throws(EmbeddingKitError) in
                                if let chunk { (out.baseAddress! + first).copyMemory(from: chunk, byteCount: run) }
                            }
                        }
                    }
                }
                try copied.get()
                result.byteTensors[name] = try ByteTensor(shape: shape, bytes: bytes)   // the C reader checked the shape
            } else if keepingHalves && (dtype == .float16 || dtype == .bfloat16) {
                // the file's bits as they are (little-endian, as the tables hold them)
                let type: DType = dtype == .float16 ? .float16 : .bfloat16
                var halves = HalfStorage(uninitializedCount: n, type: type.tableType, rounding: TableStorage.bfloat16.rounding)
                try halves.withMutableRawPointer { out throws(EmbeddingKitError) in
                    for first in stride(from: 0, to: n, by: perChunk) {
                        let run = min(perChunk, n - first)
                        try source.withBytes(at: offset + first * 2, count: run * 2, scratch: &scratch) { bytes throws(EmbeddingKitError) in
                            if let bytes { (out + first * 2).copyMemory(from: bytes, byteCount: run * 2) }
                        }
                    }
                }
                result.tensors[name] = Tensor(shape: shape, halves: halves, dtype: type)
            } else if dtype == .float32 || dtype == .float16 || dtype == .bfloat16 {
                var values = FloatStorage.uninitialized(count: n)
                try values.withMutablePointer { out throws(EmbeddingKitError) in
                    for first in stride(from: 0, to: n, by: perChunk) {
                        let run = min(perChunk, n - first)
                        try source.withBytes(at: offset + first * elementBytes, count: run * elementBytes, scratch: &scratch) {
                            bytes throws(EmbeddingKitError) in
                            try checkKernel(ek_safetensors_convert_f32(handle, Int64(i), Int64(first), Int64(run), bytes, out + first))
                        }
                    }
                }
                result.tensors[name] = Tensor(shape: shape, floats: values)
            } else {
                var values = [Int64](repeating: 0, count: n)
                let converted: Result<Void, EmbeddingKitError> = values.withUnsafeMutableBufferPointer { out in
                    Result { () throws(EmbeddingKitError) in
                        for first in stride(from: 0, to: n, by: perChunk) {
                            let run = min(perChunk, n - first)
                            try source.withBytes(at: offset + first * elementBytes, count: run * elementBytes, scratch: &scratch) {
                                bytes throws(EmbeddingKitError) in
                                try checkKernel(ek_safetensors_convert_i64(handle, Int64(i), Int64(first), Int64(run), bytes,
                                                                           out.baseAddress! + first))
                            }
                        }
                    }
                }
                try converted.get()
                result.tensors[name] = Tensor(shape: shape, ints: values)
            }
            result.storedDTypes[name] = dtype
        }
        return result
    }
}
