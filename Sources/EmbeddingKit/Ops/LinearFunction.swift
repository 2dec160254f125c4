/// `x @ weight^T + bias` over the last dimension of `x` (PyTorch's `F.linear`): `weight` is
/// `[out, in]`, `bias` `[out]`, `x` `[..., in]`, the result `[..., out]`.
public func linear(_ x: Tensor, _ weight: Tensor, _ bias: Tensor? = nil) -> Tensor {
    precondition(x.dtype == .float32 && weight.rank == 2, "linear: weight must be [out, in], got \(weight.shape)")
    let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
    precondition(x.shape.last == inFeatures, "linear: input of shape \(x.shape) for a weight of shape \(weight.shape)")
    precondition(bias.map { $0.shape == [outFeatures] } ?? true, "linear: bias of shape \(bias!.shape), want [\(outFeatures)]")
    let n = x.shape.dropLast().reduce(1, *) // not count / inFeatures: inFeatures may be 0
    var y = Tensor.product(n, outFeatures, inFeatures, x.floats, false, weight.floats, true)
    if let bias, outFeatures > 0 { TensorKernels.addRowVector(bias.floats, to: &y, rows: n) }
    let inputs = [x, weight] + (bias.map { [$0] } ?? [])
    return Tensor(shape: Array(x.shape.dropLast()) + [outFeatures], floats: y).recorded(PyTorchNodeNames.linear(inputRank: x.rank, hasBias: bias != nil), inputs) { g in
        var grads: [Gradient?] = [
            x.requiresGrad ? .dense(Tensor(shape: x.shape, floats: Tensor.product(n, inFeatures, outFeatures, g.floats, false, weight.floats, false))) : nil,
            weight.requiresGrad ? .dense(Tensor(shape: weight.shape, floats: Tensor.product(outFeatures, inFeatures, n, g.floats, true, x.floats, false))) : nil,
        ]
        if let bias, bias.requiresGrad {
            grads.append(.dense(Tensor(shape: bias.shape, floats: TensorKernels.sumDim(g.floats, outer: 1, n: n, inner: outFeatures))))
        }
        return grads
    }
}
