/// A module that maps one tensor to one tensor, so that it can be chained in a `Sequential`.
public protocol Layer: Module {
    /// The module applied to `input`.
    func forward(_ input: Tensor) throws(EmbeddingKitError) -> Tensor
}

extension Linear: Layer {
    public func forward(_ input: Tensor) -> Tensor { self(input) }
}

extension Embedding: Layer {
    public func forward(_ input: Tensor) throws(EmbeddingKitError) -> Tensor { try self(input) }
}

extension EmbeddingBag: Layer {
    /// Bags from a 2-D `[B, L]` input (one bag per row).
    public func forward(_ input: Tensor) throws(EmbeddingKitError) -> Tensor { try self(input) }
}
