import Foundation
import EmbeddingKit

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
    /// The chance, per million, that a word other than the last is followed by a comma (about one
    /// comma per 12 words, as in the tutorials and fortunes).
    public static let commaRate: UInt64 = 80_000

    /// `count` samples from `words` (none when `words` is empty). With `common` words and a
    /// `commonShare` > 0, each word is instead drawn with that probability from `common`, weighted
    /// by its count: running text is mostly function words (`a`, `sa`, `je`, `že`), which a
    /// dictionary lists once among 200,000, so without them every real sentence would look like the
    /// language with the most real text.
    public static func make(from words: [String], count: Int, seed: UInt64, joinWithoutSpaces: Bool = false,
                            common: [(word: String, count: Int)] = [], commonShare: Double = 0) -> [String] {
        guard !words.isEmpty, count > 0 else { return [] }
        var cumulative: [Int] = [], total = 0
        for entry in common { total += entry.count; cumulative.append(total) }
        let threshold = UInt64(Swift.max(0, Swift.min(1, commonShare)) * 1_000_000)
        var random = SplitMix64(seed: seed)
        var samples: [String] = []
        samples.reserveCapacity(count)
        let span = UInt64(wordsPerSample.count)
        for _ in 0..<count {
            let n = wordsPerSample.lowerBound + Int(random.next() % span)
            var picked: [String] = []
            for _ in 0..<n {
                if total > 0 && random.next() % 1_000_000 < threshold {
                    let r = Int(random.next() % UInt64(total))
                    var lo = 0, hi = cumulative.count - 1              // first cumulative count > r
                    while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] > r { hi = mid } else { lo = mid + 1 } }
                    picked.append(common[lo].word)
                } else {
                    picked.append(words[Int(random.next() % UInt64(words.count))])
                }
            }
            // a comma after some words: real text has them in every language (`, že`, `, kde`, `, ktorý`);
            // without them a comma would read as a sign of the languages with the most real text
            for k in 0..<(picked.count - 1) where random.next() % 1_000_000 < commaRate {
                picked[k] += joinWithoutSpaces ? "，" : ","
            }
            samples.append(joinWithoutSpaces ? picked.joined() + "。" : picked.joined(separator: " ") + ".")
        }
        return samples
    }
}


/// The most frequent words of each language's samples, with their counts: the `common` lists of
/// `PseudoSentences.make`. Words are lowercased runs of letters (with inner `'` or `-`); Chinese,
/// written without spaces, gives whole clauses and is left to its dictionary.
public func commonWords(of samples: [LanguageSample], top: Int) -> [String: [(word: String, count: Int)]] {
    var counts: [String: [Substring: Int]] = [:]
    for sample in samples {
        let text = sample.text.lowercased()
        var table = counts[sample.language] ?? [:]
        counts[sample.language] = nil                          // keep the table uniquely referenced
        for token in text.split(whereSeparator: { !($0.isLetter || $0 == "'" || $0 == "-") }) {
            let word = token.drop { $0 == "'" || $0 == "-" }
            if !word.isEmpty && word.count <= 20 { table[word, default: 0] += 1 }
        }
        counts[sample.language] = table
    }
    return counts.mapValues { table in
        table.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            .prefix(top).map { (String($0.key), $0.value) }
    }
}
