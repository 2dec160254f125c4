/// Choosing, after the forward pass, which rows of a table an update may change — the question
/// seed 000 ends with ("update different embeddings based on what the model predicted").
///
/// Call one of these between `backward()` and `optimizer.step()`. The gradient keeps only the
/// chosen rows and becomes sparse (a dense gradient is converted), so every optimizer applies it
/// lazily: the other rows, and their optimizer state, stay bit-identical through the step, even with
/// weight decay or momentum.
///
/// ```swift
/// let logits = model(input)
/// try crossEntropy(logits, target).backward()
/// let predicted = logits.argmax(dim: 1)
/// if predicted.indices[0] != target.indices[0] {
///     embed.weight.restrictGradient(toRows: [1, 2])      // only "ate" and "an" learn from this mistake
/// }
/// try optimizer.step()
/// ```
extension Tensor {
    /// Keeps the gradient of rows for which `keep` is true (a 2-D parameter with a gradient).
    public func restrictGradient(where keep: (Int) -> Bool) {
        precondition(rank == 2, "restrictGradient: needs a 2-D table, got shape \(shape)")
        guard let grad else { return }
        switch grad {
        case .sparse(let s):
            self.grad = .sparse(s.filtered(keep))
        case .dense(let d):
            let kept = (0..<shape[0]).filter(keep).map(Int64.init), rows = Tensor(shape: [kept.count], ints: kept)
            let values = TensorKernels.gatherRows(rows, of: d)
            self.grad = .sparse(SparseGradient(rows: rows, values: values,
                                               shape: shape, isCoalesced: true))
        }
    }

    /// Keeps only the gradient of `rows`.
    public func restrictGradient(toRows rows: some Sequence<Int>) {
        let allowed = Set(rows)
        restrictGradient { allowed.contains($0) }
    }

    /// Drops the gradient of `rows`; every other row keeps its gradient.
    public func restrictGradient(excludingRows rows: some Sequence<Int>) {
        let excluded = Set(rows)
        restrictGradient { !excluded.contains($0) }
    }
}
