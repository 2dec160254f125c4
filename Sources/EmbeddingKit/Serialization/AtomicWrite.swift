import Glibc

extension FileIO {
    /// Replaces the file at `path` with `bytes` so that, whatever happens, the file holds either its
    /// old contents or all of `bytes`.
    ///
    /// - A symbolic link is followed (as far as it leads, 40 links at most): the file it names is
    ///   replaced and the link stays, as writing through the link would do.
    /// - The file, if it exists, must be a regular file: a device (`/dev/null`), a FIFO, a socket or a
    ///   directory is refused before anything is written (a rename would replace a device with a
    ///   regular file).
    /// - The new file gets the old one's permission bits (and, where the system allows, its owner and
    ///   group); a new file gets the umask's default, as any new file.
    /// - The bytes go to a temporary file in the same folder (same filesystem, so the rename is
    ///   atomic; a short name, see `SaveTemporaries`, which also removes stale ones first), are
    ///   flushed (`fsync`), and the temporary file is renamed over the file, then the folder flushed
    ///   so that the rename itself is durable. On a failure before the rename the temporary file is
    ///   removed and the file is untouched.
    ///
    /// `beforeRename` runs just before the rename (tests use it to make the rename fail).
    static func writeAtomically(_ bytes: [UInt8], to path: String, beforeRename: () -> Void = {}) throws(EmbeddingKitError) {
        let what = "save"
        guard !path.isEmpty, !path.hasSuffix("/") else {
            throw EmbeddingKitError(.io, "cannot save '\(path)': the path names a folder, not a file")
        }
        let (target, existing) = try resolveTarget(path)
        if let existing, !isRegular(existing.st_mode) {
            let which = target == path ? "it" : "'\(target)', where the link leads,"
            throw EmbeddingKitError(.io, "cannot save '\(path)': \(which) is \(kindName(existing.st_mode)), not a regular file; nothing was written")
        }
        let folder = folderOf(target)
        SaveTemporaries.removeStale(in: folder)
        let temporary = (folder == "/" ? "" : folder) + "/" + SaveTemporaries.newName()

        // Until its permissions are set, an existing file's replacement is readable by its owner only.
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, existing == nil ? 0o666 : 0o600)
        guard fd >= 0 else { throw failure(what, path, "create the temporary file '\(temporary)'", errno) }
        var isOpen = true, renamed = false
        defer {
            if isOpen { close(fd) }
            if !renamed { unlink(temporary) }
        }
        if let existing {
            // the owner first: changing it clears set-user-ID bits; refused to a non-root user, who keeps the file
            _ = fchown(fd, existing.st_uid, existing.st_gid)
            if fchmod(fd, existing.st_mode & 0o7777) != 0 {
                throw failure(what, path, "give the temporary file '\(temporary)' the mode \(String(existing.st_mode & 0o7777, radix: 8))", errno)
            }
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
        beforeRename()
        if rename(temporary, target) != 0 { throw failure(what, path, "rename '\(temporary)' over '\(target)'", errno) }
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

    /// The file that `path` names once symbolic links are followed, and its status (nil when it does
    /// not exist yet: a new file, or a dangling link's target).
    static func resolveTarget(_ path: String) throws(EmbeddingKitError) -> (path: String, status: stat?) {
        var current = path
        for _ in 0...40 {
            var info = stat()
            if lstat(current, &info) != 0 {
                let err = errno
                if err == ENOENT { return (current, nil) } // open() reports a missing folder
                throw failure("save", path, current == path ? "look it up" : "look up '\(current)', where the link leads", err)
            }
            guard info.st_mode & S_IFMT == S_IFLNK else { return (current, info) }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = buffer.withUnsafeMutableBufferPointer { readlink(current, $0.baseAddress!, $0.count - 1) }
            guard n > 0 else { throw failure("save", path, "read the symbolic link '\(current)'", n < 0 ? errno : EINVAL) }
            guard let link = String(validating: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) else {
                throw EmbeddingKitError(.io, "cannot save '\(path)': the symbolic link '\(current)' leads to a name that is not UTF-8")
            }
            current = link.hasPrefix("/") ? link : (folderOf(current) == "/" ? "" : folderOf(current)) + "/" + link
        }
        throw failure("save", path, "follow its symbolic links", ELOOP)
    }

    /// The folder part of a path: "." for a bare name, "/" for one in the root.
    static func folderOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
