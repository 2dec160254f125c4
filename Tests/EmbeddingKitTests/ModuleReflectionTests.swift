import Testing
@testable import EmbeddingKit

/// Issue 17: a custom module's parameters and children are found from its stored properties.
@Suite("Module reflection")
struct ModuleReflectionTests {
    /// No hand-written lists at all.
    final class Tower: Module {
        let embed: Embedding
        let blocks: [Linear]
        let norm: LayerNorm?
        let missingNorm: LayerNorm? = nil
        let scale: Tensor
        let ids = Tensor(indices: [1, 2])       // int64: not a parameter
        let dropout: Dropout
        var isTraining = true
        init() throws {
            let g = Generator(seed: 4)
            embed = try Embedding(count: 5, dimension: 4, generator: g)
            blocks = [try Linear(4, 4, generator: g), try Linear(4, 2, bias: false, generator: g)]
            norm = try LayerNorm(2)
            scale = Tensor.ones([2])
            scale.requiresGrad = true
            dropout = try Dropout(0.1)
        }
    }

    /// Lists written by hand, one child left out.
    final class Forgetful: Module {
        let kept = try! Linear(2, 2), forgotten = try! Linear(2, 3)
        var isTraining = true
        var directParameters: [(name: String, tensor: Tensor)] { [] }
        var children: [(name: String, module: any Module)] { [("kept", kept)] }
    }

    @Test("parameters and children come from stored properties, with PyTorch-style paths")
    func reflected() throws {
        let tower = try Tower()
        #expect(tower.namedParameters().map(\.name) == [
            "scale", "embed.weight", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "norm.weight", "norm.bias",
        ])
        #expect(tower.children.map(\.name) == ["embed", "blocks.0", "blocks.1", "norm", "dropout"])
        tower.eval()
        #expect(!tower.dropout.isTraining && !tower.blocks[1].isTraining)
        // an optimizer and a checkpoint see every parameter
        let sgd = try SGD(tower.parameters(), learningRate: 0.1)
        #expect(sgd.parameters.count == 7)
        let state = tower.stateDict()
        #expect(state.count == 7 && state["blocks.1.weight"]?.shape == [2, 4])
        let copy = try Tower()
        copy.scale.floats = FloatStorage([3, 4])
        try copy.loadStateDict(state)
        #expect(copy.scale.scalars == [1, 1])
    }

    @Test("built-in modules keep PyTorch's names")
    func builtInNames() throws {
        let mha = try MultiheadAttention(embedDim: 4, numHeads: 2)
        #expect(mha.namedParameters().map(\.name) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"])
        let layer = try TransformerEncoderLayer(dModel: 4, nHead: 2, dimFeedforward: 8)
        #expect(layer.namedParameters().map(\.name).first == "self_attn.in_proj_weight")
        let encoder = try TransformerEncoder(layer, numLayers: 2)
        #expect(encoder.namedParameters().map(\.name).contains("layers.1.linear2.bias"))
        #expect(ModuleReflection.unlisted(in: encoder).isEmpty)
    }

    @Test("a hand-written list that leaves a child out is caught")
    func omissionIsLoud() {
        let m = Forgetful()
        #expect(m.namedParameters(checked: false).count == 2)
        #expect(ModuleReflection.unlisted(in: m) == ["forgotten.weight", "forgotten.bias"])
    }
}
