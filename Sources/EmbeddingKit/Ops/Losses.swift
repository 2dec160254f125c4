import CKernels

/// Negative log-likelihood of class indices `target` `[N]` under log-probabilities `logProbs`
/// `[N, C]` (PyTorch's `F.nll_loss`): `-logProbs[i, target[i]]`, reduced. Targets equal to
/// `ignoreIndex` add nothing and do not count in the mean.
///
/// Throws (changing nothing) when a target is neither `ignoreIndex` nor a class.
public func nllLoss(_ logProbs: Tensor, _ target: Tensor, ignoreIndex: Int = -100,
                    reduction: Reduction = .mean) throws(EmbeddingKitError) -> Tensor {
    precondition(logProbs.dtype == .float32 && logProbs.rank == 2, "nllLoss: input must be [N, C] floats, got \(logProbs.shape)")
    precondition(target.dtype == .int64 && target.shape == [logProbs.shape[0]],
                 "nllLoss: target must be int64 of shape [\(logProbs.shape[0])], got \(target.dtype) \(target.shape)")
    let rows = logProbs.shape[0], classes = logProbs.shape[1]
    var loss = [Float](repeating: 0, count: reduction == .none ? rows : 1)
    var grad = FloatStorage(repeating: 0, count: logProbs.requiresGrad ? logProbs.count : 0)
    try checkKernel(withOptionalMutable(logProbs.requiresGrad, &grad) { g in
        logProbs.floats.withPointer { x in
            ek_nll_loss_f32_i64(Int64(rows), Int64(classes), x, target.ints, Int64(ignoreIndex),
                                ek_reduction(UInt32(reduction.rawValue)), &loss, g)
        }
    })
    let rowGrad = grad
    return Tensor(shape: reduction == .none ? [rows] : [], floats: loss).recorded("NllLossBackward0", [logProbs]) { g in
        [.dense(scaledLossGradient(rowGrad, shape: logProbs.shape, upstream: g, perRow: reduction == .none ? classes : nil))]
    }
}

/// Mean squared error between `input` and `target` of the same shape (PyTorch's `F.mse_loss`).
public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    precondition(input.dtype == .float32 && target.dtype == .float32, "mseLoss: needs float tensors")
    precondition(input.shape == target.shape, "mseLoss: input of shape \(input.shape) and target of shape \(target.shape) differ")
    let n = input.count
    var loss = [Float](repeating: 0, count: reduction == .none ? n : 1)
    var grad = FloatStorage(repeating: 0, count: input.requiresGrad || target.requiresGrad ? n : 0)
    mustSucceed(withOptionalMutable(!grad.isEmpty, &grad) { g in
        input.floats.withPointer { x in
            target.floats.withPointer { t in ek_mse_loss_f32(Int64(n), x, t, ek_reduction(UInt32(reduction.rawValue)), &loss, g) }
        }
    })
    let ownGrad = grad
    return Tensor(shape: reduction == .none ? input.shape : [], floats: loss).recorded("MseLossBackward0", [input, target]) { g in
        let gi = scaledLossGradient(ownGrad, shape: input.shape, upstream: g, perRow: reduction == .none ? 1 : nil)
        return [.dense(gi), .dense(-gi)]
    }
}

/// A fused loss kernel's gradient assumes an upstream gradient of 1; scale it by the real one: one
/// scalar for mean/sum, one value per `perRow` elements for `none`.
func scaledLossGradient(_ grad: FloatStorage, shape: [Int], upstream g: Tensor, perRow: Int?) -> Tensor {
    // grad [rows, perRow] times g, one value per row (a scalar for mean/sum): a broadcast product
    let rows = perRow.map { $0 == 0 ? 0 : grad.count / $0 } ?? 1, width = perRow ?? grad.count
    return Tensor(shape: shape, floats: TensorKernels.binary(EK_BINARY_MUL, [rows, width], grad, [Int64(width), 1],
                                                             g.floats, [perRow == nil ? 0 : 1, 0]))
}
