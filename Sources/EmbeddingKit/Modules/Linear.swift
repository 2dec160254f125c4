/// `y = x W^T + b`, PyTorch's `nn.Linear`, initialised as PyTorch does: weight and bias uniform in
/// ±1/√inFeatures.
public final class Linear: Module {
    /// `[outFeatures, inFeatures]`.
    public let weight: Tensor
    /// `[outFeatures]`, or nil.
    public let bias: Tensor?
    public var isTraining = true

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: Generator = .default) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Tensor.rand([outFeatures, inFeatures], low: -bound, high: bound, generator: generator)
        weight.requiresGrad = true
        self.bias = bias ? Tensor.rand([outFeatures], low: -bound, high: bound, generator: generator) : nil
        self.bias?.requiresGrad = true
    }

    public var directParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight, bias) }
}
