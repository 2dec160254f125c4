import Testing
@testable import EmbeddingKit

/// Finite-difference checks of every differentiable op: the analytic gradient autograd gives a
/// parameter must match central differences of a scalar function of it.
@Suite("Gradients (finite differences)")
struct GradientTests {
    /// Compares `parameter.grad` after `loss().backward()` with (loss(p + ε) - loss(p - ε)) / 2ε.
    /// Elements in `skipping` are not compared (where the op defines the gradient as zero on purpose).
    func check(_ parameter: Tensor, epsilon: Float = 1e-2, tolerance: Float = 1e-2, skipping: Set<Int> = [],
               _ loss: () throws -> Tensor, sourceLocation: SourceLocation = #_sourceLocation) throws {
        parameter.zeroGrad()
        try loss().backward()
        let analytic = try #require(parameter.grad, sourceLocation: sourceLocation).toDense().scalars
        for i in 0..<parameter.count where !skipping.contains(i) {
            let saved = parameter.floats[i]
            parameter.floats[i] = saved + epsilon
            let plus = try withoutGradients { try loss().item }
            parameter.floats[i] = saved - epsilon
            let minus = try withoutGradients { try loss().item }
            parameter.floats[i] = saved
            let numeric = (plus - minus) / (2 * epsilon)
            #expect(abs(numeric - analytic[i]) <= tolerance * max(1, abs(numeric)),
                    "element \(i): numeric \(numeric), analytic \(analytic[i])", sourceLocation: sourceLocation)
        }
    }

    /// A fixed random projection, so that `(f(x) * w).sum()` exercises every output element.
    func projection(_ shape: [Int], seed: UInt64 = 99) -> Tensor { Tensor.randn(shape, generator: Generator(seed: seed)) }

    /// Values at least 0.1 apart and away from 0: no ties or kinks within ±ε (max, relu).
    func separated(_ shape: [Int], seed: UInt64) -> Tensor {
        let n = shape.reduce(1, *), offset = 0.065 * Float(n)
        var values: [Float] = (0..<n).map { (i: Int) -> Float in Float(i + 1) * 0.13 - offset }
        var rng = SplitMix64(seed: seed)
        values.shuffle(using: &rng)
        let t = Tensor(shape: shape, values: values.map { abs($0) < 0.05 ? $0 + 0.1 : $0 })
        t.requiresGrad = true
        return t
    }

    func parameter(_ shape: [Int], seed: UInt64) -> Tensor {
        let t = Tensor.randn(shape, generator: Generator(seed: seed))
        t.requiresGrad = true
        return t
    }

    @Test func arithmeticWithBroadcasting() throws {
        let a = parameter([3, 4], seed: 1), b = parameter([4], seed: 2), c = parameter([3, 1], seed: 3)
        let w = projection([3, 4])
        let f = { ((a * b + c - a / (b * b + 2)) * w).sum() }
        try check(a, f)
        try check(b, f)
        try check(c, f)
        try check(a) { (-a).pow(2).sum() + (a * a + 1).sqrt().mean() }
    }

    @Test func reductions() throws {
        let x = parameter([3, 5], seed: 4)
        try check(x) { (x.sum(dim: 0) * projection([5])).sum() }
        try check(x) { (x.mean(dim: 1, keepDim: true) * projection([3, 1])).sum() }
        let spread = separated([3, 5], seed: 40)
        try check(spread) { (spread.max(dim: 1).values * projection([3])).sum() }
        try check(x) { (x.norm(dim: -1) * projection([3])).sum() }
        try check(x) { x.norm(p: 3, dim: 0).sum() }
    }

    @Test func shapeOperations() throws {
        let x = parameter([2, 3, 4], seed: 5), y = parameter([2, 1, 4], seed: 6)
        try check(x) { (x.permute([2, 0, 1]) * projection([4, 2, 3])).sum() }
        try check(x) { (x.transpose(0, 2).reshape([4, 6]) * projection([4, 6])).sum() }
        try check(y) { (Tensor.cat([x, y], dim: 1) * projection([2, 4, 4])).sum() }
        try check(y) { (Tensor.stack([y.squeeze(1), y.squeeze(1) * 2], dim: 1) * projection([2, 2, 4])).sum() }
        try check(x) { (x[1] * projection([3, 4])).sum() }
    }

    @Test func matmulAndLinear() throws {
        let a = parameter([3, 4], seed: 7), b = parameter([4, 2], seed: 8)
        try check(a) { (Tensor.matmul(a, b) * projection([3, 2])).sum() }
        try check(b) { (Tensor.matmul(a, b) * projection([3, 2])).sum() }
        let x = parameter([2, 3, 4], seed: 9), weight = parameter([5, 4], seed: 10), bias = parameter([5], seed: 11)
        let f = { (linear(x, weight, bias) * self.projection([2, 3, 5])).sum() }
        try check(x, f)
        try check(weight, f)
        try check(bias, f)
        let spread = separated([2, 3, 4], seed: 41)
        try check(spread) { (relu(spread) * projection([2, 3, 4])).sum() }
    }

    @Test func softmaxAndCrossEntropy() throws {
        let x = parameter([4, 6], seed: 12)
        try check(x) { (softmax(x) * projection([4, 6])).sum() }
        try check(x) { (logSoftmax(x, dim: 0) * projection([4, 6])).sum() }
        let target = Tensor(indices: [1, 5, -100, 0])
        for reduction in [Reduction.mean, .sum] {
            try check(x) { try crossEntropy(x, target, labelSmoothing: 0.1, reduction: reduction) }
        }
        try check(x) { (try crossEntropy(x, target, reduction: .none) * projection([4])).sum() }
    }

    @Test func embedding() throws {
        let weight = parameter([6, 3], seed: 13)
        let idx = Tensor(indices: [[1, 4, 1], [0, 1, 5]])
        for sparse in [false, true] {
            try check(weight) { (try EmbeddingKit.embedding(idx, weight, sparse: sparse) * self.projection([2, 3, 3])).sum() }
        }
        // the padding row's gradient is zero by definition, not by calculus: check it directly
        try check(weight, skipping: [3, 4, 5]) {
            (try EmbeddingKit.embedding(idx, weight, paddingIndex: 1) * self.projection([2, 3, 3])).sum()
        }
        #expect(weight.grad!.toDense()[1].scalars == [0, 0, 0])
    }

    @Test func embeddingBagEveryMode() throws {
        let weight = parameter([7, 3], seed: 14)
        let input = Tensor(indices: [2, 5, 5, 1, 6, 0, 3]), offsets = Tensor(indices: [0, 3, 3, 5])
        for mode in [EmbeddingBagMode.sum, .mean, .max] {
            for sparse in [false, true] {
                try check(weight) {
                    (try embeddingBag(input, weight, offsets: offsets, mode: mode, paddingIndex: mode == .max ? nil : 0,
                                      sparse: sparse) * self.projection([4, 3])).sum()
                }
            }
        }
    }

    @Test func embeddingBagPerSampleWeights() throws {
        let weight = parameter([7, 3], seed: 15)
        let input = Tensor(indices: [[2, 5, 1], [6, 0, 3]])
        let psw = Tensor([[0.5, 1.5, 2.0], [0.3, 1.2, 0.7]])
        psw.requiresGrad = true
        for mode in [EmbeddingBagMode.sum, .mean] {
            let f = { (try embeddingBag(input, weight, mode: mode, perSampleWeights: psw) * self.projection([2, 3])).sum() }
            try check(weight, f)
            try check(psw, f)
        }
    }

    @Test func layersAndLosses() throws {
        let x = parameter([3, 6], seed: 21), w = parameter([6], seed: 22), b = parameter([6], seed: 23)
        let p = projection([3, 6])
        let norm = { (try layerNorm(x, normalizedShape: [6], weight: w, bias: b) * p).sum() }
        try check(x, epsilon: 1e-2, tolerance: 2e-2, norm)
        try check(w, norm)
        try check(b, norm)
        try check(x) { (gelu(x) * p).sum() }
        try check(x) { (gelu(x, approximate: .tanh) * p).sum() }
        let target = Tensor(shape: [3], indices: [2, -100, 5])
        try check(x) { try nllLoss(logSoftmax(x), target) }
        try check(x) { try nllLoss(x, target, reduction: .sum) }
        let y = parameter([3, 6], seed: 24)
        try check(x) { mseLoss(x, y) }
        try check(y) { (mseLoss(x, y, reduction: .none) * p).sum() }
    }

    @Test func dropoutUsesItsMaskInBothPasses() throws {
        let x = parameter([4, 8], seed: 25), p = projection([4, 8])
        // the same seed gives the same mask, so the loss is a fixed function of x
        try check(x) { (try dropout(x, p: 0.3, generator: Generator(seed: 7)) * p).sum() }
    }

    @Test func slicingAndBatchedProducts() throws {
        let a = parameter([2, 3, 4], seed: 26), b = parameter([2, 4, 5], seed: 27), bt = parameter([2, 5, 4], seed: 28)
        try check(a) { (Tensor.bmm(a, b) * projection([2, 3, 5])).sum() }
        try check(b) { (Tensor.bmm(a, b) * projection([2, 3, 5])).sum() }
        try check(bt) { (Tensor.bmm(a, bt, transposeB: true) * projection([2, 3, 5])).sum() }
        try check(a) { (a.narrow(2, start: 1, length: 2) * projection([2, 3, 2])).sum() + (a.chunk(3, dim: 1)[2] * projection([2, 1, 4])).sum() }
    }

    @Test func multiheadAttentionAndEncoderLayer() throws {
        let attention = try MultiheadAttention(embedDim: 4, numHeads: 2, generator: Generator(seed: 29))
        let q = parameter([3, 2, 4], seed: 30), kv = parameter([5, 2, 4], seed: 31)
        let f = { (attention(q, kv, kv).output * projection([3, 2, 4])).sum() }
        try check(q, f)
        try check(kv, f)
        try check(attention.inProjWeight, f)
        let layer = try TransformerEncoderLayer(dModel: 4, nHead: 2, dimFeedforward: 6, dropout: 0, generator: Generator(seed: 32))
        let x = parameter([3, 2, 4], seed: 33)
        let g = { (layer(x) * projection([3, 2, 4])).sum() }
        try check(x, tolerance: 3e-2, g)
        try check(layer.linear1.weight, tolerance: 3e-2, g)
    }
}
