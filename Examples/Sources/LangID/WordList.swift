/// A dictionary or word list from a Debian package, read into the plain words a pseudo-sentence
/// can be drawn from (`PseudoSentences`).
///
/// Formats (`WordList.Format`):
/// - `.lines`: one word per line, UTF-8 (the `w*` packages: `/usr/share/dict/ngerman`, …).
/// - `.hunspell`: a hunspell `.dic`: line 1 is the entry count, then `stem/FLAGS` (morphology after
///   a tab or space, as in sk_SK). The encoding is the `SET` line of the `.aff` next to it (pl is
///   ISO-8859-2, ga ISO-8859-1); a UTF-8 byte-order mark is skipped.
/// - `.friso`: friso's Chinese lexicon, `word/synonyms` lines.
///
/// Every entry is cut at its first unescaped `/`, tab or space (flags, morphology, tags), and kept
/// only if it is made of letters (any script) with at most inner `'`, `’` or `-`: acronyms with
/// digits, abbreviations with dots and symbols go. Capitalised entries go too unless
/// `keepCapitalised` (German nouns): in most lists they are proper nouns (40 % of cs_CZ's stems are
/// surnames), which say little about running text. Lines that are not valid in the encoding are
/// counted in `invalidLines` and dropped; one bad byte does not cost the list.
public struct WordList: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable {
        case lines, hunspell, friso
    }

    /// The words kept, in file order (duplicates removed).
    public let words: [String]
    /// Lines dropped because they are not valid in the file's encoding.
    public let invalidLines: Int
    /// Entries dropped by the filters above (empty, capitalised, not letters).
    public let filtered: Int
    /// Bytes read.
    public let bytes: Int

    /// Reads the list at `path`.
    ///
    /// - Throws: `CorpusError.unreadableFile` (missing, a folder, no permission);
    ///   `CorpusError.malformedSource` for a `.dic` without a readable `.aff`, an encoding the
    ///   reader does not know, or a first line that is not an entry count.
    /// `maximumEntries` (nil: all) reads only every k-th line of a longer list: the lists are sorted,
    /// so a stride keeps every part of the alphabet, and the demo draws far fewer words than the
    /// big lists hold (wbulgarian and wesperanto have about a million forms each).
    /// `expandSuffixes` (hunspell only): each stem also gives the forms its flags' `SFX` rules make
    /// (`HunspellSuffixes`); `maximumEntries` then also caps the forms, by the same kind of stride.
    public static func read(path: String, format: Format, keepCapitalised: Bool = false,
                            maximumEntries: Int? = nil, expandSuffixes: Bool = false) throws(CorpusError) -> WordList {
        var bytes = try FortuneFile.read(path: path)
        let size = bytes.count
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var encoding = LegacyEncoding.utf8
        var lines = split(lines: bytes)
        if format == .hunspell {
            encoding = try affixEncoding(dictionaryPath: path)
            guard let first = lines.first, let count = String(validating: bytes[first], as: UTF8.self),
                  Int(count.trimmingCharacters(in: .whitespaces)) != nil else {
                throw .malformedSource(path: path, reason: "a hunspell .dic must start with its entry count")
            }
            lines.removeFirst()
        }
        if let maximumEntries, maximumEntries > 0, lines.count > maximumEntries {
            let step = (lines.count + maximumEntries - 1) / maximumEntries
            lines = Swift.stride(from: 0, to: lines.count, by: step).map { lines[$0] }
        }
        let suffixes = format == .hunspell && expandSuffixes ? try affixRules(dictionaryPath: path, encoding: encoding) : nil
        var words: [String] = [], seen = Set<String>(), invalid = 0, filtered = 0
        for range in lines {
            let entry = cut(bytes[range])
            guard !entry.isEmpty else { continue }
            guard let text = encoding.decode(entry) else { invalid += 1; continue }
            guard isWord(text, keepCapitalised: keepCapitalised) else { filtered += 1; continue }
            if seen.insert(text).inserted { words.append(text) }
            if let suffixes, let flags = encoding.decode(flagField(bytes[range], after: entry.count)), !flags.isEmpty {
                for form in suffixes.forms(of: text, flags: flags)
                where isWord(form, keepCapitalised: keepCapitalised) && seen.insert(form).inserted {
                    words.append(form)
                }
            }
        }
        if suffixes != nil, let maximumEntries, maximumEntries > 0, words.count > maximumEntries {
            let step = (words.count + maximumEntries - 1) / maximumEntries
            words = Swift.stride(from: 0, to: words.count, by: step).map { words[$0] }
        }
        return WordList(words: words, invalidLines: invalid, filtered: filtered, bytes: size)
    }

    public init(words: [String], invalidLines: Int = 0, filtered: Int = 0, bytes: Int = 0) {
        self.words = words
        self.invalidLines = invalidLines
        self.filtered = filtered
        self.bytes = bytes
    }

    /// The encoding named by the `SET` line of the `.aff` next to a `.dic` (UTF-8 when it has none).
    static func affixEncoding(dictionaryPath path: String) throws(CorpusError) -> LegacyEncoding {
        let affix = (path.hasSuffix(".dic") ? String(path.dropLast(4)) : path) + ".aff"
        let bytes: [UInt8]
        do { bytes = try FortuneFile.read(path: affix) } catch {
            throw .malformedSource(path: path, reason: "its affix file \(affix) cannot be read (the encoding is named there)")
        }
        for range in split(lines: bytes) {
            // ASCII keywords: decode as Latin-1 so a non-UTF-8 comment elsewhere does not matter
            guard let line = LegacyEncoding.latin1.decode(bytes[range]) else { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let keyword = fields.first.map { String($0.drop { $0 == "\u{FEFF}" }) }
            guard keyword == "SET", fields.count >= 2 else { continue }
            guard let encoding = LegacyEncoding(setName: String(fields[1])) else {
                throw .malformedSource(path: path, reason: "unsupported encoding SET \(fields[1]) in \(affix)")
            }
            return encoding
        }
        return .utf8
    }

    /// The suffix rules of the `.aff` next to a `.dic`, its lines decoded in `encoding` (lines that
    /// are not, comments in another encoding, are skipped).
    static func affixRules(dictionaryPath path: String, encoding: LegacyEncoding) throws(CorpusError) -> HunspellSuffixes {
        let affix = (path.hasSuffix(".dic") ? String(path.dropLast(4)) : path) + ".aff"
        var bytes: [UInt8]
        do { bytes = try FortuneFile.read(path: affix) } catch {
            throw .malformedSource(path: path, reason: "its affix file \(affix) cannot be read (the suffix rules are there)")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        let text = split(lines: bytes).compactMap { encoding.decode(bytes[$0]) }.joined(separator: "\n")
        return try HunspellSuffixes(affixText: text, path: affix)
    }

    /// The flags of a `.dic` entry: what follows the `/` right after the `stemLength` bytes of its
    /// stem, up to a tab or space (morphology); empty when there is none.
    static func flagField(_ bytes: ArraySlice<UInt8>, after stemLength: Int) -> ArraySlice<UInt8> {
        let slash = bytes.startIndex + stemLength
        guard slash < bytes.endIndex, bytes[slash] == 0x2F else { return [] }
        var end = slash + 1
        while end < bytes.endIndex && bytes[end] != 0x09 && bytes[end] != 0x20 { end += 1 }
        return bytes[(slash + 1)..<end]
    }

    /// Line ranges, without `\n` or a trailing `\r`.
    static func split(lines bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = [], start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x0A {
            var end = i
            if end > start && bytes[end - 1] == 0x0D { end -= 1 }
            if end > start { ranges.append(start..<end) }
            start = i + 1
        }
        return ranges
    }

    /// The entry before its first unescaped `/`, tab or space, trimmed of a leading tab/space
    /// (de_DE's tab-indented comments become empty).
    static func cut(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        if bytes.first == 0x09 || bytes.first == 0x20 || bytes.first == 0x23 { return [] }   // comment or indented
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == 0x5C { i += 2; continue }                    // `\/` is an escaped slash
            if b == 0x2F || b == 0x09 || b == 0x20 { break }
            i += 1
        }
        return bytes[bytes.startIndex..<Swift.min(i, bytes.endIndex)]
    }

    /// Letters, with `'`, `’` or `-` only between letters; lower-case first letter unless allowed.
    static func isWord(_ text: String, keepCapitalised: Bool) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard let first = scalars.first, let last = scalars.last,
              first.properties.isAlphabetic, last.properties.isAlphabetic else { return false }
        if !keepCapitalised && first.properties.isUppercase { return false }
        for s in scalars where !s.properties.isAlphabetic {
            guard s == "'" || s == "\u{2019}" || s == "-" else { return false }
        }
        return true
    }
}
