import CKernels

/// Normalises over the last `normalizedShape.count` dimensions to zero mean and unit variance, then
/// scales by `weight` and shifts by `bias` (PyTorch's `F.layer_norm`; variance is the biased one).
///
/// Throws `EmbeddingKitError`, changing nothing, for an `eps` that is negative or not finite (0 is
/// allowed, as in PyTorch), or a `normalizedShape` that does not end the input's shape or that
/// `weight` / `bias` do not have (PyTorch's `Given normalized_shape=[4], expected input with shape [*, 4]...`).
public func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil,
                      eps: Float = 1e-5) throws(EmbeddingKitError) -> Tensor {
    try checkLayerNormEps(eps, op: "layerNorm")
    guard !normalizedShape.isEmpty && x.shape.suffix(normalizedShape.count) == normalizedShape[...] else {
        throw EmbeddingKitError(.shape, "layerNorm: given normalizedShape=\(normalizedShape), expected input with shape [*\(normalizedShape.map { ", \($0)" }.joined())], but got input of size \(x.shape)")
    }
    for (name, t) in [("weight", weight), ("bias", bias)] {
        if let t, t.shape != normalizedShape {
            throw EmbeddingKitError(.shape, "layerNorm: \(name) of shape \(t.shape), want normalizedShape \(normalizedShape)")
        }
    }
    return checkedLayerNorm(x, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
}

/// PyTorch accepts any eps; a negative or non-finite one only makes NaNs, so it is refused here.
func checkLayerNormEps(_ eps: Float, op: String) throws(EmbeddingKitError) {
    guard eps >= 0 && eps.isFinite else {
        throw EmbeddingKitError(.invalidArgument, "\(op): eps=\(eps) must be finite and not negative")
    }
}

/// `layerNorm` for arguments already checked (a `LayerNorm` module checks its own when it is made).
func checkedLayerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
    precondition(x.dtype == .float32, "layerNorm: needs a float tensor, got \(x.dtype)")
    let cols = normalizedShape.reduce(1, *), rows = Array(x.shape.dropLast(normalizedShape.count)).reduce(1, *)
    var y = FloatStorage(repeating: 0, count: x.count)
    var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
    if x.count > 0 { // an empty input (no rows, or rows of 0 elements) has nothing to normalise
        withOptionalPointer(weight?.floats) { w in
            withOptionalPointer(bias?.floats) { b in
                x.floats.withPointer { px in
                    y.withMutablePointer { py in
                        mustSucceed(ek_layer_norm_forward_f32(Int64(rows), Int64(cols), px, w, b, Double(eps), py, &mean, &rstd))
                    }
                }
            }
        }
    }
    let inputs = [x] + [weight, bias].compactMap { $0 }
    return Tensor(shape: x.shape, floats: y).recorded("NativeLayerNormBackward0", inputs) { g in
        var gx = FloatStorage(repeating: 0, count: x.requiresGrad ? x.count : 0)
        var gw = FloatStorage(repeating: 0, count: weight?.requiresGrad == true ? cols : 0)
        var gb = FloatStorage(repeating: 0, count: bias?.requiresGrad == true ? cols : 0)
        if x.count > 0 { withOptionalPointer(weight?.floats) { w in
            withOptionalMutable(!gx.isEmpty, &gx) { gxp in
                withOptionalMutable(!gw.isEmpty, &gw) { gwp in
                    withOptionalMutable(!gb.isEmpty, &gb) { gbp in
                        x.floats.withPointer { px in
                            g.floats.withPointer { pg in
                                mustSucceed(ek_layer_norm_backward_f32(Int64(rows), Int64(cols), px, mean, rstd, w, pg, gxp, gwp, gbp))
                            }
                        }
                    }
                }
            }
        } }
        var grads: [Gradient?] = [x.requiresGrad ? .dense(Tensor(shape: x.shape, floats: gx)) : nil]
        if let weight { grads.append(weight.requiresGrad ? .dense(Tensor(shape: weight.shape, floats: gw)) : nil) }
        if let bias { grads.append(bias.requiresGrad ? .dense(Tensor(shape: bias.shape, floats: gb)) : nil) }
        return grads
    }
}

