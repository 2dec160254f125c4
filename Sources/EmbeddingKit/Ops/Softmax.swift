import CKernels

/// Softmax over dimension `dim` (PyTorch's `softmax(x, dim)`).
public func softmax(_ x: Tensor, dim: Int = -1) -> Tensor { rowwiseSoftmax(x, dim: dim, log: false) }

/// Log-softmax over dimension `dim` (PyTorch's `log_softmax(x, dim)`), computed stably.
public func logSoftmax(_ x: Tensor, dim: Int = -1) -> Tensor { rowwiseSoftmax(x, dim: dim, log: true) }

/// The kernels work on the last dimension; another `dim` is moved there and back.
private func rowwiseSoftmax(_ x: Tensor, dim: Int, log: Bool) -> Tensor {
    precondition(x.dtype == .float32 && x.rank >= 1, "softmax: needs a float tensor of rank >= 1, got \(x.shape)")
    let d = x.normalizedDim(dim, op: log ? "logSoftmax" : "softmax")
    if d != x.rank - 1 { return rowwiseSoftmax(x.transpose(d, -1), dim: -1, log: log).transpose(d, -1) }
    let cols = x.shape[d], rows = x.shape.dropLast().reduce(1, *)
    var y = FloatStorage(repeating: 0, count: x.count)
    if x.count > 0 { x.floats.withPointer { px in
        y.withMutablePointer { py in
            mustSucceed((log ? ek_log_softmax_forward_f32 : ek_softmax_forward_f32)(Int64(rows), Int64(cols), px, py))
        }
    } } // an empty input (no rows, or an empty dimension) gives an empty output, as in PyTorch
    let out = y
    return Tensor(shape: x.shape, floats: y).recorded(log ? "LogSoftmaxBackward0" : "SoftmaxBackward0", [x]) { g in
        var gx = FloatStorage(repeating: 0, count: out.count)
        if gx.isEmpty { return [.dense(Tensor(shape: x.shape, floats: gx))] }
        out.withPointer { po in
            g.floats.withPointer { pg in
                gx.withMutablePointer { pgx in
                    mustSucceed((log ? ek_log_softmax_backward_f32 : ek_softmax_backward_f32)(Int64(rows), Int64(cols), po, pg, pgx))
                }
            }
        }
        return [.dense(Tensor(shape: x.shape, floats: gx))]
    }
}
