/// A module that maps one tensor to one tensor, so that it can be chained in a `Sequential`.
public protocol Layer: Module {
    /// The module applied to `input`.
    func forward(_ input: Tensor) throws(EmbeddingKitError) -> Tensor
}

extension Linear: Layer {
    /// `x W^T + b`, the same as calling the layer.
    public func forward(_ input: Tensor) -> Tensor { self(input) }
}

extension Embedding: Layer {
    /// The rows for `input`, the same as calling the module; throws for an out-of-range index.
    public func forward(_ input: Tensor) throws(EmbeddingKitError) -> Tensor { try self(input) }
}

extension EmbeddingBag: Layer {
    /// Bags from a 2-D `[B, L]` input (one bag per row).
    public func forward(_ input: Tensor) throws(EmbeddingKitError) -> Tensor { try self(input) }
}
