import CKernels

/// Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)` when `training`
/// (PyTorch's `F.dropout`); returns `x` itself otherwise. The mask comes from one draw of
/// `generator`, expanded by a counter-based hash in the kernel, so a seeded generator gives the same
/// mask for any thread count.
///
/// Throws `EmbeddingKitError` for a `p` outside [0, 1] or NaN, changing nothing.
public func dropout(_ x: Tensor, p: Float = 0.5, training: Bool = true,
                    generator: Generator = .default) throws(EmbeddingKitError) -> Tensor {
    try checkDropoutProbability(p)
    return checkedDropout(x, p: p, training: training, generator: generator)
}

/// PyTorch's check and message: `dropout probability has to be between 0 and 1, but got 2.0`.
func checkDropoutProbability(_ p: Float) throws(EmbeddingKitError) {
    guard p >= 0 && p <= 1 else {
        throw EmbeddingKitError(.invalidArgument, "dropout probability has to be between 0 and 1, but got \(p)")
    }
}

/// `dropout` for a `p` already checked (a module checks its own when it is made).
func checkedDropout(_ x: Tensor, p: Float, training: Bool, generator: Generator) -> Tensor {
    precondition(x.dtype == .float32, "dropout: needs a float tensor, got \(x.dtype)")
    guard training, p > 0, x.count > 0 else { return x }
    let seed = generator.draw { $0.next() }
    var y = FloatStorage(repeating: 0, count: x.count)
    var mask = [UInt8](repeating: 0, count: x.count)
    x.floats.withPointer { px in
        y.withMutablePointer { py in mustSucceed(ek_dropout_forward_f32(Int64(x.count), px, Double(p), seed, py, &mask)) }
    }
    return Tensor(shape: x.shape, floats: y).recorded("MulBackward0", [x]) { g in
        var gx = FloatStorage(repeating: 0, count: x.count)
        g.floats.withPointer { pg in
            gx.withMutablePointer { pgx in mustSucceed(ek_dropout_backward_f32(Int64(x.count), mask, Double(p), pg, pgx)) }
        }
        return [.dense(Tensor(shape: x.shape, floats: gx))]
    }
}
