/// The built-in modules may be shared between threads and tasks (`Sendable`) under the contract of
/// ``Module``: concurrent forward passes are safe and give the serial results (except `maxNorm`
/// lookups, which rescale rows in place); training, loading weights and `train(_:)` / `eval()` must
/// not overlap any other use. The compiler cannot check that contract (modules are classes whose
/// parameters change in place during training), hence `@unchecked`.
extension Embedding: @unchecked Sendable {}
extension EmbeddingBag: @unchecked Sendable {}
extension Linear: @unchecked Sendable {}
extension LayerNorm: @unchecked Sendable {}
extension Dropout: @unchecked Sendable {}
extension ReLU: @unchecked Sendable {}
extension GELU: @unchecked Sendable {}
extension Softmax: @unchecked Sendable {}
extension MultiheadAttention: @unchecked Sendable {}
extension TransformerEncoderLayer: @unchecked Sendable {}
extension TransformerEncoder: @unchecked Sendable {}
extension Sequential: @unchecked Sendable {}

/// A module shared for inference only: `Sendable` for any module, your own included, so that
/// tasks and threads can run forward passes on one model at once.
///
/// Making one promises to use the module only for forward passes while it is shared (see
/// ``Module``'s thread-safety contract): no training, no loading, no mode switches. It puts the module
/// in evaluation mode (dropout off) when it is made.
///
/// ```swift
/// let shared = InferenceModel(model)             // model: your Module
/// try await withThrowingTaskGroup(of: Tensor.self) { group in
///     for batch in batches { group.addTask { try shared { try $0(batch) } } }
///     ...
/// }
/// ```
public struct InferenceModel<M: Module>: @unchecked Sendable {
    /// The shared module.
    public let module: M

    /// Shares `module` for inference, switching it to evaluation mode first.
    public init(_ module: M) {
        module.eval()
        self.module = module
    }

    /// Runs `body` — a forward pass — with the module, on the calling thread.
    public func callAsFunction<R>(_ body: (M) throws -> R) rethrows -> R { try body(module) }
}
