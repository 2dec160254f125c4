// Calls the C ABI through the `CKernels` module: proves that SwiftPM compiles the kernels with
// OpenMP and links the OpenMP runtime and OpenBLAS.
import CKernels
import EmbeddingKit
import Testing

@Suite("CKernels link", .serialized)
struct CKernelsLinkTests {
    @Test func versionMatchesHeaderMacros() {
        let expected = Int32(EK_VERSION_MAJOR * 10000 + EK_VERSION_MINOR * 100 + EK_VERSION_PATCH)
        // (EK_VERSION itself is a macro expression over other macros, which Swift does not import.)
        #expect(ek_version() == expected)
        #expect(String(cString: ek_version_string()) == "\(EK_VERSION_MAJOR).\(EK_VERSION_MINOR).\(EK_VERSION_PATCH)")
        #expect(EmbeddingKitVersion.string == String(cString: ek_version_string()))
    }

    @Test func threadCount() {
        let before = ek_get_num_threads()
        defer { _ = ek_set_num_threads(before) }
        #expect(ek_set_num_threads(2) == EK_OK)
        #expect(ek_get_num_threads() == 2)
        #expect(ek_set_num_threads(0) == EK_ERR_INVALID_ARGUMENT)
        #expect(ek_get_num_threads() == 2)
    }

    @Test func embeddingGather() {
        // W = arange(1, 11).view(5, 2): row r is (2r + 1, 2r + 2).
        let weight: [Float] = (1...10).map(Float.init)
        let indices: [Int64] = [3, 1, 1, 4, 0]
        var out = [Float](repeating: -1, count: indices.count * 2)
        let status = withLookup(weight, rows: 5, dim: 2, indices) { ek_lookup_forward($0, $1, &out) }
        #expect(status == EK_OK)
        #expect(out == [7, 8, 3, 4, 3, 4, 9, 10, 1, 2])
    }

    @Test func outOfRangeIndexIsReported() {
        let weight: [Float] = (1...10).map(Float.init)
        let indices: [Int64] = [0, 4, 10]
        var out = [Float](repeating: -1, count: indices.count * 2)
        let status = withLookup(weight, rows: 5, dim: 2, indices) { ek_lookup_forward($0, $1, &out) }
        #expect(status == EK_ERR_INDEX_OUT_OF_RANGE)
        let message = String(cString: ek_last_error())
        #expect(message.contains("position 2") || message.contains("[2]"),
                "message should name the position: \(message)")
        #expect(message.contains("10"), "message should name the value: \(message)")
        #expect(String(cString: ek_status_string(status)) == "EK_ERR_INDEX_OUT_OF_RANGE")
        #expect(out.allSatisfy { $0 == -1 }, "a failed call must not write its output")
    }

    @Test func matmulThroughOpenBLAS() {
        // [[1, 2, 3], [4, 5, 6]] x [[7, 8], [9, 10], [11, 12]] = [[58, 64], [139, 154]]
        let a: [Float] = [1, 2, 3, 4, 5, 6]
        let b: [Float] = [7, 8, 9, 10, 11, 12]
        var c = [Float](repeating: 0, count: 4)
        #expect(ek_matmul_f32(2, 2, 3, a, 0, b, 0, 1, 0, &c) == EK_OK)
        #expect(c == [58, 64, 139, 154])
    }

    @Test func embeddingBagSumParallelMatchesSwiftLoop() {
        let numEmbeddings = 1000, dim = 16, numBags = 10_000
        // Small integers, so every sum is exact whatever the order of additions.
        let weight: [Float] = (0..<numEmbeddings * dim).map { Float(($0 * 7 + 3) % 13) - 6 }
        var generator = SplitMix64(seed: 42)
        var offsets: [Int64] = []
        var indices: [Int64] = []
        for _ in 0..<numBags {
            offsets.append(Int64(indices.count))
            for _ in 0..<Int(generator.next() % 9) {  // 0...8 entries: empty bags included
                indices.append(Int64(generator.next() % UInt64(numEmbeddings)))
            }
        }

        var expected = [Float](repeating: 0, count: numBags * dim)
        for bag in 0..<numBags {
            let end = bag + 1 < numBags ? Int(offsets[bag + 1]) : indices.count
            for j in Int(offsets[bag])..<end {
                let row = Int(indices[j])
                for d in 0..<dim { expected[bag * dim + d] += weight[row * dim + d] }
            }
        }

        func run(threads: Int32) -> [Float] {
            #expect(ek_set_num_threads(threads) == EK_OK)
            var out = [Float](repeating: .nan, count: numBags * dim)
            var bagSize = [Int64](repeating: -1, count: numBags)
            let status = withLookup(weight, rows: numEmbeddings, dim: dim, indices, offsets: offsets) {
                ek_bag_forward($0, $1, nil, &out, &bagSize, nil)
            }
            #expect(status == EK_OK, "\(String(cString: ek_last_error()))")
            for bag in 0..<numBags {
                let end = bag + 1 < numBags ? offsets[bag + 1] : Int64(indices.count)
                if bagSize[bag] != end - offsets[bag] {
                    Issue.record("bag_size[\(bag)] = \(bagSize[bag]), want \(end - offsets[bag])")
                    break
                }
            }
            return out
        }

        let before = ek_get_num_threads()
        defer { _ = ek_set_num_threads(before) }
        let parallel = run(threads: 2)
        #expect(parallel == expected)
        let serial = run(threads: 1)
        #expect(serial == parallel, "results must be bit-identical for 1 and 2 threads")
    }
}


@Suite("Matrix products")
struct MatmulDeterminismTests {
    /// OpenBLAS's own threads split a product differently per thread count; ek_matmul_f32 runs a grid
    /// of blocks fixed by the shape instead, so a product large enough to run in parallel is
    /// bit-identical at 1 and 2.
    @Test func bitIdenticalForOneOrTwoThreads() throws {
        let a = Tensor.randn([1000, 96], generator: Generator(seed: 11)), b = Tensor.randn([96, 70], generator: Generator(seed: 12))
        let at = Tensor.randn([96, 1000], generator: Generator(seed: 13))
        let saved = numThreads()
        defer { try? setNumThreads(saved) }
        try setNumThreads(1)
        let one = Tensor.matmul(a, b).scalars.map(\.bitPattern), oneT = Tensor.matmul(at.transpose(0, 1), b).scalars.map(\.bitPattern)
        try setNumThreads(2)
        let two = Tensor.matmul(a, b).scalars.map(\.bitPattern), twoT = Tensor.matmul(at.transpose(0, 1), b).scalars.map(\.bitPattern)
        #expect(one == two)
        #expect(oneT == twoT)
        // and the blocks add up to the product: row 999 against a plain dot product
        let av = a.scalars, bv = b.scalars
        var row = [Float](repeating: 0, count: 70)
        for j in 0..<70 { for t in 0..<96 { row[j] += av[999 * 96 + t] * bv[t * 70 + j] } }
        let got = Array(Tensor.matmul(a, b).scalars[(999 * 70)..<(1000 * 70)])
        #expect(zip(row, got).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($0)) })
    }
}

/// The descriptors of a lookup (or a bag) over a `rows x dim` float table and int64 indices.
private func withLookup<R>(_ weight: [Float], rows: Int, dim: Int, _ indices: [Int64], offsets: [Int64]? = nil,
                           _ body: (UnsafePointer<ek_table>, UnsafePointer<ek_bag_input>) -> R) -> R {
    var weight = weight
    return weight.withUnsafeMutableBytes { w in indices.withUnsafeBytes { ix in
        var t = ek_table()
        t.struct_size = Int64(MemoryLayout<ek_table>.size)
        (t.rows, t.dim, t.dtype, t.data) = (Int64(rows), Int64(dim), EK_DTYPE_F32, w.baseAddress)
        var input = ek_bag_input()
        input.struct_size = Int64(MemoryLayout<ek_bag_input>.size)
        (input.index_type, input.indices, input.num_indices) = (EK_INDEX_I64, ix.baseAddress, Int64(indices.count))
        func go(_ off: UnsafeRawPointer?) -> R {
            input.offsets = off
            input.num_bags = Int64(offsets?.count ?? 0)
            return body(&t, &input)
        }
        guard let offsets else { return go(nil) }
        return offsets.withUnsafeBytes { go($0.baseAddress) }
    } }
}
