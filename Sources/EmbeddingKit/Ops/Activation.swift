/// max(x, 0) element-wise (PyTorch's `relu`).
public func relu(_ x: Tensor) -> Tensor {
    x.map { Swift.max($0, 0) }.recorded("ReluBackward", [x]) { g in
        [.dense(Tensor.zipBroadcast(g, x, op: "relu") { $1 > 0 ? $0 : 0 })]
    }
}
