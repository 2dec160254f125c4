/// The text the demo reads besides the fortunes: pseudo-sentences drawn from word lists (training)
/// and the sentences of a held-out genre (testing only, never trained on).
///
/// A source whose file is missing is skipped and listed in `skipped` with the package that
/// installs it, so a machine without one dictionary still trains (with less data); a file that
/// exists but cannot be read or understood throws, because then something is wrong with the system.
///
/// Words found in the lists of two languages are dropped from both (cs and sk share 9 % of their
/// stems, bg and ru 8k words): a shared word teaches the model nothing about either language, and
/// the identifying letters (ř ů ě, ľ ĺ ŕ ä ô; ъ) never occur in the shared part.
public struct SupplementaryCorpus: Sendable {
    /// What one source gave.
    public struct Report: Sendable, Equatable {
        public let source: CorpusSource
        public let path: String
        public let bytes: Int
        /// Words kept (word lists) or sentences (running text).
        public let items: Int
    }

    /// Pseudo-sentences from the word lists, at least `samplesPerLanguage` per language that has a list.
    public let train: [LanguageSample]
    /// Sentences of the held-out genres, all of them.
    public let heldOut: [LanguageSample]
    /// The held-out sentences by package (`vim-runtime`, `emacs-common`), in the order given:
    /// each genre is reported on its own.
    public let heldOutGenres: [(package: String, samples: [LanguageSample])]
    /// The sources read, in the order given.
    public let reports: [Report]
    /// Sources not read: the pattern and why (the package that installs it).
    public let skipped: [SkippedFile]
    /// Words dropped because two languages' lists hold them.
    public let sharedWords: Int

    /// Reads `wordLists` and `heldOutText`.
    ///
    /// - Throws: `CorpusError.invalidOption` for a negative sample count; `.unreadableFile` or
    ///   `.malformedSource` for a file that exists but cannot be read or understood.
    /// Lines read per word list at most (`WordList.read(maximumEntries:)`): 16,000 samples of 5 to 12
    /// words draw about 136,000 words, so 150,000 keep the draw varied while a million-form list
    /// reads in a fifth of the time.
    public static let maximumWordsPerList = 150_000

    /// Reads `wordLists` and `heldOutText`. Each language gets `samplesPerLanguage` pseudo-sentences,
    /// or more where it has few fortunes: enough to reach `fillUpTo` samples with its `existing`
    /// ones (class balance from new text, not from repeating the same few fortunes).
    public static func load(wordLists: [CorpusSource], samplesPerLanguage: Int, heldOutText: [CorpusSource],
                            existing: [String: Int] = [:], fillUpTo: Int = 0,
                            commonWords: [String: [(word: String, count: Int)]] = [:], commonShare: Double = 0,
                            seed: UInt64 = 1, threads: Int? = nil) throws(CorpusError) -> SupplementaryCorpus {
        guard samplesPerLanguage >= 0 else {
            throw .invalidOption(name: "samplesPerLanguage", value: "\(samplesPerLanguage)", allowed: ">= 0")
        }
        var skipped: [SkippedFile] = []
        func found(_ sources: [CorpusSource]) -> [(CorpusSource, String)] {
            sources.compactMap { source in
                if let path = source.resolve() { return (source, path) }
                skipped.append(SkippedFile(path: source.pattern, reason: "not found: install the Debian package \(source.package) "
                                           + "(`make demo-corpus` does), or the \(source.language) data is smaller"))
                return nil
            }
        }
        let lists = samplesPerLanguage > 0 ? found(wordLists) : []
        let texts = found(heldOutText)

        let read = parallelMap(count: lists.count, threads: threads) { i -> Result<WordList, CorpusError> in
            do throws(CorpusError) {
                return .success(try WordList.read(path: lists[i].1, format: lists[i].0.format,
                                                  keepCapitalised: lists[i].0.keepCapitalised,
                                                  maximumEntries: maximumWordsPerList,
                                                  expandSuffixes: lists[i].0.expandSuffixes))
            } catch { return .failure(error) }
        }
        var reports: [Report] = []
        var wordsByLanguage: [String: [String]] = [:]
        for ((source, path), result) in zip(lists, read) {
            let list: WordList
            switch result { case .success(let l): list = l; case .failure(let e): throw e }
            reports.append(Report(source: source, path: path, bytes: list.bytes, items: list.words.count))
            if list.words.isEmpty {
                skipped.append(SkippedFile(path: path, reason: "no usable words (every entry is empty, capitalised, not letters or not \(source.format == .hunspell ? "in the .aff's encoding" : "UTF-8"))"))
            }
            wordsByLanguage[source.language, default: []] += list.words
        }

        // a word in two languages' lists goes from both
        var owner: [String: String] = [:], shared = Set<String>()
        for language in wordsByLanguage.keys.sorted() {
            for word in Set(wordsByLanguage[language]!) {
                if let other = owner[word], other != language { shared.insert(word) } else { owner[word] = language }
            }
        }
        var train: [LanguageSample] = []
        for language in wordsByLanguage.keys.sorted() {
            var seen = Set<String>()
            let words = wordsByLanguage[language]!.filter { !shared.contains($0) && seen.insert($0).inserted }
            let seedForLanguage = seed ^ StableHash.hash(language)
            let count = Swift.max(samplesPerLanguage, fillUpTo - (existing[language] ?? 0))
            for text in PseudoSentences.make(from: words, count: count, seed: seedForLanguage,
                                             joinWithoutSpaces: language == "zh",
                                             common: language == "zh" ? [] : commonWords[language] ?? [],
                                             commonShare: commonShare) {
                train.append(LanguageSample(text: text, language: language))
            }
        }

        var heldOut: [LanguageSample] = [], genres: [(package: String, samples: [LanguageSample])] = []
        for (source, path) in texts {
            let sentences = try TutorText.sentences(path: path, layout: source.layout)
            reports.append(Report(source: source, path: path, bytes: (try? FortuneFile.read(path: path).count) ?? 0,
                                  items: sentences.count))
            let samples = sentences.map { LanguageSample(text: $0, language: source.language) }
            heldOut += samples
            if let g = genres.firstIndex(where: { $0.package == source.package }) {
                genres[g].samples += samples
            } else {
                genres.append((source.package, samples))
            }
        }
        return SupplementaryCorpus(train: train, heldOut: heldOut, heldOutGenres: genres, reports: reports,
                                   skipped: skipped, sharedWords: shared.count)
    }
}
