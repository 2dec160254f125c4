import Foundation

/// Multiplies the rate by `gamma` every `stepSize` epochs, PyTorch's `StepLR`:
/// `base * gamma^(epoch / stepSize)` (integer division).
public struct StepLR: LearningRateSchedule {
    /// Epochs between decays.
    public let stepSize: Int
    /// The factor applied at each decay.
    public let gamma: Float

    /// Throws `EmbeddingKitError` (`.invalidArgument`) for a `stepSize` below 1 or a `gamma` that is
    /// negative or not finite.
    public init(stepSize: Int, gamma: Float = 0.1) throws(EmbeddingKitError) {
        guard stepSize >= 1 else { throw EmbeddingKitError(.invalidArgument, "StepLR: step_size must be at least 1, got \(stepSize)") }
        guard gamma.isFinite && gamma >= 0 else { throw EmbeddingKitError(.invalidArgument, "StepLR: invalid gamma \(gamma)") }
        self.stepSize = stepSize
        self.gamma = gamma
    }

    /// `base * gamma^(epoch / stepSize)`.
    public func learningRate(at epoch: Int, base: Float) -> Float {
        Float(Double(base) * pow(Double(gamma), Double(Swift.max(epoch, 0) / stepSize)))
    }
}
