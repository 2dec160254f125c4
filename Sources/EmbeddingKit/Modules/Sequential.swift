/// Layers applied one after another (PyTorch's `nn.Sequential`); parameters are named by position,
/// `0.weight`, `1.bias`, ...
///
/// ```swift
/// let mlp = Sequential(Linear(64, 128), ReLU(), Linear(128, 10))
/// let logits = try mlp(x)
/// ```
///
/// **Thread safety.** Exactly as safe as its layers: calls from several threads at once are safe, with
/// the serial results, when every layer's forward is — no `Embedding` or `EmbeddingBag` with `maxNorm`
/// (those write their table), and `Dropout` in training mode draws from a shared generator (safe, but
/// the masks depend on the order of the calls). Training (`backward()` through an output, an
/// optimizer step, `zeroGrad()`), loading weights, and `train(_:)` / `eval()` must not overlap any
/// other use of it.
public final class Sequential: Layer {
    /// The layers, in order.
    public let layers: [any Layer]
    /// Whether the module is in training mode; `train(_:)` sets it for every layer too.
    public var isTraining = true

    /// The layers, applied in the given order.
    public init(_ layers: [any Layer]) { self.layers = layers }
    /// The layers, applied in the given order.
    public convenience init(_ layers: any Layer...) { self.init(layers) }

    /// None: the parameters belong to the layers.
    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    /// The layers, named by position (`0`, `1`, ...).
    public var children: [(name: String, module: any Module)] { layers.enumerated().map { ("\($0.offset)", $0.element) } }

    /// `input` through every layer in order; rethrows the first layer's error (an `Embedding`'s, say).
    public func forward(_ input: Tensor) throws(EmbeddingKitError) -> Tensor {
        var x = input
        for layer in layers { x = try layer.forward(x) }
        return x
    }

    /// Same as `forward(_:)`.
    public func callAsFunction(_ input: Tensor) throws(EmbeddingKitError) -> Tensor { try forward(input) }
}
