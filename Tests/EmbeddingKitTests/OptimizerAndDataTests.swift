import Testing
@testable import EmbeddingKit

@Suite("Optimizers and data")
struct OptimizerAndDataTests {
    @Test("000: DataLoader(batch 2) yields the batches the seed prints")
    func seedBatches() throws {
        let input = Tensor(indices: [[0, 1, 2], [0, 4, 5], [0, 7, 8]]), target = Tensor(indices: [[3], [6], [9]])
        let dataset = try TensorDataset(input, target)
        #expect(dataset.count == 3)
        #expect(dataset[1][0].indices == [0, 4, 5] && dataset[1][1].indices == [6])
        let batches = Array(try DataLoader(dataset, batchSize: 2))
        #expect(batches.count == 2)
        #expect(batches[0][0].description == "tensor([[0, 1, 2],\n        [0, 4, 5]])")
        #expect(batches[0][1].description == "tensor([[3],\n        [6]])")
        #expect(batches[1][0].description == "tensor([[0, 7, 8]])")
        #expect(batches[1][1].description == "tensor([[9]])")
        #expect(try Array(DataLoader(dataset, batchSize: 2, dropLast: true)).count == 1)
        let a = Array(try DataLoader(dataset, batchSize: 3, shuffle: true, generator: Generator(seed: 5)))
        let b = Array(try DataLoader(dataset, batchSize: 3, shuffle: true, generator: Generator(seed: 5)))
        #expect(a[0][0].indices == b[0][0].indices)
        #expect(Set(a[0][1].indices) == [3, 6, 9])
    }

    /// Every optimizer lowers a simple quadratic and leaves rows without gradient untouched.
    @Test func optimizersDescendAndStayLazy() throws {
        let makers: [(String, ([Tensor]) throws -> any Optimizer)] = [
            ("SGD", { try SGD($0, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01) }),
            ("Adagrad", { try Adagrad($0, learningRate: 0.5) }),
            ("Adam", { try Adam($0, learningRate: 0.1, weightDecay: 0.01) }),
            ("AdamW", { try AdamW($0, learningRate: 0.1) }),
            ("SparseAdam", { try SparseAdam($0, learningRate: 0.1) }),
        ]
        for (name, make) in makers {
            manualSeed(3)
            let embed = try Embedding(count: 6, dimension: 3, sparse: true)
            let optimizer = try make(embed.parameters())
            let untouched = Array(embed.weight.scalars[12...])      // rows 4 and 5 are never looked up
            let loss = { try embed(Tensor(indices: [0, 1, 2, 3, 1])).pow(2).sum() }
            let first = try loss().item
            for _ in 0..<20 {
                optimizer.zeroGrad()
                try loss().backward()
                try optimizer.step()
            }
            #expect(try loss().item < 0.5 * first, "\(name)")
            #expect(Array(embed.weight.scalars[12...]) == untouched, "\(name)")
        }
    }

    /// SparseAdam's first step from zero moments moves each present weight by lr * g / (|g| + eps'),
    /// i.e. by almost exactly lr against the sign of its gradient (PyTorch's well-known first step).
    @Test func sparseAdamFirstStep() throws {
        let w = Tensor([[1.0, -2], [3, 4]])
        w.requiresGrad = true
        let optimizer = try SparseAdam([w], learningRate: 0.1)
        try embedding(Tensor(indices: [1]), w, sparse: true).sum().backward()
        try optimizer.step()
        #expect(w.allClose(Tensor([[1.0, -2], [2.9, 3.9]]), rtol: 0, atol: 1e-5))
    }
}
