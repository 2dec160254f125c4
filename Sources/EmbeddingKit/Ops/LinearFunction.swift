/// `x @ weight^T + bias` over the last dimension of `x` (PyTorch's `F.linear`): `weight` is
/// `[out, in]`, `bias` `[out]`, `x` `[..., in]`, the result `[..., out]`.
public func linear(_ x: Tensor, _ weight: Tensor, _ bias: Tensor? = nil) -> Tensor {
    precondition(x.dtype == .float32 && weight.rank == 2, "linear: weight must be [out, in], got \(weight.shape)")
    let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
    precondition(x.shape.last == inFeatures, "linear: input of shape \(x.shape) for a weight of shape \(weight.shape)")
    precondition(bias.map { $0.shape == [outFeatures] } ?? true, "linear: bias of shape \(bias!.shape), want [\(outFeatures)]")
    let n = x.count / Swift.max(inFeatures, 1)
    var y = Tensor.product(n, outFeatures, inFeatures, x.floats, false, weight.floats, true)
    if let bias { for r in 0..<n { for o in 0..<outFeatures { y[r * outFeatures + o] += bias.floats[o] } } }
    let inputs = [x, weight] + (bias.map { [$0] } ?? [])
    return Tensor(shape: Array(x.shape.dropLast()) + [outFeatures], floats: y).recorded("AddmmBackward", inputs) { g in
        var grads: [Gradient?] = [
            x.requiresGrad ? .dense(Tensor(shape: x.shape, floats: Tensor.product(n, inFeatures, outFeatures, g.floats, false, weight.floats, false))) : nil,
            weight.requiresGrad ? .dense(Tensor(shape: weight.shape, floats: Tensor.product(outFeatures, inFeatures, n, g.floats, true, x.floats, false))) : nil,
        ]
        if let bias, bias.requiresGrad {
            var gb = [Float](repeating: 0, count: outFeatures)
            for r in 0..<n { for o in 0..<outFeatures { gb[o] += g.floats[r * outFeatures + o] } }
            grads.append(.dense(Tensor(shape: bias.shape, floats: gb)))
        }
        return grads
    }
}
