import CKernels

/// Stochastic gradient descent with optional momentum, dampening, weight decay and Nesterov
/// momentum, PyTorch's `optim.SGD`. Sparse gradients update only their rows: weight decay and the
/// momentum buffer are applied to the rows present (lazily), other rows and their buffers are untouched.
///
/// Thread safety: `step()` and `zeroGrad()` write the parameters, their gradients and the optimizer's
/// state; they must not overlap each other or any other use of those parameters (a forward pass
/// included). Run them from one thread, between forward passes.
public final class SGD: Optimizer {
    /// The parameters this optimizer updates.
    public let parameters: [Tensor]
    /// The step size; it may be changed between steps (`step()` checks it again).
    public var learningRate: Float
    /// The momentum factor, the dampening of the gradient in the momentum buffer, the L2 weight
    /// decay added to the gradient, and whether Nesterov momentum is used.
    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    private var buffers = StateTables()
    private var scratch = CoalesceScratch()
    /// The number of `step()` calls: it keys the stochastic rounding of half tables (``TableStorage``).
    public private(set) var stepCount = 0

    /// SGD with a required `learningRate`; momentum, dampening and weight decay default to 0 and Nesterov
    /// to off.
    ///
    /// Throws `EmbeddingKitError` (`.invalidArgument`) with PyTorch's messages for a learning rate,
    /// momentum or weight decay that is negative or not finite (`Invalid learning rate: -0.1`,
    /// `Invalid momentum value: -0.5`, `Invalid weight_decay value: -1.0`), a dampening that is not
    /// finite (`Invalid dampening value: nan`), Nesterov without momentum > 0 and dampening 0
    /// (`Nesterov momentum requires a momentum and zero dampening`), an empty parameter list
    /// (`optimizer got an empty parameter list`) or an int64 parameter.
    public init(_ parameters: [Tensor], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) throws(EmbeddingKitError) {
        try OptimizerChecks.nonNegative(learningRate, "learning rate")
        try OptimizerChecks.nonNegative(momentum, "momentum value")
        try OptimizerChecks.nonNegative(weightDecay, "weight_decay value")
        guard dampening.isFinite else { throw EmbeddingKitError(.invalidArgument, "Invalid dampening value: \(dampening)") }
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw EmbeddingKitError(.invalidArgument, "Nesterov momentum requires a momentum and zero dampening")
        }
        try OptimizerChecks.parameters(parameters, "SGD")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    /// Applies one SGD update to every parameter that has a gradient.
    ///
    /// Plain SGD (no momentum, no weight decay) applies a sparse gradient as it is, duplicate rows
    /// and all: `W[r] += -lr * g` for each entry in order, which is what PyTorch's
    /// `param.add_(grad, alpha=-lr)` does with an uncoalesced gradient. With momentum or weight decay
    /// the gradient is coalesced first (the buffer and the decay act once per row). A sparse bag's
    /// gradient that has not been made is applied by one fused kernel (`ek_bag_backward_update`),
    /// bit for bit the same as making it and applying it.
    ///
    /// Throws, changing nothing, when `learningRate` has been set to a negative or non-finite value
    /// (`Invalid learning rate: -0.1`), or when a gradient is not float32 or does not have its
    /// parameter's shape (`SGD.step: parameter 0 has shape [10, 4] but its gradient has shape [2, 4]`).
    public func step() throws(EmbeddingKitError) {
        try OptimizerChecks.nonNegative(learningRate, "learning rate")
        let work = try OptimizerChecks.updates(parameters, "SGD.step")
        stepCount += 1
        for (p, grad) in work {
            var o = optimizerDescriptor(EK_OPT_SGD, learningRate: learningRate)
            (o.momentum, o.dampening, o.weight_decay, o.nesterov) = (momentum, dampening, weightDecay, nesterov ? 1 : 0)
            p.setRounding(of: &o, step: stepCount)
            // plain SGD keeps no state: no momentum table the size of the parameter
            func withBuffer(_ body: (UnsafeMutablePointer<Float>?) -> ek_status) -> ek_status {
                momentum == 0 ? body(nil) : buffers.withTable(for: p) { buffer in buffer.withUnsafeMutableBufferPointer { body($0.baseAddress) } }
            }
            if let bag = grad.pendingBag { // a sparse bag's gradient: applied fused, without making its entries
                mustSucceed(withBuffer { buffer in
                    o.momentum_buffer = buffer
                    return p.withMutableTableData { bag.applyUpdate(o, to: $0) }
                }, "SGD.step")
                continue
            }
            // float32: each entry added as it is (a half table is coalesced first: one rounding per row)
            if momentum == 0 && weightDecay == 0 && p.dtype == .float32, case .sparse(let s) = grad {
                s.values.floats.withPointer { values in
                    p.floats.withMutablePointer { table in
                        mustSucceed(ek_coo_scatter_add_f32(Int64(s.shape[0]), Int64(s.shape[1]), Int64(s.nnz), s.rows.ints,
                                                           values, -learningRate, table), "SGD.step")
                    }
                }
                continue
            }
            let u = RowUpdate(grad, of: p, scratch: &scratch)
            mustSucceed(withBuffer { buffer in
                o.momentum_buffer = buffer
                return u.apply(o, to: p)
            }, "SGD.step")
        }
    }

    private var stateFormat: OptimizerState {
        OptimizerState(kind: "SGD", fixed: ["momentum": momentum, "dampening": dampening, "weight_decay": weightDecay,
                                            "nesterov": nesterov ? 1 : 0])
    }

    /// The momentum buffers as `state.<i>.momentum_buffer` (none without momentum), and the
    /// hyperparameters and the step count (metadata `step`: the stochastic rounding's counter; PyTorch's
    /// SGD keeps none, so there is no `state.<i>.step`) in the metadata.
    public func stateDict() -> SafeTensors {
        var state = stateFormat.encode(parameters, tables: [("momentum_buffer", buffers)], step: nil, learningRate: learningRate)
        state.metadata["step"] = "\(stepCount)"
        return state
    }

    /// Restores `stateDict()`'s output: momentum buffers and learning rate. Throws, changing
    /// nothing, for another optimizer's state, other hyperparameters, or buffers that do not fit.
    public func loadStateDict(_ state: SafeTensors) throws(EmbeddingKitError) {
        let d = try stateFormat.decode(state, parameters, tableNames: ["momentum_buffer"], keepsStep: false)
        var steps = 0   // a state saved before SGD counted its steps has none
        if let text = state.metadata["step"] {
            guard let n = Int(text), n >= 0 else {
                throw EmbeddingKitError(.invalidArgument, "SGD.loadStateDict: the metadata's \"step\" is not a count: \(quoted(text))")
            }
            steps = n
        }
        stepCount = steps
        buffers.replaceAll(d.tables["momentum_buffer"] ?? [])
        if let lr = d.learningRate { learningRate = lr }
    }
}
