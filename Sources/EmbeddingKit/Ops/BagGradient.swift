import CKernels

// The C descriptors of a lookup or bag call (CKernels' ek_table / ek_bag_input / ek_bag_options),
// the deferred sparse bag gradient that optimizers may apply fused, and the COO kernels of
// `SparseGradient` (autograd itself calls no C).

/// The bag (or lookup) arguments of one call over an int64 index list: what the descriptors hold
/// besides pointers.
struct BagArguments {
    let tableRows: Int, dim: Int, count: Int, bags: Int
    let includeLastOffset: Bool
    let numWeights: Int
    let mode: EmbeddingBagMode
    /// The padding row, already wrapped, or nil.
    let padding: Int64?
    let scaleGradByFrequency: Bool
    /// The table's element type (`EK_DTYPE_F32`, or `_F16` / `_BF16` for a half table).
    var tableType: ek_dtype = EK_DTYPE_F32

    /// Calls `body` with the descriptors of this call over `table` (nil when only its shape is read),
    /// `indices`, and the optional offsets and per-sample weights.
    func withDescriptors<R>(table: UnsafeMutableRawPointer?, indices: UnsafePointer<Int64>?, offsets: UnsafePointer<Int64>?,
                            weights: UnsafePointer<Float>?,
                            _ body: (UnsafePointer<ek_table>, UnsafePointer<ek_bag_input>, UnsafePointer<ek_bag_options>) -> R) -> R {
        var t = ek_table()
        t.struct_size = Int64(MemoryLayout<ek_table>.size)
        t.rows = Int64(tableRows)
        t.dim = Int64(dim)
        t.dtype = tableType
        t.data = table
        var input = ek_bag_input()
        input.struct_size = Int64(MemoryLayout<ek_bag_input>.size)
        input.index_type = EK_INDEX_I64
        input.indices = UnsafeRawPointer(indices)
        input.num_indices = Int64(count)
        input.offsets = UnsafeRawPointer(offsets)
        input.num_bags = Int64(bags)
        input.include_last_offset = includeLastOffset ? 1 : 0
        input.per_sample_weights = weights
        input.num_weights = Int64(numWeights)
        input.has_padding = padding == nil ? 0 : 1
        input.padding_idx = padding ?? 0
        var options = ek_bag_options()
        options.struct_size = Int64(MemoryLayout<ek_bag_options>.size)
        options.mode = ek_bag_mode(UInt32(mode.rawValue))
        options.scale_grad_by_freq = scaleGradByFrequency ? 1 : 0
        return body(&t, &input, &options)
    }
}

/// An `ek_optimizer` descriptor with its size set and every field 0.
func optimizerDescriptor(_ kind: ek_optimizer_kind, learningRate: Float) -> ek_optimizer {
    var o = ek_optimizer()
    o.struct_size = Int64(MemoryLayout<ek_optimizer>.size)
    o.kind = kind
    o.lr = learningRate
    return o
}

/// The arguments of one sparse embedding-bag backward (`embeddingBag(..., sparse: true)`), kept so
/// that an optimizer can apply its gradient fused with its update (`applyUpdate`) or have it made.
struct DeferredBagGradient: DeferredSparseEntries {
    let call: BagArguments
    let indices: [Int64], offsets: [Int64]?, weights: FloatStorage?, maxIndices: [Int64]?
    /// The gradient of the bags, `[bags, dim]` (the storage value: copy-on-write keeps it as it was).
    let gradOut: FloatStorage

    var tableRows: Int { call.tableRows }
    var dim: Int { call.dim }

    /// Calls `body` with the descriptors over `table`, the max indices and the bags' gradient.
    private func withArguments(table: UnsafeMutableRawPointer?,
                               _ body: (UnsafePointer<ek_table>, UnsafePointer<ek_bag_input>, UnsafePointer<ek_bag_options>,
                                        UnsafePointer<Int64>?, UnsafePointer<Float>) -> ek_status) -> ek_status {
        withOptionalPointer(offsets) { off in withOptionalPointer(weights) { psw in
            withOptionalPointer(maxIndices) { argmax in gradOut.withPointer { g in
                call.withDescriptors(table: table, indices: indices, offsets: off, weights: psw) { t, input, options in
                    body(t, input, options, argmax, g)
                }
            } }
        } }
    }

    /// The entries, as `ek_bag_backward_sparse` writes them (into `spare` when it is large enough).
    func make(reusing spare: inout SpareGradientStorage) -> (rows: Tensor, values: Tensor) {
        SparseGradient.written(entries: call.count, dim: dim, tableRows: tableRows, spare: &spare) { rows, values, nnz in
            mustSucceed(withArguments(table: nil) { t, input, options, argmax, g in
                ek_bag_backward_sparse(t, input, options, argmax, g, &rows, values, &nnz)
            }, "DeferredBagGradient.make")
        }.entries.entries
    }

    /// One optimizer step on `table` from this gradient without making it: `ek_bag_backward_update`,
    /// bit for bit the entries made and then applied as the descriptor's kind says (see the header).
    func applyUpdate(_ optimizer: ek_optimizer, to table: UnsafeMutableRawPointer) -> ek_status {
        var o = optimizer
        return withArguments(table: table) { t, input, options, argmax, g in
            ek_bag_backward_update(t, input, options, argmax, g, &o)
        }
    }
}

extension Gradient {
    /// The deferred sparse bag gradient this is, while its entries have not been made: what an
    /// optimizer may apply fused with its update.
    var pendingBag: DeferredBagGradient? {
        if case .sparse(let s) = self { return s.entries.pending as? DeferredBagGradient }
        return nil
    }
}

extension SparseGradient {
    /// Sorted unique rows with their value rows summed (in input order).
    public func coalesced() -> SparseGradient {
        if isCoalesced { return self }
        let dim = shape[1]
        // written by the kernel, then cut to the distinct rows: no zero fill, no second copy
        var outRows = [Int64].uninitialized(count: nnz)
        var outValues = FloatStorage.uninitialized(count: nnz * dim)
        var outNnz: Int64 = 0
        values.floats.withPointer { input in
            outValues.withMutablePointer { out in
                mustSucceed(ek_coo_coalesce_f32(Int64(shape[0]), Int64(dim), Int64(nnz), rows.ints, input, &outRows, out, &outNnz))
            }
        }
        let k = Int(outNnz)
        outRows.removeLast(nnz - k)
        outValues.removeLast((nnz - k) * dim)
        return SparseGradient(rows: Tensor(shape: [k], ints: outRows), values: Tensor(shape: [k, dim], floats: outValues),
                              shape: shape, isCoalesced: true)
    }

    /// `dense + self` as a new tensor.
    func added(to dense: Tensor) -> Tensor {
        precondition(dense.shape == shape, "SparseGradient: adding to \(dense.shape), table is \(shape)")
        var table = dense.floats
        values.floats.withPointer { values in
            table.withMutablePointer { table in
                mustSucceed(ek_coo_scatter_add_f32(Int64(shape[0]), Int64(shape[1]), Int64(nnz), rows.ints, values, 1, table))
            }
        }
        return Tensor(shape: shape, floats: table)
    }

}
