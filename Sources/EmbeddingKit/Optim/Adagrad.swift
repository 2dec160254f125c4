import CKernels

/// Adagrad, PyTorch's `optim.Adagrad` (learning-rate decay included), for dense and sparse
/// gradients; with sparse gradients only the rows present and their accumulators change.
public final class Adagrad: Optimizer {
    /// The parameters this optimizer updates.
    public let parameters: [Tensor]
    /// The step size before decay; it may be changed between steps.
    public var learningRate: Float
    /// Step t uses `learningRate / (1 + (t - 1) * learningRateDecay)`; `weightDecay` adds
    /// `weightDecay * W` to the gradient (L2); `epsilon` is added to the square root of the accumulated sum.
    public let learningRateDecay: Float, weightDecay: Float, epsilon: Float
    private var sums = StateTables()
    private var scratch = CoalesceScratch()
    private var steps = 0

    /// PyTorch's defaults: `learningRate` 0.01, no learning-rate or weight decay, `epsilon` 1e-10;
    /// the accumulated sums start at 0. A negative learning rate, `epsilon` or weight decay stops the
    /// program at `step()`.
    public init(_ parameters: [Tensor], learningRate: Float = 0.01, learningRateDecay: Float = 0, weightDecay: Float = 0,
                epsilon: Float = 1e-10) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.learningRateDecay = learningRateDecay
        self.weightDecay = weightDecay
        self.epsilon = epsilon
    }

    /// Applies one Adagrad update to every parameter that has a gradient.
    public func step() {
        steps += 1
        let lr = learningRate / (1 + Float(steps - 1) * learningRateDecay)
        for p in parameters {
            guard let grad = p.grad else { continue }
            let u = RowUpdate(grad, of: p, scratch: &scratch)
            let status = sums.withTable(for: p) { sum in
                u.withRows { rows in
                    ek_adagrad_update_f32(Int64(u.tableRows), Int64(u.width), Int64(u.count), rows, u.values, lr, epsilon,
                                          weightDecay, &p.floats, &sum)
                }
            }
            mustSucceed(status, "Adagrad.step")
        }
    }
}
