import CKernels

/// Normalises over the last `normalizedShape.count` dimensions to zero mean and unit variance, then
/// scales by `weight` and shifts by `bias` (PyTorch's `F.layer_norm`; variance is the biased one).
public func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil,
                      eps: Float = 1e-5) -> Tensor {
    precondition(x.dtype == .float32, "layerNorm: needs a float tensor, got \(x.dtype)")
    precondition(!normalizedShape.isEmpty && x.shape.suffix(normalizedShape.count) == normalizedShape[...],
                 "layerNorm: normalizedShape \(normalizedShape) does not end the input shape \(x.shape)")
    precondition(weight.map { $0.shape == normalizedShape } ?? true, "layerNorm: weight of shape \(weight!.shape), want \(normalizedShape)")
    precondition(bias.map { $0.shape == normalizedShape } ?? true, "layerNorm: bias of shape \(bias!.shape), want \(normalizedShape)")
    let cols = normalizedShape.reduce(1, *), rows = x.count / Swift.max(cols, 1)
    var y = FloatStorage(repeating: 0, count: x.count)
    var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
    withOptionalPointer(weight?.floats) { w in
        withOptionalPointer(bias?.floats) { b in
            x.floats.withPointer { px in
                y.withMutablePointer { py in
                    mustSucceed(ek_layer_norm_forward_f32(Int64(rows), Int64(cols), px, w, b, Double(eps), py, &mean, &rstd))
                }
            }
        }
    }
    let inputs = [x] + [weight, bias].compactMap { $0 }
    return Tensor(shape: x.shape, floats: y).recorded("NativeLayerNormBackward0", inputs) { g in
        var gx = FloatStorage(repeating: 0, count: x.requiresGrad ? x.count : 0)
        var gw = FloatStorage(repeating: 0, count: weight?.requiresGrad == true ? cols : 0)
        var gb = FloatStorage(repeating: 0, count: bias?.requiresGrad == true ? cols : 0)
        withOptionalPointer(weight?.floats) { w in
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
        }
        var grads: [Gradient?] = [gx.isEmpty ? nil : .dense(Tensor(shape: x.shape, floats: gx))]
        if let weight { grads.append(gw.isEmpty ? nil : .dense(Tensor(shape: weight.shape, floats: gw))) }
        if let bias { grads.append(gb.isEmpty ? nil : .dense(Tensor(shape: bias.shape, floats: gb))) }
        return grads
    }
}
