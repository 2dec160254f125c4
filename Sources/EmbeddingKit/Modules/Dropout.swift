/// Zeroes elements with probability `p` in training mode and scales the rest by `1 / (1 - p)`;
/// the identity in evaluation mode (PyTorch's `nn.Dropout`).
public final class Dropout: Layer {
    /// The probability of zeroing an element.
    public let p: Float
    /// Where the masks come from (the process-wide generator unless given).
    public let generator: Generator
    public var isTraining = true

    public init(_ p: Float = 0.5, generator: Generator = .default) {
        precondition(p >= 0 && p <= 1, "Dropout: p=\(p) must lie in [0, 1]")
        self.p = p
        self.generator = generator
    }

    public var directParameters: [(name: String, tensor: Tensor)] { [] }

    public func forward(_ input: Tensor) -> Tensor { dropout(input, p: p, training: isTraining, generator: generator) }

    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input) }
}
