import CKernels
import Foundation

/// Scales the gradients of `parameters` together so that their total `normType`-norm is at most
/// `maxNorm` (PyTorch's `clip_grad_norm_`), and returns the total norm before clipping.
///
/// As in PyTorch, every gradient is multiplied by `min(maxNorm / (total + 1e-6), 1)`, and a
/// non-finite total goes through that formula too: a NaN total makes every gradient NaN, an infinite
/// one scales them by 0 (an infinite or NaN element becomes NaN). With `errorIfNonfinite` a NaN or
/// infinite total throws instead, and no gradient changes.
///
/// Sparse gradients count as the dense tables they stand for: duplicate rows are summed before the
/// norm is taken (the norm of the coalesced gradient), and scaling multiplies every stored entry,
/// which scales that sum by the same factor. `normType` may be any positive number or `.infinity`
/// (largest magnitude).
///
/// Throws (changing nothing) when `maxNorm` is negative or NaN, when `normType` is not positive,
/// and, with `errorIfNonfinite`, when the total norm is NaN or infinite.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float, normType: Float = 2,
                         errorIfNonfinite: Bool = false) throws(EmbeddingKitError) -> Float {
    guard maxNorm >= 0 else {
        throw EmbeddingKitError(.invalidArgument, "clipGradNorm: maxNorm=\(maxNorm) must be a number >= 0")
    }
    guard normType > 0 else {
        throw EmbeddingKitError(.invalidArgument, "clipGradNorm: normType=\(normType) must be positive or infinity")
    }
    let grads = parameters.compactMap(\.grad)
    guard !grads.isEmpty else { return 0 }
    let total = totalNorm(grads, normType)
    if errorIfNonfinite && !total.isFinite {
        throw EmbeddingKitError(.invalidArgument,
            "clipGradNorm: the total norm of order \(normType) for gradients from `parameters` is non-finite (\(total)), "
            + "so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, "
            + "set errorIfNonfinite: false")
    }
    // torch.clamp(coef, max=1): a NaN coefficient stays NaN (Swift.min would not say which it keeps)
    let raw = maxNorm / (total + 1e-6)
    let coefficient = raw.isNaN || raw < 1 ? raw : 1
    guard coefficient != 1 else { return total }   // x * 1 == x: PyTorch's multiplication changes nothing
    withoutGradients {
        for p in parameters {
            switch p.grad {
            case .dense(let t): p.grad = .dense(t * coefficient)
            case .sparse(let s):
                p.grad = .sparse(SparseGradient(rows: s.rows, values: s.values * coefficient, shape: s.shape,
                                                isCoalesced: s.isCoalesced))
            case nil: break
            }
        }
    }
    return total
}

/// The `normType`-norm of all gradient elements together (NaN if any element is NaN, as in PyTorch):
/// `ek_norm_f32` over each gradient in turn, one double-precision accumulator for them all.
private func totalNorm(_ grads: [Gradient], _ normType: Float) -> Float {
    var acc = 0.0
    for grad in grads {
        let values: FloatStorage
        switch grad {
        case .dense(let t): values = t.floats
        case .sparse(let s): values = s.coalesced().values.floats
        }
        values.withPointer { x in mustSucceed(ek_norm_f32(Int64(values.count), x, normType, &acc), "clipGradNorm") }
    }
    return Float(normType == .infinity ? acc : Foundation.pow(acc, 1 / Double(normType)))
}
