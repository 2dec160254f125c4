import ArgumentParser
import EmbeddingKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LangID

/// Where `langid train` writes: the model (`--output`) and its loss curve (the same path with the
/// extension `.svg`). `init` checks the path's form (usage errors), `prepare()` the file system
/// before training starts, and `save` never loses a trained model: when the model cannot be written
/// where asked, it goes to a file in the temporary folder and the error names that file.
struct TrainOutput {
    /// The model's path, as given.
    let model: String
    /// The loss curve's path: `model` with its extension replaced by (or, without one, followed by) `.svg`.
    let curve: String
    /// The folder both go into (`.` for a bare file name).
    let folder: String

    init(_ path: String) throws {
        guard !path.isEmpty else { throw ValidationError("--output: empty path") }
        let slash = path.lastIndex(of: "/")
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !base.isEmpty, base != ".", base != ".." else {
            throw ValidationError("--output '\(path)' names a folder; give a file name, such as '\(path.hasSuffix("/") ? path : path + "/")langid.safetensors'")
        }
        folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let stem = base.lastIndex(of: ".").flatMap { $0 == base.startIndex ? nil : String(base[..<$0]) } ?? base
        let prefix = slash.map { String(path[...$0]) } ?? ""
        model = path
        curve = prefix + stem + ".svg"
        guard curve != model else {
            throw ValidationError("--output '\(path)': the loss curve is written next to the model with the extension .svg, "
                                  + "so the model's own extension cannot be .svg (use .safetensors)")
        }
    }

    /// Creates the folder if needed and checks that the model and the curve can be written there:
    /// neither path is a folder or a non-regular file, and a file can be created in the folder.
    func prepare() throws {
        try Self.makeFolders(folder, for: model)
        for path in [model, curve] {
            var info = stat()
            guard stat(path, &info) == 0 else { continue }              // absent: it will be created
            let type = info.st_mode & S_IFMT
            if type == S_IFDIR { throw CLIError("--output: '\(path)' is a folder; give a file name") }
            if type != S_IFREG { throw CLIError("--output: '\(path)' exists and is not a regular file; it will not be replaced") }
        }
        let probe = (folder == "/" ? "" : folder) + "/.embedkit-write-check-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CLIError("--output '\(model)': cannot create files in the folder '\(folder)': \(String(cString: strerror(errno)))")
        }
        close(fd)
        unlink(probe)
    }

    /// `mkdir -p folder`, with the system's reason on failure.
    static func makeFolders(_ folder: String, for model: String) throws {
        var path = folder.hasPrefix("/") ? "/" : ""
        for part in folder.split(separator: "/") {
            path += (path.isEmpty || path.hasSuffix("/") ? "" : "/") + part
            var info = stat()
            if stat(path, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw CLIError("--output '\(model)': cannot create the folder '\(folder)': '\(path)' is not a folder")
                }
                continue
            }
            guard mkdir(path, 0o777) == 0 || errno == EEXIST else {
                throw CLIError("--output '\(model)': cannot create the folder '\(path)': \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Saves the model, then the loss curve. If the model cannot be saved at `model`, it is saved in
    /// the temporary folder and the thrown error says where; if the curve cannot be written, the
    /// error says the model was saved.
    func save(_ trained: LangIDModel, lossCurve svg: String) throws {
        do {
            try trained.save(to: model)
        } catch {
            let fallback = (ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp")
                + "/embedkit-langid-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).safetensors"
            do {
                try trained.save(to: fallback)
            } catch let second {
                throw CLIError("cannot save the trained model: \(error.message); nor to '\(fallback)': \(second.message)")
            }
            throw CLIError("cannot save the trained model: \(error.message); it was saved to '\(fallback)' instead")
        }
        do {
            try Self.writeAtomically(Array(svg.utf8), to: curve)
        } catch {
            throw CLIError("the model was saved to '\(model)', but the loss curve was not: \(error)")
        }
    }

    /// Writes a temporary file next to `path`, then renames it over `path`.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError("create '\(temporary)': \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw CLIError("write '\(temporary)': \(reason)")
            }
            written += n
        }
        guard close(fd) == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CLIError("write '\(path)': \(reason)")
        }
    }
}
