import CKernels

/// Adagrad, PyTorch's `optim.Adagrad` (learning-rate decay included), for dense and sparse
/// gradients; with sparse gradients only the rows present and their accumulators change.
public final class Adagrad: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let learningRateDecay: Float, weightDecay: Float, epsilon: Float
    private var sums = StateTables()
    private var steps = 0

    public init(_ parameters: [Tensor], learningRate: Float = 0.01, learningRateDecay: Float = 0, weightDecay: Float = 0,
                epsilon: Float = 1e-10) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.learningRateDecay = learningRateDecay
        self.weightDecay = weightDecay
        self.epsilon = epsilon
    }

    public func step() {
        steps += 1
        let lr = learningRate / (1 + Float(steps - 1) * learningRateDecay)
        for p in parameters {
            guard let grad = p.grad else { continue }
            let u = RowUpdate(grad, of: p)
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
