/// The language-identification corpus: Debian's fortune cookies in 13 languages, cleaned, filtered,
/// de-duplicated and split into training and test samples.
///
/// ## Where the samples come from
///
/// Every `%`-separated fortune of every fortune file below the folder is one sample, labelled by the
/// rules of `FortuneLayout` (English at the top level, other languages in folders named by their
/// ISO 639-1 code, Portuguese `brasil` and the Chinese files at the top level, Slovak
/// `cs/klasik-sk`). Left out, and listed in `skippedFiles` with the reason: the ROT13-encoded Spanish
/// `es/off/`, `translate-me` (English and Latin), `pl/newyear` (English), `de/translations`
/// (English/German pairs), the ASCII-art files `ascii-art`, `de/asciiart`, `it/banner`, empty and
/// hidden files, and folders of unknown language. Symbolic links and the `*.dat` / `*.u8` files are
/// passed over without a report (links point at files read under their real names).
///
/// ## What happens to each sample, in order
///
/// 1. **Cleaning** (`TextCleaning`): escape sequences removed, backspace overstrike resolved, every
///    run of whitespace (CRLF and tabs included) made one space, ends trimmed.
/// 2. **UTF-8**: a sample that is not valid UTF-8 is dropped and listed in `invalidUTF8`, or the load
///    throws, as `CorpusOptions.invalidUTF8` says.
/// 3. **Length**: fewer than 20 Unicode scalars → dropped (`CorpusOptions.minimumLength`).
/// 4. **Not text**: fewer than half of the non-space characters are letters → dropped as ASCII art,
///    tables or code (`CorpusOptions.minimumLetterShare`).
/// 5. **De-duplication**, in file order (files sorted by relative path): a text already seen with the
///    same label is dropped; a text seen with different labels is dropped everywhere.
/// 6. **Split**: a sample goes to the test set when `StableHash.hash(text) % 100 < testPercent`
///    (default 20), otherwise to the training set. The hash is FNV-1a with a fixed finaliser, so the
///    split is the same on every machine and run, and a text always lands on the same side.
///
/// Samples keep file order within each split. With the Debian 12 packages (355 files, 17.8 MB) this
/// gives 78,747 training and 19,676 test samples in 13 languages, from 100,966 fortunes: 1,242 too
/// short, 213 not text, 1,082 duplicates, 6 copies of texts filed under two languages
/// (`counts()` and `statistics` have the numbers).
///
/// Files are read and cleaned in parallel on bytes; the whole corpus (13 MB) loads in a fraction of
/// a second, and the result does not depend on the thread count.
public struct LanguageCorpus: Sendable {
    /// Where Debian's fortune packages put their files.
    public static let defaultFolder = "/usr/share/games/fortunes"

    /// The folder the corpus was read from.
    public let folder: String
    /// Training samples.
    public let train: [LanguageSample]
    /// Test samples.
    public let test: [LanguageSample]
    /// The languages present, sorted ISO 639-1 codes.
    public let languages: [String]
    /// Files and folders not read, with the reason, sorted by path.
    public let skippedFiles: [SkippedFile]
    /// Samples dropped because they are not valid UTF-8.
    public let invalidUTF8: [InvalidSample]
    /// What was read and dropped.
    public let statistics: CorpusStatistics

    /// A corpus from given samples (for tests and other data sources); `languages` is derived.
    public init(train: [LanguageSample], test: [LanguageSample], folder: String = "",
                skippedFiles: [SkippedFile] = [], invalidUTF8: [InvalidSample] = [],
                statistics: CorpusStatistics = CorpusStatistics()) {
        self.folder = folder
        self.train = train
        self.test = test
        self.languages = Set(train.map(\.language) + test.map(\.language)).sorted()
        self.skippedFiles = skippedFiles
        self.invalidUTF8 = invalidUTF8
        self.statistics = statistics
    }

    /// Reads the corpus from `folder` (by default `defaultFolder`) with the rules described above.
    ///
    /// - Throws: `CorpusError` — an option is out of range; the folder is missing, not a folder or unreadable; a file cannot be
    ///   read; a sample is not UTF-8 under `InvalidUTF8Policy.fail`; there are no fortune files; no
    ///   sample is left.
    public static func load(from folder: String = defaultFolder,
                            options: CorpusOptions = CorpusOptions()) throws(CorpusError) -> LanguageCorpus {
        try options.validate()
        let listing = try CorpusFolder(root: folder)
        guard !listing.files.isEmpty else { throw .noFortuneFiles(path: folder) }

        // Read and clean every file; largest first, so the static assignment balances the threads.
        let order = listing.files.indices.sorted { listing.files[$0].size > listing.files[$1].size }
        let processed = parallelMap(count: order.count, threads: options.threads) { k in
            FileSamples(entry: listing.files[order[k]], options: options)
        }
        var results = [FileSamples?](repeating: nil, count: order.count)
        for (k, result) in processed.enumerated() { results[order[k]] = result }

        var statistics = CorpusStatistics()
        var skipped = listing.skipped
        var invalid: [InvalidSample] = []
        var kept: [LanguageSample?] = []
        var keptHashes: [UInt64] = []
        // Text -> index in `kept`, or -1 once conflicting. Keys compare UTF-8 bytes (String's own
        // hashing normalises to NFC, which is slow and not wanted: the corpus is compared as written).
        var position: [TextKey: Int] = [:]
        position.reserveCapacity(results.reduce(0) { $0 + ($1?.texts.count ?? 0) })
        for (entry, result) in zip(listing.files, results) {
            let result = result!
            if let error = result.error { throw error }
            statistics.files += 1
            statistics.bytes += result.bytes
            statistics.fortunes += result.fortunes
            statistics.tooShort += result.tooShort
            statistics.notText += result.notText
            statistics.invalidUTF8 += result.invalid.count
            invalid += result.invalid
            if result.fortunes == 0 {
                skipped.append(SkippedFile(path: entry.relativePath, reason: "empty file (no fortunes)"))
            }
            for (text, hash) in zip(result.texts, result.hashes) {
                let key = TextKey(text: text, hash: hash)
                switch position[key] {
                case nil:
                    position[key] = kept.count
                    kept.append(LanguageSample(text: text, language: entry.language))
                    keptHashes.append(hash)
                case -1:
                    statistics.conflicting += 1
                case let index?:
                    if kept[index]!.language == entry.language {
                        statistics.duplicates += 1
                    } else {
                        statistics.conflicting += 2
                        kept[index] = nil
                        position[key] = -1
                    }
                }
            }
        }
        // A first copy dropped for a conflict may have had duplicates counted; they are dropped
        // copies either way, so `fortunes = dropped + kept` holds.
        skipped.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }

        var train: [LanguageSample] = [], test: [LanguageSample] = []
        for (sample, hash) in zip(kept, keptHashes) {
            guard let sample else { continue }
            if Int(hash % 100) < options.testPercent {
                test.append(sample)
            } else {
                train.append(sample)
            }
        }
        statistics.kept = train.count + test.count
        guard statistics.kept > 0 else { throw .noSamples(path: folder) }
        return LanguageCorpus(train: train, test: test, folder: folder, skippedFiles: skipped,
                              invalidUTF8: invalid, statistics: statistics)
    }

    /// Whether a text belongs to the test split: `StableHash.hash(text) % 100 < testPercent`.
    public static func isTestSample(_ text: String, testPercent: Int = 20) -> Bool {
        Int(StableHash.hash(text) % 100) < testPercent
    }

    /// Samples per language and split, sorted by language.
    public func counts() -> [LanguageCount] {
        var trainCounts: [String: Int] = [:], testCounts: [String: Int] = [:]
        for sample in train { trainCounts[sample.language, default: 0] += 1 }
        for sample in test { testCounts[sample.language, default: 0] += 1 }
        return languages.map {
            LanguageCount(language: $0, train: trainCounts[$0] ?? 0, test: testCounts[$0] ?? 0)
        }
    }

    /// The "short" test set: every test sample cut to its first `maxCharacters` characters at a word
    /// boundary (`shortVariant(of:maxCharacters:)`), same order and labels as `test`.
    public func shortTest(maxCharacters: Int = 40) -> [LanguageSample] {
        test.map { LanguageSample(text: shortVariant(of: $0.text, maxCharacters: maxCharacters), language: $0.language) }
    }

    /// A table of `counts()` for printing: one line per language and a total line.
    public func formattedCounts() -> String {
        let rows = counts()
        var lines = ["language    train     test    total"]
        for row in rows {
            lines.append(pad(row.language, 8) + pad(String(row.train), 9, right: true)
                         + pad(String(row.test), 9, right: true) + pad(String(row.total), 9, right: true))
        }
        lines.append(pad("total", 8) + pad(String(train.count), 9, right: true)
                     + pad(String(test.count), 9, right: true) + pad(String(train.count + test.count), 9, right: true))
        return lines.joined(separator: "\n")
    }

    private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return right ? fill + text : text + fill
    }
}

/// The cleaned, filtered samples of one file (before de-duplication).
struct FileSamples {
    var texts: [String] = []
    /// `StableHash` of each text's UTF-8 bytes.
    var hashes: [UInt64] = []
    var bytes = 0
    var fortunes = 0
    var tooShort = 0
    var notText = 0
    var invalid: [InvalidSample] = []
    var error: CorpusError?

    init(entry: CorpusFolder.Entry, options: CorpusOptions) {
        let bytes: [UInt8]
        do {
            bytes = try FortuneFile.read(pathBytes: entry.pathBytes, display: entry.path)
        } catch {
            self.error = error
            return
        }
        self.bytes = bytes.count
        let ranges = FortuneFile.split(bytes)
        let longest = ranges.reduce(0) { max($0, $1.count) }
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: max(longest, 1))
        defer { scratch.deallocate() }
        bytes.withUnsafeBufferPointer { all in
            for (number, range) in ranges.enumerated() {
                let cleaned = TextCleaning.clean(UnsafeBufferPointer(rebasing: all[range]), into: scratch)
                if cleaned.count == 0 { continue }                       // blank between separators
                fortunes += 1
                let utf8 = UnsafeBufferPointer(start: scratch, count: cleaned.count)
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    if options.invalidUTF8 == .fail {
                        error = .invalidUTF8(path: entry.path, sample: number + 1, byteOffset: range.lowerBound)
                        return
                    }
                    invalid.append(InvalidSample(path: entry.relativePath, sample: number + 1,
                                                 byteOffset: range.lowerBound))
                    continue
                }
                let nonSpace = cleaned.scalars - cleaned.spaces
                if cleaned.scalars < options.minimumLength {
                    tooShort += 1
                } else if Double(cleaned.letters) < options.minimumLetterShare * Double(nonSpace) {
                    notText += 1
                } else {
                    texts.append(text)
                    hashes.append(StableHash.hash(bytes: utf8))
                }
            }
        }
    }
}

/// A dictionary key for a text that hashes with its precomputed `StableHash` and compares UTF-8
/// bytes (no Unicode normalisation).
struct TextKey: Hashable {
    let text: String
    let hash: UInt64

    static func == (a: TextKey, b: TextKey) -> Bool {
        a.hash == b.hash && a.text.utf8.elementsEqual(b.text.utf8)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }
}
