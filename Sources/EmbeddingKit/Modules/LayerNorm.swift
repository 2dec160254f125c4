/// Layer normalisation over the trailing `normalizedShape` dimensions (PyTorch's `nn.LayerNorm`):
/// weight starts at 1 and bias at 0.
public final class LayerNorm: Layer {
    /// The trailing dimensions normalised over.
    public let normalizedShape: [Int]
    /// Added to the variance for stability.
    public let eps: Float
    /// The per-element scale, `normalizedShape`, or nil without an affine transform.
    public let weight: Tensor?
    /// The per-element shift, `normalizedShape`, or nil.
    public let bias: Tensor?
    public var isTraining = true

    public init(_ normalizedShape: [Int], eps: Float = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        precondition(!normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 },
                     "LayerNorm: normalizedShape \(normalizedShape) must be non-empty and positive")
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? Tensor.ones(normalizedShape) : nil
        self.bias = elementwiseAffine && bias ? Tensor.zeros(normalizedShape) : nil
        weight?.requiresGrad = true
        self.bias?.requiresGrad = true
    }

    public convenience init(_ size: Int, eps: Float = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        self.init([size], eps: eps, elementwiseAffine: elementwiseAffine, bias: bias)
    }

    public var directParameters: [(name: String, tensor: Tensor)] {
        (weight.map { [("weight", $0)] } ?? []) + (bias.map { [("bias", $0)] } ?? [])
    }

    public func forward(_ input: Tensor) -> Tensor {
        layerNorm(input, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }

    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input) }
}
