/// Running text from Vim's tutorial (`vimtutor`), translated by hand into 12 of the 13 languages
/// (no Irish): the demo's held-out genre — instructional prose by other authors than the fortunes,
/// used only for testing. Emacs's tutorial (`Layout.emacs`, other translators again) is a second
/// held-out source where it is installed.
///
/// What a file becomes, in order:
/// 1. The translators' closing block goes: everything after the last line of `~` characters
///    (Emacs: the last section, whose heading is underlined with `-`).
/// 2. Exercise lines (`--->`, deliberately misspelt), framed title lines (`=  V i t a j t e …  =`)
///    and lines without letters (rules of `~`, key diagrams) go.
/// 3. Lines are joined into paragraphs (blank lines separate them), and tokens without a letter
///    (`:wq`, `2.`, `<ESC>`) are removed.
/// 4. Paragraphs are split into sentences after `.`, `!`, `?` followed by a space, and after `。`,
///    `！`, `？`; each is cleaned like a fortune (`TextCleaning`) and kept if it has at least
///    `minimumLength` characters, half of them letters.
public enum TutorText {
    /// The sentences of the tutor file at `path` (UTF-8).
    ///
    /// - Throws: `CorpusError.unreadableFile` when it cannot be read, `.malformedSource` when it is
    ///   not UTF-8.
    public static func sentences(path: String, minimumLength: Int = 20, layout: Layout = .vim) throws(CorpusError) -> [String] {
        var bytes = try FortuneFile.read(path: path)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformedSource(path: path, reason: "not UTF-8 (read the tutor's .utf-8 variant)")
        }
        return sentences(text: text, minimumLength: minimumLength, layout: layout)
    }

    /// Where a tutorial's closing licence block starts.
    public enum Layout: Sendable, Equatable {
        /// Vim's `tutor`: the translators' block follows the last rule of `~`.
        case vim
        /// Emacs's `TUTORIAL`: the copying terms are the last section, a heading underlined with
        /// `-` (`KOPÍROVANIE` / `-----------`), followed by `;;;` local-variable lines.
        case emacs
    }

    /// The sentences of a tutor's text (see above).
    public static func sentences(text: String, minimumLength: Int = 20, layout: Layout = .vim) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        switch layout {
        case .vim:
            if let last = lines.lastIndex(where: isTildeRule) { lines.removeSubrange(last...) }
        case .emacs:
            if let last = lines.lastIndex(where: isDashRule) { lines.removeSubrange(Swift.max(0, last - 1)...) }
        }
        var paragraphs: [String] = [], current: [String] = []
        for line in lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            let hasLetter = trimmed.unicodeScalars.contains { $0.properties.isAlphabetic }
            if trimmed.isEmpty || !hasLetter || trimmed.hasPrefix("--->") || trimmed.hasPrefix("=") {
                if !current.isEmpty { paragraphs.append(current.joined(separator: " ")); current = [] }
                continue
            }
            let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
                .filter { $0.unicodeScalars.contains { $0.properties.isAlphabetic } }
            current.append(words.joined(separator: " "))
        }
        if !current.isEmpty { paragraphs.append(current.joined(separator: " ")) }
        var result: [String] = []
        for paragraph in paragraphs {
            for sentence in split(paragraph) {
                let cleaned = TextCleaning.clean(sentence)
                let scalars = cleaned.unicodeScalars
                let letters = scalars.filter { $0.properties.isAlphabetic }.count
                let nonSpace = scalars.filter { $0 != " " }.count
                if scalars.count >= minimumLength && 2 * letters >= nonSpace { result.append(cleaned) }
            }
        }
        return result
    }

    static func isDashRule(_ line: String) -> Bool {
        let t = line.trimmingCharacters(in: .whitespaces)
        return t.count >= 5 && t.allSatisfy { $0 == "-" }
    }

    static func isTildeRule(_ line: String) -> Bool {
        let t = line.trimmingCharacters(in: .whitespaces)
        return t.count >= 10 && t.allSatisfy { $0 == "~" }
    }

    /// Sentences of a paragraph: a cut after `.!?` + space and after the full-width `。！？`.
    static func split(_ paragraph: String) -> [String] {
        var sentences: [String] = [], current = ""
        let characters = Array(paragraph)
        for (i, c) in characters.enumerated() {
            current.append(c)
            let next = i + 1 < characters.count ? characters[i + 1] : " "
            if "。！？".contains(c) || (".!?".contains(c) && next == " ") {
                sentences.append(current); current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty { sentences.append(current) }
        return sentences
    }
}
