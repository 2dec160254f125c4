/// Why a corpus could not be loaded. Every case names the path; `description` is a complete sentence
/// for the user.
public enum CorpusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The corpus folder does not exist.
    case folderNotFound(path: String)
    /// The path exists but is not a folder.
    case notAFolder(path: String)
    /// A folder could not be listed (`reason` is the system's message).
    case unreadableFolder(path: String, reason: String)
    /// A file could not be read (`reason` is the system's message).
    case unreadableFile(path: String, reason: String)
    /// A sample is not valid UTF-8 and the policy is `InvalidUTF8Policy.fail`. `sample` counts the
    /// fortunes of the file from 1; `byteOffset` is where the sample starts in the file.
    case invalidUTF8(path: String, sample: Int, byteOffset: Int)
    /// The folder holds no fortune files (nothing that is not an index, a link or left out).
    case noFortuneFiles(path: String)
    /// A `CorpusOptions` field is out of range.
    case invalidOption(name: String, value: String, allowed: String)
    /// Fortune files were found, but no sample survived cleaning, filtering and de-duplication.
    case noSamples(path: String)
    /// A word list or running-text file exists but cannot be understood (`reason` says why).
    case malformedSource(path: String, reason: String)

    public var description: String {
        switch self {
        case .folderNotFound(let path):
            return "corpus folder not found: \(path) (install Debian's fortune packages, e.g. "
                + "`apt-get install fortunes fortunes-de`, or pass another folder)"
        case .notAFolder(let path):
            return "corpus path is not a folder: \(path)"
        case .unreadableFolder(let path, let reason):
            return "cannot list corpus folder \(path): \(reason)"
        case .unreadableFile(let path, let reason):
            return "cannot read corpus file \(path): \(reason)"
        case .invalidUTF8(let path, let sample, let byteOffset):
            return "fortune \(sample) of \(path) (at byte \(byteOffset)) is not valid UTF-8"
        case .noFortuneFiles(let path):
            return "no fortune files in \(path) (only empty, index, linked or excluded files)"
        case .invalidOption(let name, let value, let allowed):
            return "CorpusOptions.\(name) = \(value) is out of range (\(allowed))"
        case .noSamples(let path):
            return "no usable samples in \(path): every fortune was empty, too short, not text or a duplicate"
        case .malformedSource(let path, let reason):
            return "malformed corpus source \(path): \(reason)"
        }
    }
}
