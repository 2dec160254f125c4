import Testing
@testable import EmbeddingKit

/// The behaviours the four seed documents show, in Swift. Where a document prints PyTorch's numbers,
/// its printed weights go in and its printed outputs are expected (to the 4 decimals it shows).
@Suite("Seeds")
struct SeedTests {
    @Test("001: lookup shapes, out-of-range index, cat after noise, unsqueeze")
    func seed001() throws {
        manualSeed(1)
        let emb = try Embedding(count: 10, dimension: 3)
        #expect(try emb(Tensor.randint(0, 10, [10])).shape == [10, 3])
        #expect(try emb(Tensor.randint(0, 10, [5])).shape == [5, 3])

        let before = emb.weight.scalars
        #expect {
            _ = try emb(Tensor(indices: [10]))
        } throws: { error in
            let e = error as! EmbeddingKitError
            return e.kind == .indexOutOfRange && e.message == "embedding: index 10 at position 0 is out of range for 10 embeddings"
        }
        #expect(emb.weight.scalars == before)

        let labels = Tensor.randint(0, 10, [64])
        let embedded = try emb(labels)
        #expect(embedded.shape == [64, 3])
        let noise = Tensor.randn([64, 10])
        let joined = Tensor.cat([noise, embedded], dim: 1)
        #expect(joined.shape == [64, 13])
        for r in [0, 17, 63] {
            #expect(Array(joined[r].scalars[10...]) == embedded[r].scalars)   // the embedding comes after the noise
            #expect(Array(joined[r].scalars[..<10]) == noise[r].scalars)
        }
        #expect(joined.unsqueeze(-1).shape == [64, 13, 1])
    }

    /// Example 2 of seed 002: PyTorch's printed weights, padding_idx 2, max_norm 1.
    @Test("002: max_norm renormalises the looked-up rows in place, as PyTorch printed")
    func seed002MaxNorm() throws {
        let printed = Tensor([[-0.2921, 0.3198, -1.4463, -0.0211], [1.6262, -1.3835, -0.6565, -0.7844],
                              [0.0000, 0.0000, 0.0000, 0.0000], [-0.2434, 0.1026, 0.3376, 2.4716],
                              [-1.1623, -0.2063, 0.7496, 0.3677], [-1.6133, -1.6416, 0.2389, -0.4451],
                              [-1.8385, -0.1169, 0.0202, 0.8692], [1.0441, -0.5111, -0.8074, -0.1289]])
        let layer = try Embedding(pretrained: printed, freeze: false, paddingIndex: 2, maxNorm: 1, normType: 2)
        let out = try layer(Tensor(indices: [1, 3, 4]))
        #expect(out.allClose(Tensor([[0.6869, -0.5844, -0.2773, -0.3313], [-0.0970, 0.0409, 0.1346, 0.9853],
                                     [-0.8039, -0.1427, 0.5184, 0.2543]]), rtol: 0, atol: 2e-4))
        let norms = { withoutGradients { layer.weight.norm(dim: -1) } }
        #expect(norms().allClose(Tensor([1.5099, 1.0000, 0.0000, 1.0000, 1.0000, 2.3564, 2.0371, 1.4212]), rtol: 0, atol: 2e-4))
        _ = try layer(Tensor(indices: [0, 2]))
        #expect(norms().allClose(Tensor([1.0000, 1.0000, 0.0000, 1.0000, 1.0000, 2.3564, 2.0371, 1.4212]), rtol: 0, atol: 2e-4))
        let untouched = Array(layer.weight.scalars[20...])
        _ = try layer(Tensor(indices: [7]))
        #expect(norms().allClose(Tensor([1.0000, 1.0000, 0.0000, 1.0000, 1.0000, 2.3564, 2.0371, 1.0000]), rtol: 0, atol: 2e-4))
        #expect(Array(layer.weight.scalars[20..<28]) == Array(untouched[0..<8]))   // rows 5 and 6 unchanged
    }

    @Test("002: the padding row is zero and never changes through training")
    func seed002Padding() throws {
        manualSeed(2)
        let layer = try Embedding(count: 8, dimension: 4, paddingIndex: 2)
        #expect(layer.weight[2].scalars == [0, 0, 0, 0])
        let optimizer = try SGD(layer.parameters(), learningRate: 0.5, momentum: 0.9, weightDecay: 0.01)
        for _ in 0..<5 {
            optimizer.zeroGrad()
            let loss = try layer(Tensor(indices: [[2, 1, 2], [3, 2, 7]])).pow(2).sum()
            loss.backward()
            #expect(layer.weight.grad!.toDense()[2].scalars == [0, 0, 0, 0])
            try optimizer.step()
        }
        #expect(layer.weight[2].scalars == [0, 0, 0, 0])
    }

    /// Seed 003's EmbeddingBag(8, 5, mode='sum') with the weights PyTorch printed.
    private func seedBag() throws -> EmbeddingBag {
        let bag = try EmbeddingBag(count: 8, dimension: 5, mode: .sum)
        bag.weight.floats = FloatStorage(Tensor([[-1.7122, 0.3235, -0.6941, -0.1128, -0.3620], [-0.0215, -0.3685, -0.2244, 2.4480, -1.4205],
                                    [-1.0848, 0.3204, -1.3139, 0.8290, -0.2611], [0.3025, -1.0016, -0.2019, 0.0992, -1.1972],
                                    [1.4835, -0.5860, 0.7933, -0.7355, -0.9182], [-1.0781, 0.0139, 0.6118, 1.1398, 0.1750],
                                    [1.0420, 0.1025, 0.6203, -0.2963, 0.2832], [0.8905, -0.9703, 1.7193, -0.1643, 1.8135]]).scalars)
        return bag
    }

    @Test("003: EmbeddingBag sums, offsets and per-sample weights, as PyTorch printed")
    func seed003Bags() throws {
        let bag = try seedBag()
        let sums = Tensor([[-1.1063, -0.0481, -1.5382, 3.2771, -1.6816], [1.7861, -1.5875, 0.5914, -0.6363, -2.1154]])
        #expect(try bag(Tensor(indices: [[1, 2], [3, 4]])).allClose(sums, rtol: 0, atol: 2e-4))
        let single = try bag(Tensor(indices: [[1]])) + bag(Tensor(indices: [[2]]))
        #expect(single.allClose(sums[0].unsqueeze(0), rtol: 0, atol: 2e-4))
        #expect((bag.weight[3] + bag.weight[4]).allClose(sums[1], rtol: 0, atol: 2e-4))
        #expect(try bag(Tensor(indices: [1, 2, 3, 4]), offsets: Tensor(indices: [0, 2])).allClose(sums, rtol: 0, atol: 2e-4))

        let weighted = Tensor([[-0.5532, -0.0241, -0.7691, 1.6385, -0.8408], [1.2473, -0.6691, 0.5942, -0.5686, -0.9740]])
        #expect(try bag(Tensor(indices: [[1, 2], [3, 4]]), perSampleWeights: Tensor([[0.5, 0.5], [0.2, 0.8]]))
            .allClose(weighted, rtol: 0, atol: 2e-4))
        #expect(try bag(Tensor(indices: [1, 2, 3, 4]), offsets: Tensor(indices: [0, 2]),
                        perSampleWeights: Tensor([0.5, 0.5, 0.2, 0.8])).allClose(weighted, rtol: 0, atol: 2e-4))
        #expect((0.5 * bag.weight[1] + 0.5 * bag.weight[2]).allClose(weighted[0], rtol: 0, atol: 2e-4))
    }

    @Test("003: padding index 0 gives a zero row")
    func seed003Padding() throws {
        manualSeed(4321)
        let embedding = try Embedding(count: 8, dimension: 5, paddingIndex: 0)
        let out = try embedding(Tensor(indices: [0, 3, 2]))
        #expect(out[0].scalars == [0, 0, 0, 0, 0])
        #expect(out[1].scalars == embedding.weight[3].scalars)
        let bag = try EmbeddingBag(count: 8, dimension: 5, mode: .sum, paddingIndex: 0)
        let bags = try bag(Tensor(indices: [[0, 0], [3, 0]]))
        #expect(bags[0].scalars == [0, 0, 0, 0, 0])
        #expect(bags[1].scalars == bag.weight[3].scalars)
    }

    @Test("000: the sparse embedding gradient has rows only for the batch; other words keep their values")
    func seed000SparseGradient() throws {
        manualSeed(0)
        let embed = try Embedding(count: 10, dimension: 20, sparse: true)
        let head = try Linear(3 * 20, 10)
        let optimizer = try SGD(embed.parameters() + head.parameters(), learningRate: 0.01)
        let input = Tensor(indices: [[0, 1, 2], [0, 4, 5]]), target = Tensor(indices: [3, 6])
        let before = embed.weight.scalars
        let logits = head(try embed(input).reshape([2, 60]))
        try crossEntropy(logits, target).backward()
        let grad = try #require(embed.weight.grad?.sparse)
        #expect(grad.rows.indices == [0, 1, 2, 0, 4, 5])                       // uncoalesced, input order
        #expect(grad.values.shape == [6, 20] && grad.shape == [10, 20])
        #expect(embed.weight.grad!.description.hasPrefix("tensor(indices=tensor([[0, 1, 2, 0, 4, 5]]),"))
        #expect(embed.weight.grad!.description.hasSuffix("size=(10, 20), nnz=6, layout=torch.sparse_coo)"))
        try optimizer.step()
        let after = embed.weight.scalars
        for row in 0..<10 {
            let changed = after[(row * 20)..<(row * 20 + 20)] != before[(row * 20)..<(row * 20 + 20)]
            #expect(changed == [0, 1, 2, 4, 5].contains(row), "row \(row)")
        }
    }
}

@Suite("Choosing rows after the forward pass (seed 000's question)")
struct RowSelectionTests {
    /// The seed's model without the transformer: embed 3 words, predict the 4th.
    func run(sparse: Bool) throws {
        manualSeed(11)
        let embed = try Embedding(count: 10, dimension: 4, sparse: sparse)
        let head = try Linear(12, 10)
        let optimizer = try SGD(embed.parameters() + head.parameters(), learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        let input = Tensor(indices: [[0, 1, 2], [0, 4, 5]]), target = Tensor(indices: [3, 6])
        for step in 0..<3 {
            optimizer.zeroGrad()
            let logits = head(try embed(input).reshape([2, 12]))
            try crossEntropy(logits, target).backward()
            // after seeing the prediction: a wrong first sentence lets only "ate"/"an" learn, else only "went"/"to"
            let allowed = logits.argmax(dim: 1).indices[0] == 3 ? [4, 5] : [1, 2]
            let before = embed.weight.scalars
            embed.weight.restrictGradient(toRows: allowed)
            try optimizer.step()
            for row in 0..<10 {
                let changed = embed.weight.scalars[(row * 4)..<(row * 4 + 4)] != before[(row * 4)..<(row * 4 + 4)]
                #expect(changed == allowed.contains(row), "step \(step), sparse \(sparse), row \(row)")
            }
        }
    }

    @Test func sparseGradients() throws { try run(sparse: true) }
    @Test func denseGradientsWithWeightDecayAndMomentum() throws { try run(sparse: false) }

    @Test func excludingRows() throws {
        let w = Tensor.ones([4, 2])
        w.requiresGrad = true
        (w * w).sum().backward()
        w.restrictGradient(excludingRows: [0, 3])
        #expect(w.grad!.sparse!.rows.indices == [1, 2])
    }
}
