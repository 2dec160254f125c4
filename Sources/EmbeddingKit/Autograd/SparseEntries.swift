import CKernels

/// The entries of a `SparseGradient`: stored rows and values, or, for a sparse embedding bag, the
/// backward call that makes them, run on first use.
///
/// A sparse bag gradient has one value row per index (4,096 bags x 40 indices x 64 floats: 42 MB),
/// and plain SGD only adds it to the table. Writing those rows out and reading them back was most of
/// a sparse training step's memory traffic, so the backward records its inputs instead, and
/// `SGD.step()` hands them to `ek_embedding_bag_backward_sgd_f32_i64`, which updates the table from
/// the bag gradients directly (FBGEMM's fused-optimizer idea). Anything else that reads the gradient
/// (`rows`, `values`, other optimizers, printing) makes the entries then, bit for bit the ones the
/// backward would have written.
///
/// Like `Tensor`, not for use from two threads at once.
final class SparseEntries {
    private var made: (rows: Tensor, values: Tensor)?
    private let deferred: DeferredBagGradient?
    /// Storage `zeroGrad()` kept from the table's previous gradient, for the deferred entries (held
    /// here alone, so that making them writes into it without a copy).
    private var spare: SpareGradientStorage

    init(rows: Tensor, values: Tensor) {
        made = (rows, values)
        deferred = nil
        spare = SpareGradientStorage()
    }

    init(_ deferred: DeferredBagGradient, spare: SpareGradientStorage) {
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
    var pending: DeferredBagGradient? { made == nil ? deferred : nil }

    /// The storage to reuse for the table's next sparse gradient: these entries', or, when they were
    /// never made, the storage the deferred backward was handed.
    var spareStorage: SpareGradientStorage {
        if let made { return SpareGradientStorage(rows: made.rows.ints, values: made.values.floats) }
        return spare
    }
}

/// The arguments of one sparse embedding-bag backward (`embeddingBag(..., sparse: true)`), kept so
/// that its gradient can be applied by the fused SGD kernel or made later.
struct DeferredBagGradient {
    let tableRows: Int, dim: Int, count: Int, bags: Int, numWeights: Int64
    let indices: [Int64], offsets: [Int64]?, weights: FloatStorage?, maxIndices: [Int64]?
    let includeLastOffset: Int32, mode: ek_bag_mode, padding: Int64, scaleGradByFrequency: Int32
    /// The gradient of the bags, `[bags, dim]` (the storage value: copy-on-write keeps it as it was).
    let gradOut: FloatStorage

    /// Calls `body` with pointers to the optional arrays: offsets, per-sample weights, max indices,
    /// and the bags' gradient.
    private func withPointers(_ body: (UnsafePointer<Int64>?, UnsafePointer<Float>?, UnsafePointer<Int64>?,
                                       UnsafePointer<Float>) -> ek_status) -> ek_status {
        withOptionalPointer(offsets) { off in withOptionalPointer(weights) { psw in
            withOptionalPointer(maxIndices) { argmax in gradOut.withPointer { g in body(off, psw, argmax, g) } }
        } }
    }

    /// The entries, as `ek_embedding_bag_backward_sparse_f32_i64` writes them (into `spare` when it
    /// is large enough).
    func make(reusing spare: inout SpareGradientStorage) -> (rows: Tensor, values: Tensor) {
        SparseGradient.written(entries: count, dim: dim, tableRows: tableRows, spare: &spare) { rows, values, nnz in
            withPointers { off, psw, argmax, g in
                ek_embedding_bag_backward_sparse_f32_i64(Int64(tableRows), Int64(dim), Int64(count), Int64(bags), numWeights,
                                                         indices, off, includeLastOffset, psw, mode, padding,
                                                         scaleGradByFrequency, argmax, g, &rows, values, &nnz)
            }
        }.entries.entries
    }

    /// `table[indices[j]] -= learningRate * g_j` for every entry j in order, without making the entries.
    func applySGD(learningRate: Float, to table: UnsafeMutablePointer<Float>) -> ek_status {
        withPointers { off, psw, argmax, g in
            ek_embedding_bag_backward_sgd_f32_i64(Int64(tableRows), Int64(dim), Int64(count), Int64(bags), numWeights,
                                                  indices, off, includeLastOffset, psw, mode, padding,
                                                  scaleGradByFrequency, argmax, g, learningRate, table)
        }
    }
}
