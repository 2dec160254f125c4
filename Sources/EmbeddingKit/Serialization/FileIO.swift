import Glibc

/// Whole-file reads and crash-safe replacement of a file, for checkpoints.
enum FileIO {
    /// `cannot <what> '<path>': <step>: <reason>` with the system's reason for `err`.
    static func failure(_ what: String, _ path: String, _ step: String, _ err: Int32) -> EmbeddingKitError {
        EmbeddingKitError(.io, "cannot \(what) '\(path)': \(step): \(String(cString: strerror(err))) (errno \(err))")
    }

    /// Every byte of the file at `path`.
    static func readAll(_ path: String) throws(EmbeddingKitError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("read", path, "open", errno) }
        defer { close(fd) }
        var info = stat()
        var bytes = [UInt8]()
        if fstat(fd, &info) == 0, info.st_size > 0 { bytes.reserveCapacity(Int(info.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("read", path, "read", errno)
            }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
    }

    /// Replaces the file at `path` with `bytes` so that, whatever happens, `path` holds either its old
    /// contents or all of `bytes`: a new temporary file in the same folder (same filesystem, so the
    /// rename is atomic), every byte written, `fsync`, `close`, `rename` over `path`, then `fsync` of
    /// the folder so the rename itself is durable. On a failure before the rename the temporary file is
    /// removed and `path` is untouched.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(EmbeddingKitError) {
        let what = "save"
        guard let base = path.split(separator: "/", omittingEmptySubsequences: false).last, !base.isEmpty else {
            throw EmbeddingKitError(.io, "cannot save '\(path)': the path names a folder, not a file")
        }
        let folder: String
        if let slash = path.lastIndex(of: "/") {
            folder = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            folder = "."
        }
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporary = (folder == "/" ? "" : folder) + "/.\(base).tmp-\(getpid())-\(suffix)"

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(what, path, "create the temporary file '\(temporary)'", errno) }
        var isOpen = true, renamed = false
        defer {
            if isOpen { close(fd) }
            if !renamed { unlink(temporary) }
        }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(what, path, "write the temporary file '\(temporary)' (\(written) of \(bytes.count) bytes written)", errno)
            }
            written += n
        }
        if fsync(fd) != 0 { throw failure(what, path, "fsync the temporary file '\(temporary)'", errno) }
        isOpen = false
        if close(fd) != 0 { throw failure(what, path, "close the temporary file '\(temporary)'", errno) }
        if rename(temporary, path) != 0 { throw failure(what, path, "rename '\(temporary)' over it", errno) }
        renamed = true
        // The rename is durable only once the folder is flushed. Some filesystems cannot fsync a folder
        // (EINVAL): nothing more can be done there.
        let dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            let status = fsync(dfd), err = errno
            close(dfd)
            if status != 0 && err != EINVAL && err != EROFS {
                throw failure(what, path, "fsync the folder '\(folder)' after the rename (the new file is in place but may not survive a power loss)", err)
            }
        }
    }
}
