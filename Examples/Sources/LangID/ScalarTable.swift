/// A lookup table for the per-character work of cleaning and featurising: the simple lowercase
/// mapping and whether a scalar is a letter or whitespace.
///
/// Asking `Unicode.Scalar.Properties` for every character of ~100,000 texts is slow
/// (`lowercaseMapping` builds a `String`), so the answers for the Basic Multilingual Plane (U+0000 to
/// U+FFFF, which holds every script of the corpus) are computed once, lazily, into 65,536 entries.
/// Scalars above U+FFFF (emoji, historic scripts) are asked directly; they are rare.
///
/// - **Lowercase**: the scalar's full lowercase mapping when that is one scalar; when it is longer
///   (only `İ` U+0130 in the BMP, → `i` + U+0307) the mapping's first scalar.
/// - **Letter**: `Unicode.Scalar.Properties.isAlphabetic` (letters of every script, CJK ideographs
///   included, and letter-like marks).
/// - **Whitespace**: `isWhitespace` plus the C0/C1 controls (U+0000–U+001F, U+007F–U+009F).
enum ScalarTable {
    static let letterFlag: UInt32 = 1 << 31
    static let whitespaceFlag: UInt32 = 1 << 30
    static let scalarMask: UInt32 = 0x001F_FFFF

    /// Entry `v` for scalar value `v < 0x10000`: lowercase scalar value | flags.
    static let bmp: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 0x10000)
        for value in 0..<UInt32(0x10000) {
            table[Int(value)] = computeEntry(value)
        }
        return table
    }()

    static func computeEntry(_ value: UInt32) -> UInt32 {
        guard let scalar = Unicode.Scalar(value) else { return value }   // surrogates: no scalar
        let properties = scalar.properties
        var lower = value
        if properties.changesWhenLowercased, let first = properties.lowercaseMapping.unicodeScalars.first {
            lower = first.value
        }
        var entry = lower
        if properties.isAlphabetic { entry |= letterFlag }
        if properties.isWhitespace || value < 0x20 || (value >= 0x7F && value < 0xA0) { entry |= whitespaceFlag }
        return entry
    }

    /// `bmp`'s storage, which lives as long as the program (it is a global constant).
    nonisolated(unsafe) static let bmpPointer: UnsafePointer<UInt32> = {
        let pointer = UnsafeMutablePointer<UInt32>.allocate(capacity: 0x10000)
        pointer.initialize(from: bmp, count: 0x10000)
        return UnsafePointer(pointer)
    }()

    /// The table entry for any scalar value.
    @inline(__always)
    static func entry(_ value: UInt32) -> UInt32 {
        value < 0x10000 ? bmpPointer[Int(value)] : computeEntry(value)
    }
}
