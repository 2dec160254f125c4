/// A linear ramp of the factor from `startFactor` to `endFactor` over `totalIters` epochs, then
/// constant, PyTorch's `LinearLR` (a warm-up with the defaults):
/// `base * (start + (end - start) * min(epoch, totalIters) / totalIters)`.
public struct LinearLR: LearningRateSchedule {
    /// The factors at epoch 0 and from `totalIters` on.
    public let startFactor: Float, endFactor: Float
    /// The number of epochs of the ramp.
    public let totalIters: Int

    /// PyTorch's defaults (1/3, 1, 5). Throws `EmbeddingKitError` (`.invalidArgument`) with PyTorch's
    /// rules: `startFactor` in (0, 1], `endFactor` in [0, 1], `totalIters` at least 1.
    public init(startFactor: Float = 1.0 / 3, endFactor: Float = 1, totalIters: Int = 5) throws(EmbeddingKitError) {
        guard startFactor > 0 && startFactor <= 1 else {
            throw EmbeddingKitError(.invalidArgument, "LinearLR: starting multiplicative factor expected to be greater than 0 and less or equal to 1, got \(startFactor)")
        }
        guard endFactor >= 0 && endFactor <= 1 else {
            throw EmbeddingKitError(.invalidArgument, "LinearLR: ending multiplicative factor expected to be between 0 and 1, got \(endFactor)")
        }
        guard totalIters >= 1 else { throw EmbeddingKitError(.invalidArgument, "LinearLR: total_iters must be at least 1, got \(totalIters)") }
        self.startFactor = startFactor
        self.endFactor = endFactor
        self.totalIters = totalIters
    }

    /// `base * (start + (end - start) * min(epoch, totalIters) / totalIters)`.
    public func learningRate(at epoch: Int, base: Float) -> Float {
        let (s, e) = (Double(startFactor), Double(endFactor))
        let t = Double(Swift.min(Swift.max(epoch, 0), totalIters)) / Double(totalIters)
        return Float(Double(base) * (s + (e - s) * t))
    }
}
