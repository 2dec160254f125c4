#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One file of training or test text from a Debian package: where it lies, what it holds, and
/// under which licence. `pattern` may hold glob wildcards, because some paths carry a version
/// (`/usr/share/vim/vim90/`); the last match in sorted order (the newest version) is read.
public struct CorpusSource: Sendable, Equatable {
    /// ISO 639-1 label of the text.
    public let language: String
    /// The Debian package that installs it (named in the message when it is missing).
    public let package: String
    /// The licence, from the package's `/usr/share/doc/<package>/copyright`.
    public let licence: String
    /// The path, or a glob pattern for it.
    public let pattern: String
    /// How a word list is laid out; ignored for running text.
    public let format: WordList.Format
    /// How a tutorial's licence block is marked; ignored for word lists.
    public let layout: TutorText.Layout
    /// Hunspell lists: also read each stem's inflected forms (`HunspellSuffixes`).
    public let expandSuffixes: Bool
    /// Keep capitalised entries (German nouns); elsewhere they are mostly proper nouns.
    public let keepCapitalised: Bool

    public init(language: String, package: String, licence: String, pattern: String,
                format: WordList.Format = .lines, keepCapitalised: Bool = false, layout: TutorText.Layout = .vim,
                expandSuffixes: Bool = false) {
        self.language = language
        self.package = package
        self.licence = licence
        self.pattern = pattern
        self.format = format
        self.keepCapitalised = keepCapitalised
        self.layout = layout
        self.expandSuffixes = expandSuffixes
    }

    /// The file the pattern names now, or nil when nothing matches.
    public func resolve() -> String? {
        guard pattern.contains(where: { "*?[".contains($0) }) else {
            var info = stat()
            return stat(pattern, &info) == 0 ? pattern : nil
        }
        var matches = glob_t()
        defer { globfree(&matches) }
        guard glob(pattern, 0, nil, &matches) == 0 else { return nil }
        var paths: [String] = []
        for i in 0..<Int(matches.gl_pathc) {
            if let p = matches.gl_pathv[i] { paths.append(String(cString: p)) }
        }
        return paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.last
    }
}

/// The Debian packages the demo reads besides the fortunes (`make demo-corpus` installs them). No
/// manual pages and no gettext catalogues: text of those kinds is kept for outside evaluation.
public enum DebianSources {
    /// One or two word lists per language; the `w*` full-form lists where Debian has one, else the
    /// hunspell stems. Sizes are in the README's demo section.
    public static let wordLists: [CorpusSource] = [
        CorpusSource(language: "bg", package: "wbulgarian", licence: "GPL-2", pattern: "/usr/share/dict/bulgarian"),
        CorpusSource(language: "cs", package: "hunspell-cs", licence: "GPL-2", pattern: "/usr/share/hunspell/cs_CZ.dic", format: .hunspell,
                     expandSuffixes: true),
        CorpusSource(language: "de", package: "wngerman", licence: "GPL-2+", pattern: "/usr/share/dict/ngerman", keepCapitalised: true),
        CorpusSource(language: "en", package: "wamerican", licence: "public domain (SCOWL)", pattern: "/usr/share/dict/american-english"),
        CorpusSource(language: "eo", package: "wesperanto", licence: "GPL-2+", pattern: "/usr/share/dict/esperanto"),
        CorpusSource(language: "es", package: "wspanish", licence: "public domain", pattern: "/usr/share/dict/spanish"),
        CorpusSource(language: "ga", package: "myspell-ga", licence: "GPL-3", pattern: "/usr/share/hunspell/ga_IE.dic", format: .hunspell),
        CorpusSource(language: "ga", package: "wirish", licence: "GPL-3", pattern: "/usr/share/dict/irish"),
        CorpusSource(language: "it", package: "witalian", licence: "GPL-3+", pattern: "/usr/share/dict/italian"),
        CorpusSource(language: "pl", package: "hunspell-pl", licence: "GPL/LGPL/MPL/Apache-2.0/CC-BY-SA-1.0 (any)",
                     pattern: "/usr/share/hunspell/pl_PL.dic", format: .hunspell),
        CorpusSource(language: "pt", package: "wbrazilian", licence: "GPL-3+", pattern: "/usr/share/dict/brazilian"),
        CorpusSource(language: "ru", package: "hunspell-ru", licence: "BSD-style (AOT / Lebedev)", pattern: "/usr/share/hunspell/ru_RU.dic", format: .hunspell),
        CorpusSource(language: "sk", package: "hunspell-sk", licence: "GPL-2/LGPL-2.1/MPL-1.1 (any)", pattern: "/usr/share/hunspell/sk_SK.dic", format: .hunspell,
                     expandSuffixes: true),
        CorpusSource(language: "zh", package: "friso-dict", licence: "Apache-2.0", pattern: "/usr/share/friso/dict/UTF-8/lex-main.lex", format: .friso),
    ]

    /// The held-out genre: Vim's tutorial in each language it is translated into (no Irish). The
    /// `vim90` folder changes with Vim's version, hence the wildcard.
    public static let vimTutors: [CorpusSource] = [
        ("en", "tutor.utf-8"), ("bg", "tutor.bg.utf-8"), ("cs", "tutor.cs.utf-8"), ("de", "tutor.de.utf-8"),
        ("eo", "tutor.eo.utf-8"), ("es", "tutor.es.utf-8"), ("it", "tutor.it.utf-8"), ("pl", "tutor.pl.utf-8"),
        ("pt", "tutor.pt.utf-8"), ("ru", "tutor.ru.utf-8"), ("sk", "tutor.sk.utf-8"), ("zh", "tutor.zh_cn.utf-8"),
    ].map { CorpusSource(language: $0.0, package: "vim-runtime", licence: "Vim licence (GPL-compatible)",
                         pattern: "/usr/share/vim/vim[0-9]*/tutor/" + $0.1) }

    /// A second held-out genre, read only where `emacs-common` is installed (`make demo` does not
    /// install it: 31 MB): Emacs's tutorial, translated by other people than Vim's, so a change that
    /// helps on both is not fitted to one translator. The folder carries Emacs's version.
    public static let emacsTutors: [CorpusSource] = [
        ("en", "TUTORIAL"), ("bg", "TUTORIAL.bg"), ("cs", "TUTORIAL.cs"), ("de", "TUTORIAL.de"),
        ("eo", "TUTORIAL.eo"), ("es", "TUTORIAL.es"), ("it", "TUTORIAL.it"), ("pl", "TUTORIAL.pl"),
        ("pt", "TUTORIAL.pt_BR"), ("ru", "TUTORIAL.ru"), ("sk", "TUTORIAL.sk"), ("zh", "TUTORIAL.cn"),
    ].map { CorpusSource(language: $0.0, package: "emacs-common", licence: "GPL-3+ (verbatim copies and modified versions allowed)",
                         pattern: "/usr/share/emacs/[0-9]*/etc/tutorials/" + $0.1, layout: .emacs) }

    /// Every held-out source: Vim's tutorials, then Emacs's.
    public static var heldOutTexts: [CorpusSource] { vimTutors + emacsTutors }

    /// The packages `make demo-corpus` installs: those behind `wordLists` and `vimTutors`, once each
    /// (not `emacsTutors`: optional).
    public static var packages: [String] {
        var seen = Set<String>()
        return (wordLists + vimTutors).map(\.package).filter { seen.insert($0).inserted }
    }
}
