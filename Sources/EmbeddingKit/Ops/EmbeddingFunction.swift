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
/// Throws (changing nothing, `weight` included) when an index or `paddingIndex` is out of range.
public func embedding(_ input: Tensor, _ weight: Tensor, paddingIndex: Int? = nil, maxNorm: Float? = nil,
                      normType: Float = 2, scaleGradByFrequency: Bool = false,
                      sparse: Bool = false) throws(EmbeddingKitError) -> Tensor {
    precondition(input.dtype == .int64, "embedding: indices must be an int64 tensor, got \(input.dtype)")
    precondition(weight.rank == 2 && weight.dtype == .float32, "embedding: weight must be a 2-D float tensor, got \(weight.shape)")
    let count = weight.shape[0], dim = weight.shape[1], n = input.count
    let padding = try resolvedPadding(paddingIndex, count: count, op: "embedding")
    if let maxNorm {
        try checkKernel(weight.floats.withMutablePointer { table in
            ek_embedding_renorm_f32_i64(Int64(count), Int64(dim), Int64(n), input.ints, Double(maxNorm), Double(normType), table)
        })
    }
    var out = FloatStorage.uninitialized(count: n * dim) // the gather writes every element
    try checkKernel(weight.floats.withPointer { table in
        out.withMutablePointer { ek_embedding_forward_f32_i64(Int64(count), Int64(dim), Int64(n), table, input.ints, $0) }
    })
    let indices = input.ints, table = weight
    return Tensor(shape: input.shape + [dim], floats: out).recorded("EmbeddingBackward0", [weight]) { g in
        if sparse {
            return [.sparse(table.sparseGradient(entries: n, dim: dim) { rows, values, nnz in
                g.floats.withPointer { grad in
                    ek_embedding_backward_sparse_f32_i64(Int64(count), Int64(dim), Int64(n), indices, grad, padding,
                                                         scaleGradByFrequency ? 1 : 0, &rows, values, &nnz)
                }
            })]
        }
        var grad = FloatStorage(repeating: 0, count: count * dim)
        g.floats.withPointer { pg in
            grad.withMutablePointer { out in
                mustSucceed(ek_embedding_backward_dense_f32_i64(Int64(count), Int64(dim), Int64(n), indices, pg, padding,
                                                                scaleGradByFrequency ? 1 : 0, out))
            }
        }
        return [.dense(Tensor(shape: [count, dim], floats: grad))]
    }
}

/// The kernel's padding argument: the row (negative wraps, as PyTorch) or `EK_NO_PADDING`.
func resolvedPadding(_ paddingIndex: Int?, count: Int, op: String) throws(EmbeddingKitError) -> Int64 {
    guard let p = paddingIndex else { return Int64.min } // EK_NO_PADDING
    let row = p < 0 ? p + count : p
    guard row >= 0 && row < count else {
        throw EmbeddingKitError(.indexOutOfRange, "\(op): padding_idx=\(p) is out of range for \(count) embeddings")
    }
    return Int64(row)
}
