import Glibc

/// The system calls behind checkpoint files: errors that name the path, and a regular file read at
/// offsets (never all of it at once: a file's size says nothing about what it holds).
enum FileIO {
    /// `cannot <what> '<path>': <step>: <reason>` with the system's reason for `err`.
    static func failure(_ what: String, _ path: String, _ step: String, _ err: Int32) -> EmbeddingKitError {
        EmbeddingKitError(.io, "cannot \(what) '\(path)': \(step): \(String(cString: strerror(err))) (errno \(err))")
    }

    /// What a `st_mode` describes, for messages: "a character device", "a directory", ...
    static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "a special file"
        }
    }

    static func isRegular(_ mode: mode_t) -> Bool { mode & S_IFMT == S_IFREG }

    /// The first 4 KiB of a small system file (/proc, /sys), or nil.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }

    /// A regular file open for reading, and its size when it was opened.
    final class ReadableFile {
        let path: String
        let size: Int
        private let fd: Int32

        /// Opens `path` (symbolic links followed). Anything but a regular file (a device such as
        /// /dev/zero, a FIFO, a directory) is refused before it is opened: reading one could block,
        /// never end, or have side effects.
        init(_ path: String) throws(EmbeddingKitError) {
            var info = stat()
            guard stat(path, &info) == 0 else { throw failure("read", path, "open", errno) }
            try Self.requireRegular(info, path)
            // O_NONBLOCK: should the path have become a FIFO since, open() does not wait for a writer
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
            guard fd >= 0 else { throw failure("read", path, "open", errno) }
            guard fstat(fd, &info) == 0 else {
                let err = errno
                close(fd)
                throw failure("read", path, "fstat", err)
            }
            do { try Self.requireRegular(info, path) } catch {
                close(fd)
                throw error
            }
            self.path = path
            self.fd = fd
            self.size = Int(info.st_size)
        }

        deinit { close(fd) }

        private static func requireRegular(_ info: stat, _ path: String) throws(EmbeddingKitError) {
            guard isRegular(info.st_mode) else {
                throw EmbeddingKitError(.io, "cannot read '\(path)': it is \(kindName(info.st_mode)), not a regular file")
            }
        }

        /// Reads exactly `count` bytes at `offset` into `buffer`; a file that has shrunk since it was
        /// opened is an error.
        func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws(EmbeddingKitError) {
            var done = 0
            while done < count {
                let n = pread(fd, buffer + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("read", path, "read \(count) bytes at offset \(offset)", errno)
                }
                if n == 0 {
                    throw EmbeddingKitError(.io, "cannot read '\(path)': it ends at byte \(offset + done), but it had \(size) bytes when opened (changed while being read?)")
                }
                done += n
            }
        }
    }
}
