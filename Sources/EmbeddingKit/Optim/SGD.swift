import CKernels

/// Stochastic gradient descent with optional momentum, dampening, weight decay and Nesterov
/// momentum, PyTorch's `optim.SGD`. Sparse gradients update only their rows: weight decay and the
/// momentum buffer are applied to the rows present (lazily), other rows and their buffers are untouched.
public final class SGD: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    private var buffers = StateTables()

    public init(_ parameters: [Tensor], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public func step() {
        for p in parameters {
            guard let grad = p.grad else { continue }
            let u = RowUpdate(grad, of: p)
            let status = buffers.withTable(for: p) { buffer in
                u.withRows { rows in
                    ek_sgd_update_f32(Int64(u.tableRows), Int64(u.width), Int64(u.count), rows, u.values, learningRate,
                                      momentum, dampening, weightDecay, nesterov ? 1 : 0, &p.floats, &buffer)
                }
            }
            mustSucceed(status, "SGD.step")
        }
    }
}
