import EmbeddingKit
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads a language-ID model file so that nothing is allocated for a file that is not one: the
/// 8-byte header length and the JSON header first (bounded to `maxHeaderBytes`), then the
/// configuration from the metadata, checked against `LangIDConfiguration.Limits`, then each tensor's
/// name, dtype and shape against that configuration and the file size against their byte counts,
/// and only then the data, through the same open file (it cannot be swapped in between).
struct ModelFileReader {
    /// A model's header is a few hundred bytes plus the language list.
    static let maxHeaderBytes = 1 << 20

    let path: String
    /// The parsed configuration, validated.
    private(set) var configuration = LangIDConfiguration(languages: [])
    /// The whole file, once `read()` returned.
    private(set) var bytes: [UInt8] = []

    /// One tensor's entry of the header.
    struct Entry: Decodable {
        let dtype: String
        let shape: [Int]
        // swiftlint:disable:next identifier_name
        let data_offsets: [Int]
    }

    /// The header: tensors by name and the `__metadata__` map.
    struct Header: Decodable {
        var tensors: [String: Entry] = [:]
        var metadata: [String: String] = [:]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for key in container.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try container.decode([String: String].self, forKey: key)
                } else {
                    tensors[key.stringValue] = try container.decode(Entry.self, forKey: key)
                }
            }
        }
    }

    init(path: String) { self.path = path }

    func fail(_ what: String) -> EmbeddingKitError {
        EmbeddingKitError(.invalidArgument, "\(path): not a language-ID model file (\(what))")
    }

    func ioFailure(_ step: String, _ err: Int32) -> EmbeddingKitError {
        EmbeddingKitError(.io, "cannot read '\(path)': \(step): \(String(cString: strerror(err))) (errno \(err))")
    }

    /// Checks and reads the file (see the type's documentation).
    mutating func read() throws(EmbeddingKitError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioFailure("open", errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ioFailure("fstat", errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw fail("not a regular file") }
        let size = Int(info.st_size)
        guard size >= 8 else { throw fail("\(size) bytes, shorter than the 8-byte header length") }

        var prefix = [UInt8](repeating: 0, count: 8)
        try readExactly(fd, into: &prefix, from: 0, count: 8)
        let headerLength = prefix.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw fail("header of \(headerLength) bytes, more than the \(Self.maxHeaderBytes) a model's header may have")
        }
        let n = Int(headerLength)
        guard 8 + n <= size else { throw fail("header of \(n) bytes runs past the end of the \(size)-byte file") }
        var file = [UInt8](repeating: 0, count: 8 + n)
        file.replaceSubrange(0..<8, with: prefix)
        try readExactly(fd, into: &file, from: 8, count: n)

        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(file[8...]))
        } catch {
            throw fail("the header is not a safetensors header of tensors with integer shapes and string metadata")
        }
        configuration = try Self.configuration(from: header.metadata, fail: fail)
        let dataBytes = try checkTensors(header.tensors)
        guard size == 8 + n + dataBytes else {
            throw fail("\(size) bytes, but the header and its tensors make \(8 + n + dataBytes)")
        }
        file += [UInt8](repeating: 0, count: dataBytes)
        try readExactly(fd, into: &file, from: 8 + n, count: dataBytes)
        bytes = file
    }

    /// The configuration the metadata describes, validated.
    static func configuration(from m: [String: String],
                              fail: (String) -> EmbeddingKitError) throws(EmbeddingKitError) -> LangIDConfiguration {
        let formats = [LangIDModel.formatTag, LangIDModel.formatTagWithBags]
        guard let format = m["format"], formats.contains(format) else {
            throw fail("metadata format is \(m["format"].map { "'\($0)'" } ?? "missing"), want '\(LangIDModel.formatTag)' or '\(LangIDModel.formatTagWithBags)'")
        }
        // `signed`: orders may be -1 (letters outside ASCII); everything else is a count
        func integers(_ key: String, signed: Bool = false) throws(EmbeddingKitError) -> [Int] {
            guard let text = m[key] else { throw fail("metadata '\(key)' is missing") }
            var values: [Int] = []
            for (i, part) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
                let digits = signed && part.first == "-" ? part.dropFirst() : part
                guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let v = Int(part) else {
                    throw fail("metadata '\(key)': '\(part.prefix(40))' at position \(i) is not an integer in \(signed ? "-1" : "0")...\(Int.max)")
                }
                values.append(v)
            }
            return values
        }
        let orders = try integers("orders", signed: true), buckets = try integers("buckets"), dimensions = try integers("dimensions")
        // the tag says which bags to expect: a format-1 reader must not meet orders 0 or -1
        guard format == LangIDModel.formatTag(orders: orders) else {
            throw fail("metadata format '\(format)' does not match orders \(orders) (orders 0 and -1, the word and letter bags, "
                       + "are format '\(LangIDModel.formatTagWithBags)'; character n-grams alone '\(LangIDModel.formatTag)')")
        }
        let hidden = try integers("hidden")
        guard hidden.count == 1 else { throw fail("metadata 'hidden' has \(hidden.count) values, want one") }
        guard let languages = m["languages"] else { throw fail("metadata 'languages' is missing") }
        let configuration = LangIDConfiguration(
            orders: orders, buckets: buckets, dimensions: dimensions, hidden: hidden[0],
            languages: languages.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
        do {
            try configuration.validate { "metadata '\($0)'" }
        } catch {
            throw fail(error.message)
        }
        return configuration
    }

    /// Checks that the tensors are exactly the model's, with its shapes and a float dtype; returns
    /// their byte count.
    func checkTensors(_ tensors: [String: Entry]) throws(EmbeddingKitError) -> Int {
        let c = configuration
        var expected: [(String, [Int])] = zip(c.buckets, c.dimensions).enumerated().map { ("embeddings.\($0.offset).weight", [$0.element.0, $0.element.1]) }
        expected += [("hidden.weight", [c.hidden, c.dimensions.reduce(0, +)]), ("hidden.bias", [c.hidden]),
                     ("output.weight", [c.languages.count, c.hidden]), ("output.bias", [c.languages.count])]
        let widths = ["F32": 4, "F16": 2, "BF16": 2]
        var total = 0
        for (name, shape) in expected {
            guard let entry = tensors[name] else { throw fail("tensor '\(name)' is missing") }
            guard entry.shape == shape else {
                throw fail("tensor '\(name)' has shape \(entry.shape), the metadata says \(shape)")
            }
            guard let width = widths[entry.dtype] else { throw fail("tensor '\(name)' is \(entry.dtype), not F32, F16 or BF16") }
            total += shape.reduce(1, *) * width      // bounded: the configuration was validated
        }
        if let extra = tensors.keys.filter({ name in !expected.contains { $0.0 == name } }).sorted().first {
            throw fail("unexpected tensor '\(extra)'")
        }
        return total
    }

    /// Reads `count` bytes at file offset `offset` into `buffer[offset...]`.
    func readExactly(_ fd: Int32, into buffer: inout [UInt8], from offset: Int, count: Int) throws(EmbeddingKitError) {
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + offset + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ioFailure("read", errno)
            }
            if n == 0 { throw fail("the file ended at byte \(offset + done) while reading \(count) bytes at \(offset) (was it changed?)") }
            done += n
        }
    }
}
