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

/// A parameter seen as the `[rows, width]` table the row-update kernels take (a vector is one row).
struct RowView {
    let rows: Int, width: Int
    init(_ p: Tensor) {
        rows = p.rank >= 2 ? p.shape[0] : 1
        width = p.rank >= 2 ? p.count / Swift.max(p.shape[0], 1) : p.count
    }
}

/// The coalesced rows and values of a gradient for the row kernels: nil rows means every row.
func rowUpdate(_ grad: Gradient) -> (rows: [Int64]?, values: [Float], nnz: Int)? {
    switch grad {
    case .dense(let t): return (nil, t.floats, -1)
    case .sparse(let s):
        let c = s.coalesced()
        return (c.rows.ints, c.values.floats, c.nnz)
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
