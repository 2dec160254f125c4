#if canImport(Glibc)
import Glibc
#endif

/// A line of input: at most `LineReader.maxBytes` of it, and whether the rest was dropped.
struct InputLine: Equatable {
    var text: String
    var cut: Bool
}

/// Reads lines from a file descriptor keeping at most `maxBytes` bytes of each (cut back to a
/// character boundary): the rest of a long line is read and dropped, so memory stays bounded
/// whatever the line length. A line ends at `\n` (a `\r` before it is dropped too, as `readLine`
/// does); bytes that are not UTF-8 become U+FFFD, as in `readLine`.
final class LineReader {
    let fd: Int32
    let maxBytes: Int
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var start = 0, end = 0
    private var finished = false

    init(fd: Int32, maxBytes: Int) {
        self.fd = fd
        self.maxBytes = max(maxBytes, 4)
    }

    /// The next line, or nil at the end of the input.
    func next() throws -> InputLine? {
        var line: [UInt8] = []
        var cut = false, sawAnything = false
        while true {
            if start == end {
                let more = finished ? false : try fill()
                if !more {
                    finished = true
                    return sawAnything ? Self.make(line, cut: cut) : nil
                }
            }
            sawAnything = true
            let newline = buffer[start..<end].firstIndex(of: 0x0A)
            let stop = newline ?? end
            let room = maxBytes - line.count
            if stop - start > room {
                line += buffer[start..<(start + room)]
                cut = true
            } else if !cut {
                line += buffer[start..<stop]
            }
            if let newline {
                start = newline + 1
                return Self.make(line, cut: cut)
            }
            start = end
        }
    }

    private func fill() throws -> Bool {
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw CLIError("cannot read standard input: \(String(cString: strerror(errno)))") }
            start = 0
            end = n
            return n > 0
        }
    }

    private static func make(_ bytes: [UInt8], cut: Bool) -> InputLine {
        var bytes = bytes[...]
        if cut {
            // drop a character the cut split: back to its lead byte, dropped if its sequence is incomplete
            var lead = bytes.endIndex
            while lead > bytes.startIndex && bytes.endIndex - lead < 4 && bytes[lead - 1] & 0xC0 == 0x80 { lead -= 1 }
            if lead > bytes.startIndex {
                let b = bytes[lead - 1]
                let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                if bytes.endIndex - (lead - 1) < length { bytes = bytes[..<(lead - 1)] }
            }
        } else if bytes.last == 0x0D {
            bytes = bytes.dropLast()
        }
        return InputLine(text: String(decoding: bytes, as: UTF8.self), cut: cut)
    }
}
