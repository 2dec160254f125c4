/// A stack of `numLayers` copies of one encoder layer, with an optional final norm (PyTorch's
/// `nn.TransformerEncoder`). Like PyTorch, every layer starts as a copy of `encoderLayer`, so all
/// layers begin with the same weights; parameters are named `layers.0.self_attn...`.
///
/// **Thread safety.** As `TransformerEncoderLayer`: in evaluation mode (`eval()`), or with dropout 0,
/// calls from several threads at once are safe and give the serial results (tested); in training mode
/// the dropouts draw from shared generators (safe, masks depend on the call order). Training
/// (`backward()` through an output, an optimizer step, `zeroGrad()`), loading weights, and
/// `train(_:)` / `eval()` must not overlap any other use of the encoder.
public final class TransformerEncoder: Layer {
    /// The layers, applied in order.
    public let layers: [TransformerEncoderLayer]
    /// Applied to the last layer's output, if given.
    public let norm: LayerNorm?
    /// Whether dropout is active; `train(_:)` sets it for every layer too.
    public var isTraining = true

    /// `numLayers` copies of `encoderLayer` (0 passes the input through), followed by `norm` if given.
    /// Throws `EmbeddingKitError` for a negative `numLayers`.
    public init(_ encoderLayer: TransformerEncoderLayer, numLayers: Int, norm: LayerNorm? = nil) throws(EmbeddingKitError) {
        try checkSize(numLayers, "numLayers", op: "TransformerEncoder")
        layers = (0..<numLayers).map { _ in encoderLayer.copy() }
        self.norm = norm
    }

    /// None: the parameters belong to the layers and the norm.
    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    /// `layers.0`, `layers.1`, ... and `norm` if present (PyTorch's names).
    public var children: [(name: String, module: any Module)] {
        layers.enumerated().map { ("layers.\($0.offset)", $0.element as any Module) } + (norm.map { [("norm", $0)] } ?? [])
    }

    /// `src` through every layer (same masks for each), then the final norm.
    public func callAsFunction(_ src: Tensor, mask: Tensor? = nil, srcKeyPaddingMask: Tensor? = nil) -> Tensor {
        var x = src
        for layer in layers { x = layer(x, srcMask: mask, srcKeyPaddingMask: srcKeyPaddingMask) }
        return norm.map { $0(x) } ?? x
    }

    /// `input` through every layer without masks, then the final norm.
    public func forward(_ input: Tensor) -> Tensor { self(input) }
}
