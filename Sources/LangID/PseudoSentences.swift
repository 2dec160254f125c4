/// Turns a word list into training samples that look like running text: each sample is 5 to 12
/// words drawn at random (with replacement) and joined by spaces, ended by a full stop. Chinese
/// words are joined without spaces and ended by `。`, as Chinese is written.
///
/// A word list alone would teach the model single words; pseudo-sentences give it word boundaries
/// and sample lengths like those of real text, so the n-gram statistics match. The draw is seeded
/// (`SplitMix64`): the same list, count and seed give the same samples on every machine.
public enum PseudoSentences {
    /// Words per sample, drawn uniformly.
    public static let wordsPerSample = 5...12

    /// `count` samples from `words` (none when `words` is empty).
    public static func make(from words: [String], count: Int, seed: UInt64, joinWithoutSpaces: Bool = false) -> [String] {
        guard !words.isEmpty, count > 0 else { return [] }
        var random = SplitMix64(seed: seed)
        var samples: [String] = []
        samples.reserveCapacity(count)
        let span = UInt64(wordsPerSample.count)
        for _ in 0..<count {
            let n = wordsPerSample.lowerBound + Int(random.next() % span)
            var picked: [String] = []
            for _ in 0..<n { picked.append(words[Int(random.next() % UInt64(words.count))]) }
            samples.append(joinWithoutSpaces ? picked.joined() + "。" : picked.joined(separator: " ") + ".")
        }
        return samples
    }
}

/// SplitMix64 (Steele, Lea and Flood): a tiny, fixed, seedable generator, so corpus sampling does
/// not depend on the platform's random number generator.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
