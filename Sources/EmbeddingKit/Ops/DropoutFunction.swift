import CKernels

/// Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)` when `training`
/// (PyTorch's `F.dropout`); returns `x` itself otherwise. The mask comes from one draw of
/// `generator`, expanded by a counter-based hash in the kernel, so a seeded generator gives the same
/// mask for any thread count.
public func dropout(_ x: Tensor, p: Float = 0.5, training: Bool = true, generator: Generator = .default) -> Tensor {
    precondition(x.dtype == .float32, "dropout: needs a float tensor, got \(x.dtype)")
    precondition(p >= 0 && p <= 1, "dropout: p=\(p) must lie in [0, 1]")
    guard training, p > 0 else { return x }
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
