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
///
/// A quantized model (`QuantizedLangIDModel`, format `embedkit-langid-quantized-1`) is read the same
/// way when the caller accepts one: its n-gram tables are `U8` tensors of packed rows.
struct ModelFileReader {
    /// A model's header is a few hundred bytes plus the language list.
    static let maxHeaderBytes = 1 << 20

    let path: String
    /// The parsed configuration, validated.
    private(set) var configuration = LangIDConfiguration(languages: [])
    /// The whole file, once `read()` returned.
    private(set) var bytes: [UInt8] = []
    /// For a quantized model, each n-gram table's format (metadata `table_formats`); nil for a float model.
    private(set) var tableFormats: [QuantizedFormat]?

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

    /// Checks and reads the file (see the type's documentation). A quantized model is refused, before
    /// its tensors are read, unless `acceptingQuantized`: only prediction can use one.
    mutating func read(acceptingQuantized: Bool = false) throws(EmbeddingKitError) {
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
        if header.metadata["format"] == QuantizedLangIDModel.formatTag {
            guard acceptingQuantized else {
                throw EmbeddingKitError(.invalidArgument, "\(path): a quantized language-ID model (format '\(QuantizedLangIDModel.formatTag)', "
                    + "tables \(header.metadata["table_formats"] ?? "?")) can only predict (langid predict, langid eval); "
                    + "this needs the float32 model it was made from")
            }
        }
        configuration = try Self.configuration(from: header.metadata, fail: fail)
        if header.metadata["format"] == QuantizedLangIDModel.formatTag {
            tableFormats = try Self.tableFormats(from: header.metadata, tables: configuration.orders.count, fail: fail)
        }
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
        let formats = [LangIDModel.formatTag, LangIDModel.formatTagWithBags, QuantizedLangIDModel.formatTag]
        guard let format = m["format"], formats.contains(format) else {
            throw fail("metadata format is \(m["format"].map { "'\($0)'" } ?? "missing"), want '\(LangIDModel.formatTag)' or "
                       + "'\(LangIDModel.formatTagWithBags)' (or '\(QuantizedLangIDModel.formatTag)', a quantized model)")
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
        // the tag says which bags to expect: a format-1 reader must not meet orders 0 or -1 (a
        // quantized model's reader is newer than format 2 and knows every order)
        guard format == QuantizedLangIDModel.formatTag || format == LangIDModel.formatTag(orders: orders) else {
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

    /// The quantized tables' formats from the metadata `table_formats` (one per n-gram order).
    static func tableFormats(from m: [String: String], tables: Int,
                             fail: (String) -> EmbeddingKitError) throws(EmbeddingKitError) -> [QuantizedFormat] {
        guard let text = m["table_formats"] else { throw fail("metadata 'table_formats' is missing") }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == tables else { throw fail("metadata 'table_formats' has \(parts.count) values for \(tables) n-gram orders") }
        var formats: [QuantizedFormat] = []
        for (i, part) in parts.enumerated() {
            guard let format = QuantizedFormat(rawValue: String(part)) else {
                throw fail("metadata 'table_formats': '\(part.prefix(40))' at position \(i) is not one of "
                           + QuantizedFormat.allCases.map(\.rawValue).joined(separator: ", "))
            }
            formats.append(format)
        }
        return formats
    }

    /// Checks that the tensors are exactly the model's, with its shapes and a float dtype (a
    /// quantized model's tables: `U8`, `[buckets, packed row bytes]`; its dense layers `F32`);
    /// returns their byte count.
    func checkTensors(_ tensors: [String: Entry]) throws(EmbeddingKitError) -> Int {
        let c = configuration
        var expected: [(name: String, shape: [Int], dtypes: [String: Int])] = []
        for (i, (buckets, dimension)) in zip(c.buckets, c.dimensions).enumerated() {
            if let format = tableFormats?[i] {
                expected.append(("embeddings.\(i).weight", [buckets, try format.rowBytes(dimension: dimension)], ["U8": 1]))
            } else {
                expected.append(("embeddings.\(i).weight", [buckets, dimension], ["F32": 4, "F16": 2, "BF16": 2]))
            }
        }
        let dense = tableFormats == nil ? ["F32": 4, "F16": 2, "BF16": 2] : ["F32": 4]
        expected += [("hidden.weight", [c.hidden, c.dimensions.reduce(0, +)], dense), ("hidden.bias", [c.hidden], dense),
                     ("output.weight", [c.languages.count, c.hidden], dense), ("output.bias", [c.languages.count], dense)]
        var total = 0
        for (name, shape, widths) in expected {
            guard let entry = tensors[name] else { throw fail("tensor '\(name)' is missing") }
            guard entry.shape == shape else {
                throw fail("tensor '\(name)' has shape \(entry.shape), the metadata says \(shape)")
            }
            guard let width = widths[entry.dtype] else {
                let names = widths.keys.sorted(by: >)        // "F32, F16 or BF16"
                throw fail("tensor '\(name)' is \(entry.dtype), not " + (names.count == 1 ? names[0]
                           : names.dropLast().joined(separator: ", ") + " or " + names.last!))
            }
            total += shape.reduce(1, *) * width      // bounded: the configuration was validated
        }
        if let extra = tensors.keys.filter({ name in !expected.contains { $0.name == name } }).sorted().first {
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
