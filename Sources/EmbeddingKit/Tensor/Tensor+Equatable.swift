/// Tensors compare by value: shape, dtype and every element. (`===` compares identity.)
///
/// Elements compare as Swift's `Float` does, as `[Float] == [Float]` does: a NaN is not equal to
/// anything, itself included, so a tensor holding a NaN is not equal to itself, and `-0.0 == 0.0`.
/// Gradients, `requiresGrad` and the autograd graph are not compared. PyTorch's `torch.equal(a, b)`;
/// (PyTorch's `a == b` is element-wise; this is not.)
extension Tensor: Equatable {
    /// Whether `a` and `b` have the same shape, dtype and elements (a NaN equals nothing).
    public static func == (a: Tensor, b: Tensor) -> Bool {
        guard a.shape == b.shape, a.dtype == b.dtype else { return false }
        return a.dtype == .float32 ? a.floats == b.floats : a.ints == b.ints
    }
}
