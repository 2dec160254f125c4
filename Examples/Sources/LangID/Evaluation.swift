/// Accuracy of a language identifier on a labelled set: overall, macro-averaged over languages,
/// per language, and the most frequent confusions.
public struct LangIDEvaluation: Sendable {
    public let languages: [String]
    /// `confusion[truth][predicted]` counts.
    public let confusion: [[Int]]

    /// Tallies `predicted` against `truth` (indices into `languages`).
    public init(languages: [String], truth: [Int], predicted: [Int]) {
        precondition(truth.count == predicted.count, "LangIDEvaluation: \(truth.count) labels but \(predicted.count) predictions")
        self.languages = languages
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: languages.count), count: languages.count)
        for (t, p) in zip(truth, predicted) { confusion[t][p] += 1 }
        self.confusion = confusion
    }

    /// The number of samples.
    public var count: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }

    /// The share of samples predicted correctly.
    public var accuracy: Double {
        let correct = languages.indices.reduce(0) { $0 + confusion[$1][$1] }
        return count == 0 ? 0 : Double(correct) / Double(count)
    }

    /// Each language's accuracy (recall); nil where the set has no sample of it.
    public var perLanguage: [(language: String, accuracy: Double?, samples: Int)] {
        languages.indices.map { i in
            let n = confusion[i].reduce(0, +)
            return (languages[i], n == 0 ? nil : Double(confusion[i][i]) / Double(n), n)
        }
    }

    /// The mean of the per-language accuracies (languages with samples only).
    public var macroAccuracy: Double {
        let values = perLanguage.compactMap(\.accuracy)
        return values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// The `k` most frequent (truth, predicted) mistakes.
    public func topConfusions(_ k: Int) -> [(truth: String, predicted: String, count: Int)] {
        var all: [(String, String, Int)] = []
        for t in languages.indices { for p in languages.indices where p != t && confusion[t][p] > 0 {
            all.append((languages[t], languages[p], confusion[t][p]))
        } }
        return all.sorted { $0.2 != $1.2 ? $0.2 > $1.2 : ($0.0, $0.1) < ($1.0, $1.1) }.prefix(k).map { ($0.0, $0.1, $0.2) }
    }
}
