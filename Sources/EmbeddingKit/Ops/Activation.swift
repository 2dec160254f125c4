import CKernels

/// max(x, 0) element-wise (PyTorch's `relu`); NaN stays NaN. The gradient passes where the output is
/// not <= 0, so also at NaN (PyTorch's `threshold_backward` masks by the output).
public func relu(_ x: Tensor) -> Tensor {
    precondition(x.dtype == .float32, "relu: needs a float tensor, got \(x.dtype)")
    var y = FloatStorage(repeating: 0, count: x.count)
    x.floats.withPointer { px in y.withMutablePointer { py in mustSucceed(ek_relu_forward_f32(Int64(x.count), px, py)) } }
    return Tensor(shape: x.shape, floats: y).recorded("ReluBackward0", [x]) { g in
        var gx = FloatStorage(repeating: 0, count: x.count)
        x.floats.withPointer { px in
            g.floats.withPointer { pg in gx.withMutablePointer { pgx in mustSucceed(ek_relu_backward_f32(Int64(x.count), px, pg, pgx)) } }
        }
        return [.dense(Tensor(shape: x.shape, floats: gx))]
    }
}

/// How `gelu` evaluates the Gaussian CDF: exactly (`erf`, PyTorch's default) or with the tanh formula.
public enum GELUApproximation: Int32, Sendable {
    /// `x * Φ(x)` with `Φ` through `erf`.
    case none = 0
    /// `x/2 * (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
    case tanh = 1
}

/// The Gaussian error linear unit `x * Φ(x)` element-wise (PyTorch's `F.gelu`).
public func gelu(_ x: Tensor, approximate: GELUApproximation = .none) -> Tensor {
    precondition(x.dtype == .float32, "gelu: needs a float tensor, got \(x.dtype)")
    var y = FloatStorage(repeating: 0, count: x.count)
    x.floats.withPointer { px in
        y.withMutablePointer { py in mustSucceed(ek_gelu_forward_f32(Int64(x.count), px, approximate.rawValue, py)) }
    }
    return Tensor(shape: x.shape, floats: y).recorded("GeluBackward0", [x]) { g in
        var gx = FloatStorage(repeating: 0, count: x.count)
        x.floats.withPointer { px in
            g.floats.withPointer { pg in
                gx.withMutablePointer { pgx in mustSucceed(ek_gelu_backward_f32(Int64(x.count), px, approximate.rawValue, pg, pgx)) }
            }
        }
        return [.dense(Tensor(shape: x.shape, floats: gx))]
    }
}
