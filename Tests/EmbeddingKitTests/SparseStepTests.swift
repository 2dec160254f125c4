import Testing
@testable import EmbeddingKit

/// The sparse training step without per-step allocations: plain SGD applies an uncoalesced gradient
/// directly, the other optimizers coalesce into kept scratch storage, and `zeroGrad()` hands a sparse
/// gradient's storage to the next backward of the same table.
@Suite("Sparse training step")
struct SparseStepTests {
    /// A 2-D parameter with a sparse gradient set by hand (rows may repeat).
    private func table(_ values: [[Float]], gradientRows: [Int64], gradientValues: [[Float]]) -> Tensor {
        let w = Tensor(values)
        w.requiresGrad = true
        let dim = values[0].count
        w.grad = .sparse(SparseGradient(rows: Tensor(shape: [gradientRows.count], ints: gradientRows),
                                        values: Tensor(shape: [gradientRows.count, dim], floats: gradientValues.flatMap { $0 }),
                                        shape: [values.count, dim]))
        return w
    }

    @Test("plain SGD applies duplicate rows one entry at a time, in order, as PyTorch's add_(grad, alpha=-lr)")
    func plainSGDScatters() throws {
        let start: [[Float]] = [[1, 2], [3, 4], [5, 6], [7, 8]]
        let rows: [Int64] = [2, 0, 2, 2, 3]
        let values: [[Float]] = [[0.1, -0.2], [1, 1], [0.3, 0.7], [-1e-3, 2.5], [0.25, 0.5]]
        let lr: Float = 0.1
        let w = table(start, gradientRows: rows, gradientValues: values)
        try SGD([w], learningRate: lr).step()
        var expected = start.flatMap { $0 }
        for (k, r) in rows.enumerated() {
            for d in 0..<2 { expected[Int(r) * 2 + d] += -lr * values[k][d] }
        }
        #expect(w.scalars == expected)                             // bit for bit
        #expect(Array(w.scalars[2..<4]) == [3, 4])                 // row 1 has no gradient: untouched

        // the same table through the coalesced update (rows summed first): equal up to rounding
        let c = table(start, gradientRows: rows, gradientValues: values)
        c.grad = .sparse(c.grad!.sparse!.coalesced())
        try SGD([c], learningRate: lr).step()
        #expect(w.allClose(c, rtol: 1e-6, atol: 1e-7))
        #expect(Array(w.scalars[0..<2]) == Array(c.scalars[0..<2]))  // rows present once: identical
        #expect(Array(w.scalars[6..<8]) == Array(c.scalars[6..<8]))
    }

    @Test("SGD with momentum or weight decay coalesces duplicate rows first (one buffer update per row)")
    func momentumCoalesces() throws {
        let start: [[Float]] = [[1, 2], [3, 4], [5, 6]]
        let rows: [Int64] = [2, 0, 2]
        let values: [[Float]] = [[0.5, -1], [1, 1], [0.25, 2]]
        let w = table(start, gradientRows: rows, gradientValues: values)
        let sgd = try SGD([w], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        for _ in 0..<2 { try sgd.step() }   // the same gradient twice
        // by hand, per row: g = sum + wd * W; buf = 0.9 * buf + g; W -= lr * buf
        var expected = start.flatMap { $0 }, buffer = [Float](repeating: 0, count: 6)
        let sums: [Int: [Float]] = [0: [1, 1], 2: [0.75, 1]]
        for _ in 0..<2 {
            for (r, g) in sums {
                for d in 0..<2 {
                    let i = r * 2 + d
                    buffer[i] = 0.9 * buffer[i] + (g[d] + 0.01 * expected[i])
                    expected[i] -= 0.1 * buffer[i]
                }
            }
        }
        #expect(w.allClose(Tensor(shape: [3, 2], values: expected), rtol: 1e-6, atol: 1e-7))
        #expect(Array(w.scalars[2..<4]) == [3, 4])
    }

    @Test("Adagrad and Adam give the same tables whether a step's gradient is coalesced or not")
    func coalescingOptimizersReuseScratch() throws {
        let start: [[Float]] = [[1, 2], [3, 4], [5, 6], [7, 8]]
        let batches: [([Int64], [[Float]])] = [
            ([3, 1, 3], [[0.5, -1], [1, 1], [0.25, 2]]),
            ([0, 1, 2, 3, 0, 1], [[1, 2], [3, 4], [5, 6], [7, 8], [-1, -2], [0.5, 0.5]]),   // more entries: scratch grows
            ([2], [[0.1, 0.2]]),                                                           // fewer: scratch kept
        ]
        let makers: [(String, ([Tensor]) throws -> any Optimizer)] = [
            ("Adagrad", { try Adagrad($0, learningRate: 0.5, weightDecay: 0.1) }),
            ("Adam", { try Adam($0, learningRate: 0.1, weightDecay: 0.01) }),
            ("SGD+momentum", { try SGD($0, learningRate: 0.1, momentum: 0.5) }),
        ]
        for (name, make) in makers {
            let a = Tensor(start), b = Tensor(start)
            let optA = try make([a]), optB = try make([b])
            for (rows, values) in batches {
                let ga = table(start, gradientRows: rows, gradientValues: values).grad!
                a.grad = ga                                        // coalesced inside step()
                b.grad = .sparse(ga.sparse!.coalesced())           // coalesced before
                try optA.step()
                try optB.step()
                #expect(a.scalars == b.scalars, "\(name)")
            }
        }
    }

    @Test("zeroGrad() hands a sparse gradient's storage to the next backward; a held gradient keeps its values")
    func gradientStorageIsReused() throws {
        manualSeed(11)
        let bag = try EmbeddingBag(count: 10, dimension: 3, mode: .sum, paddingIndex: 0, sparse: true)
        // padding dropped: 2 entries of 4, then 4 of 4 (the kept storage grows in place), then 6 of 6 (too small: fresh)
        let inputs = [Tensor(indices: [[0, 1], [2, 0]]), Tensor(indices: [[3, 4], [5, 6]]), Tensor(indices: [[1, 2, 3], [4, 5, 6]])]
        let scales: [Float] = [1, 2, 3]
        var held: [(SparseGradient, [Int64], [Float])] = []
        for (input, scale) in zip(inputs, scales) {
            bag.zeroGrad()
            try (bag(input) * scale).sum().backward()
            let g = bag.weight.grad!.sparse!
            let expectedRows = input.indices.filter { $0 != 0 }
            #expect(g.rows.indices == expectedRows)
            #expect(g.values.scalars == [Float](repeating: scale, count: expectedRows.count * 3))
            held.append((g, g.rows.indices, g.values.scalars))
        }
        for (g, rows, values) in held {                             // every gradient a program kept is intact
            #expect(g.rows.indices == rows && g.values.scalars == values)
        }

        // the same through embedding(): a kept gradient is not overwritten by the next backward
        let embed = try Embedding(count: 5, dimension: 2, sparse: true)
        try embed(Tensor(indices: [1, 2, 1])).sum().backward()
        let first = embed.weight.grad!.sparse!
        embed.zeroGrad()
        try (embed(Tensor(indices: [3, 4, 0])) * 5).sum().backward()
        #expect(first.rows.indices == [1, 2, 1] && first.values.scalars == [1, 1, 1, 1, 1, 1])
        #expect(embed.weight.grad!.sparse!.rows.indices == [3, 4, 0])
        #expect(embed.weight.grad!.sparse!.values.scalars == [5, 5, 5, 5, 5, 5])
    }

    @Test("training with reused gradient storage gives the table of training with fresh gradients, bit for bit")
    func reuseChangesNoResult() throws {
        func train(keepGradients: Bool) throws -> [Float] {
            let bag = try EmbeddingBag(count: 50, dimension: 4, mode: .mean, sparse: true, generator: Generator(seed: 7))
            let head = try Linear(4, 3, generator: Generator(seed: 8))
            let sgd = try SGD(bag.parameters() + head.parameters(), learningRate: 0.5)
            var kept: [Gradient] = []
            for step in 0..<12 {
                let input = Tensor(shape: [6, 5], indices: (0..<30).map { Int64(($0 * 7 + step * 13) % 50) })
                let target = Tensor(shape: [6], indices: (0..<6).map { Int64(($0 + step) % 3) })
                sgd.zeroGrad()
                try crossEntropy(head(try bag(input)), target).backward()
                if keepGradients { kept.append(bag.weight.grad!) }   // held: the storage cannot be reused
                try sgd.step()
            }
            return bag.weight.scalars + head.weight.scalars + head.bias!.scalars
        }
        let reused = try train(keepGradients: false), fresh = try train(keepGradients: true)
        #expect(reused == fresh)
    }

    @Test("plain SGD applies a sparse bag's gradient without making it, bit for bit as the made gradient")
    func fusedBagStep() throws {
        let cases: [(EmbeddingBagMode, Bool, Int?)] = [(.sum, false, nil), (.sum, true, 0), (.mean, false, 3), (.mean, true, nil),
                                                       (.max, false, nil)]
        for (mode, weighted, padding) in cases {
            let label = "\(mode) weighted=\(weighted) padding=\(String(describing: padding))"
            let input = Tensor(indices: (0..<600).map { ($0 * 37 + $0 / 7) % 40 })      // repeats within and across bags
            let offsets = Tensor(indices: (0..<50).map { $0 * 12 - ($0 % 3 == 1 ? 5 : 0) })  // uneven bags
            let psw = weighted ? Tensor(shape: [600], floats: (0..<600).map { Float($0 % 11) / 4 - 0.5 }) : nil
            let g = Tensor(shape: [50, 16], floats: (0..<800).map { Float(($0 * 29) % 17) / 8 - 1 })
            func stepped(makeFirst: Bool) throws -> (table: [Float], gradient: SparseGradient) {
                let w = Tensor(shape: [40, 16], floats: (0..<640).map { Float(($0 * 13) % 23) / 11 - 1 })
                w.requiresGrad = true
                let out = try embeddingBag(input, w, offsets: offsets, mode: mode, perSampleWeights: psw, paddingIndex: padding,
                                           sparse: true)
                (out * g).sum().backward()
                let gradient = w.grad!.sparse!
                if makeFirst { _ = gradient.values }
                #expect((gradient.entries.pending != nil) == !makeFirst, "\(label)")
                try SGD([w], learningRate: 0.25).step()
                return (w.scalars, gradient)
            }
            let fused = try stepped(makeFirst: false), made = try stepped(makeFirst: true)
            #expect(fused.table == made.table, "\(label)")                  // bit for bit
            #expect(fused.gradient.entries.pending != nil, "\(label): SGD made the entries")
            // made after the step (the table has changed): the gradient the backward stands for
            #expect(fused.gradient.rows.indices == made.gradient.rows.indices, "\(label)")
            #expect(fused.gradient.values.scalars == made.gradient.values.scalars, "\(label)")
            // and the step is W - lr * (the made gradient's rows, one entry at a time)
            var expected = (0..<640).map { Float(($0 * 13) % 23) / 11 - 1 }
            let rows = made.gradient.rows.indices, values = made.gradient.values.scalars
            for (k, r) in rows.enumerated() { for d in 0..<16 { expected[Int(r) * 16 + d] += -0.25 * values[k * 16 + d] } }
            #expect(fused.table == expected, "\(label)")
        }
    }

    @Test("each optimizer applies a sparse bag's gradient fused, bit for bit as the made gradient, every mode")
    func fusedBagStepEveryOptimizer() throws {
        let optimizers: [(String, Bool, ([Tensor]) throws -> Optimizer)] = [
            ("SGD", true, { try SGD($0, learningRate: 0.25) }),
            ("SGD momentum + decay", true, { try SGD($0, learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01) }),
            ("SGD nesterov", true, { try SGD($0, learningRate: 0.1, momentum: 0.5, nesterov: true) }),
            ("Adagrad", true, { try Adagrad($0, learningRate: 0.1) }),
            ("Adagrad decay", true, { try Adagrad($0, learningRate: 0.1, learningRateDecay: 0.1, weightDecay: 0.01, epsilon: 1e-6) }),
            ("Adam", true, { try Adam($0, learningRate: 0.01) }),
            ("AdamW", true, { try AdamW($0, learningRate: 0.01, weightDecay: 0.1) }),
            ("SparseAdam", true, { try SparseAdam($0, learningRate: 0.01) }),
            ("Adam coupled decay", false, { try Adam($0, learningRate: 0.01, weightDecay: 0.1) }),
        ]
        let cases: [(EmbeddingBagMode, Bool, Int?, Bool)] = [(.sum, false, nil, false), (.sum, true, 0, false),
                                                             (.mean, false, 3, true), (.mean, true, nil, false),
                                                             (.max, false, nil, false), (.max, false, 5, false)]
        for (name, fuses, make) in optimizers {
            for (mode, weighted, padding, freq) in cases {
                let label = "\(name): \(mode) weighted=\(weighted) padding=\(String(describing: padding)) freq=\(freq)"
                let input = Tensor(indices: (0..<600).map { ($0 * 37 + $0 / 7) % 40 })
                let offsets = Tensor(indices: (0..<50).map { $0 * 12 - ($0 % 3 == 1 ? 5 : 0) })
                let psw = weighted ? Tensor(shape: [600], floats: (0..<600).map { Float($0 % 11) / 4 - 0.5 }) : nil
                func trained(makeFirst: Bool) throws -> [Float] {
                    let w = Tensor(shape: [40, 16], floats: (0..<640).map { Float(($0 * 13) % 23) / 11 - 1 })
                    w.requiresGrad = true
                    let optimizer = try make([w])
                    for step in 0..<3 {     // state carried from step to step
                        let g = Tensor(shape: [50, 16], floats: (0..<800).map { Float(($0 * 29 + step * 5) % 17) / 8 - 1 })
                        optimizer.zeroGrad()
                        let out = try embeddingBag(input, w, offsets: offsets, mode: mode, perSampleWeights: psw,
                                                   paddingIndex: padding, scaleGradByFrequency: freq, sparse: true)
                        (out * g).sum().backward()
                        let gradient = w.grad!.sparse!
                        if makeFirst { _ = gradient.values }
                        try optimizer.step()
                        #expect((gradient.entries.pending != nil) == (fuses && !makeFirst), "\(label): fused path taken")
                    }
                    return w.scalars
                }
                let fused = try trained(makeFirst: false), made = try trained(makeFirst: true)
                #expect(fused == made, "\(label)")   // bit for bit
            }
        }
    }
}

