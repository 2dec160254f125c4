
/// The gradient of a tensor: dense (same shape), or sparse rows of a 2-D table.
public enum Gradient: CustomStringConvertible {
    /// A gradient with the parameter's own shape.
    case dense(Tensor)
    /// Rows of a 2-D table's gradient, as a sparse lookup produces it.
    case sparse(SparseGradient)

    /// The gradient as a dense tensor (a sparse one is scatter-added into zeros).
    public func toDense() -> Tensor {
        switch self {
        case .dense(let t): return t
        case .sparse(let s): return s.toDense()
        }
    }

    /// The sparse gradient, if it is one.
    public var sparse: SparseGradient? {
        if case .sparse(let s) = self { return s }
        return nil
    }

    /// Accumulation as autograd does it: dense + dense adds, sparse + sparse concatenates
    /// (uncoalesced, as PyTorch), a mix becomes dense.
    func adding(_ other: Gradient) -> Gradient {
        switch (self, other) {
        case (.sparse(let a), .sparse(let b)): return .sparse(a.concatenated(with: b))
        case (.dense(let a), .dense(let b)): return .dense(withoutGradients { a + b })
        case (.dense(let d), .sparse(let s)), (.sparse(let s), .dense(let d)): return .dense(s.added(to: d))
        }
    }

    /// A copy that does not share storage with tensors autograd may reuse.
    func copied() -> Gradient {
        switch self {
        case .dense(let t): return .dense(t.detach())
        case .sparse: return self
        }
    }

    /// The dense tensor's print form, or PyTorch's sparse COO form.
    public var description: String {
        switch self {
        case .dense(let t): return t.description
        case .sparse(let s): return s.description
        }
    }
}

/// A sparse COO gradient of a `[rows, dim]` table: value rows for some table rows, possibly
/// repeated and in any order (uncoalesced) until `coalesced()` sums them. Optimizers apply it lazily,
/// touching only the rows present.
///
/// A sparse embedding bag's gradient is made on first use of `rows` or `values` (see
/// `SparseEntries`); plain `SGD` applies it without making it.
public struct SparseGradient: CustomStringConvertible {
    /// The table rows, int64, shape `[nnz]`.
    public var rows: Tensor { entries.entries.rows }
    /// The gradient rows, float32, shape `[nnz, dim]`.
    public var values: Tensor { entries.entries.values }
    /// The shape of the dense table, `[rows, dim]`.
    public let shape: [Int]
    /// Whether rows are sorted and unique.
    public let isCoalesced: Bool
    let entries: SparseEntries

    init(rows: Tensor, values: Tensor, shape: [Int], isCoalesced: Bool = false) {
        precondition(shape.count == 2 && rows.rank == 1 && values.shape == [rows.count, shape[1]],
                     "SparseGradient: rows \(rows.shape), values \(values.shape), table \(shape)")
        self.entries = SparseEntries(rows: rows, values: values)
        self.shape = shape
        self.isCoalesced = isCoalesced
    }

    /// The gradient of a sparse embedding bag, made when first read.
    init(deferred: any DeferredSparseEntries, spare: SpareGradientStorage) {
        self.entries = SparseEntries(deferred, spare: spare)
        self.shape = [deferred.tableRows, deferred.dim]
        self.isCoalesced = false
    }

    /// The gradient that `kernel` writes for a `[*, dim]` table: it gets room for `entries` rows and
    /// values and sets how many it wrote (it must succeed: the caller checked its arguments). The gradient owns that storage (`spare`'s, when large
    /// enough, or a fresh one not zero-filled), cut to the entries written, not copied.
    static func written(entries n: Int, dim: Int, tableRows: Int, spare: inout SpareGradientStorage,
                        _ kernel: (inout [Int64], UnsafeMutablePointer<Float>, inout Int64) -> Void) -> SparseGradient {
        var rows = [Int64].scratch(count: n, reusing: &spare.rows)
        var values = FloatStorage.scratch(count: n * dim, reusing: &spare.values)
        var nnz: Int64 = 0
        values.withMutablePointer { out in kernel(&rows, out, &nnz) }
        let k = Int(nnz)
        rows.removeLast(n - k)
        values.removeLast((n - k) * dim)
        return SparseGradient(rows: Tensor(shape: [k], ints: rows), values: Tensor(shape: [k, dim], floats: values),
                              shape: [tableRows, dim])
    }

    /// The number of stored entries.
    public var nnz: Int { rows.count }

    /// The entries of both, in order (PyTorch's accumulation of sparse gradients).
    func concatenated(with other: SparseGradient) -> SparseGradient {
        precondition(shape == other.shape, "SparseGradient: tables \(shape) and \(other.shape)")
        return SparseGradient(rows: Tensor(shape: [nnz + other.nnz], ints: rows.ints + other.rows.ints),
                              values: Tensor(shape: [nnz + other.nnz, shape[1]], floats: values.floats + other.values.floats),
                              shape: shape)
    }

    /// The dense table this gradient stands for.
    public func toDense() -> Tensor { added(to: .zeros(shape)) }

    /// The entries whose row satisfies `keep` (for choosing which rows an update may change).
    public func filtered(_ keep: (Int) -> Bool) -> SparseGradient {
        let dim = shape[1]
        var r: [Int64] = [], v = FloatStorage()
        for (k, row) in rows.ints.enumerated() where keep(Int(row)) {
            r.append(row)
            v.append(contentsOf: values.floats[(k * dim)..<((k + 1) * dim)])
        }
        return SparseGradient(rows: Tensor(shape: [r.count], ints: r), values: Tensor(shape: [r.count, dim], floats: v),
                              shape: shape, isCoalesced: isCoalesced)
    }

    /// PyTorch's print form: `tensor(indices=tensor([[...]]), values=tensor([...]), size=(R, D), nnz=N, layout=torch.sparse_coo)`.
    public var description: String {
        let indices = Tensor(shape: [1, nnz], ints: rows.ints)
        let pad = String(repeating: " ", count: 7)
        // _str_intern: an empty indices or values tensor prints its size after the brackets
        func body(_ t: Tensor, indent: Int) -> String {
            t.formatted(indent: indent) + (t.count == 0 ? ", size=(" + t.shape.map(String.init).joined(separator: ", ") + ")" : "")
        }
        return "tensor(indices=tensor(\(body(indices, indent: 22))),\n\(pad)values=tensor(\(body(values, indent: 21))),\n"
            + "\(pad)size=(\(shape.map(String.init).joined(separator: ", "))), nnz=\(nnz), layout=torch.sparse_coo)"
    }
}
