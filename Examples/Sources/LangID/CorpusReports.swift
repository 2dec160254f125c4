/// One sample of the corpus: cleaned text and its ISO 639-1 language code.
public struct LanguageSample: Sendable, Equatable {
    /// The cleaned text (see `TextCleaning`): single spaces, no control characters.
    public let text: String
    /// ISO 639-1 code, e.g. `"en"`, `"de"`, `"zh"`.
    public let language: String

    public init(text: String, language: String) {
        self.text = text
        self.language = language
    }
}

/// A file or folder that was not read, and why.
public struct SkippedFile: Sendable, Equatable, CustomStringConvertible {
    /// The path relative to the corpus folder (a folder's ends with `/`).
    public let path: String
    /// Why it was left out.
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// A fortune that was dropped because it is not valid UTF-8 (`InvalidUTF8Policy.skipSample`).
public struct InvalidSample: Sendable, Equatable, CustomStringConvertible {
    /// The file's path relative to the corpus folder.
    public let path: String
    /// The fortune's number within the file, from 1.
    public let sample: Int
    /// Where the fortune starts in the file.
    public let byteOffset: Int

    public var description: String { "\(path): fortune \(sample) (byte \(byteOffset)) is not valid UTF-8" }
}

/// Samples per language in each split.
public struct LanguageCount: Sendable, Equatable {
    public let language: String
    public let train: Int
    public let test: Int
    public var total: Int { train + test }
}

/// What loading the corpus read and dropped, counted in samples (fortunes) unless stated otherwise.
public struct CorpusStatistics: Sendable, Equatable {
    /// Fortune files read.
    public var files = 0
    /// Bytes read from them.
    public var bytes = 0
    /// Fortunes found (non-empty text between separators).
    public var fortunes = 0
    /// Dropped: not valid UTF-8.
    public var invalidUTF8 = 0
    /// Dropped: shorter than `CorpusOptions.minimumLength` after cleaning (whitespace-only included).
    public var tooShort = 0
    /// Dropped: less than `CorpusOptions.minimumLetterShare` letters (ASCII art, tables, code).
    public var notText = 0
    /// Dropped: the same cleaned text already seen with the same label.
    public var duplicates = 0
    /// Dropped: texts seen under two or more labels; every copy is dropped, since the label is
    /// ambiguous (this counts the copies).
    public var conflicting = 0
    /// Kept (train + test).
    public var kept = 0

    public init() {}
}
