import CKernels

/// Multi-head scaled dot-product attention (PyTorch's `nn.MultiheadAttention`), with PyTorch's
/// parameter names and initialisation: `in_proj_weight` `[3E, E]` (Xavier-uniform), `in_proj_bias`
/// `[3E]` (zeros), `out_proj` a `Linear(E, E)` whose bias starts at zero.
///
/// Inputs are sequence-first, `[L, N, E]`, unless `batchFirst` (`[N, L, E]`); a 2-D `[L, E]` input
/// is one unbatched sequence.
///
/// **Thread safety.** In evaluation mode, or with `dropout` 0, a call only reads the parameters: calls
/// from several threads at once are safe and give the serial results. In training mode with a
/// non-zero `dropout` the attention weights' dropout draws from the shared generator (as `Dropout`:
/// safe, but the masks depend on the order of the calls). Not thread-safe — none may overlap any other use of the
/// module: training (`backward()` through an output accumulates into the parameters' `grad`; an
/// optimizer step or `zeroGrad()`), loading weights, and `train(_:)` / `eval()`.
public final class MultiheadAttention: Module {
    /// The model width E.
    public let embedDim: Int
    /// The number of heads; E must divide evenly among them.
    public let numHeads: Int
    /// Dropout on the attention weights in training mode.
    public let dropout: Float
    /// Whether inputs are `[N, L, E]`.
    public let batchFirst: Bool
    /// The query, key and value projections stacked, `[3E, E]`.
    public let inProjWeight: Tensor
    /// Their biases, `[3E]`, or nil.
    public let inProjBias: Tensor?
    /// The output projection.
    public let outProj: Linear
    let generator: Generator
    /// Whether dropout on the attention weights is active.
    public var isTraining = true

    /// Attention with `numHeads` heads of width `embedDim / numHeads` (`embedDim` must divide evenly),
    /// with projection biases unless `bias` is false.
    ///
    /// Throws `EmbeddingKitError` for a negative `embedDim`, fewer than one head, an `embedDim` that
    /// `numHeads` does not divide (PyTorch: `embed_dim must be divisible by num_heads`), or a
    /// `dropout` outside [0, 1].
    public init(embedDim: Int, numHeads: Int, dropout: Float = 0, bias: Bool = true, batchFirst: Bool = false,
                generator: Generator = .default) throws(EmbeddingKitError) {
        try checkSize(embedDim, "embedDim", op: "MultiheadAttention")
        guard numHeads >= 1 && embedDim % numHeads == 0 else {
            throw EmbeddingKitError(.invalidArgument,
                                    "MultiheadAttention: embed_dim must be divisible by num_heads, got embedDim=\(embedDim), numHeads=\(numHeads)")
        }
        try checkDropoutProbability(dropout)
        self.embedDim = embedDim
        self.numHeads = numHeads
        self.dropout = dropout
        self.batchFirst = batchFirst
        self.generator = generator
        let bound = (6 / Float(embedDim + 3 * embedDim)).squareRoot()   // Xavier-uniform over [3E, E]
        inProjWeight = Tensor.rand([3 * embedDim, embedDim], low: -bound, high: bound, generator: generator)
        inProjWeight.requiresGrad = true
        inProjBias = bias ? Tensor.zeros([3 * embedDim]) : nil
        inProjBias?.requiresGrad = true
        outProj = try Linear(embedDim, embedDim, bias: bias, generator: generator)
        if let b = outProj.bias { b.floats = FloatStorage(repeating: 0, count: embedDim) }
    }

    /// `in_proj_weight` and, if present, `in_proj_bias` (PyTorch's names).
    public var directParameters: [(name: String, tensor: Tensor)] {
        [("in_proj_weight", inProjWeight)] + (inProjBias.map { [("in_proj_bias", $0)] } ?? [])
    }
    /// The output projection, `out_proj`.
    public var children: [(name: String, module: any Module)] { [("out_proj", outProj)] }

    /// Attends from `query` to `key`/`value`. `attnMask` is added to the scores (`[L, S]` or
    /// `[N * heads, L, S]`; use `-.infinity` to forbid a position); `keyPaddingMask` `[N, S]` marks
    /// padded keys with a non-zero value. Returns the output (the query's shape) and, when
    /// `needWeights`, the attention weights `[N, L, S]` averaged over heads (or per head, `[N, heads, L, S]`).
    ///
    /// A query whose keys are all masked (every score `-inf`) attends to nothing as PyTorch's
    /// attention does: with `needWeights: false` (PyTorch's `scaled_dot_product_attention` path) its
    /// weights are 0 and its output is `out_proj`'s bias; with `needWeights: true` PyTorch takes a
    /// plain softmax, and so does this: the weights and the output are NaN.
    /// Empty sequences (`L = 0` or `S = 0`) and an empty batch give empty or bias-only results of
    /// the right shapes, as in PyTorch.
    public func callAsFunction(_ query: Tensor, _ key: Tensor, _ value: Tensor, keyPaddingMask: Tensor? = nil,
                               needWeights: Bool = true, attnMask: Tensor? = nil,
                               averageAttnWeights: Bool = true) -> (output: Tensor, weights: Tensor?) {
        let unbatched = query.rank == 2
        func sequenceFirst(_ t: Tensor) -> Tensor { unbatched ? t.unsqueeze(1) : (batchFirst ? t.transpose(0, 1) : t) }
        let q0 = sequenceFirst(query), k0 = sequenceFirst(key), v0 = sequenceFirst(value)
        precondition(q0.rank == 3 && q0.shape[2] == embedDim && k0.shape[2] == embedDim && v0.shape[2] == embedDim,
                     "MultiheadAttention: inputs must end in embedDim \(embedDim), got \(query.shape), \(key.shape), \(value.shape)")
        let (L, N, S, E, H) = (q0.shape[0], q0.shape[1], k0.shape[0], embedDim, numHeads)
        let hd = E / H
        precondition(k0.shape[1] == N && v0.shape == k0.shape, "MultiheadAttention: key \(key.shape) and value \(value.shape) do not match the query \(query.shape)")

        func project(_ x: Tensor, _ part: Int) -> Tensor {
            linear(x, inProjWeight.narrow(0, start: part * E, length: E), inProjBias?.narrow(0, start: part * E, length: E))
        }
        // [len, N, E] -> [N * H, len, hd]
        func heads(_ x: Tensor, _ len: Int) -> Tensor { x.reshape([len, N * H, hd]).transpose(0, 1) }
        let q = heads(project(q0, 0), L) * (1 / Float(hd).squareRoot())
        let k = heads(project(k0, 1), S), v = heads(project(v0, 2), S)

        var scores = Tensor.bmm(q, k, transposeB: true)                          // [N * H, L, S]
        if let attnMask { scores = scores + attnMask }
        if let keyPaddingMask {
            precondition(keyPaddingMask.shape == [N, S], "MultiheadAttention: keyPaddingMask must be [\(N), \(S)], got \(keyPaddingMask.shape)")
            // -inf where a key is padded, 0 elsewhere, [N, S] repeated over the heads as [N * H, 1, S]
            let additive = withoutGradients { keyPaddingMask.toFloat().map(EK_UNARY_FILL_NONZERO, p: -.infinity) }
            scores = scores + TensorKernels.gather(additive, [N, H, S], strides: [Int64(S), 0, 1]).reshape([N * H, 1, S])
        }
        var weights = attentionSoftmax(scores, zeroingFullyMaskedRows: !needWeights)
        weights = checkedDropout(weights, p: dropout, training: isTraining, generator: generator)
        let attended = Tensor.bmm(weights, v).transpose(0, 1).reshape([L, N, E])    // [L, N, E]
        // PyTorch applies out_proj to [L * N, E] and views the result as [L, N, E]
        var output = outProj(attended).renamingNode("ViewBackward0")
        if unbatched { output = output.squeeze(1) } else if batchFirst { output = output.transpose(0, 1) }

        guard needWeights else { return (output, nil) }
        var perHead = weights.reshape([N, H, L, S])
        if averageAttnWeights { perHead = perHead.mean(dim: 1) }
        return (output, unbatched ? perHead.squeeze(0) : perHead)
    }
}
