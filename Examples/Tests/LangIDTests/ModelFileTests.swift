import EmbeddingKit
import Foundation
import Testing
@testable import LangID

/// Model files whose metadata or tensors are wrong are refused with a message naming the file and
/// the field, before anything is allocated for them (issue 14, item 14). The files are written
/// byte by byte here: an 8-byte header length, the JSON header, zeros for the data.
@Suite("Language-ID model files")
struct ModelFileTests {
    static let metadata = ["format": "embedkit-langid-1", "languages": "de,en", "orders": "1",
                           "buckets": "4", "dimensions": "2", "hidden": "3"]
    static let tensors: [(String, [Int])] = [("embeddings.0.weight", [4, 2]), ("hidden.weight", [3, 2]), ("hidden.bias", [3]),
                                             ("output.weight", [2, 3]), ("output.bias", [2])]

    /// A safetensors file with these tensors (F32, zeros) and metadata.
    static func file(_ metadata: [String: String], _ tensors: [(String, [Int])] = tensors) throws -> String {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for (name, shape) in tensors {
            let bytes = shape.reduce(4, *)
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        let json = try JSONSerialization.data(withJSONObject: header)
        var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + Array(json)
        bytes += [UInt8](repeating: 0, count: offset)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString).safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func with(_ changes: [String: String]) -> [String: String] { metadata.merging(changes) { $1 } }

    /// Word (0) and letter (-1) bags are format 2; a format-1 file may not hold them, nor a
    /// format-2 file claim them and hold only character n-grams.
    @Test func bagsNeedFormatTwo() throws {
        let tensors: [(String, [Int])] = [("embeddings.0.weight", [4, 2]), ("embeddings.1.weight", [8, 2]), ("embeddings.2.weight", [4, 2]),
                                          ("hidden.weight", [3, 6]), ("hidden.bias", [3]), ("output.weight", [2, 3]), ("output.bias", [2])]
        let good = try Self.file(Self.with(["format": "embedkit-langid-2", "orders": "-1,0,1", "buckets": "4,8,4", "dimensions": "2,2,2"]), tensors)
        defer { try? FileManager.default.removeItem(atPath: good) }
        let model = try LangIDModel.load(from: good)
        #expect(model.configuration.orders == [-1, 0, 1])
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try model.save(to: out)
        #expect(try LangIDModel.load(from: out).configuration == model.configuration)
        for (changes, message) in [
            (["format": "embedkit-langid-1", "orders": "-1,0,1", "buckets": "4,8,4", "dimensions": "2,2,2"], "does not match orders [-1, 0, 1]"),
            (["format": "embedkit-langid-2"], "does not match orders [1]"),
            (["format": "embedkit-langid-3"], "want 'embedkit-langid-1' or 'embedkit-langid-2'"),
            (["format": "embedkit-langid-2", "orders": "-2,0,1", "buckets": "4,8,4", "dimensions": "2,2,2"], "order -2 at position 0 is outside -1...64"),
            (["format": "embedkit-langid-2", "orders": "--1,0,1", "buckets": "4,8,4", "dimensions": "2,2,2"], "'--1' at position 0 is not an integer"),
            (["buckets": "-4"], "'-4' at position 0 is not an integer in 0..."),
        ] {
            let path = try Self.file(Self.with(changes), changes["orders"] == nil ? Self.tensors : tensors)
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(throws: EmbeddingKitError.self) { try LangIDModel.load(from: path) }
            do { _ = try LangIDModel.load(from: path) } catch { #expect(error.message.contains(message), "\(error.message)") }
        }
    }

    @Test func aWellFormedFileLoads() throws {
        let path = try Self.file(Self.metadata)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try LangIDModel.load(from: path)
        #expect(model.configuration == LangIDConfiguration(orders: [1], buckets: [4], dimensions: [2], hidden: 3, languages: ["de", "en"]))
    }

    /// Each case crashed or allocated gigabytes before: huge values, repeated or too long orders,
    /// repeated languages (which made `eval` trap), one language, empty list entries.
    @Test(arguments: [
        (["buckets": "9223372036854775807"], "metadata 'buckets': 9223372036854775807 at position 0 is outside 1...16777216"),
        (["hidden": "9223372036854775807"], "metadata 'hidden': 9223372036854775807 is outside 1...4096"),
        (["dimensions": "9223372036854775807"], "metadata 'dimensions': 9223372036854775807 at position 0 is outside 1...1024"),
        (["orders": "1,2", "buckets": "4,4", "dimensions": "4611686018427387904,4611686018427387904"], "metadata 'dimensions': 4611686018427387904 at position 0"),
        (["buckets": "20000000"], "metadata 'buckets': 20000000 at position 0 is outside 1...16777216"),
        (["buckets": "99999999999999999999"], "metadata 'buckets': '99999999999999999999' at position 0 is not an integer"),
        (["orders": "1,1", "buckets": "4,4", "dimensions": "2,2"], "metadata 'orders': order 1 at position 1 repeats position 0"),
        (["orders": "65"], "metadata 'orders': order 65 at position 0 is outside -1...64"),
        (["orders": "0"], "metadata format 'embedkit-langid-1' does not match orders [0]"),
        (["orders": "1,", "buckets": "4,4", "dimensions": "2,2"], "metadata 'orders': '' at position 1 is not an integer"),
        (["hidden": "0"], "metadata 'hidden': 0 is outside 1...4096"),
        (["hidden": "-3"], "metadata 'hidden': '-3' at position 0 is not an integer"),
        (["hidden": "3,3"], "metadata 'hidden' has 2 values, want one"),
        (["languages": "en,en"], "metadata 'languages': 'en' at position 1 repeats position 0"),
        (["languages": "en"], "a language identifier needs at least two"),
        (["languages": "de,,en"], "metadata 'languages': code '' at position 1"),
        (["buckets": "4,4"], "metadata 'buckets': 2 values for 1 n-gram orders"),
        (["format": "pt"], "metadata format is 'pt'"),
    ])
    func badMetadataIsRefused(changes: [String: String], message: String) throws {
        let path = try Self.file(Self.with(changes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect { _ = try LangIDModel.load(from: path) } throws: { error in
            let text = "\(error)"
            return text.contains(path) && text.contains("not a language-ID model file") && text.contains(message)
        }
    }

    /// Metadata within the limits but not matching the tensors: refused from the header alone. Before,
    /// `buckets=16777216` built the 16777216 x 2 table (128 MiB) before `loadStateDict` saw the shapes.
    @Test func tensorsThatDoNotMatchTheMetadataAreRefusedFromTheHeader() throws {
        let cases: [([String: String], [(String, [Int])], String)] = [
            (Self.with(["buckets": "16777216"]), Self.tensors, "tensor 'embeddings.0.weight' has shape [4, 2], the metadata says [16777216, 2]"),
            (Self.metadata, Array(Self.tensors.dropLast()), "tensor 'output.bias' is missing"),
            (Self.metadata, Self.tensors + [("extra", [1])], "unexpected tensor 'extra'"),
        ]
        for (metadata, tensors, message) in cases {
            let path = try Self.file(metadata, tensors)
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect { _ = try LangIDModel.load(from: path) } throws: { "\($0)".contains(message) }
        }
    }

    @Test func filesThatAreNotRegularOrAreCutAreRefused() throws {
        #expect { _ = try LangIDModel.load(from: "/dev/zero") } throws: { "\($0)".contains("/dev/zero: not a language-ID model file (not a regular file)") }
        let path = try Self.file(Self.metadata)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.dropLast(4).write(to: URL(fileURLWithPath: path))
        #expect { _ = try LangIDModel.load(from: path) } throws: { "\($0)".contains("bytes, but the header and its tensors make") }
        // a header length far beyond any model's header
        try Data(withUnsafeBytes(of: UInt64(1) << 40) { Array($0) } + [UInt8](repeating: 0, count: 16)).write(to: URL(fileURLWithPath: path))
        #expect { _ = try LangIDModel.load(from: path) } throws: { "\($0)".contains("header of 1099511627776 bytes") }
    }

    /// Configurations built in code are checked the same way (the model's initialiser throws).
    @Test func theModelInitialiserValidatesItsConfiguration() {
        let bad: [LangIDConfiguration] = [
            LangIDConfiguration(orders: [1, 1], buckets: [4, 4], dimensions: [2, 2], hidden: 3, languages: ["a", "b"]),
            LangIDConfiguration(orders: [1], buckets: [4], dimensions: [2], hidden: 0, languages: ["a", "b"]),
            LangIDConfiguration(orders: [1], buckets: [Int.max], dimensions: [Int.max], hidden: 3, languages: ["a", "b"]),
            LangIDConfiguration(orders: [1], buckets: [1 << 24], dimensions: [1024], hidden: 3, languages: ["a", "b"]),
            LangIDConfiguration(orders: [1], buckets: [4], dimensions: [2], hidden: 3, languages: ["a"]),
            LangIDConfiguration(orders: [1], buckets: [4], dimensions: [2], hidden: 3, languages: ["a", "a b"]),
        ]
        for c in bad {
            #expect(throws: EmbeddingKitError.self, "\(c)") { _ = try LangIDModel(c) }
        }
    }
}
