import Testing
import EmbeddingKit
import SeedExamples

/// The seed examples (`Examples/Sources/SeedExamples`, `embedkit examples seedNNN`) run, and what they print is
/// what the documents print: the same shapes, and — where the document's printed weights are fed in —
/// the same numbers, to the document's 4 decimals (2e-4: the fed-in weights are themselves rounded).
///
/// These read the programs' printed output; the behaviours underneath are tested in SeedTests.swift.
@Suite("Seed examples")
struct SeedExampleTests {
    // MARK: - 001

    @Test("001: the document's shapes, in order; the out-of-range index; cat puts the embedding after the noise")
    func seed001() throws {
        let out = try chunks(Seed001.self)

        // every `print(....shape)` of the document, in its order
        #expect(out.filter { $0.hasPrefix("torch.Size(") } == [
            "torch.Size([10])", "torch.Size([10, 3])", "torch.Size([5])", "torch.Size([5, 3])",
            "torch.Size([64])", "torch.Size([64, 10])", "torch.Size([64, 3])", "torch.Size([64, 13])",
            "torch.Size([64, 13, 1])",
        ])

        // print(emb.weight): a 10 x 3 parameter, printed twice, unchanged by the lookups between
        let weights = out.filter { $0.hasPrefix("Parameter containing:\ntensor(") }
        try #require(weights.count == 2)
        #expect(weights[0] == weights[1] && weights[0].hasSuffix(", requires_grad=True)"))
        let table = numbers(weights[0])
        #expect(table.count == 30 && lines(weights[0]) == 11)

        // print(X): five indices in 0..<10
        let x = try #require(out.first { $0.hasPrefix("tensor([") && !$0.contains(".") })
        let indices = numbers(x)
        #expect(indices.count == 5 && indices.allSatisfy { $0 >= 0 && $0 < 10 && $0 == $0.rounded() })

        // emb(torch.tensor([0,1])) and emb(torch.tensor([2, 3, 4])) print rows 0-1 and 2-4 of the table
        let lookups = out.filter { $0.hasPrefix("tensor([[") }.prefix(2)
        try #require(lookups.count == 2)
        #expect(numbers(lookups[lookups.startIndex]) == Array(table[0..<6]))
        #expect(numbers(lookups[lookups.startIndex + 1]) == Array(table[6..<15]))

        // emb(torch.tensor([10])): an index-out-of-range error, and the program goes on
        let error = try #require(out.firstIndex { $0.contains("index 10") })
        #expect(out[error].contains("out of range") && out[error].contains("indexOutOfRange"))
        #expect(out[(error + 1)...].contains("torch.Size([64, 13, 1])"))

        // print(X[0]), print(emb.weight[0]), (emb_out[0]), print(cat[0]), then cat[0] after unsqueeze(-1)
        let rows = out.filter { $0.hasPrefix("tensor([") && $0.contains(".") && !$0.hasPrefix("tensor([[") }
        try #require(rows.count == 4)
        let (noise, embedded, joined) = (numbers(rows[0]), numbers(rows[2]), numbers(rows[3]))
        #expect(noise.count == 10 && numbers(rows[1]).count == 3 && embedded.count == 3)
        #expect(joined == noise + embedded)                    // the embedding after the noise
        let column = try #require(out.last)
        #expect(column.hasPrefix("tensor([[") && lines(column) == 13)   // [13, 1]: one value per line
        #expect(numbers(column) == joined)
    }

    // MARK: - 002

    @Test("002: the document's lookups and norms; the padding row stays zero; max_norm rows end at norm 1")
    func seed002() throws {
        let out = try chunks(Seed002.self)
        let tensors = out.filter { $0.contains("tensor(") }
        // the document's printed outputs, in its order (Example 1: In [6]; Example 2: In [8] to In [14])
        try expectInOrder(tensors, [
            ("In [6]", [3, 4], [1.2580, -0.8463, -0.4542, 0.7399, 1.3749, -1.1486, 1.7615, -1.1193, 0.5014, 0.0372, -1.4641, 0.5262]),
            ("In [8]", [8, 4], example2Initial),
            ("In [9]", [8], [1.5099, 2.3675, 0.0000, 2.5085, 1.4459, 2.3564, 2.0371, 1.4212]),
            ("In [10]", [3, 4], [0.6869, -0.5844, -0.2773, -0.3313, -0.0970, 0.0409, 0.1346, 0.9853, -0.8039, -0.1427, 0.5184, 0.2543]),
            ("In [11]", [8, 4], example2AfterLookup),
            ("In [12]", [8], [1.5099, 1.0000, 0.0000, 1.0000, 1.0000, 2.3564, 2.0371, 1.4212]),
            ("In [13]", [8], [1.0000, 1.0000, 0.0000, 1.0000, 1.0000, 2.3564, 2.0371, 1.4212]),
            ("In [14]", [8], [1.0000, 1.0000, 0.0000, 1.0000, 1.0000, 2.3564, 2.0371, 1.0000]),
        ])

        // Example 2's tables: the padding row 2 is zero in every print, the training step included
        let tables = out.filter { $0.hasPrefix("Parameter containing:") }.dropFirst().map(numbers)
        try #require(tables.count == 3 && tables.allSatisfy { $0.count == 32 })
        for table in tables { #expect(Array(table[8..<12]) == [0, 0, 0, 0]) }

        // after `embedding_layer(idx)` with idx [1, 3, 4] and max_norm=1: rows 1, 3, 4 have norm 1 (from
        // the printed values) and rows 0, 5, 6, 7 are exactly as before
        let (before, after) = (tables[0], tables[1])
        for r in [1, 3, 4] {
            let norm = after[(r * 4)..<(r * 4 + 4)].map { $0 * $0 }.reduce(0, +).squareRoot()
            #expect(abs(norm - 1) < 2e-4, "row \(r): norm \(norm)")
        }
        for r in [0, 5, 6, 7] { #expect(after[(r * 4)..<(r * 4 + 4)] == before[(r * 4)..<(r * 4 + 4)], "row \(r)") }
        // the norms printed after each lookup: 1.0000 (to 1e-4) for every row looked up so far
        let norms = tensors.filter { $0.hasPrefix("tensor([") && numbers($0).count == 8 }.map(numbers)
        try #require(norms.count == 4)
        for (k, seen) in [(1, [1, 3, 4]), (2, [0, 1, 3, 4]), (3, [0, 1, 3, 4, 7])] {
            for r in seen { #expect(abs(norms[k][r] - 1) <= 1e-4, "print \(k), row \(r)") }
        }

        // the training step: the padding row's gradient is zero; rows looked up change, row 2 does not
        let padGrad = try #require(out.first { $0.hasPrefix("tensor([0., 0., 0., 0.])") })
        #expect(padGrad == "tensor([0., 0., 0., 0.])")
        let trained = tables[2], lastLookup = tables[1]   // no print between In [14] and the step changes rows 1, 3, 7
        for r in [1, 3, 7] { #expect(trained[(r * 4)..<(r * 4 + 4)] != lastLookup[(r * 4)..<(r * 4 + 4)], "row \(r)") }
    }

    /// Seed 002's `In [8]` and `In [11]` tables.
    let example2Initial: [Float] = [-0.2921, 0.3198, -1.4463, -0.0211, 1.6262, -1.3835, -0.6565, -0.7844,
                                    0.0000, 0.0000, 0.0000, 0.0000, -0.2434, 0.1026, 0.3376, 2.4716,
                                    -1.1623, -0.2063, 0.7496, 0.3677, -1.6133, -1.6416, 0.2389, -0.4451,
                                    -1.8385, -0.1169, 0.0202, 0.8692, 1.0441, -0.5111, -0.8074, -0.1289]
    let example2AfterLookup: [Float] = [-0.2921, 0.3198, -1.4463, -0.0211, 0.6869, -0.5844, -0.2773, -0.3313,
                                        0.0000, 0.0000, 0.0000, 0.0000, -0.0970, 0.0409, 0.1346, 0.9853,
                                        -0.8039, -0.1427, 0.5184, 0.2543, -1.6133, -1.6416, 0.2389, -0.4451,
                                        -1.8385, -0.1169, 0.0202, 0.8692, 1.0441, -0.5111, -0.8074, -0.1289]

    // MARK: - 003

    @Test("003: the document's lookups, bag sums, offsets and weighted sums; the padding row is zero")
    func seed003() throws {
        let out = try chunks(Seed003.self)
        let tensors = out.filter { $0.contains("tensor(") }
        let sums: [Float] = [-1.1063, -0.0481, -1.5382, 3.2771, -1.6816, 1.7861, -1.5875, 0.5914, -0.6363, -2.1154]
        let weighted: [Float] = [-0.5532, -0.0241, -0.7691, 1.6385, -0.8408, 1.2473, -0.6691, 0.5942, -0.5686, -0.9740]
        try expectInOrder(tensors, [
            ("In [6]", [2, 5], [2.0561, -0.8149, -0.7872, -2.3632, 1.0788, -1.5594, -0.2332, 0.6088, -0.5317, -1.3245]),
            ("In [20]", [2, 5], sums),
            ("In [21]", [1, 5], Array(sums[..<5])),
            ("In [22]", [5], Array(sums[5...])),
            ("In [23]", [2, 5], sums),
            ("In [24]", [2, 5], weighted),
            ("In [27]", [5], Array(weighted[..<5])),
            ("In [26]", [5], Array(weighted[5...])),
            ("In [28]", [2, 5], weighted),
        ])
        #expect(out.contains("Embedding(8, 5, padding_idx=0)"))      // In [8]: `embedding`

        // In [8] / In [9]: padding_idx=0 gives a zero row 0, and the lookup of [0, 3, 2] prints the zero
        // row then rows 3 and 2 of that table. (The document's own In [9] output is not rows of its
        // In [8] table — its cells ran out of order — so this compares with the table it prints.)
        let padIndex = try #require(out.firstIndex(of: "Embedding(8, 5, padding_idx=0)"))
        let table = numbers(out[padIndex + 1]), lookup = numbers(out[padIndex + 2])
        try #require(table.count == 40 && lookup.count == 15)
        #expect(Array(table[..<5]) == [0, 0, 0, 0, 0])
        #expect(lookup == [0, 0, 0, 0, 0] + Array(table[15..<20]) + Array(table[10..<15]))
        // rows 1-7 are the first table's (the document reseeds before building it)
        let first = numbers(out[0])
        #expect(Array(table[5...]) == Array(first[5...]))
    }

    // MARK: - helpers

    /// What the example prints, one element per printing statement.
    func chunks(_ example: any SeedExample.Type) throws -> [String] {
        var out: [String] = []
        try example.run { out.append($0) }
        return out
    }

    /// The bracketed elements of a printed tensor, without suffixes such as `grad_fn=<EmbeddingBackward0>`
    /// (whose name holds a digit, and which may stand on a line of its own).
    func elements(_ printed: String) -> Substring? {
        guard let start = printed.range(of: "tensor("), let end = printed.lastIndex(of: "]") else { return nil }
        return printed[start.upperBound...end]
    }

    /// The numbers a printed tensor shows, in order (`grad_fn=<...>` and the like contribute none).
    func numbers(_ printed: String) -> [Float] {
        guard let body = elements(printed) else { return [] }
        let numeric = Set("0123456789.-+e")
        return body.split { !numeric.contains($0) }.compactMap { Float(String($0)) }
    }

    func lines(_ printed: String) -> Int { printed.split(separator: "\n").count }

    /// The shape a printed tensor shows: its rank (the leading brackets) and, for a matrix, its rows (lines).
    func printedShape(_ printed: String, values: Int) -> [Int] {
        guard let body = elements(printed) else { return [] }
        let rank = body.prefix { $0 == "[" }.count
        if rank == 1 { return [values] }
        let rows = body.split(separator: "\n").count
        return rank == 2 ? [rows, values / Swift.max(rows, 1)] : []
    }

    /// Each expected output (a document cell's printed shape and numbers) is printed, in the
    /// document's order, with the same shape and each value within 2e-4.
    func expectInOrder(_ printed: [String], _ expected: [(cell: String, shape: [Int], values: [Float])],
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        var next = printed.startIndex
        for (cell, shape, values) in expected {
            let found = printed[next...].firstIndex { chunk in
                let got = numbers(chunk)
                return got.count == values.count && zip(got, values).allSatisfy { abs($0 - $1) <= 2e-4 }
                    && printedShape(chunk, values: got.count) == shape
            }
            guard let found else {
                Issue.record("\(cell): the document's output \(shape) \(values) is not printed (in order)",
                             sourceLocation: sourceLocation)
                return
            }
            next = found + 1
        }
    }
}
