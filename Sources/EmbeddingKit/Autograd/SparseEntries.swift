/// The entries of a `SparseGradient`: stored rows and values, or a deferred backward that makes
/// them (`DeferredSparseEntries`), run on first use.
///
/// A sparse bag gradient has one value row per index (4,096 bags x 40 indices x 64 floats: 42 MB),
/// and an optimizer step reads it once. Writing those rows out and reading them back was most of a
/// sparse training step's memory traffic, so the backward records its inputs instead. An optimizer
/// may look at `pending` and, if it knows that kind of deferred gradient, apply it fused with its
/// update (the optimizers in `Optim/` do; autograd knows nothing of them). Anything else that reads
/// the gradient (`rows`, `values`, printing) makes the entries then, bit for bit the ones the
/// backward would have written.
///
/// Like `Tensor`, not for use from two threads at once.
final class SparseEntries {
    private var made: (rows: Tensor, values: Tensor)?
    private let deferred: (any DeferredSparseEntries)?
    /// Storage `zeroGrad()` kept from the table's previous gradient, for the deferred entries (held
    /// here alone, so that making them writes into it without a copy).
    private var spare: SpareGradientStorage

    init(rows: Tensor, values: Tensor) {
        made = (rows, values)
        deferred = nil
        spare = SpareGradientStorage()
    }

    init(_ deferred: any DeferredSparseEntries, spare: SpareGradientStorage) {
        made = nil
        self.deferred = deferred
        self.spare = spare
    }

    /// The rows and values, made now if they were deferred.
    var entries: (rows: Tensor, values: Tensor) {
        if let made { return made }
        var storage = spare
        spare = SpareGradientStorage()
        let entries = deferred!.make(reusing: &storage)
        made = entries
        return entries
    }

    /// The deferred backward, while its entries have not been made.
    var pending: (any DeferredSparseEntries)? { made == nil ? deferred : nil }

    /// The storage to reuse for the table's next sparse gradient: these entries', or, when they were
    /// never made, the storage the deferred backward was handed.
    var spareStorage: SpareGradientStorage {
        if let made { return SpareGradientStorage(rows: made.rows.ints, values: made.values.floats) }
        return spare
    }
}

/// A sparse gradient recorded by a backward instead of written: its table's shape, and how to make
/// its uncoalesced entries. The op that records one defines it (e.g. `Ops/BagGradient.swift`);
/// optimizers may recognise a concrete kind and apply it without making it.
protocol DeferredSparseEntries {
    var tableRows: Int { get }
    var dim: Int { get }
    /// The entries, exactly as the backward would have written them (into `spare` when it is large enough).
    func make(reusing spare: inout SpareGradientStorage) -> (rows: Tensor, values: Tensor)
}
