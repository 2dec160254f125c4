import Testing
@testable import EmbeddingKit

/// `Embedding(pretrained:storage:)` and `EmbeddingBag(pretrained:storage:)` (PyTorch's
/// `from_pretrained`): a float32 table held as fp16 / bf16 is each value rounded to the nearest half,
/// ties to even. The expected roundings are computed here without the library: Swift's `Float16`
/// conversion for fp16, the bit rule of round-to-nearest-even on the top 16 bits for bf16.
@Suite struct PretrainedStorageTests {
    /// bf16 round to nearest, ties to even, on the bits: add 0x7fff plus the kept part's lowest bit,
    /// then drop the low 16 bits (finite inputs; a carry into the exponent is the right rounding).
    static func bf16(_ x: Float) -> Float {
        let bits = x.bitPattern
        return Float(bitPattern: (bits &+ 0x7fff &+ ((bits >> 16) & 1)) & 0xffff_0000)
    }

    static func fp16(_ x: Float) -> Float { Float(Float16(x)) }

    /// Values that round in every way: exact, below / above the midpoint, ties to even either way
    /// (1 + 2^-8 and 1 + 3 * 2^-8 for bf16; 1 + 2^-11 and 1 + 3 * 2^-11 for fp16), negatives, a
    /// carry into the exponent, fp16 subnormals and overflow.
    static let values: [Float] = [
        0, -0.0, 1, -2.5, 0.1, -0.3, 3.14159265, 1e-3,
        1 + 0x1p-8, 1 + 3 * 0x1p-8, -(1 + 0x1p-8), 1 + 0x1p-8 + 0x1p-20,
        1 + 0x1p-11, 1 + 3 * 0x1p-11, 2047.5, 0x1.fffffep0,
        1e-6, -3e-7, 65519, 1e6,
    ]
    static let table = Tensor(shape: [5, 4], values: values)

    @Test(arguments: [DType.float16, .bfloat16])
    func halfStorageIsTheNearestHalf(dtype: DType) throws {
        let round = dtype == .float16 ? Self.fp16 : Self.bf16
        let expected = Self.values.map(round)
        // the rule itself, on values worked out by hand
        if dtype == .bfloat16 {
            #expect(Self.bf16(1 + 0x1p-8) == 1 && Self.bf16(1 + 3 * 0x1p-8) == 1 + 0x1p-6 && Self.bf16(0x1.fffffep0) == 2)
        } else {
            #expect(Self.fp16(1 + 0x1p-11) == 1 && Self.fp16(1 + 3 * 0x1p-11) == 1 + 0x1p-9 && Self.fp16(1e6) == .infinity)
        }
        let storage = dtype == .float16 ? TableStorage.float16 : .bfloat16
        let embed = try Embedding(pretrained: Self.table, storage: storage)
        #expect(embed.weight.dtype == dtype && embed.storage == storage && embed.weight.shape == [5, 4])
        #expect(embed.weight.widened().toArray().map(\.bitPattern) == expected.map(\.bitPattern))
        let rows = try embed(Tensor(indices: [4, 0]))
        #expect(rows.toArray().map(\.bitPattern) == (Array(expected[16..<20]) + Array(expected[0..<4])).map(\.bitPattern))

        let bag = try EmbeddingBag(pretrained: Self.table, mode: .max, storage: .bfloat16(rounding: .nearest))
        #expect(bag.weight.dtype == .bfloat16 && bag.storage == .bfloat16(rounding: .nearest) && bag.mode == .max)
        #expect(bag.weight.widened().toArray().map(\.bitPattern) == Self.values.map(Self.bf16).map(\.bitPattern))
        let fp16Bag = try EmbeddingBag.fromPretrained(Self.table, storage: .float16)
        #expect(fp16Bag.mode == .mean && fp16Bag.weight.widened().toArray().map(\.bitPattern) == Self.values.map(Self.fp16).map(\.bitPattern))
        // the source is copied, not shared
        #expect(Self.table.toArray().map(\.bitPattern) == Self.values.map(\.bitPattern))
    }

    @Test func float32StorageKeepsTheValuesAndThePaddingRow() throws {
        let bag = try EmbeddingBag(pretrained: Self.table, mode: .sum, paddingIndex: -1, includeLastOffset: true)
        #expect(bag.weight.dtype == .float32 && bag.paddingIndex == 4 && bag.includeLastOffset)
        #expect(bag.weight.toArray().map(\.bitPattern) == Self.values.map(\.bitPattern))   // padding row kept
        let out = try bag(Tensor(indices: [0, 1, 4]), offsets: Tensor(indices: [0, 3]))
        #expect(out.toArray() == zip(Self.values[0..<4], Self.values[4..<8]).map { $0 + $1 })
        let e = try Embedding.fromPretrained(Self.table, paddingIndex: 1, storage: .float32)
        #expect(e.weight.toArray() == Self.values && e.paddingIndex == 1)
    }

    @Test(arguments: [TableStorage.float32, .float16, .bfloat16])
    func freeze(storage: TableStorage) throws {
        let frozen = try Embedding(pretrained: Self.table, storage: storage)
        let frozenRows = try frozen(Tensor(indices: [1]))
        #expect(!frozen.weight.requiresGrad && !frozenRows.requiresGrad)
        let frozenBag = try EmbeddingBag(pretrained: Self.table, mode: .sum, storage: storage)
        #expect(!frozenBag.weight.requiresGrad)

        let trainable = try Embedding(pretrained: Self.table, freeze: false, storage: storage)
        #expect(trainable.weight.requiresGrad)
        try trainable(Tensor(indices: [2, 2, 0])).sum().backward()
        let grad = try #require(trainable.weight.grad).toDense().toArray()
        // d(sum)/d(row) = the number of times the row was looked up
        #expect(grad == [1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2] + [Float](repeating: 0, count: 8))

        let bag = try EmbeddingBag(pretrained: Self.table, freeze: false, mode: .sum, storage: storage)
        try bag(Tensor(shape: [1, 2], indices: [3, 3])).sum().backward()
        let bagGrad = try #require(bag.weight.grad).toDense().toArray()
        #expect(bagGrad == [Float](repeating: 0, count: 12) + [2, 2, 2, 2] + [Float](repeating: 0, count: 4))
    }

    @Test func badWeightsAndOptionsThrow() {
        func failure(_ body: () throws -> Void) -> EmbeddingKitError? {
            do { try body() } catch { return error as? EmbeddingKitError }
            return nil
        }
        let ints = Tensor(shape: [2, 2], indices: [1, 2, 3, 4])
        var e = failure { _ = try Embedding(pretrained: ints, storage: .bfloat16) }
        #expect(e?.kind == .shape && e?.message.contains("pretrained weights") == true && e?.message.contains("int64") == true)
        e = failure { _ = try EmbeddingBag(pretrained: ints, storage: .float16) }
        #expect(e?.kind == .shape && e?.message.contains("EmbeddingBag") == true && e?.message.contains("int64") == true)
        e = failure { _ = try EmbeddingBag(pretrained: Tensor([1.0, 2, 3]), storage: .float16) }
        #expect(e?.kind == .shape && e?.message.contains("[3]") == true)
        e = failure { _ = try Embedding(pretrained: Tensor(shape: [1, 2, 2], values: [1, 2, 3, 4]), storage: .bfloat16) }
        #expect(e?.kind == .shape && e?.message.contains("[1, 2, 2]") == true)
        // a half table cannot be renormalised
        e = failure { _ = try Embedding(pretrained: Self.table, maxNorm: 1, storage: .bfloat16) }
        #expect(e?.kind == .invalidArgument && e?.message.contains("maxNorm=1") == true)
        e = failure { _ = try EmbeddingBag(pretrained: Self.table, maxNorm: 2, storage: .float16) }
        #expect(e?.kind == .invalidArgument && e?.message.contains("maxNorm=2") == true)
        // storage that is not a table type
        e = failure { _ = try Embedding(pretrained: Self.table, storage: TableStorage(dtype: .int64, rounding: .nearest)) }
        #expect(e?.kind == .invalidArgument && e?.message.contains("storage=int64") == true)
        // the other options as the main initialisers check them
        e = failure { _ = try EmbeddingBag(pretrained: Self.table, mode: .max, scaleGradByFrequency: true, storage: .bfloat16) }
        #expect(e?.kind == .invalidArgument)
        e = failure { _ = try EmbeddingBag(pretrained: Self.table, paddingIndex: 5, storage: .bfloat16) }
        #expect(e?.kind == .indexOutOfRange && e?.message.contains("paddingIndex=5") == true)
    }
}
