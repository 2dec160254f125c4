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

    /// A layer from `inFeatures` to `outFeatures`, with a bias unless `bias` is false. Either size may
    /// be 0 (as in PyTorch, a layer from 0 features has a zero bias and outputs it).
    ///
    /// Throws `EmbeddingKitError` for a negative size (`Linear: inFeatures=-1 must not be negative`)
    /// or a weight whose element count overflows.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: Generator = .default) throws(EmbeddingKitError) {
        try checkSize(inFeatures, "inFeatures", op: "Linear")
        try checkSize(outFeatures, "outFeatures", op: "Linear")
        guard !inFeatures.multipliedReportingOverflow(by: outFeatures).overflow else {
            throw EmbeddingKitError(.overflow, "Linear: a weight of \(outFeatures) x \(inFeatures) elements overflows the address space")
        }
        // PyTorch: bound = 1/sqrt(fan_in) if fan_in > 0 else 0
        let bound = inFeatures > 0 ? 1 / Float(inFeatures).squareRoot() : 0
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
