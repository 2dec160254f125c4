import CKernels

/// How `embeddingBag` reduces the rows of a bag.
public enum EmbeddingBagMode: Int32, Sendable {
    /// Σ w_j · W[i_j] (w_j = 1 without per-sample weights).
    case sum = 0
    /// The mean of the bag's rows; with per-sample weights the weighted mean Σ w W / Σ w.
    case mean = 1
    /// The element-wise maximum (no per-sample weights).
    case max = 2
}

/// Reduces bags of rows of `weight` to one row per bag. PyTorch's `F.embedding_bag`.
///
/// Bags come either as a 2-D `input` `[B, L]` (fixed length, `offsets` nil), or as a 1-D `input`
/// cut by `offsets` (bag `b` starts at `offsets[b]`; with `includeLastOffset` the last offset is the
/// end, CSR style). Entries equal to `paddingIndex` are skipped; empty bags give zeros. The result is
/// `[B, dimension]`. `perSampleWeights` has `input`'s shape (sum and mean only) and gets a gradient
/// when it requires one. With `sparse`, the gradient of `weight` is a `SparseGradient` (every mode).
///
/// `weight` may be a float16 / bfloat16 table (``TableStorage``): the result and the gradients are
/// float32, the result equal bit for bit to the bag over `weight.widened()`.
///
/// Throws (changing nothing) for an index, offset, `paddingIndex` or weight count that is wrong, for
/// `includeLastOffset` with no offsets, for `.max` with `scaleGradByFrequency` (PyTorch refuses both),
/// and, with a half table, for `maxNorm` or `perSampleWeights` that require a gradient.
public func embeddingBag(_ input: Tensor, _ weight: Tensor, offsets: Tensor? = nil, mode: EmbeddingBagMode = .mean,
                         perSampleWeights: Tensor? = nil, paddingIndex: Int? = nil, includeLastOffset: Bool = false,
                         scaleGradByFrequency: Bool = false, sparse: Bool = false, maxNorm: Float? = nil,
                         normType: Float = 2) throws(EmbeddingKitError) -> Tensor {
    precondition(input.dtype == .int64, "embeddingBag: indices must be an int64 tensor, got \(input.dtype)")
    precondition(weight.rank == 2 && weight.dtype != .int64, "embeddingBag: weight must be a 2-D float tensor, got \(weight.shape)")
    precondition(offsets == nil ? input.rank == 2 : input.rank == 1,
                 "embeddingBag: input must be 2-D without offsets or 1-D with offsets, got shape \(input.shape)")
    precondition(offsets.map { $0.dtype == .int64 && $0.rank == 1 } ?? true, "embeddingBag: offsets must be a 1-D int64 tensor")
    precondition(perSampleWeights.map { $0.dtype == .float32 } ?? true, "embeddingBag: perSampleWeights must be float")
    try EmbeddingOptions.checkBagMode(mode, scaleGradByFrequency: scaleGradByFrequency)
    try checkHalfTable(weight, maxNorm: maxNorm, perSampleWeightGradient: perSampleWeights?.requiresGrad == true && GradMode.isEnabled,
                       op: "embedding_bag")
    if includeLastOffset, let offsets, offsets.count == 0 {
        throw EmbeddingKitError(.shape, "embedding_bag: include_last_offset: number of offsets should be at least 1, got 0")
    }
    let count = weight.shape[0], dim = weight.shape[1], n = input.count
    let bags = offsets.map { $0.count - (includeLastOffset ? 1 : 0) } ?? input.shape[0]
    let padding = try resolvedPadding(paddingIndex, count: count, op: "embedding_bag")
    let call = BagArguments(tableRows: count, dim: dim, count: n, bags: bags, includeLastOffset: includeLastOffset,
                            numWeights: perSampleWeights?.count ?? 0, mode: mode,
                            padding: padding == Int64.min ? nil : padding, scaleGradByFrequency: scaleGradByFrequency,
                            tableType: weight.dtype.tableType)
    let indices = input.ints, offsetValues = offsets?.ints, weights = perSampleWeights?.floats
    /// `body` with the descriptors over `table` and the optional arrays.
    func withCall(_ table: UnsafeMutableRawPointer?,
                  _ body: (UnsafePointer<ek_table>, UnsafePointer<ek_bag_input>, UnsafePointer<ek_bag_options>) -> ek_status) -> ek_status {
        withOptionalPointer(offsetValues) { off in
            withOptionalPointer(weights) { psw in
                call.withDescriptors(table: table, indices: indices, offsets: off, weights: psw, body)
            }
        }
    }
    var out = FloatStorage.uninitialized(count: bags * dim) // the kernel writes every bag (empty ones as zeros)
    var maxIndices = [Int64](repeating: -1, count: mode == .max ? bags * dim : 0)
    func forward(_ argmax: UnsafeMutablePointer<Int64>?) -> ek_status {
        weight.withTableData { table in
            out.withMutablePointer { pout in
                withCall(UnsafeMutableRawPointer(mutating: table)) { t, input, options in
                    ek_bag_forward(t, input, options, pout, nil, argmax)
                }
            }
        }
    }
    let run = { mode == .max ? maxIndices.withUnsafeMutableBufferPointer { forward($0.baseAddress) } : forward(nil) }
    try checkKernel(run())
    if let maxNorm {
        // The forward above validated the whole call (it writes only `out`), so the table is
        // renormalised only for a valid call; then the bags are reduced again over the new rows.
        try checkKernel(weight.floats.withMutablePointer { table in
            withCall(UnsafeMutableRawPointer(table)) { t, input, _ in ek_renorm(t, input, Double(maxNorm), Double(normType)) }
        })
        mustSucceed(run())
    }
    let table = weight
    let inputs = [weight] + (perSampleWeights.map { [$0] } ?? [])
    return Tensor(shape: [bags, dim], floats: out).recorded("EmbeddingBagBackward0", inputs) { g in
        var weightGrad: Gradient? = nil
        if table.requiresGrad {
            if sparse {
                // made on first read; an optimizer may apply it fused with its update (Optim/)
                weightGrad = .sparse(SparseGradient(deferred: DeferredBagGradient(
                    call: call, indices: indices, offsets: offsetValues, weights: weights,
                    maxIndices: mode == .max ? maxIndices : nil, gradOut: g.floats), spare: table.takeSpareStorage()))
            } else {
                var grad = FloatStorage(repeating: 0, count: count * dim)
                mustSucceed(withOptionalPointer(mode == .max ? maxIndices : nil) { argmax in g.floats.withPointer { pg in
                    grad.withMutablePointer { out in
                        withCall(nil) { t, input, options in ek_bag_backward_dense(t, input, options, argmax, pg, out) }
                    } } })
                weightGrad = .dense(Tensor(shape: [count, dim], floats: grad))
            }
        }
        guard let perSampleWeights, perSampleWeights.requiresGrad else { return [weightGrad] }
        var gw = FloatStorage(repeating: 0, count: n)
        mustSucceed(table.floats.withPointer { ptable in g.floats.withPointer { pg in gw.withMutablePointer { pgw in
            withCall(UnsafeMutableRawPointer(mutating: ptable)) { t, input, options in
                ek_bag_per_sample_weights_backward(t, input, options, pg, pgw)
            }
        } } })
        return [weightGrad, .dense(Tensor(shape: perSampleWeights.shape, floats: gw))]
    }
}

/// Calls `body` with a pointer to `array`'s elements, or NULL when there is no array.
func withOptionalPointer<T, R>(_ array: [T]?, _ body: (UnsafePointer<T>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}
