/// The checks every optimizer makes before it changes anything: hyperparameters (at `init` and
/// again at `step()`, since the learning rate may be changed between steps), the parameter list,
/// and each parameter's gradient. Messages name the argument and the value as PyTorch's
/// `torch.optim` does (`Invalid learning rate: -0.1`), so a failed check throws
/// `EmbeddingKitError` and leaves every parameter and every state table as it was.
///
/// Ranges are those of the row-update kernels, which are stricter than PyTorch on one point: a
/// value must be finite (PyTorch lets `lr=inf` through and produces NaN weights).
enum OptimizerChecks {
    /// `value` must be finite and >= 0 (or > 0 with `positive`): `Invalid <what>: <value>`.
    static func nonNegative(_ value: Float, _ what: String, positive: Bool = false) throws(EmbeddingKitError) {
        guard value.isFinite && (positive ? value > 0 : value >= 0) else {
            throw EmbeddingKitError(.invalidArgument, "Invalid \(what): \(value)")
        }
    }

    /// A beta must lie in [0, 1): `Invalid beta parameter at index 0: 1.0`.
    static func beta(_ value: Float, index: Int) throws(EmbeddingKitError) {
        guard value >= 0 && value < 1 else {
            throw EmbeddingKitError(.invalidArgument, "Invalid beta parameter at index \(index): \(value)")
        }
    }

    /// A non-empty list of distinct float tensors (`optimizer got an empty parameter list`, as
    /// PyTorch). A tensor listed twice would be updated twice per step; PyTorch warns that this
    /// "will cause an error" in future, and here it already does.
    static func parameters(_ parameters: [Tensor], _ op: String) throws(EmbeddingKitError) {
        guard !parameters.isEmpty else { throw EmbeddingKitError(.invalidArgument, "optimizer got an empty parameter list") }
        var firstIndex: [ObjectIdentifier: Int] = [:]
        for (i, p) in parameters.enumerated() {
            guard p.dtype != .int64 else {
                throw EmbeddingKitError(.invalidArgument, "\(op): parameter \(i) is an int64 tensor; only float tensors (float32, float16, bfloat16) can be optimized")
            }
            if let first = firstIndex.updateValue(i, forKey: ObjectIdentifier(p)) {
                throw EmbeddingKitError(.invalidArgument,
                                        "\(op): parameter \(i) is the same tensor as parameter \(first); optimizer contains a parameter group with duplicate parameters")
            }
        }
    }

    /// The gradient of parameter `i` must be float32 with the parameter's shape (a sparse gradient:
    /// the shape of the table it stands for). PyTorch refuses such a gradient when it is assigned.
    static func gradient(_ grad: Gradient, of p: Tensor, index i: Int, _ op: String) throws(EmbeddingKitError) {
        let shape: [Int], dtype: DType
        switch grad {
        case .dense(let t): (shape, dtype) = (t.shape, t.dtype)
        case .sparse(let s): (shape, dtype) = (s.shape, s.entries.pending == nil ? s.values.dtype : .float32)
        }
        guard dtype == .float32 else {
            throw EmbeddingKitError(.invalidArgument, "\(op): the gradient of parameter \(i) is an int64 tensor, not float32")
        }
        guard shape == p.shape else {
            throw EmbeddingKitError(.shape, "\(op): parameter \(i) has shape \(p.shape) but its gradient has shape \(shape)")
        }
    }

    /// Checks every gradient present and returns the parameters to update with their gradients
    /// (those with a gradient and at least one element), so that a step fails before it changes anything.
    static func updates(_ parameters: [Tensor], _ op: String) throws(EmbeddingKitError) -> [(Tensor, Gradient)] {
        var work: [(Tensor, Gradient)] = []
        for (i, p) in parameters.enumerated() {
            guard let grad = p.grad else { continue }
            try gradient(grad, of: p, index: i, op)
            if p.count > 0 { work.append((p, grad)) }
        }
        return work
    }
}
