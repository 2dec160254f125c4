import CKernels
import Foundation

/// Adam and AdamW (decoupled weight decay), PyTorch's `optim.Adam` / `optim.AdamW`, for dense and
/// sparse gradients. With a sparse gradient the update is lazy: only the rows present — their weights,
/// moments and decay — change; the bias correction uses the optimizer's global step.
public final class Adam: Optimizer {
    /// The parameters this optimizer updates.
    public let parameters: [Tensor]
    /// The step size; it may be changed between steps.
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
    /// `betas` (0.9, 0.999), `epsilon` 1e-8, no weight decay. Hyperparameters out of range (betas
    /// outside [0, 1), `epsilon` not positive, ...) stop the program at `step()`.
    public convenience init(_ parameters: [Tensor], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                            epsilon: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        self.init(parameters, learningRate, betas, epsilon, weightDecay, decoupledWeightDecay, false)
    }

    init(_ parameters: [Tensor], _ learningRate: Float, _ betas: (Float, Float), _ epsilon: Float, _ weightDecay: Float,
         _ decoupled: Bool, _ epsilonOutside: Bool) {
        self.parameters = parameters
        self.learningRate = learningRate
        (beta1, beta2) = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        decoupledWeightDecay = decoupled
        epsilonOutsideCorrection = epsilonOutside
    }

    /// Applies one Adam update to every parameter that has a gradient.
    public func step() {
        stepCount += 1
        let correction = (1 - Float(pow(Double(beta2), Double(stepCount)))).squareRoot()
        let eps = epsilonOutsideCorrection ? epsilon / correction : epsilon
        for p in parameters {
            guard var grad = p.grad else { continue }
            if weightDecay != 0 && !decoupledWeightDecay { grad = coupledDecay(grad, p) }
            let u = RowUpdate(grad, of: p, scratch: &scratch)
            let status = firstMoments.withTable(for: p) { m in
                secondMoments.withTable(for: p) { v in
                    u.withRows { rows in
                        ek_adam_update_f32(Int64(u.tableRows), Int64(u.width), Int64(u.count), rows, u.values, learningRate,
                                           beta1, beta2, eps, decoupledWeightDecay ? weightDecay : 0, Int64(stepCount),
                                           &p.floats, &m, &v)
                    }
                }
            }
            mustSucceed(status, "Adam.step")
        }
    }

    /// g + weight_decay * W on the rows the gradient has (Adam's L2 penalty, lazily for sparse).
    private func coupledDecay(_ grad: Gradient, _ p: Tensor) -> Gradient {
        switch grad {
        case .dense(let g): return .dense(Tensor(shape: g.shape, floats: zip(g.floats, p.floats).map { $0 + weightDecay * $1 }))
        case .sparse(let s):
            let c = s.coalesced(), width = c.shape[1]
            var values = c.values.floats
            for (k, row) in c.rows.ints.enumerated() {
                for d in 0..<width { values[k * width + d] += weightDecay * p.floats[Int(row) * width + d] }
            }
            return .sparse(SparseGradient(rows: c.rows, values: Tensor(shape: c.values.shape, floats: values), shape: c.shape,
                                          isCoalesced: true))
        }
    }
}

/// AdamW: Adam with decoupled weight decay (default 0.01), lazy for sparse gradients.
public func AdamW(_ parameters: [Tensor], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                  epsilon: Float = 1e-8, weightDecay: Float = 0.01) -> Adam {
    Adam(parameters, learningRate: learningRate, betas: betas, epsilon: epsilon, weightDecay: weightDecay,
         decoupledWeightDecay: true)
}

/// SparseAdam, PyTorch's `optim.SparseAdam`: lazy Adam for sparse gradients, with eps outside the
/// bias correction as PyTorch computes it.
public func SparseAdam(_ parameters: [Tensor], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
                       epsilon: Float = 1e-8) -> Adam {
    Adam(parameters, learningRate, betas, epsilon, 0, false, true)
}
