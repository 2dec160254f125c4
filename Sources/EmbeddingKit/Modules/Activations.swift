/// `max(x, 0)` as a layer (PyTorch's `nn.ReLU`).
///
/// **Thread safety.** No state but `isTraining` (unused): calls from several threads at once are safe.
/// Only changing `isTraining` while calls run is not.
public final class ReLU: Layer {
    /// Whether the module is in training mode (ReLU behaves the same in both).
    public var isTraining = true
    /// A ReLU layer; it has no parameters.
    public init() {}
    /// None: ReLU has no parameters.
    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    /// `max(x, 0)` element-wise; same shape as `input`.
    public func forward(_ input: Tensor) -> Tensor { relu(input) }
    /// Same as `forward(_:)`.
    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input) }
}

/// `x * Φ(x)` as a layer (PyTorch's `nn.GELU`).
///
/// **Thread safety.** No state but its configuration and `isTraining` (unused): calls from several
/// threads at once are safe. Only changing `isTraining` while calls run is not.
public final class GELU: Layer {
    /// Exact (`erf`) or the tanh formula.
    public let approximate: GELUApproximation
    /// Whether the module is in training mode (GELU behaves the same in both).
    public var isTraining = true
    /// A GELU layer, exact (`erf`) by default like PyTorch's `approximate='none'`.
    public init(approximate: GELUApproximation = .none) { self.approximate = approximate }
    /// None: GELU has no parameters.
    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    /// GELU element-wise, exact or tanh per `approximate`; same shape as `input`.
    public func forward(_ input: Tensor) -> Tensor { gelu(input, approximate: approximate) }
    /// Same as `forward(_:)`.
    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input) }
}

/// Softmax over `dim` as a layer (PyTorch's `nn.Softmax(dim=...)`).
///
/// **Thread safety.** No state but its configuration and `isTraining` (unused): calls from several
/// threads at once are safe. Only changing `isTraining` while calls run is not.
public final class Softmax: Layer {
    /// The dimension the probabilities sum to 1 over.
    public let dim: Int
    /// Whether the module is in training mode (softmax behaves the same in both).
    public var isTraining = true
    /// Softmax over dimension `dim` (negative counts from the end).
    public init(dim: Int) { self.dim = dim }
    /// None: softmax has no parameters.
    public var directParameters: [(name: String, tensor: Tensor)] { [] }
    /// Probabilities along `dim`, summing to 1; same shape as `input`.
    public func forward(_ input: Tensor) -> Tensor { softmax(input, dim: dim) }
    /// Same as `forward(_:)`.
    public func callAsFunction(_ input: Tensor) -> Tensor { forward(input) }
}
