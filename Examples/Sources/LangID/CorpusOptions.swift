/// What to do with a fortune whose bytes are not valid UTF-8.
///
/// Debian 12's fortune files are all valid UTF-8, but older packages and hand-made folders may hold
/// Latin-1 or KOI8-R text. By default such a sample is dropped and reported
/// (`LanguageCorpus.invalidUTF8`), so one stray byte does not cost a whole file; `.fail` makes the
/// load throw `CorpusError.invalidUTF8` at the first one instead.
public enum InvalidUTF8Policy: Sendable, Equatable {
    /// Drop the sample, count it in `CorpusStatistics.invalidUTF8`, list it in `LanguageCorpus.invalidUTF8`.
    case skipSample
    /// Throw `CorpusError.invalidUTF8` with the path and the sample's number.
    case fail
}

/// The filtering and split rules of `LanguageCorpus.load(from:options:)`, which throws
/// `CorpusError.invalidOption` for a value out of range (checked there: the fields are mutable).
public struct CorpusOptions: Sendable, Equatable {
    /// Samples shorter than this many Unicode scalars after cleaning are dropped. Default 20; >= 0.
    public var minimumLength: Int
    /// A sample is kept only if at least this share of its non-space characters are letters
    /// (`Unicode.Scalar.Properties.isAlphabetic`, any script). Default 0.5: ASCII art, banners,
    /// code snippets and box-drawn tables fall below it, prose of every language (punctuation,
    /// digits and attributions included) lies well above.
    public var minimumLetterShare: Double
    /// The share of samples, in percent, that goes to the test set. Default 20; 0...100.
    public var testPercent: Int
    /// What to do with samples that are not valid UTF-8. Default `.skipSample`.
    public var invalidUTF8: InvalidUTF8Policy
    /// Threads for reading and cleaning (files are spread over them); `nil`: one per core. The result
    /// does not depend on it.
    public var threads: Int?

    public init(minimumLength: Int = 20, minimumLetterShare: Double = 0.5, testPercent: Int = 20,
                invalidUTF8: InvalidUTF8Policy = .skipSample, threads: Int? = nil) {
        self.minimumLength = minimumLength
        self.minimumLetterShare = minimumLetterShare
        self.testPercent = testPercent
        self.invalidUTF8 = invalidUTF8
        self.threads = threads
    }

    /// Throws `CorpusError.invalidOption` naming the first field out of range.
    func validate() throws(CorpusError) {
        guard minimumLength >= 0 else { throw .invalidOption(name: "minimumLength", value: "\(minimumLength)", allowed: ">= 0") }
        guard minimumLetterShare >= 0 && minimumLetterShare <= 1 else {
            throw .invalidOption(name: "minimumLetterShare", value: "\(minimumLetterShare)", allowed: "0...1")
        }
        guard (0...100).contains(testPercent) else { throw .invalidOption(name: "testPercent", value: "\(testPercent)", allowed: "0...100") }
        if let threads, threads < 1 { throw .invalidOption(name: "threads", value: "\(threads)", allowed: ">= 1 or nil") }
    }
}
