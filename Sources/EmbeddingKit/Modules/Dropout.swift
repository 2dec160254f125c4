/// Zeroes elements with probability `p` in training mode and scales the rest by `1 / (1 - p)`;
/// the identity in evaluation mode (PyTorch's `nn.Dropout`).
///
/// **Thread safety.** In evaluation mode (or with `p` 0) a call returns its input: safe from any number
/// of threads. In training mode each call takes one draw from `generator` under the generator's lock,
/// so calls from several threads at once are safe and get the masks that as many serial calls would
/// get — but which call gets which mask depends on the order in which the threads reach the
/// generator. For masks that do not depend on the scheduling, give each thread its own `Dropout`
/// with its own seeded generator. Not thread-safe: changing `isTraining` (`train(_:)` / `eval()`)
/// while calls run.
public final class Dropout: Layer {
    /// The probability of zeroing an element.
    public let p: Float
    /// Where the masks come from (the process-wide generator unless given).
    public let generator: Generator
    /// Training mode drops elements; evaluation mode passes the input through.
    public var isTraining = true

    /// Dropout with probability `p` (default 0.5, PyTorch's). Throws `EmbeddingKitError` for a `p`
    /// outside [0, 1] or NaN (PyTorch's `dropout probability has to be between 0 and 1, but got 2.0`).
    public init(_ p: Float = 0.5, generator: Generator = .default) throws(EmbeddingKitError) {
        try checkDropoutProbability(p)
        self.p = p
        self.generator = generator
    }

    /// None: dropout has no parameters.
    public var directParameters: [(name: String, tensor: Tensor)] { [] }

    /// In training mode, `input` with elements zeroed with probability `p` and the rest scaled by
    /// `1 / (1 - p)`; in evaluation mode, `input` unchanged.
    public func forward(_ input: Tensor) -> Tensor { checkedDropout(input, p: p, training: isTraining, generator: generator) }

    /// Same as `forward(_:)`.
    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input) }
}
