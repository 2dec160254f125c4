/// `y = x W^T + b`, PyTorch's `nn.Linear`, initialised as PyTorch does: weight and bias uniform in
/// ±1/√inFeatures.
///
/// **Thread safety.** A forward pass only reads `weight` and `bias`: calls from several threads at once
/// are safe and give the serial results. Not thread-safe — none may overlap any other use of the
/// module: training (`backward()` through an output accumulates into the parameters' `grad`; an
/// optimizer step or `zeroGrad()`), loading weights, and `train(_:)` / `eval()`.
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
