/// Layer normalisation over the trailing `normalizedShape` dimensions (PyTorch's `nn.LayerNorm`):
/// weight starts at 1 and bias at 0.
///
/// **Thread safety.** A forward pass only reads `weight` and `bias`: calls from several threads at once
/// are safe and give the serial results. Not thread-safe — none may overlap any other use of the
/// module: training (`backward()` through an output accumulates into the parameters' `grad`; an
/// optimizer step or `zeroGrad()`), loading weights, and `train(_:)` / `eval()`.
public final class LayerNorm: Layer {
    /// The trailing dimensions normalised over.
    public let normalizedShape: [Int]
    /// Added to the variance for stability.
    public let eps: Float
    /// The per-element scale, `normalizedShape`, or nil without an affine transform.
    public let weight: Tensor?
    /// The per-element shift, `normalizedShape`, or nil.
    public let bias: Tensor?
    /// Whether the module is in training mode (normalisation is the same in both).
    public var isTraining = true

    /// Normalises over the trailing `normalizedShape` dimensions. With `elementwiseAffine` (the
    /// default) it learns `weight`, and also `bias` unless `bias` is false.
    ///
    /// Throws `EmbeddingKitError` for an empty `normalizedShape`, a negative size in it (0 is an empty
    /// dimension, as in PyTorch), or an `eps` that is negative or not finite (`LayerNorm: eps=nan ...`).
    public init(_ normalizedShape: [Int], eps: Float = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) throws(EmbeddingKitError) {
        guard !normalizedShape.isEmpty else { throw EmbeddingKitError(.invalidArgument, "LayerNorm: normalizedShape is empty") }
        for (i, size) in normalizedShape.enumerated() { try checkSize(size, "normalizedShape[\(i)]", op: "LayerNorm") }
        try checkLayerNormEps(eps, op: "LayerNorm")
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? Tensor.ones(normalizedShape) : nil
        self.bias = elementwiseAffine && bias ? Tensor.zeros(normalizedShape) : nil
        weight?.requiresGrad = true
        self.bias?.requiresGrad = true
    }

    /// Normalises over the last dimension, of size `size` (PyTorch's `nn.LayerNorm(size)`).
    public convenience init(_ size: Int, eps: Float = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) throws(EmbeddingKitError) {
        try self.init([size], eps: eps, elementwiseAffine: elementwiseAffine, bias: bias)
    }

    /// `weight` and `bias`, those that exist.
    public var directParameters: [(name: String, tensor: Tensor)] {
        (weight.map { [("weight", $0)] } ?? []) + (bias.map { [("bias", $0)] } ?? [])
    }

    /// `input`, whose trailing dimensions are `normalizedShape`, normalised over them, then scaled
    /// and shifted; same shape as `input`. An input whose shape does not end in `normalizedShape` is a
    /// program error (a precondition names both shapes).
    public func forward(_ input: Tensor) -> Tensor {
        precondition(input.shape.suffix(normalizedShape.count) == normalizedShape[...],
                     "LayerNorm: normalizedShape \(normalizedShape) does not end the input shape \(input.shape)")
        return checkedLayerNorm(input, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }

    /// Same as `forward(_:)`.
    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input) }
}
