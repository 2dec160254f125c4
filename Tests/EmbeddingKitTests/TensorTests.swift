import Testing
@testable import EmbeddingKit

@Suite("Tensor")
struct TensorTests {
    @Test("prints like PyTorch")
    func printing() {
        #expect(Tensor([[1.0, 2], [3, 4]]).description == "tensor([[1., 2.],\n        [3., 4.]])")
        #expect(Tensor([0.0813, -0.2706, -0.4212]).description == "tensor([ 0.0813, -0.2706, -0.4212])")
        #expect(Tensor(indices: [[0, 1, 2], [0, 4, 5]]).description == "tensor([[0, 1, 2],\n        [0, 4, 5]])")
        #expect(Tensor([1.2580e+00, 9.1458e-06]).description == "tensor([1.2580e+00, 9.1458e-06])")
        let p = Tensor([0.5])
        p.requiresGrad = true
        #expect(p.description == "tensor([0.5000], requires_grad=True)")
        #expect(softmax(p.unsqueeze(0)).description == "tensor([[1.]], grad_fn=<SoftmaxBackward0>)")
        #expect(Tensor.zeros([2, 0]).description == "tensor([], size=(2, 0))")
    }

    @Test("a seeded generator repeats itself")
    func reproducible() {
        manualSeed(7)
        let a = Tensor.randn([4, 3]), i = Tensor.randint(0, 10, [5])
        manualSeed(7)
        #expect(Tensor.randn([4, 3]).scalars == a.scalars)
        #expect(Tensor.randint(0, 10, [5]).indices == i.indices)
        #expect(Tensor.rand([1000]).scalars.allSatisfy { $0 >= 0 && $0 < 1 })
    }

    @Test("shapes, broadcasting and reductions give PyTorch's values")
    func values() {
        let x = Tensor([[1.0, 2, 3], [4, 5, 6]])
        #expect((x + Tensor([10.0, 20, 30])).scalars == [11, 22, 33, 14, 25, 36])
        #expect((x * Tensor([[2.0], [3]])).scalars == [2, 4, 6, 12, 15, 18])
        #expect(x.transpose(0, 1).scalars == [1, 4, 2, 5, 3, 6])
        #expect(x.sum(dim: 0).scalars == [5, 7, 9])
        #expect(x.mean(dim: 1).scalars == [2, 5])
        #expect(x.max(dim: 1).indices.indices == [2, 2])
        #expect(Tensor.matmul(x, x.transpose(0, 1)).scalars == [14, 32, 32, 77])
        #expect(Tensor.stack([x, x]).shape == [2, 2, 3])
        #expect(x.reshape([-1]).shape == [6])
        #expect(Tensor.arange(5).indices == [0, 1, 2, 3, 4])
        #expect((x .> Tensor(scalar: 3)).scalars == [0, 0, 0, 1, 1, 1])
    }

    @Test("gradients accumulate across backward calls; sparse ones concatenate")
    func accumulation() throws {
        let w = Tensor.ones([4, 2])
        w.requiresGrad = true
        try embedding(Tensor(indices: [1, 2]), w, sparse: true).sum().backward()
        try embedding(Tensor(indices: [2, 3]), w, sparse: true).sum().backward()
        let grad = try #require(w.grad?.sparse)
        #expect(grad.rows.indices == [1, 2, 2, 3])
        let coalesced = grad.coalesced()
        #expect(coalesced.rows.indices == [1, 2, 3] && coalesced.values.scalars == [1, 1, 2, 2, 1, 1])
        w.zeroGrad()
        #expect(w.grad == nil)
        (w * 2).sum().backward()
        (w * 3).sum().backward()
        #expect(w.grad!.toDense().scalars.allSatisfy { $0 == 5 })
        #expect(withoutGradients { (w * 2).requiresGrad } == false)
        #expect(w.detach().requiresGrad == false)
    }

    @Test("bad data throws and changes nothing")
    func errors() throws {
        let bag = try EmbeddingBag(count: 5, dimension: 2, mode: .sum, maxNorm: 1)
        let before = bag.weight.scalars
        #expect(throws: EmbeddingKitError(.shape, "embedding_bag: offsets must be non-decreasing, offsets[1]=3 > offsets[2]=1")) {
            try bag(Tensor(indices: [0, 1, 2, 3]), offsets: Tensor(indices: [0, 3, 1]))
        }
        #expect(throws: EmbeddingKitError(.shape, "embedding_bag: per_sample_weights has 3 entries, input has 4")) {
            try bag(Tensor(indices: [0, 1, 2, 3]), offsets: Tensor(indices: [0, 2]), perSampleWeights: Tensor([1.0, 1, 1]))
        }
        #expect(throws: EmbeddingKitError.self) { try bag(Tensor(indices: [0, 1, 2, 7]), offsets: Tensor(indices: [0, 2])) }
        #expect(bag.weight.scalars == before)   // max_norm did not renormalise anything
        #expect(throws: EmbeddingKitError(.indexOutOfRange, "cross_entropy: target 3 at position 1 is out of range for 3 classes")) {
            try crossEntropy(Tensor([[1.0, 2, 3], [1, 2, 3]]), Tensor(indices: [0, 3]))
        }
    }
}
