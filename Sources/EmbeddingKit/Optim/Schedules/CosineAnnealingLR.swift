import Foundation

/// A half cosine from the base rate down to `etaMin` over `tMax` epochs, PyTorch's
/// `CosineAnnealingLR` in its closed form: `etaMin + (base - etaMin) * (1 + cos(pi * epoch / tMax)) / 2`
/// (past `tMax` the cosine continues, as PyTorch's does).
public struct CosineAnnealingLR: LearningRateSchedule {
    /// The number of epochs of the half period.
    public let tMax: Int
    /// The lowest rate.
    public let etaMin: Float

    /// Throws `EmbeddingKitError` (`.invalidArgument`) for a `tMax` below 1 or an `etaMin` that is
    /// negative or not finite.
    public init(tMax: Int, etaMin: Float = 0) throws(EmbeddingKitError) {
        guard tMax >= 1 else { throw EmbeddingKitError(.invalidArgument, "CosineAnnealingLR: T_max must be at least 1, got \(tMax)") }
        guard etaMin.isFinite && etaMin >= 0 else { throw EmbeddingKitError(.invalidArgument, "CosineAnnealingLR: invalid eta_min \(etaMin)") }
        self.tMax = tMax
        self.etaMin = etaMin
    }

    /// `etaMin + (base - etaMin) * (1 + cos(pi * epoch / tMax)) / 2`.
    public func learningRate(at epoch: Int, base: Float) -> Float {
        let eta = Double(etaMin)
        return Float(eta + (Double(base) - eta) * (1 + cos(Double.pi * Double(Swift.max(epoch, 0)) / Double(tMax))) / 2)
    }
}
