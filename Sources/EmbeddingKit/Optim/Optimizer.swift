import CKernels

/// Updates parameters from their gradients. Sparse gradients are applied lazily: only the rows
/// present are read or written, in the table and in the optimizer's state.
///
/// Thread safety: `step()` and `zeroGrad()` write the parameters, their gradients and the optimizer's
/// state; they must not overlap each other or any other use of those parameters (a forward pass
/// included). Run them from one thread, between forward passes.
public protocol Optimizer: AnyObject {
    /// The parameters this optimizer updates.
    var parameters: [Tensor] { get }
    /// Applies one update to every parameter that has a gradient. Throws `EmbeddingKitError`,
    /// changing no parameter and no state, when a hyperparameter that may be changed between steps
    /// (the learning rate) is out of range, or when a gradient is not float32 or does not have its
    /// parameter's shape.
    func step() throws(EmbeddingKitError)
}

extension Optimizer {
    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// A parameter's gradient as the row-update kernels take it: the parameter seen as a
/// `[rows, width]` table (a vector is one row), and the rows to update with their values — every row
/// for a dense gradient (`rows` nil), the coalesced rows for a sparse one.
struct RowUpdate {
    let tableRows: Int, width: Int
    let rows: [Int64]?
    let values: FloatStorage
    /// How many rows the update touches.
    let count: Int

    /// The update for `grad` of `p`; an uncoalesced sparse gradient is coalesced into `scratch`'s
    /// storage (kept by the optimizer, so a training step allocates nothing here).
    init(_ grad: Gradient, of p: Tensor, scratch: inout CoalesceScratch) {
        tableRows = p.rank >= 2 ? p.shape[0] : 1
        width = p.rank >= 2 ? p.count / Swift.max(p.shape[0], 1) : p.count
        switch grad {
        case .dense(let t):
            (rows, values, count) = (nil, t.floats, tableRows)
        case .sparse(let s) where s.isCoalesced:
            (rows, values, count) = (s.rows.ints, s.values.floats, s.nnz)
        case .sparse(let s):
            count = scratch.coalesce(s)
            (rows, values) = (scratch.rows, scratch.values)
        }
    }

    /// Calls `body` with the row list (NULL for every row) and the values.
    func withRows<R>(_ body: (UnsafePointer<Int64>?, UnsafePointer<Float>) -> R) -> R {
        withOptionalPointer(rows) { rows in values.withPointer { body(rows, $0) } }
    }
}

/// Where an optimizer coalesces sparse gradients: arrays kept from step to step and grown when a
/// gradient needs more room, so that a step neither allocates nor zero-fills them again. Only the
/// first `count` entries that `coalesce` returns are meaningful.
struct CoalesceScratch {
    private(set) var rows: [Int64] = []
    private(set) var values = FloatStorage()

    /// Coalesces `s` into `rows` / `values` and returns the number of distinct rows.
    mutating func coalesce(_ s: SparseGradient) -> Int {
        let dim = s.shape[1]
        if rows.count < s.nnz { rows = .uninitialized(count: s.nnz) }
        if values.count < s.nnz * dim { values = .uninitialized(count: s.nnz * dim) }
        var k: Int64 = 0
        s.values.floats.withPointer { input in
            values.withMutablePointer { out in
                mustSucceed(ek_coo_coalesce_f32(Int64(s.shape[0]), Int64(dim), Int64(s.nnz), s.rows.ints, input, &rows, out, &k))
            }
        }
        return Int(k)
    }
}

/// Per-parameter state tables, created zeroed on first use.
struct StateTables {
    private var tables: [ObjectIdentifier: [Float]] = [:]
    mutating func withTable<R>(for p: Tensor, _ body: (inout [Float]) -> R) -> R {
        let key = ObjectIdentifier(p)
        var table = tables.removeValue(forKey: key) ?? [Float](repeating: 0, count: p.count)
        defer { tables[key] = table }
        return body(&table)
    }
}
