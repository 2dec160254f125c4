import CKernels

/// Softmax over the last dimension of attention scores, as PyTorch's attention computes it.
///
/// With `zeroingFullyMaskedRows`, a row whose scores are all `-inf` (every key masked) gets weights
/// 0 instead of plain softmax's NaN, so that query attends to nothing and its output is 0: what
/// `scaled_dot_product_attention` does (`at::_safe_softmax` in the math backend; the CPU flash
/// kernel sets such rows to 0 too), and so what `MultiheadAttention` gives with
/// `need_weights=False`. Without it, plain softmax (PyTorch's `need_weights=True` path).
/// An empty dimension gives an empty result (no row to normalise).
func attentionSoftmax(_ scores: Tensor, zeroingFullyMaskedRows: Bool) -> Tensor {
    precondition(scores.dtype == .float32 && scores.rank >= 1, "attentionSoftmax: needs float scores, got \(scores.shape)")
    let cols = scores.shape[scores.rank - 1], rows = cols == 0 ? 0 : scores.count / cols
    var y = FloatStorage(repeating: 0, count: scores.count)
    if rows > 0 {
        scores.floats.withPointer { px in
            y.withMutablePointer { py in
                mustSucceed(ek_softmax_forward_f32(Int64(rows), Int64(cols), px, py))
                guard zeroingFullyMaskedRows else { return }
                mustSucceed(ek_zero_masked_rows_f32(Int64(rows), Int64(cols), px, py))
            }
        }
    }
    let out = y
    // _safe_softmax's derivative is softmax's, taken at its output: 0 for a masked row, so no NaN flows back
    return Tensor(shape: scores.shape, floats: y).recorded(zeroingFullyMaskedRows ? "SafeSoftmaxBackward0" : "SoftmaxBackward0",
                                                           [scores]) { g in
        var gx = FloatStorage(repeating: 0, count: out.count)
        if rows > 0 {
            out.withPointer { po in
                g.floats.withPointer { pg in
                    gx.withMutablePointer { pgx in mustSucceed(ek_softmax_backward_f32(Int64(rows), Int64(cols), po, pg, pgx)) }
                }
            }
        }
        return [.dense(Tensor(shape: scores.shape, floats: gx))]
    }
}
