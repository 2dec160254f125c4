import CKernels

/// Looks up rows of `weight` (`[count, dimension]`) for every index in `input` (int64, any shape):
/// the result has shape `input.shape + [dimension]`. PyTorch's `F.embedding`.
///
/// - `paddingIndex`: that row receives no gradient (negative counts from the end).
/// - `maxNorm`: before the lookup, each distinct looked-up row whose `normType`-norm exceeds it is
///   rescaled in place to norm `maxNorm` (without gradient), as PyTorch does.
/// - `scaleGradByFrequency`: the gradient of each row is divided by its count in `input`.
/// - `sparse`: the gradient of `weight` is a `SparseGradient` holding only the looked-up rows.
///
/// `weight` may be a float16 / bfloat16 table (``TableStorage``): the result and the gradient are
/// float32, the result equal bit for bit to the lookup in `weight.widened()`.
///
/// Throws (changing nothing, `weight` included) when an index or `paddingIndex` is out of range,
/// and for `maxNorm` with a half table (the renormalisation rescales float32 rows only).
public func embedding(_ input: Tensor, _ weight: Tensor, paddingIndex: Int? = nil, maxNorm: Float? = nil,
                      normType: Float = 2, scaleGradByFrequency: Bool = false,
                      sparse: Bool = false) throws(EmbeddingKitError) -> Tensor {
    precondition(input.dtype == .int64, "embedding: indices must be an int64 tensor, got \(input.dtype)")
    precondition(weight.rank == 2 && weight.dtype != .int64, "embedding: weight must be a 2-D float tensor, got \(weight.shape)")
    try checkHalfTable(weight, maxNorm: maxNorm, op: "embedding")
    let count = weight.shape[0], dim = weight.shape[1], n = input.count
    let padding = try resolvedPadding(paddingIndex, count: count, op: "embedding")
    // a plain lookup: no bags (the descriptors' bag fields stay 0)
    let call = BagArguments(tableRows: count, dim: dim, count: n, bags: 0, includeLastOffset: false, numWeights: 0,
                            mode: .sum, padding: padding == Int64.min ? nil : padding,
                            scaleGradByFrequency: scaleGradByFrequency, tableType: weight.dtype.tableType)
    let indices = input.ints
    if let maxNorm {
        try checkKernel(weight.floats.withMutablePointer { table in
            call.withDescriptors(table: UnsafeMutableRawPointer(table), indices: indices, offsets: nil, weights: nil) { t, input, _ in
                ek_renorm(t, input, Double(maxNorm), Double(normType))
            }
        })
    }
    var out = FloatStorage.uninitialized(count: n * dim) // the gather writes every element
    try checkKernel(weight.withTableData { table in
        out.withMutablePointer { pout in
            call.withDescriptors(table: UnsafeMutableRawPointer(mutating: table), indices: indices, offsets: nil,
                                 weights: nil) { t, input, _ in ek_lookup_forward(t, input, pout) }
        }
    })
    let table = weight
    return Tensor(shape: input.shape + [dim], floats: out).recorded("EmbeddingBackward0", [weight]) { g in
        if sparse {
            return [.sparse(table.sparseGradient(entries: n, dim: dim) { rows, values, nnz in
                g.floats.withPointer { grad in
                    mustSucceed(call.withDescriptors(table: nil, indices: indices, offsets: nil, weights: nil) { t, input, options in
                        ek_lookup_backward_sparse(t, input, options, grad, &rows, values, &nnz)
                    }, "embedding")
                }
            })]
        }
        var grad = FloatStorage(repeating: 0, count: count * dim)
        g.floats.withPointer { pg in
            grad.withMutablePointer { out in
                mustSucceed(call.withDescriptors(table: nil, indices: indices, offsets: nil, weights: nil) { t, input, options in
                    ek_lookup_backward_dense(t, input, options, pg, out)
                })
            }
        }
        return [.dense(Tensor(shape: [count, dim], floats: grad))]
    }
}

/// The padding row (negative wraps, as PyTorch), or `Int64.min` for none.
func resolvedPadding(_ paddingIndex: Int?, count: Int, op: String) throws(EmbeddingKitError) -> Int64 {
    guard let p = paddingIndex else { return Int64.min }
    let row = p < 0 ? p + count : p
    guard row >= 0 && row < count else {
        throw EmbeddingKitError(.indexOutOfRange, "\(op): padding_idx=\(p) is out of range for \(count) embeddings")
    }
    return Int64(row)
}

/// A half table cannot be renormalised (`maxNorm`) nor give per-sample-weight gradients: the C
/// kernels of both take float32 tables. Thrown before anything is computed.
func checkHalfTable(_ weight: Tensor, maxNorm: Float?, perSampleWeightGradient: Bool = false, op: String) throws(EmbeddingKitError) {
    guard weight.dtype.isHalf else { return }
    if let maxNorm {
        throw EmbeddingKitError(.invalidArgument,
            "\(op): maxNorm=\(maxNorm) needs a float32 table, but weight is \(weight.dtype) (the renormalisation rescales float32 rows only)")
    }
    if perSampleWeightGradient {
        throw EmbeddingKitError(.invalidArgument,
            "\(op): perSampleWeights requires a gradient, but weight is \(weight.dtype) (the per-sample-weight gradient reads float32 tables only)")
    }
}
