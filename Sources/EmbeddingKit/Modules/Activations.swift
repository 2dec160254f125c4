/// `max(x, 0)` as a layer (PyTorch's `nn.ReLU`).
public final class ReLU: Layer {
    public var isTraining = true
    public init() {}
    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    public func forward(_ input: Tensor) -> Tensor { relu(input) }
    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input) }
}

/// `x * Φ(x)` as a layer (PyTorch's `nn.GELU`).
public final class GELU: Layer {
    /// Exact (`erf`) or the tanh formula.
    public let approximate: GELUApproximation
    public var isTraining = true
    public init(approximate: GELUApproximation = .none) { self.approximate = approximate }
    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    public func forward(_ input: Tensor) -> Tensor { gelu(input, approximate: approximate) }
    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input) }
}

/// Softmax over `dim` as a layer (PyTorch's `nn.Softmax(dim=...)`).
public final class Softmax: Layer {
    /// The dimension the probabilities sum to 1 over.
    public let dim: Int
    public var isTraining = true
    public init(dim: Int) { self.dim = dim }
    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    public func forward(_ input: Tensor) -> Tensor { softmax(input, dim: dim) }
    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input) }
}
