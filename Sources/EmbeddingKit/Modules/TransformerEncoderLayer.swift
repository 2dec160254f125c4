/// Self-attention followed by a feed-forward block, each with a residual connection and layer norm
/// (PyTorch's `nn.TransformerEncoderLayer`, same defaults: post-norm, ReLU, `dimFeedforward` 2048,
/// dropout 0.1, sequence-first `[L, N, E]` unless `batchFirst`). Parameter names match PyTorch's
/// (`self_attn.in_proj_weight`, `linear1.weight`, `norm1.bias`, ...), so its state dictionaries load.
///
/// **Thread safety.** In evaluation mode (`eval()`), or with `dropout` 0, a call only reads the
/// parameters: calls from several threads at once are safe and give the serial results. In training
/// mode the four dropouts draw from the one generator the layer was made with (as `Dropout`: safe,
/// but the masks depend on the order of the calls). Not thread-safe — none may overlap any other use
/// of the layer: training (`backward()` through an output accumulates into the parameters' `grad`; an
/// optimizer step or `zeroGrad()`), loading weights, and `train(_:)` / `eval()`.
public final class TransformerEncoderLayer: Layer {
    /// The activation between the two feed-forward layers.
    public enum Activation: Sendable { case relu, gelu }

    /// The self-attention block (`self_attn`).
    public let selfAttention: MultiheadAttention
    /// The first feed-forward layer, `dModel` to `dimFeedforward`.
    public let linear1: Linear
    /// The second feed-forward layer, `dimFeedforward` to `dModel`.
    public let linear2: Linear
    /// The layer norm of the attention block.
    public let norm1: LayerNorm
    /// The layer norm of the feed-forward block.
    public let norm2: LayerNorm
    /// Dropout after the activation, inside the feed-forward block.
    public let dropout: Dropout
    /// Dropout on the attention block's output, before the residual sum.
    public let dropout1: Dropout
    /// Dropout on the feed-forward block's output, before the residual sum.
    public let dropout2: Dropout
    /// The activation between `linear1` and `linear2`.
    public let activation: Activation
    /// Layer norm before each block (pre-norm) instead of after the residual sum.
    public let normFirst: Bool
    /// Whether dropout is active; `train(_:)` sets it for the sublayers too.
    public var isTraining = true

    let configuration: (dModel: Int, nHead: Int, dimFeedforward: Int, dropout: Float, layerNormEps: Float, batchFirst: Bool, bias: Bool)

    /// A layer of width `dModel` (divisible by `nHead`) with a `dimFeedforward`-wide feed-forward block.
    /// `dropout` is the probability of every dropout (attention weights included), `layerNormEps` the
    /// norms' eps; `bias: false` leaves the linear layers and norms without biases.
    ///
    /// Throws `EmbeddingKitError` for what its sublayers refuse: a size that is negative, an `nHead`
    /// that does not divide `dModel`, a `dropout` outside [0, 1], a `layerNormEps` that is negative or
    /// not finite.
    public init(dModel: Int, nHead: Int, dimFeedforward: Int = 2048, dropout: Float = 0.1, activation: Activation = .relu,
                layerNormEps: Float = 1e-5, batchFirst: Bool = false, normFirst: Bool = false, bias: Bool = true,
                generator: Generator = .default) throws(EmbeddingKitError) {
        configuration = (dModel, nHead, dimFeedforward, dropout, layerNormEps, batchFirst, bias)
        selfAttention = try MultiheadAttention(embedDim: dModel, numHeads: nHead, dropout: dropout, bias: bias,
                                           batchFirst: batchFirst, generator: generator)
        linear1 = try Linear(dModel, dimFeedforward, bias: bias, generator: generator)
        self.dropout = try Dropout(dropout, generator: generator)
        linear2 = try Linear(dimFeedforward, dModel, bias: bias, generator: generator)
        norm1 = try LayerNorm([dModel], eps: layerNormEps, bias: bias)
        norm2 = try LayerNorm([dModel], eps: layerNormEps, bias: bias)
        dropout1 = try Dropout(dropout, generator: generator)
        dropout2 = try Dropout(dropout, generator: generator)
        self.activation = activation
        self.normFirst = normFirst
    }

    /// None: the parameters belong to the sublayers.
    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    /// The sublayers under PyTorch's names: `self_attn`, `linear1`, `dropout`, `linear2`, `norm1`,
    /// `norm2`, `dropout1`, `dropout2`.
    public var children: [(name: String, module: any Module)] {
        [("self_attn", selfAttention), ("linear1", linear1), ("dropout", dropout), ("linear2", linear2),
         ("norm1", norm1), ("norm2", norm2), ("dropout1", dropout1), ("dropout2", dropout2)]
    }

    /// A layer with the same configuration and a copy of every parameter value (what PyTorch's
    /// `TransformerEncoder` does with `copy.deepcopy` for each of its layers).
    public func copy() -> TransformerEncoderLayer {
        let c = configuration
        let clone: TransformerEncoderLayer
        do {
            clone = try TransformerEncoderLayer(dModel: c.dModel, nHead: c.nHead, dimFeedforward: c.dimFeedforward, dropout: c.dropout,
                                                activation: activation, layerNormEps: c.layerNormEps, batchFirst: c.batchFirst,
                                                normFirst: normFirst, bias: c.bias, generator: Generator(seed: 0))
        } catch {
            preconditionFailure("TransformerEncoderLayer.copy: \(error), but self was made with this configuration")
        }
        for (mine, theirs) in zip(namedParameters(), clone.namedParameters()) { theirs.tensor.floats = mine.tensor.floats }
        clone.train(isTraining)
        return clone
    }

    /// `src` `[L, N, E]` (or `[N, L, E]` with `batchFirst`, or `[L, E]`) to the same shape.
    /// `srcMask` is added to the attention scores; `srcKeyPaddingMask` `[N, L]` marks padding.
    public func callAsFunction(_ src: Tensor, srcMask: Tensor? = nil, srcKeyPaddingMask: Tensor? = nil) -> Tensor {
        var x = src
        if normFirst {
            x = x + selfAttentionBlock(norm1(x), srcMask, srcKeyPaddingMask)
            x = x + feedForwardBlock(norm2(x))
        } else {
            x = norm1(x + selfAttentionBlock(x, srcMask, srcKeyPaddingMask))
            x = norm2(x + feedForwardBlock(x))
        }
        return x
    }

    /// `input` through the layer without masks.
    public func forward(_ input: Tensor) -> Tensor { self(input) }

    private func selfAttentionBlock(_ x: Tensor, _ mask: Tensor?, _ keyPaddingMask: Tensor?) -> Tensor {
        dropout1(selfAttention(x, x, x, keyPaddingMask: keyPaddingMask, needWeights: false, attnMask: mask).output)
    }

    private func feedForwardBlock(_ x: Tensor) -> Tensor {
        let hidden = linear1(x)
        return dropout2(linear2(dropout(activation == .relu ? relu(hidden) : gelu(hidden))))
    }
}
