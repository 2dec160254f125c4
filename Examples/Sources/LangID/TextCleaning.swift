/// Cleaning of fortune text: what the corpus does to every sample before filtering.
///
/// Fortune files were written for terminals, so besides text they hold:
///
/// - **Escape sequences**: ANSI colour codes such as `ESC[33m` (the Chinese files colour their titles).
///   A control sequence `ESC [ params intermediates final` is removed whole, as are character-set
///   selections such as `ESC ( B` and the two-byte `ESC x` sequences (x in `@`…`_`); an `ESC`
///   followed by anything else — a space, as where a fortune names the Escape key — is removed alone.
/// - **Backspace overstrike**: `x\bx` (bold) and `_\bx` (underline), or `___\b\b\band`. A backspace
///   erases the character before it, as a terminal's cursor would be moved back over it and the next
///   character printed on top; so all three give the plain letters (`x`, `x`, `and`).
/// - **Line ends and layout**: CRLF, tabs, indentation. Every run of whitespace — ASCII whitespace,
///   other C0/C1 control characters, and Unicode spaces such as U+00A0 and the ideographic space
///   U+3000 — becomes one space, and the text is trimmed. (Line structure does not matter to a
///   character n-gram model; a space is where a word ends.)
///
/// Cleaning works on UTF-8 bytes and never decodes into `Character`s, so the whole corpus is cleaned
/// in milliseconds. The result is validated as UTF-8 when it becomes a `String`.
public enum TextCleaning {
    /// Cleans `text` by the rules above (for text that is already a `String`, e.g. from the command line).
    public static func clean(_ text: String) -> String {
        var copy = text
        return copy.withUTF8 { bytes in
            guard !bytes.isEmpty else { return "" }
            let output = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
            defer { output.deallocate() }
            let count = clean(bytes, into: output).count
            // Cleaning removes only whole ASCII bytes or whole sequences, so valid input stays valid.
            return String(decoding: UnsafeBufferPointer(start: output, count: count), as: UTF8.self)
        }
    }

    /// What `clean(_:into:)` wrote: its length in bytes, and counts for the corpus's filters.
    struct Result {
        /// Bytes written.
        var count = 0
        /// Unicode scalars written (each well-formed sequence counts once, each stray byte once).
        var scalars = 0
        /// Scalars that are letters (`ScalarTable.letterFlag`).
        var letters = 0
        /// Spaces written.
        var spaces = 0
    }

    /// Cleans `input` into `output`, which must have room for `input.count` bytes (cleaning never
    /// lengthens text). The output is not validated as UTF-8.
    static func clean(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Result {
        let table = ScalarTable.bmpPointer
        var n = 0, scalars = 0, letters = 0, spaces = 0
        let end = input.count
        var pendingSpace = false
        var i = 0
        while i < end {
            let b = input[i]
            if b < 0x80 {
                if b > 0x20 && b != 0x7F {                       // printable ASCII
                    if pendingSpace {
                        output[n] = 0x20; n += 1; scalars += 1; spaces += 1; pendingSpace = false
                    }
                    output[n] = b
                    n += 1
                    scalars += 1
                    if (b | 0x20) &- 0x61 < 26 { letters += 1 }
                    i += 1
                } else if b == 0x1B {                            // ESC
                    i = skipEscape(input, at: i)
                } else if b == 0x08 {                            // backspace
                    if pendingSpace {
                        pendingSpace = false
                    } else if n > 0 {
                        // Erase the last scalar: its continuation bytes (10xxxxxx), then its lead byte.
                        var start = n - 1
                        while start > 0 && output[start] & 0xC0 == 0x80 { start -= 1 }
                        let value = decode(UnsafePointer(output), from: start, to: n)
                        scalars -= 1
                        if value == 0x20 { spaces -= 1 } else if isLetter(value, table) { letters -= 1 }
                        n = start
                    }
                    i += 1
                } else {                                         // whitespace and other controls
                    pendingSpace = n > 0
                    i += 1
                }
                continue
            }
            // A multi-byte sequence: its length from the lead byte (1 for a stray byte).
            let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            let stop = min(i + length, end)
            var wellFormed = stop - i == length
            var k = i + 1
            while k < stop { wellFormed = wellFormed && input[k] & 0xC0 == 0x80; k += 1 }
            if wellFormed && length > 1 {
                let value = decode(input.baseAddress!, from: i, to: stop)
                let entry = value < 0x10000 ? table[Int(value)] : ScalarTable.entry(value)
                if entry & ScalarTable.whitespaceFlag != 0 && value >= 0x80 {
                    pendingSpace = n > 0
                    i = stop
                    continue
                }
                if entry & ScalarTable.letterFlag != 0 { letters += 1 }
            }
            if pendingSpace {
                output[n] = 0x20; n += 1; scalars += 1; spaces += 1; pendingSpace = false
            }
            for j in i..<stop { output[n] = input[j]; n += 1 }
            scalars += 1
            i = stop
        }
        return Result(count: n, scalars: scalars, letters: letters, spaces: spaces)
    }

    /// The scalar value of the well-formed-looking sequence `bytes[start..<end]` (1 to 4 bytes).
    @inline(__always)
    static func decode(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int) -> UInt32 {
        let b = bytes[start]
        switch end - start {
        case 1: return UInt32(b)
        case 2: return UInt32(b & 0x1F) << 6 | UInt32(bytes[start + 1] & 0x3F)
        case 3: return UInt32(b & 0x0F) << 12 | UInt32(bytes[start + 1] & 0x3F) << 6 | UInt32(bytes[start + 2] & 0x3F)
        default:
            return UInt32(b & 0x07) << 18 | UInt32(bytes[start + 1] & 0x3F) << 12
                | UInt32(bytes[start + 2] & 0x3F) << 6 | UInt32(bytes[start + 3] & 0x3F)
        }
    }

    @inline(__always)
    static func isLetter(_ value: UInt32, _ table: UnsafePointer<UInt32>) -> Bool {
        let entry = value < 0x10000 ? table[Int(value)] : ScalarTable.entry(value)
        return entry & ScalarTable.letterFlag != 0
    }

    /// The index after the escape sequence that starts at `start` (which holds ESC).
    @inline(__always)
    static func skipEscape(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int {
        let end = bytes.count
        var j = start + 1
        guard j < end else { return j }
        let next = bytes[j]
        if next == UInt8(ascii: "[") {                       // CSI: params 0x30-0x3F, intermediates 0x20-0x2F, final 0x40-0x7E
            j += 1
            while j < end && (0x30...0x3F).contains(bytes[j]) { j += 1 }
            while j < end && (0x20...0x2F).contains(bytes[j]) { j += 1 }
            if j < end && (0x40...0x7E).contains(bytes[j]) { j += 1 }
            return j
        }
        if (0x21...0x2F).contains(next) {                    // nF: intermediates, then a final 0x30-0x7E (ESC ( B)
            while j < end && (0x20...0x2F).contains(bytes[j]) { j += 1 }
            if j < end && (0x30...0x7E).contains(bytes[j]) { j += 1 }
            return j
        }
        if (0x40...0x5F).contains(next) { return j + 1 }      // other two-byte escapes
        return j                                             // lone ESC
    }

}
