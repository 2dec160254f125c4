import CKernels

/// Adagrad, PyTorch's `optim.Adagrad` (learning-rate decay included), for dense and sparse
/// gradients; with sparse gradients only the rows present and their accumulators change.
///
/// Thread safety: `step()` and `zeroGrad()` write the parameters, their gradients and the optimizer's
/// state; they must not overlap each other or any other use of those parameters (a forward pass
/// included). Run them from one thread, between forward passes.
public final class Adagrad: Optimizer {
    /// The parameters this optimizer updates.
    public let parameters: [Tensor]
    /// The step size before decay; it may be changed between steps (`step()` checks it again).
    public var learningRate: Float
    /// Step t uses `learningRate / (1 + (t - 1) * learningRateDecay)`; `weightDecay` adds
    /// `weightDecay * W` to the gradient (L2); `epsilon` is added to the square root of the accumulated sum.
    public let learningRateDecay: Float, weightDecay: Float, epsilon: Float
    private var sums = StateTables()
    private var scratch = CoalesceScratch()
    /// The number of `step()` calls: the learning-rate decay's t, and the key of the stochastic
    /// rounding of half tables (``TableStorage``).
    private var steps = 0

    /// PyTorch's defaults: `learningRate` 0.01, no learning-rate or weight decay, `epsilon` 1e-10;
    /// the accumulated sums start at 0.
    ///
    /// Throws `EmbeddingKitError` (`.invalidArgument`) with PyTorch's messages for a learning rate,
    /// learning-rate decay, weight decay or `epsilon` that is negative or not finite
    /// (`Invalid learning rate: -0.1`, `Invalid lr_decay value: -1.0`, `Invalid weight_decay value: -1.0`,
    /// `Invalid epsilon value: -1e-10`), an empty parameter list or an int64 parameter.
    public init(_ parameters: [Tensor], learningRate: Float = 0.01, learningRateDecay: Float = 0, weightDecay: Float = 0,
                epsilon: Float = 1e-10) throws(EmbeddingKitError) {
        try OptimizerChecks.nonNegative(learningRate, "learning rate")
        try OptimizerChecks.nonNegative(learningRateDecay, "lr_decay value")
        try OptimizerChecks.nonNegative(weightDecay, "weight_decay value")
        try OptimizerChecks.nonNegative(epsilon, "epsilon value")
        try OptimizerChecks.parameters(parameters, "Adagrad")
        self.parameters = parameters
        self.learningRate = learningRate
        self.learningRateDecay = learningRateDecay
        self.weightDecay = weightDecay
        self.epsilon = epsilon
    }

    /// Applies one Adagrad update to every parameter that has a gradient. A sparse bag's gradient
    /// that has not been made is applied by one fused kernel, bit for bit as if made and coalesced.
    ///
    /// Throws, changing nothing (the step count included), when `learningRate` has been set to a
    /// negative or non-finite value, or when a gradient is not float32 or does not have its parameter's shape.
    public func step() throws(EmbeddingKitError) {
        try OptimizerChecks.nonNegative(learningRate, "learning rate")
        let work = try OptimizerChecks.updates(parameters, "Adagrad.step")
        steps += 1
        let lr = learningRate / (1 + Float(steps - 1) * learningRateDecay)
        for (p, grad) in work {
            var o = optimizerDescriptor(EK_OPT_ADAGRAD, learningRate: lr)
            (o.eps, o.weight_decay) = (epsilon, weightDecay)
            p.setRounding(of: &o, step: steps)
            let u = grad.pendingBag == nil ? RowUpdate(grad, of: p, scratch: &scratch) : nil
            let status = sums.withTable(for: p) { sum in
                sum.withUnsafeMutableBufferPointer { state in
                    o.state_sum = state.baseAddress
                    // a sparse bag's gradient: fused, bit for bit coalesce + update
                    if let bag = grad.pendingBag { return p.withMutableTableData { bag.applyUpdate(o, to: $0) } }
                    return u!.apply(o, to: p)
                }
            }
            mustSucceed(status, "Adagrad.step")
        }
    }

    private var stateFormat: OptimizerState {
        OptimizerState(kind: "Adagrad", fixed: ["lr_decay": learningRateDecay, "weight_decay": weightDecay, "eps": epsilon])
    }

    /// The accumulated squares as `state.<i>.sum` (parameters that have had a gradient),
    /// `state.<i>.step`, and the step count and hyperparameters in the metadata.
    public func stateDict() -> SafeTensors {
        stateFormat.encode(parameters, tables: [("sum", sums)], step: steps, learningRate: learningRate)
    }

    /// Restores `stateDict()`'s output: sums, step count (it drives the learning-rate decay) and
    /// learning rate. Throws, changing nothing, for another optimizer's state, other hyperparameters,
    /// or tables that do not fit the parameters.
    public func loadStateDict(_ state: SafeTensors) throws(EmbeddingKitError) {
        let d = try stateFormat.decode(state, parameters, tableNames: ["sum"], keepsStep: true)
        sums.replaceAll(d.tables["sum"] ?? [])
        steps = d.step
        if let lr = d.learningRate { learningRate = lr }
    }
}
