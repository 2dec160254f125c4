import Foundation
import Testing
@testable import EmbeddingKit

/// The layers and losses against values PyTorch computed (Tests/Fixtures/generate_layers.py writes
/// Tests/Fixtures/layers.json): outputs, and the gradients of sum(out * g) for inputs and parameters.
@Suite("Layers vs PyTorch")
struct LayerParityTests {
    struct Encoded: Decodable { let shape: [Int]; let values: [Double] }
    struct Case: Decodable {
        let name: String
        let inputs: [String: Encoded]
        let g: Encoded?
        let out: Encoded?
        let params: [String: Encoded]?
        let grads: [String: Encoded]?
        let total: Double?
        let clipped: [String: Encoded]?
        let attn_weights: Encoded?
    }
    struct File: Decodable { let cases: [Case] }

    static let cases: [String: Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/layers.json")
        let file = try! JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        return Dictionary(uniqueKeysWithValues: file.cases.map { ($0.name, $0) })
    }()

    func tensor(_ e: Encoded, grad: Bool = false) -> Tensor {
        let t = Tensor(shape: e.shape, values: e.values.map(Float.init))
        t.requiresGrad = grad
        return t
    }

    func expectClose(_ actual: Tensor, _ expected: Encoded, _ what: String, tolerance: Float = 2e-5,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.shape == expected.shape, "\(what): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
        guard actual.shape == expected.shape else { return }
        let worst = zip(actual.scalars, expected.values).map { abs($0 - Float($1)) / max(1, abs(Float($1))) }.max() ?? 0
        #expect(worst <= tolerance, "\(what): largest relative difference \(worst)", sourceLocation: sourceLocation)
    }

    /// Loads the case's parameters into `module` by PyTorch name, runs `forward`, checks the output
    /// and every gradient.
    func check<M>(_ name: String, module: M, tolerance: Float = 2e-5,
                  _ forward: (M, [String: Tensor]) throws -> Tensor) throws {
        let c = try #require(Self.cases[name], "fixture case \(name)")
        let named = (module as? any Module)?.namedParameters() ?? []
        let ours = Dictionary(uniqueKeysWithValues: named.map { ($0.name, $0.tensor) })
        #expect(Set(ours.keys) == Set(c.params!.keys), "\(name): parameter names \(ours.keys.sorted()) vs \(c.params!.keys.sorted())")
        for (key, value) in c.params! {
            let p = try #require(ours[key], "\(name): no parameter \(key)")
            #expect(p.shape == value.shape, "\(name).\(key): shape \(p.shape) vs \(value.shape)")
            p.floats = FloatStorage(value.values.map(Float.init))
            p.zeroGrad()
        }
        var inputs: [String: Tensor] = [:]
        for (key, value) in c.inputs {
            inputs[key] = key == "target" || key == "kpm"
                ? Tensor(shape: value.shape, indices: value.values.map { Int64($0) }) : tensor(value, grad: true)
        }
        let out = try forward(module, inputs)
        expectClose(out, c.out!, "\(name) output", tolerance: tolerance)
        (out * tensor(c.g!)).sum().backward()
        for (key, expected) in c.grads! {
            let owner = try #require(inputs[key] ?? ours[key], "\(name): no tensor named \(key)")
            let grad = try #require(owner.grad, "\(name): \(key) got no gradient").toDense()
            expectClose(grad, expected, "\(name) grad \(key)", tolerance: tolerance)
        }
    }

    @Test func layerNorm() throws {
        try check("layer_norm", module: LayerNorm(5)) { m, i in m(i["x"]!) }
        try check("layer_norm_2d_no_affine", module: LayerNorm([2, 4], elementwiseAffine: false)) { m, i in m(i["x"]!) }
    }

    @Test func activations() throws {
        try check("gelu", module: GELU()) { m, i in m(i["x"]!) }
        try check("gelu_tanh", module: GELU(approximate: .tanh)) { m, i in m(i["x"]!) }
        try check("relu", module: ReLU()) { m, i in m(i["x"]!) }
    }

    @Test func losses() throws {
        for (name, reduction) in [("mean", Reduction.mean), ("sum", .sum), ("none", .none)] {
            try check("nll_\(name)", module: NLLLoss(reduction: reduction)) { m, i in try m(i["x"]!, i["target"]!) }
            try check("mse_\(name)", module: MSELoss(reduction: reduction)) { m, i in m(i["x"]!, i["y"]!) }
        }
    }

    @Test func multiheadAttention() throws {
        try check("mha_self", module: MultiheadAttention(embedDim: 8, numHeads: 2), tolerance: 1e-4) { m, i in
            m(i["x"]!, i["x"]!, i["x"]!, needWeights: false).output
        }
        var weights: Tensor?
        try check("mha_cross_batch_first", module: MultiheadAttention(embedDim: 8, numHeads: 4, batchFirst: true), tolerance: 1e-4) { m, i in
            let (out, w) = m(i["q"]!, i["k"]!, i["v"]!, keyPaddingMask: i["kpm"]!)
            weights = w
            return out
        }
        expectClose(try #require(weights), Self.cases["mha_cross_batch_first"]!.attn_weights!, "attention weights", tolerance: 1e-5)
    }

    @Test func transformerEncoderLayers() throws {
        try check("encoder_layer_post_norm", module: TransformerEncoderLayer(dModel: 8, nHead: 2, dimFeedforward: 16, dropout: 0),
                  tolerance: 1e-4) { m, i in m(i["x"]!) }
        try check("encoder_layer_pre_norm_gelu",
                  module: TransformerEncoderLayer(dModel: 8, nHead: 4, dimFeedforward: 12, dropout: 0, activation: .gelu, normFirst: true),
                  tolerance: 1e-4) { m, i in m(i["x"]!) }
        try check("encoder_layer_batch_first",
                  module: TransformerEncoderLayer(dModel: 8, nHead: 2, dimFeedforward: 16, dropout: 0, batchFirst: true),
                  tolerance: 1e-4) { m, i in m(i["x"]!) }
        let stack = try TransformerEncoder(try TransformerEncoderLayer(dModel: 8, nHead: 2, dimFeedforward: 16, dropout: 0), numLayers: 2,
                                       norm: try LayerNorm(8))
        try check("encoder_stack", module: stack, tolerance: 1e-4) { m, i in m(i["x"]!) }
    }

    @Test func clipGradNormMatchesPyTorch() throws {
        for name in ["clip_grad_norm_2.0", "clip_grad_norm_inf"] {
            let c = try #require(Self.cases[name])
            let a = Tensor.zeros(c.inputs["a"]!.shape), b = Tensor.zeros(c.inputs["b"]!.shape)
            a.grad = .dense(tensor(c.inputs["a"]!))
            b.grad = .dense(tensor(c.inputs["b"]!))
            let total = try clipGradNorm([a, b], maxNorm: 1.5, normType: name.hasSuffix("inf") ? .infinity : 2)
            #expect(abs(total - Float(c.total!)) <= 1e-5 * max(1, Float(c.total!)), "\(name): total \(total) vs \(c.total!)")
            expectClose(a.grad!.toDense(), c.clipped!["a"]!, "\(name) a")
            expectClose(b.grad!.toDense(), c.clipped!["b"]!, "\(name) b")
        }
    }
}
