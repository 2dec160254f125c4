/// Layers applied one after another (PyTorch's `nn.Sequential`); parameters are named by position,
/// `0.weight`, `1.bias`, ...
///
/// ```swift
/// let mlp = Sequential(Linear(64, 128), ReLU(), Linear(128, 10))
/// let logits = try mlp(x)
/// ```
public final class Sequential: Layer {
    /// The layers, in order.
    public let layers: [any Layer]
    public var isTraining = true

    public init(_ layers: [any Layer]) { self.layers = layers }
    public convenience init(_ layers: any Layer...) { self.init(layers) }

    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    public var children: [(name: String, module: any Module)] { layers.enumerated().map { ("\($0.offset)", $0.element) } }

    public func forward(_ input: Tensor) throws(EmbeddingKitError) -> Tensor {
        var x = input
        for layer in layers { x = try layer.forward(x) }
        return x
    }

    public func callAsFunction(_ input: Tensor) throws(EmbeddingKitError) -> Tensor { try forward(input) }
}
