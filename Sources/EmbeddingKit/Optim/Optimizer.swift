/// Updates parameters from their gradients. Sparse gradients are applied lazily: only the rows
/// present are read or written, in the table and in the optimizer's state.
public protocol Optimizer: AnyObject {
    /// The parameters this optimizer updates.
    var parameters: [Tensor] { get }
    /// Applies one update to every parameter that has a gradient.
    func step()
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
    let values: [Float]
    /// How many rows the update touches.
    let count: Int

    init(_ grad: Gradient, of p: Tensor) {
        tableRows = p.rank >= 2 ? p.shape[0] : 1
        width = p.rank >= 2 ? p.count / Swift.max(p.shape[0], 1) : p.count
        switch grad {
        case .dense(let t):
            (rows, values, count) = (nil, t.floats, tableRows)
        case .sparse(let s):
            let c = s.coalesced()
            (rows, values, count) = (c.rows.ints, c.values.floats, c.nnz)
        }
    }

    /// Calls `body` with the row list (NULL for every row).
    func withRows<R>(_ body: (UnsafePointer<Int64>?) -> R) -> R { withOptionalPointer(rows, body) }
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
