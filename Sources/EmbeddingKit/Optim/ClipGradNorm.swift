import Foundation

/// Scales the gradients of `parameters` together so that their total `normType`-norm is at most
/// `maxNorm` (PyTorch's `clip_grad_norm_`), and returns the total norm before clipping.
///
/// Sparse gradients count as the dense tables they stand for: duplicate rows are summed before the
/// norm is taken (the norm of the coalesced gradient), and scaling multiplies every stored entry,
/// which scales that sum by the same factor. `normType` may be `.infinity` (largest magnitude).
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float, normType: Float = 2) -> Float {
    precondition(maxNorm >= 0 && !maxNorm.isNaN, "clipGradNorm: maxNorm=\(maxNorm) must not be negative")
    precondition(normType > 0 && !normType.isNaN, "clipGradNorm: normType=\(normType) must be positive")
    let grads = parameters.compactMap(\.grad)
    guard !grads.isEmpty else { return 0 }
    var values: [[Float]] = []
    for grad in grads {
        switch grad {
        case .dense(let t): values.append(t.floats.array)
        case .sparse(let s): values.append(s.coalesced().values.floats.array)
        }
    }
    let total: Float
    if normType == .infinity {
        total = values.lazy.flatMap { $0 }.reduce(0) { Swift.max($0, abs($1)) }
    } else {
        var sum = 0.0
        for v in values { for x in v { sum += Foundation.pow(Double(abs(x)), Double(normType)) } }
        total = Float(Foundation.pow(sum, 1 / Double(normType)))
    }
    let coefficient = maxNorm / (total + 1e-6)
    guard coefficient < 1 else { return total }
    for p in parameters {
        switch p.grad {
        case .dense(let t): p.grad = .dense(t.map { $0 * coefficient })
        case .sparse(let s):
            p.grad = .sparse(SparseGradient(rows: s.rows, values: s.values.map { $0 * coefficient }, shape: s.shape,
                                            isCoalesced: s.isCoalesced))
        case nil: break
        }
    }
    return total
}
