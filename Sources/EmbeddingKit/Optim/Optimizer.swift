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
    /// The step size the next `step()` uses; a ``LearningRateScheduler`` sets it.
    var learningRate: Float { get set }
    /// The optimizer's state — per-parameter tables, step count, learning rate — in PyTorch's
    /// `optimizer.state_dict()` layout flattened for safetensors: tensors `state.<i>.<name>` (`i` the
    /// parameter's index, e.g. `state.0.exp_avg`, `state.0.step`) and metadata naming the optimizer
    /// and its hyperparameters (`param_groups.0.lr`, ...). See <doc:ResumingTraining>.
    func stateDict() -> SafeTensors
    /// Restores a state saved by `stateDict()` so that training resumes bit for bit. Throws
    /// `EmbeddingKitError`, changing nothing, for a state from another optimizer or other
    /// hyperparameters, an unknown key, or a table whose shape does not match its parameter.
    func loadStateDict(_ state: SafeTensors) throws(EmbeddingKitError)
}

extension Optimizer {
    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Writes `stateDict()` to a safetensors file at `path`, atomically (see ``SafeTensors/write(to:)``).
    public func save(to path: String) throws(EmbeddingKitError) { try stateDict().write(to: path) }

    /// Reads a file written by `save(to:)` and restores it with `loadStateDict(_:)`; errors name the path.
    public func load(from path: String) throws(EmbeddingKitError) {
        let file = try SafeTensors(contentsOf: path)
        do { try loadStateDict(file) } catch { throw EmbeddingKitError(error.kind, "\(path): \(error.message)") }
    }
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

    /// `ek_optimizer_update` of `p` seen as a `[tableRows, width]` table of its own element type
    /// (float32, or a half table rounded as `optimizer` says) with these rows.
    func apply(_ optimizer: ek_optimizer, to p: Tensor) -> ek_status {
        var o = optimizer
        var t = ek_table()
        t.struct_size = Int64(MemoryLayout<ek_table>.size)
        (t.rows, t.dim, t.dtype) = (Int64(tableRows), Int64(width), p.dtype.tableType)
        return p.withMutableTableData { data in
            t.data = data
            return withRows { rows, values in ek_optimizer_update(&t, Int64(count), rows, values, &o) }
        }
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

    /// `p`'s table, or nil when no step has made one yet (saved state lists only these, as PyTorch's).
    func table(for p: Tensor) -> [Float]? { tables[ObjectIdentifier(p)] }

    /// Replaces every table with `new` (parameter to values), as a loaded state dictionary does.
    mutating func replaceAll(_ new: [(Tensor, [Float])]) {
        tables = [:]
        for (p, values) in new { tables[ObjectIdentifier(p)] = values }
    }
    mutating func withTable<R>(for p: Tensor, _ body: (inout [Float]) -> R) -> R {
        let key = ObjectIdentifier(p)
        var table = tables.removeValue(forKey: key) ?? [Float](repeating: 0, count: p.count)
        defer { tables[key] = table }
        return body(&table)
    }
}
