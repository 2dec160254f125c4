/// Cross-entropy between logits and class indices as a module (PyTorch's `nn.CrossEntropyLoss`).
///
/// **Thread safety.** A `Sendable` value holding only its configuration: calls from several threads at
/// once are safe. What is not is `backward()` through losses of one model from several threads (it
/// accumulates into the model's parameters' `grad`: see `Module`).
public struct CrossEntropyLoss: Sendable {
    /// Targets equal to this add nothing and do not count in the mean.
    public var ignoreIndex: Int
    /// How much of the uniform distribution is mixed into the target.
    public var labelSmoothing: Float
    /// How the per-sample losses combine.
    public var reduction: Reduction

    /// PyTorch's defaults: `ignoreIndex` -100, no label smoothing, mean reduction.
    public init(ignoreIndex: Int = -100, labelSmoothing: Float = 0, reduction: Reduction = .mean) {
        self.ignoreIndex = ignoreIndex
        self.labelSmoothing = labelSmoothing
        self.reduction = reduction
    }

    /// The loss of `logits` `[N, C]` (or `[C]` for one sample) against `target` `[N]` (or `[]`).
    /// Throws, computing nothing, when a target is out of range.
    public func callAsFunction(_ logits: Tensor, _ target: Tensor) throws(EmbeddingKitError) -> Tensor {
        if logits.rank == 1 {
            let loss = try crossEntropy(logits.unsqueeze(0), target.reshape([1]), ignoreIndex: ignoreIndex,
                                        labelSmoothing: labelSmoothing, reduction: reduction)
            return reduction == .none ? loss.reshape([]) : loss
        }
        return try crossEntropy(logits, target, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing, reduction: reduction)
    }
}

/// Negative log-likelihood over log-probabilities as a module (PyTorch's `nn.NLLLoss`).
///
/// **Thread safety.** As `CrossEntropyLoss`: a `Sendable` configuration, safe from any number of threads.
public struct NLLLoss: Sendable {
    /// Targets equal to this add nothing and do not count in the mean.
    public var ignoreIndex: Int
    /// How the per-sample losses combine.
    public var reduction: Reduction

    /// PyTorch's defaults: `ignoreIndex` -100, mean reduction.
    public init(ignoreIndex: Int = -100, reduction: Reduction = .mean) {
        self.ignoreIndex = ignoreIndex
        self.reduction = reduction
    }

    /// The loss of log-probabilities `logProbs` `[N, C]` against class indices `target` `[N]`.
    /// Throws, computing nothing, when a target is out of range.
    public func callAsFunction(_ logProbs: Tensor, _ target: Tensor) throws(EmbeddingKitError) -> Tensor {
        try nllLoss(logProbs, target, ignoreIndex: ignoreIndex, reduction: reduction)
    }
}

/// Mean squared error as a module (PyTorch's `nn.MSELoss`).
///
/// **Thread safety.** As `CrossEntropyLoss`: a `Sendable` configuration, safe from any number of threads.
public struct MSELoss: Sendable {
    /// How the per-element losses combine.
    public var reduction: Reduction
    /// Mean reduction by default, like PyTorch.
    public init(reduction: Reduction = .mean) { self.reduction = reduction }
    /// The squared error between `input` and `target` (same shape), reduced.
    public func callAsFunction(_ input: Tensor, _ target: Tensor) -> Tensor { mseLoss(input, target, reduction: reduction) }
}
