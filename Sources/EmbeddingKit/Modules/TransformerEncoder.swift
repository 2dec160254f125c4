/// A stack of `numLayers` copies of one encoder layer, with an optional final norm (PyTorch's
/// `nn.TransformerEncoder`). Like PyTorch, every layer starts as a copy of `encoderLayer`, so all
/// layers begin with the same weights; parameters are named `layers.0.self_attn...`.
public final class TransformerEncoder: Layer {
    /// The layers, applied in order.
    public let layers: [TransformerEncoderLayer]
    /// Applied to the last layer's output, if given.
    public let norm: LayerNorm?
    public var isTraining = true

    public init(_ encoderLayer: TransformerEncoderLayer, numLayers: Int, norm: LayerNorm? = nil) {
        precondition(numLayers >= 1, "TransformerEncoder: numLayers=\(numLayers) must be at least 1")
        layers = (0..<numLayers).map { _ in encoderLayer.copy() }
        self.norm = norm
    }

    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    public var children: [(name: String, module: any Module)] {
        layers.enumerated().map { ("layers.\($0.offset)", $0.element as any Module) } + (norm.map { [("norm", $0)] } ?? [])
    }

    /// `src` through every layer (same masks for each), then the final norm.
    public func callAsFunction(_ src: Tensor, mask: Tensor? = nil, srcKeyPaddingMask: Tensor? = nil) -> Tensor {
        var x = src
        for layer in layers { x = layer(x, srcMask: mask, srcKeyPaddingMask: srcKeyPaddingMask) }
        return norm.map { $0(x) } ?? x
    }

    public func forward(_ input: Tensor) -> Tensor { self(input) }
}
