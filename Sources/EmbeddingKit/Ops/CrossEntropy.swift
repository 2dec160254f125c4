import CKernels

/// How a loss combines the per-sample losses.
public enum Reduction: Int32, Sendable {
    case none = 0, mean = 1, sum = 2
}

/// Cross-entropy between `logits` `[N, C]` and class indices `target` `[N]` (int64), fused with its
/// gradient in one kernel pass. PyTorch's `F.cross_entropy`: targets equal to `ignoreIndex` add
/// nothing (and do not count in the mean); `labelSmoothing` mixes in the uniform distribution.
///
/// Throws (changing nothing) when a target is neither `ignoreIndex` nor a class.
public func crossEntropy(_ logits: Tensor, _ target: Tensor, ignoreIndex: Int = -100, labelSmoothing: Float = 0,
                         reduction: Reduction = .mean) throws(EmbeddingKitError) -> Tensor {
    precondition(logits.dtype == .float32 && logits.rank == 2, "crossEntropy: logits must be [N, C] floats, got \(logits.shape)")
    precondition(target.dtype == .int64 && target.shape == [logits.shape[0]],
                 "crossEntropy: target must be int64 of shape [\(logits.shape[0])], got \(target.dtype) \(target.shape)")
    let rows = logits.shape[0], classes = logits.shape[1]
    var loss = [Float](repeating: 0, count: reduction == .none ? rows : 1)
    var grad = FloatStorage.uninitialized(count: logits.requiresGrad ? logits.count : 0) // the kernel writes every element
    try checkKernel(withOptionalMutable(logits.requiresGrad, &grad) { g in
        logits.floats.withPointer { x in
            ek_cross_entropy_f32_i64(Int64(rows), Int64(classes), x, target.ints, Int64(ignoreIndex), labelSmoothing,
                                     ek_reduction(UInt32(reduction.rawValue)), &loss, g)
        }
    })
    let out = Tensor(shape: reduction == .none ? [rows] : [], floats: loss)
    let rowGrad = grad
    // PyTorch: nll_loss(log_softmax(x)), and with label smoothing a sum of that and the smoothing term
    return out.recorded(labelSmoothing > 0 ? "AddBackward0" : "NllLossBackward0", [logits]) { g in
        // `loss.backward()`: an upstream gradient of exactly 1 leaves the fused gradient as it is
        // (x * 1 == x), so it is handed on without a scaled copy (shared, copy-on-write)
        if reduction != .none && g.floats[0] == 1 { return [.dense(Tensor(shape: logits.shape, floats: rowGrad))] }
        return [.dense(scaledLossGradient(rowGrad, shape: logits.shape, upstream: g, perRow: reduction == .none ? classes : nil))]
    }
}


