import Foundation
import Testing
@testable import EmbeddingKit

/// Quantized modules (issue 18): made from trained float modules, their forward equals the float
/// forward over the dequantized table bit for bit; PyTorch-prepacked bytes (Tests/Fixtures/quant,
/// make_fixtures.py) load and give PyTorch's bag sums; save / load round trips; bad files throw.
@Suite struct QuantizedEmbeddingTests {
    static let fixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/quant").standardized.path

    struct Fixture: Decodable {
        let bits: Int, rows: Int, dim: Int, row_bytes: Int
        let weight: [Float], indices: [Int64], offsets: [Int64], sum: [Float]
    }

    static func fixture(_ stem: String) throws -> (Fixture, [UInt8]) {
        let json = try Data(contentsOf: URL(fileURLWithPath: fixtureDir + "/\(stem).json"))
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: fixtureDir + "/\(stem).bin")))
        return (try JSONDecoder().decode(Fixture.self, from: json), bytes)
    }

    /// `bytes` with the first run of `old` (UTF-8) replaced by `new` (the same length: the header stays valid).
    static func replacing(_ old: String, with new: String, in bytes: [UInt8]) -> [UInt8] {
        let o = Array(old.utf8), n = Array(new.utf8)
        precondition(o.count == n.count)
        var out = bytes
        for i in 0...(bytes.count - o.count) where Array(bytes[i ..< i + o.count]) == o {
            out.replaceSubrange(i ..< i + o.count, with: n)
            return out
        }
        preconditionFailure("\(old) not found")
    }

    @Test(arguments: [8, 4, 2], [EmbeddingBagMode.sum, .mean, .max])
    func bagEqualsFloatBagOfDequantizedTable(bits: Int, mode: EmbeddingBagMode) throws {
        let bag = try EmbeddingBag(count: 20, dimension: 13, mode: mode, paddingIndex: 3, generator: Generator(seed: 7))
        let q = try QuantizedEmbeddingBag(bag, bits: bits)
        #expect(q.format.bits == bits && q.count == 20 && q.dimension == 13 && q.paddingIndex == 3)
        let rowBytes = try q.format.rowBytes(dimension: 13)
        #expect(q.packedBytes.count == 20 * rowBytes)
        let input = Tensor(indices: [1, 3, 5, 19, 0, 3, 3, 7, 2]), offsets = Tensor(indices: [0, 2, 2, 6])
        let psw: Tensor? = mode == .max ? nil : Tensor((0..<9).map { Float($0) * 0.25 - 0.5 })
        let got = try q(input, offsets: offsets, perSampleWeights: psw)
        let want = try embeddingBag(input, q.dequantized(), offsets: offsets, mode: mode, perSampleWeights: psw, paddingIndex: 3)
        #expect(got.shape == [4, 13])
        #expect(got.toArray().map(\.bitPattern) == want.toArray().map(\.bitPattern))
        #expect(!got.requiresGrad)
        // the error report: every element within one quantization step of the float table
        let e = try #require(q.quantizationError)
        let deq = q.dequantized().toArray(), orig = bag.weight.toArray()
        let maxErr = zip(deq, orig).map { abs(Double($0) - Double($1)) }.max()!
        #expect(abs(e.maxAbsolute - maxErr) <= 1e-12 && e.rms <= e.maxAbsolute && (0..<20).contains(e.worstRow))
        let range = Double(orig.max()! - orig.min()!)
        #expect(e.maxAbsolute <= range / Double((1 << bits) - 1))
    }

    /// A half-precision module quantizes from its exact float32 values (it used to stop on a
    /// precondition): the same bytes as the float32 module holding the widened table.
    @Test(arguments: [8, 4])
    func halfTablesQuantizeFromTheirWidenedValues(bits: Int) throws {
        let half = try EmbeddingBag(count: 12, dimension: 10, mode: .sum, storage: .bfloat16, generator: Generator(seed: 3))
        let float = try EmbeddingBag(count: 12, dimension: 10, mode: .sum, generator: Generator(seed: 4))
        _ = try float.loadStateDict(["weight": half.weight.widened()])
        let qh = try QuantizedEmbeddingBag(half, bits: bits), qf = try QuantizedEmbeddingBag(float, bits: bits)
        #expect(qh.packedBytes == qf.packedBytes)
        let e = try QuantizedEmbedding(try Embedding(count: 5, dimension: 4, storage: .float16), bits: bits)
        #expect(e.count == 5 && e.dimension == 4)
    }

    @Test func lookupIsTheDequantizedRows() throws {
        let embed = try Embedding(count: 9, dimension: 5, generator: Generator(seed: 3))
        let q = try QuantizedEmbedding(embed, bits: 4)
        let rows = try q(Tensor(shape: [2, 2], indices: [8, 0, 4, 4]))
        #expect(rows.shape == [2, 2, 5])
        let table = q.dequantized().toArray(), got = rows.toArray()
        for (k, r) in [8, 0, 4, 4].enumerated() {
            #expect(Array(got[k * 5 ..< k * 5 + 5]).map(\.bitPattern) == Array(table[r * 5 ..< r * 5 + 5]).map(\.bitPattern))
        }
        #expect(throws: EmbeddingKitError.self) { try q(Tensor(indices: [9])) }
    }

    @Test(arguments: ["q4_d8", "q8_d6"])
    func pytorchPrepackedBytesLoad(stem: String) throws {
        let (f, bytes) = try Self.fixture(stem)
        #expect(bytes.count == f.rows * f.row_bytes)
        let q = try QuantizedEmbeddingBag(packed: bytes, count: f.rows, dimension: f.dim,
                                          format: try QuantizedFormat(bits: f.bits), mode: .sum)
        let out = try q(Tensor(shape: [f.indices.count], indices: f.indices), offsets: Tensor(shape: [f.offsets.count], indices: f.offsets))
        for (x, y) in zip(out.toArray(), f.sum) { #expect(abs(x - y) <= 1e-5 * max(1, abs(y))) }
        // and our prepack of the same floats gives PyTorch's bytes
        let bag = try EmbeddingBag(count: f.rows, dimension: f.dim, mode: .sum)
        bag.weight.floats = FloatStorage(f.weight)
        let ours = try QuantizedEmbeddingBag(bag, bits: f.bits)
        #expect(ours.packedBytes == bytes)
    }

    @Test func saveLoadRoundTripAndBadFiles() throws {
        let folder = makeTemporaryFolder()
        defer { removeFolder(folder) }
        let bag = try EmbeddingBag(count: 6, dimension: 7, mode: .mean, paddingIndex: -1, includeLastOffset: true,
                                   generator: Generator(seed: 11))
        let q = try QuantizedEmbeddingBag(bag, bits: 2)
        let path = folder + "/bag.safetensors"
        try q.save(to: path)
        let back = try QuantizedEmbeddingBag.load(from: path)
        #expect(back.packedBytes == q.packedBytes && back.format == .int2 && back.mode == .mean)
        #expect(back.paddingIndex == 5 && back.includeLastOffset)
        // the file is a plain safetensors file: a U8 tensor with the format in the metadata
        let file = try SafeTensors(contentsOf: path)
        let rowBytes = try QuantizedFormat.int2.rowBytes(dimension: 7)
        #expect(file.storedDTypes["weight"] == .uint8 && file.tensors["weight"]!.shape == [6, rowBytes])
        #expect(file.metadata["embeddingkit.quantized.format"] == "rowwise_q2")
        // an Embedding file
        let e = try QuantizedEmbedding(try Embedding(count: 4, dimension: 3), bits: 8)
        try e.save(to: folder + "/e.safetensors")
        let eBack = try QuantizedEmbedding.load(from: folder + "/e.safetensors")
        #expect(eBack.packedBytes == e.packedBytes)
        #expect(throws: EmbeddingKitError.self) { try QuantizedEmbeddingBag.load(from: folder + "/e.safetensors") }

        // an unknown format
        let original = fileBytes(path)
        writeFileBytes(Self.replacing("rowwise_q2", with: "rowwise_q3", in: original), folder + "/unknown.safetensors")
        do {
            _ = try QuantizedEmbeddingBag.load(from: folder + "/unknown.safetensors")
            Issue.record("an unknown format loaded")
        } catch {
            #expect(error.kind == .invalidArgument && error.message.contains("format=\"rowwise_q3\""))
        }
        // a file without the format, a row size that does not match the dimension, a NaN scale
        try SafeTensors(tensors: ["weight": Tensor(shape: [2, 2], indices: [1, 2, 3, 4])]).write(to: folder + "/plain.safetensors")
        #expect(throws: EmbeddingKitError.self) { try QuantizedEmbeddingBag.load(from: folder + "/plain.safetensors") }
        writeFileBytes(Self.replacing("dimension\":\"7", with: "dimension\":\"9", in: original), folder + "/dim.safetensors")
        do {
            _ = try QuantizedEmbeddingBag.load(from: folder + "/dim.safetensors")
            Issue.record("a mismatched row size loaded")
        } catch { #expect(error.kind == .shape && error.message.contains("bytes")) }
        var nanScale = q.packedBytes
        let rb = rowBytes
        nanScale[rb * 2 + rb - 4] = 0xff; nanScale[rb * 2 + rb - 3] = 0x7f // row 2's fp16 scale: NaN
        do {
            _ = try QuantizedEmbeddingBag(packed: nanScale, count: 6, dimension: 7, format: .int2)
            Issue.record("a NaN scale loaded")
        } catch { #expect(error.message.contains("row 2: scale=nan")) }
        #expect(throws: EmbeddingKitError.self) { try QuantizedEmbeddingBag(packed: [1, 2, 3], count: 1, dimension: 7, format: .int8) }
        #expect(throws: EmbeddingKitError.self) { try QuantizedEmbeddingBag(bag, bits: 3) }
        // a failed save leaves the old file
        let before = fileBytes(path)
        #expect(throws: EmbeddingKitError.self) { try q.save(to: folder + "/no/such/dir/x.safetensors") }
        #expect(fileBytes(path) == before)
    }
}
