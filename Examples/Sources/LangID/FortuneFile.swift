#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One fortune file: its raw bytes and the byte ranges of its samples.
///
/// The `fortune` format is plain text in which a line holding only `%` separates two fortunes
/// (`%\r` counts too, for files with CRLF line ends). Text before the first separator and after the
/// last is a fortune like any other; empty fortunes (two separators in a row) are ignored here, and
/// the cleaner drops whitespace-only ones. Files are read whole with POSIX `open`/`read`, so an
/// error names the path and the system's reason (`"Permission denied"`, `"Is a directory"`).
struct FortuneFile {
    /// The file's bytes.
    let bytes: [UInt8]
    /// The byte ranges of the fortunes, in file order, separators and their line ends excluded.
    let samples: [Range<Int>]

    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.samples = FortuneFile.split(bytes)
    }

    /// Reads a file whole. Throws `CorpusError.unreadableFile` with the path and `strerror`'s text.
    static func read(path: String) throws(CorpusError) -> [UInt8] {
        try read(pathBytes: Array(path.utf8) + [0], display: path)
    }

    /// Reads the file whose NUL-terminated path is `pathBytes` (any bytes, as the file system has
    /// them); `display` names it in errors.
    static func read(pathBytes: [UInt8], display path: String) throws(CorpusError) -> [UInt8] {
        let fd = pathBytes.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_RDONLY | O_CLOEXEC) }
        }
        guard fd >= 0 else { throw .unreadableFile(path: path, reason: systemError()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadableFile(path: path, reason: systemError()) }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: max(size, 0))
        var filled = 0
        while true {
            if filled == bytes.count { bytes.append(contentsOf: repeatElement(0, count: max(4096, bytes.count))) }
            let n = bytes.withUnsafeMutableBytes { buffer in
                systemRead(fd, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadableFile(path: path, reason: systemError())
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    /// The sample ranges of a fortune file's bytes (see the type's documentation).
    static func split(_ bytes: [UInt8]) -> [Range<Int>] {
        bytes.withUnsafeBufferPointer { buffer -> [Range<Int>] in
            let percent = UInt8(ascii: "%"), newline = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
            let end = buffer.count
            var ranges: [Range<Int>] = []
            var sampleStart = 0
            var lineStart = 0
            while lineStart < end {
                // Find the end of this line (index of '\n' or `end`).
                var lineEnd = lineStart
                while lineEnd < end && buffer[lineEnd] != newline { lineEnd += 1 }
                var contentEnd = lineEnd
                if contentEnd > lineStart && buffer[contentEnd - 1] == cr { contentEnd -= 1 }
                if contentEnd - lineStart == 1 && buffer[lineStart] == percent {
                    if lineStart > sampleStart { ranges.append(sampleStart..<lineStart) }
                    sampleStart = min(lineEnd + 1, end)
                }
                lineStart = lineEnd + 1
            }
            if end > sampleStart { ranges.append(sampleStart..<end) }
            return ranges
        }
    }

    static func systemError() -> String {
        String(cString: strerror(errno))
    }
}

/// POSIX `read` (at file scope, where `FortuneFile.read(path:)` does not shadow it).
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}
