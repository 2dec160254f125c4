/// `y = x W^T + b`, PyTorch's `nn.Linear`, initialised as PyTorch does: weight and bias uniform in
/// ±1/√inFeatures.
public final class Linear: Module {
    /// `[outFeatures, inFeatures]`.
    public let weight: Tensor
    /// `[outFeatures]`, or nil.
    public let bias: Tensor?
    /// Whether the module is in training mode (the layer is the same in both).
    public var isTraining = true

    /// A layer from `inFeatures` to `outFeatures`, with a bias unless `bias` is false.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: Generator = .default) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Tensor.rand([outFeatures, inFeatures], low: -bound, high: bound, generator: generator)
        weight.requiresGrad = true
        self.bias = bias ? Tensor.rand([outFeatures], low: -bound, high: bound, generator: generator) : nil
        self.bias?.requiresGrad = true
    }

    /// `weight` and, if present, `bias`.
    public var directParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// `x W^T + b` for `x` `[..., inFeatures]`: shape `[..., outFeatures]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight, bias) }
}
