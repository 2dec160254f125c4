import Foundation
import Testing
@testable import EmbeddingKit

/// Raw byte tensors in safetensors files (`ByteTensor`, dtype `U8`): a file the `safetensors` Python
/// library wrote (Tests/Fixtures/generate_safetensors_u8.py) reads byte for byte and our writer
/// reproduces it exactly; a header built here by hand from the format's description equals ours;
/// bad shapes and names throw naming the value; a failed save leaves the old file.
@Suite struct ByteTensorSafeTensorsTests {
    static let fixture = safetensorsFixtureDir + "/packed_u8.safetensors"

    /// The fixture's `packed` bytes, by the script's rule.
    static let packed: [UInt8] = (0..<15).map { UInt8((37 * $0 + 200) % 256) }

    @Test func pythonFileReadsAndRewritesByteForByte() throws {
        let file = try SafeTensors(contentsOf: Self.fixture, keepingBytes: true)
        #expect(file.byteTensors["packed"] == (try ByteTensor(shape: [3, 5], bytes: Self.packed)))
        #expect(file.byteTensors["one"] == (try ByteTensor(shape: [], bytes: [255])))
        #expect(file.byteTensors["none"] == (try ByteTensor(shape: [0, 4], bytes: [])))
        #expect(file.tensors["packed"] == nil && file.storedDTypes["packed"] == .uint8)
        #expect(file.tensors["scale"]?.toArray() == [0.5, -2.0])
        #expect(file.tensors["ids"]?.ints == [1, -1])
        #expect(file.metadata == ["format": "rowwise_q8"])
        // what was read, written again: the library's bytes exactly (dtype order, offsets, padding)
        let again = SafeTensors(tensors: file.tensors, byteTensors: file.byteTensors, metadata: file.metadata)
        #expect(try again.serialized() == fileBytes(Self.fixture))
        // without keepingBytes, U8 tensors are int64 tensors as before
        let plain = try SafeTensors(contentsOf: Self.fixture)
        #expect(plain.byteTensors.isEmpty && plain.tensors["packed"]?.ints == Self.packed.map(Int64.init))
        #expect(plain.tensors["packed"]?.shape == [3, 5])
    }

    /// The format's layout written out by hand: 8-byte little-endian header length, the JSON header
    /// padded with spaces to a multiple of 8, then the data.
    @Test func headerMatchesOneBuiltFromTheSpec() throws {
        let json = #"{"__metadata__":{"a":"x\"y","b":"2"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
            + #""q":{"dtype":"U8","shape":[2,3],"data_offsets":[4,10]}}"#
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        let length = header.count
        var expected: [UInt8] = (0..<8).map { UInt8((length >> (8 * $0)) & 0xff) }
        expected += header
        expected += [0x00, 0x00, 0xc0, 0x3f]               // 1.5 as a little-endian float32
        expected += [0, 1, 128, 200, 254, 255]
        let ours = SafeTensors(tensors: ["w": Tensor([1.5])],
                               byteTensors: ["q": try ByteTensor(shape: [2, 3], bytes: [0, 1, 128, 200, 254, 255])],
                               metadata: ["b": "2", "a": "x\"y"])
        #expect(try ours.serialized() == expected)
        let back = try SafeTensors(bytes: expected, keepingBytes: true)
        #expect(back.byteTensors["q"]?.bytes == [0, 1, 128, 200, 254, 255] && back.byteTensors["q"]?.shape == [2, 3])
    }

    @Test func roundTripThroughAFile() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let path = folder + "/t.safetensors"
        let big = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let bytes = ["big": try ByteTensor(shape: [10, 3, 100], bytes: big), "flat": ByteTensor([9, 8, 7])]
        try SafeTensors.save(["f": Tensor([1.0, 2, 3])], byteTensors: bytes, metadata: ["k": "v"], to: path)
        let back = try SafeTensors(contentsOf: path, keepingBytes: true)
        #expect(back.byteTensors == bytes && back.metadata == ["k": "v"] && back.tensors["f"]?.toArray() == [1, 2, 3])
        // only byte tensors, no metadata
        try SafeTensors(byteTensors: ["x": ByteTensor([])]).write(to: path)
        #expect(try SafeTensors(contentsOf: path, keepingBytes: true).byteTensors == ["x": ByteTensor([])])
    }

    @Test func badShapesThrowNamingTheValue() {
        func message(_ body: () throws -> Void) -> (EmbeddingKitError.Kind?, String) {
            do { try body() } catch let error as EmbeddingKitError { return (error.kind, error.message) } catch { return (nil, "\(error)") }
            return (nil, "")
        }
        var (kind, text) = message { _ = try ByteTensor(shape: [2, -3], bytes: []) }
        #expect(kind == .invalidArgument && text.contains("shape[1]=-3"))
        (kind, text) = message { _ = try ByteTensor(shape: [2, 3], bytes: [1, 2, 3, 4, 5]) }
        #expect(kind == .shape && text.contains("[2, 3]") && text.contains("6") && text.contains("5"))
        (kind, text) = message { _ = try ByteTensor(shape: [Int.max, 3], bytes: []) }
        #expect(kind == .overflow && text.contains("\(Int.max)"))
        (kind, text) = message { _ = try ByteTensor(shape: [], bytes: []) }   // a scalar is one byte
        #expect(kind == .shape)
    }

    @Test func badNamesThrowAndTheOldFileStays() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let path = folder + "/t.safetensors"
        try SafeTensors(byteTensors: ["a": ByteTensor([1])]).write(to: path)
        let before = fileBytes(path)
        let cases: [(SafeTensors, String)] = [
            (SafeTensors(byteTensors: ["__metadata__": ByteTensor([1])]), "\"__metadata__\""),
            (SafeTensors(byteTensors: ["a\u{0}b": ByteTensor([1])]), "NUL"),
            (SafeTensors(tensors: ["w": Tensor([1])], byteTensors: ["w": ByteTensor([1])]), "\"w\" is in both"),
        ]
        for (file, fragment) in cases {
            do {
                try file.write(to: path)
                Issue.record("wrote a file with a bad name (\(fragment))")
            } catch {
                #expect(error.kind == .invalidArgument && error.message.contains(fragment), "\(error.message)")
            }
            #expect(fileBytes(path) == before)
        }
        // a save into a folder that does not exist fails and leaves nothing behind
        #expect(throws: EmbeddingKitError.self) { try SafeTensors(byteTensors: ["a": ByteTensor([2])]).write(to: folder + "/no/x.safetensors") }
        #expect(folderListing(folder) == ["t.safetensors"])
    }
}
