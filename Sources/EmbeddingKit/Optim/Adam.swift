import CKernels
import Foundation

/// Adam and AdamW (decoupled weight decay), PyTorch's `optim.Adam` / `optim.AdamW`, for dense and
/// sparse gradients. With a sparse gradient the update is lazy: only the rows present — their weights,
/// moments and decay — change; the bias correction uses the optimizer's global step.
///
/// Thread safety: `step()` and `zeroGrad()` write the parameters, their gradients and the optimizer's
/// state; they must not overlap each other or any other use of those parameters (a forward pass
/// included). Run them from one thread, between forward passes.
public final class Adam: Optimizer {
    /// The parameters this optimizer updates.
    public let parameters: [Tensor]
    /// The step size; it may be changed between steps (`step()` checks it again).
    public var learningRate: Float
    /// The decay rates of the first and second moments, the term added to the denominator, and the
    /// weight decay (coupled or decoupled per `decoupledWeightDecay`).
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    /// `true`: the weight decay is decoupled (AdamW); `false`: it is added to the gradient (Adam).
    public let decoupledWeightDecay: Bool
    /// `true`: SparseAdam's form, eps added outside the bias correction.
    let epsilonOutsideCorrection: Bool
    private var firstMoments = StateTables(), secondMoments = StateTables()
    private var scratch = CoalesceScratch()
    private(set) var stepCount = 0

    /// Adam, or AdamW with `decoupledWeightDecay`, with PyTorch's defaults: `learningRate` 1e-3,
    /// `betas` (0.9, 0.999), `epsilon` 1e-8, no weight decay.
    ///
    /// Throws `EmbeddingKitError` (`.invalidArgument`) with PyTorch's messages for a learning rate
    /// or weight decay that is negative or not finite (`Invalid learning rate: -0.1`,
    /// `Invalid weight_decay value: -1.0`), an `epsilon` that is not positive and finite
    /// (`Invalid epsilon value: 0.0`; PyTorch accepts 0, the update kernel does not), a beta outside
    /// [0, 1) (`Invalid beta parameter at index 1: 1.0`), an empty parameter list or an int64 parameter.
    public convenience init(_ parameters: [Tensor], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                            epsilon: Float = 1e-8, weightDecay: Float = 0,
                            decoupledWeightDecay: Bool = false) throws(EmbeddingKitError) {
        try self.init(parameters, learningRate, betas, epsilon, weightDecay, decoupledWeightDecay, false)
    }

    init(_ parameters: [Tensor], _ learningRate: Float, _ betas: (Float, Float), _ epsilon: Float, _ weightDecay: Float,
         _ decoupled: Bool, _ epsilonOutside: Bool) throws(EmbeddingKitError) {
        // SparseAdam (eps outside the correction) wants a positive learning rate, as PyTorch's
        try OptimizerChecks.nonNegative(learningRate, "learning rate", positive: epsilonOutside)
        try OptimizerChecks.nonNegative(epsilon, "epsilon value", positive: true)
        try OptimizerChecks.beta(betas.0, index: 0)
        try OptimizerChecks.beta(betas.1, index: 1)
        try OptimizerChecks.nonNegative(weightDecay, "weight_decay value")
        try OptimizerChecks.parameters(parameters, epsilonOutside ? "SparseAdam" : "Adam")
        self.parameters = parameters
        self.learningRate = learningRate
        (beta1, beta2) = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        decoupledWeightDecay = decoupled
        epsilonOutsideCorrection = epsilonOutside
    }

    /// Applies one Adam update to every parameter that has a gradient.
    ///
    /// Throws, changing nothing (the step count included), when `learningRate` has been set to a
    /// value `init` would refuse, or when a gradient is not float32 or does not have its parameter's shape.
    public func step() throws(EmbeddingKitError) {
        let op = epsilonOutsideCorrection ? "SparseAdam.step" : "Adam.step"
        try OptimizerChecks.nonNegative(learningRate, "learning rate", positive: epsilonOutsideCorrection)
        let work = try OptimizerChecks.updates(parameters, op)
        let correction = (1 - Float(pow(Double(beta2), Double(stepCount + 1)))).squareRoot()
        let eps = epsilonOutsideCorrection ? epsilon / correction : epsilon
        guard eps.isFinite else {   // SparseAdam: a huge epsilon over a small correction
            throw EmbeddingKitError(.invalidArgument, "\(op): epsilon \(epsilon) / sqrt(1 - beta2^\(stepCount + 1)) is not finite")
        }
        stepCount += 1
        for (p, original) in work {
            var o = optimizerDescriptor(EK_OPT_ADAM, learningRate: learningRate)
            (o.beta1, o.beta2, o.eps) = (beta1, beta2, eps)
            o.weight_decay = decoupledWeightDecay ? weightDecay : 0
            p.setRounding(of: &o, step: stepCount)   // o.step: the bias correction's, and the rounding's key
            // a sparse bag's gradient: fused unless the decay is coupled (it changes the gradient first)
            let bag = weightDecay == 0 || decoupledWeightDecay ? original.pendingBag : nil
            var grad = original
            if bag == nil && weightDecay != 0 && !decoupledWeightDecay { grad = coupledDecay(grad, p) }
            let u = bag == nil ? RowUpdate(grad, of: p, scratch: &scratch) : nil
            let status = firstMoments.withTable(for: p) { m in
                secondMoments.withTable(for: p) { v in
                    m.withUnsafeMutableBufferPointer { pm in
                        v.withUnsafeMutableBufferPointer { pv in
                            (o.exp_avg, o.exp_avg_sq) = (pm.baseAddress, pv.baseAddress)
                            if let bag { return p.withMutableTableData { bag.applyUpdate(o, to: $0) } }
                            return u!.apply(o, to: p)
                        }
                    }
                }
            }
            mustSucceed(status, "Adam.step")
        }
    }

    private var stateFormat: OptimizerState {
        OptimizerState(kind: epsilonOutsideCorrection ? "SparseAdam" : decoupledWeightDecay ? "AdamW" : "Adam",
                       fixed: ["betas.0": beta1, "betas.1": beta2, "eps": epsilon, "weight_decay": weightDecay])
    }

    /// The moments as `state.<i>.exp_avg` / `state.<i>.exp_avg_sq` (parameters that have had a
    /// gradient), `state.<i>.step`, and the global step count and hyperparameters in the metadata.
    public func stateDict() -> SafeTensors {
        stateFormat.encode(parameters, tables: [("exp_avg", firstMoments), ("exp_avg_sq", secondMoments)], step: stepCount,
                           learningRate: learningRate)
    }

    /// Restores `stateDict()`'s output: moments, step count and learning rate. Throws, changing
    /// nothing, when the state is another optimizer's (Adam, AdamW and SparseAdam are told apart),
    /// has other betas, epsilon or weight decay, or does not fit the parameters.
    public func loadStateDict(_ state: SafeTensors) throws(EmbeddingKitError) {
        let d = try stateFormat.decode(state, parameters, tableNames: ["exp_avg", "exp_avg_sq"], keepsStep: true)
        let first = d.tables["exp_avg"] ?? [], second = d.tables["exp_avg_sq"] ?? []
        guard first.map({ ObjectIdentifier($0.0) }) == second.map({ ObjectIdentifier($0.0) }) else {
            throw EmbeddingKitError(.invalidArgument, "\(stateFormat.kind).loadStateDict: exp_avg and exp_avg_sq are not saved for the same parameters")
        }
        firstMoments.replaceAll(first)
        secondMoments.replaceAll(second)
        stepCount = d.step
        if let lr = d.learningRate { learningRate = lr }
    }

    /// g + weight_decay * W on the rows the gradient has (Adam's L2 penalty, lazily for sparse): two
    /// kernel calls, `t = wd * W` then `g + t`, the float rounding of `g + wd * w`.
    private func coupledDecay(_ grad: Gradient, _ p: Tensor) -> Gradient {
        withoutGradients {
            switch grad {
            case .dense(let g): return .dense(g + weightDecay * p.widened())
            case .sparse(let s):
                let c = s.coalesced()
                let rows = TensorKernels.gatherRows(c.rows, of: p)   // the gradient's rows of W (float32)
                return .sparse(SparseGradient(rows: c.rows, values: c.values + weightDecay * rows, shape: c.shape,
                                              isCoalesced: true))
            }
        }
    }
}

/// AdamW: Adam with decoupled weight decay (default 0.01), lazy for sparse gradients. Throws as
/// `Adam.init` does.
public func AdamW(_ parameters: [Tensor], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                  epsilon: Float = 1e-8, weightDecay: Float = 0.01) throws(EmbeddingKitError) -> Adam {
    try Adam(parameters, learningRate: learningRate, betas: betas, epsilon: epsilon, weightDecay: weightDecay,
         decoupledWeightDecay: true)
}

/// SparseAdam, PyTorch's `optim.SparseAdam`: lazy Adam for sparse gradients, with eps outside the
/// bias correction as PyTorch computes it. Throws as `Adam.init` does, and for a learning rate of 0
/// (`Invalid learning rate: 0.0`, as PyTorch's SparseAdam).
public func SparseAdam(_ parameters: [Tensor], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                       epsilon: Float = 1e-8) throws(EmbeddingKitError) -> Adam {
    try Adam(parameters, learningRate, betas, epsilon, 0, false, true)
}
