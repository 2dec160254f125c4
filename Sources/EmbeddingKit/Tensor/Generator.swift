import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A seeded source of random numbers for reproducible initialisation, dropout and shuffling, like
/// PyTorch's `torch.Generator`.
///
/// The same seed gives the same numbers on every run and for any thread count: tensors are filled
/// serially from one SplitMix64 stream. Safe to share between threads (draws are serialised).
public final class Generator: Sendable {
    private let state: Mutex<SplitMix64>

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = Mutex(SplitMix64(seed: seed)) }

    /// Restarts the sequence from `seed`.
    public func reseed(_ seed: UInt64) { state.withLock { $0 = SplitMix64(seed: seed) } }

    /// The process-wide generator that creation functions and module initialisers use by default.
    public static let `default` = Generator(seed: 0x5EED)

    /// Runs `body` with exclusive use of the stream.
    func draw<T>(_ body: (inout SplitMix64) -> T) -> T { state.withLock { body(&$0) } }
}

/// Reseeds the default generator, like `torch.manual_seed`.
public func manualSeed(_ seed: UInt64) { Generator.default.reseed(seed) }

/// SplitMix64 (Steele, Lea and Flood): tiny, fast and statistically sound for initialisation and
/// shuffling, and the same on every platform — a seed gives the same stream everywhere, which the
/// system generator does not promise. `Generator` wraps one behind a lock; use this one directly for
/// a private, seeded stream (sampling a corpus, say).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    /// A stream that starts from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Standard normal by Box–Muller (one value per call).
    mutating func normal() -> Float {
        let u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2.0 * log(max(u1, .leastNonzeroMagnitude))).squareRoot() * cos(2.0 * .pi * u2))
    }
}
