/// Which language each fortune file holds, and which files are left out.
///
/// Debian's fortune packages install under `/usr/share/games/fortunes/`:
///
/// | package | files | label |
/// | --- | --- | --- |
/// | `fortunes`, `fortunes-min` | top-level files (`art`, `computers`, `fortunes`, …) | `en` |
/// | `fortunes-br` | top-level `brasil` | `pt` |
/// | `fortunes-zh` | top-level `chinese`, `tang300`, `song100` | `zh` |
/// | `fortunes-bg`, `-cs`, `-de`, `-eo`, `-es`, `-ga`, `-it`, `-pl`, `-ru` | the folder of that name | the folder's name |
/// | `fortunes-cs` | `cs/klasik-sk` (Slovak classics) | `sk` |
///
/// A file's label comes from its path relative to the corpus folder: a top-level file is English
/// unless `topLevelLanguages` names it; a file below a folder takes that folder's label from
/// `folderLanguages` (its first path component, however deep it lies), unless `fileLanguages` names
/// the file. A folder with no entry there is not read, and is reported.
///
/// Left out, each reported with its reason in `LanguageCorpus.skippedFiles`:
///
/// - the files of `excludedFiles` and the folders of `excludedFolders` (below: not in the folder's
///   language, encoded, or pictures rather than text);
/// - empty files, hidden files (names starting with `.`), and folders no label is known for;
/// - without a report: the `strfile` index files `*.dat` and the `*.u8` marker files (not text), and
///   symbolic links — Debian's `cz/*`, `sk/klasik-sk` and the top-level Italian names (`zuse`,
///   `norm`, …) link to files that are read under their real path, so following links would
///   duplicate them.
public enum FortuneLayout {
    /// Labels of top-level files that are not English.
    public static let topLevelLanguages: [String: String] = [
        "brasil": "pt",
        "chinese": "zh", "tang300": "zh", "song100": "zh",
    ]

    /// Labels of subfolders (ISO 639-1 codes).
    public static let folderLanguages: [String: String] = [
        "bg": "bg", "cs": "cs", "de": "de", "eo": "eo", "es": "es",
        "ga": "ga", "it": "it", "pl": "pl", "ru": "ru",
    ]

    /// Files whose label differs from their folder's.
    public static let fileLanguages: [String: String] = [
        "cs/klasik-sk": "sk",
    ]

    /// Files left out, by path relative to the corpus folder, with the reason.
    public static let excludedFiles: [String: String] = [
        "translate-me": "English jokes and Latin sayings queued for translation, not a language sample of its own",
        "pl/newyear": "an English IRC log in the Polish folder",
        "de/translations": "English/German phrase pairs: half of every sample is English",
        "ascii-art": "ASCII-art pictures, not text",
        "de/asciiart": "ASCII-art pictures, not text",
        "it/banner": "ASCII-art banner, not text",
    ]

    /// Folders left out, by path relative to the corpus folder, with the reason.
    public static let excludedFolders: [String: String] = [
        "es/off": "the offensive Spanish section is ROT13-encoded, not readable Spanish",
    ]

    /// The label of the file at `relativePath` (components separated by `/`), or `nil` when its
    /// folder has no label.
    public static func language(forRelativePath relativePath: String) -> String? {
        if let label = fileLanguages[relativePath] { return label }
        guard let slash = relativePath.firstIndex(of: "/") else {
            return topLevelLanguages[relativePath] ?? "en"
        }
        return folderLanguages[String(relativePath[..<slash])]
    }
}
