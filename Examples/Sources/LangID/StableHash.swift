/// Stable hashing for the corpus split and the n-gram buckets.
///
/// Swift's `Hasher` is seeded randomly per process, so nothing that must be reproducible (which
/// sample lands in the test set, which bucket an n-gram maps to in a saved model) may use it. These
/// functions are the 64-bit FNV-1a hash followed by MurmurHash3's 64-bit finaliser (`fmix64`), which
/// spreads FNV-1a's weakly mixed low bits over the whole word so that `hash % buckets` is uniform for
/// any bucket count, powers of two included. The values are fixed forever: a model saved with
/// bucket ids from one version stays valid in the next.
public enum StableHash {
    /// The FNV-1a 64-bit offset basis.
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    /// The FNV-1a 64-bit prime.
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// One FNV-1a step: `(state ^ byte) * prime`.
    @inlinable @inline(__always)
    public static func fnv1a(_ state: UInt64, _ byte: UInt8) -> UInt64 {
        (state ^ UInt64(byte)) &* prime
    }

    /// FNV-1a over the UTF-8 encoding of one Unicode scalar value (1 to 4 bytes).
    @inlinable @inline(__always)
    public static func fnv1a(_ state: UInt64, scalar value: UInt32) -> UInt64 {
        if value < 0x80 { return fnv1a(state, UInt8(truncatingIfNeeded: value)) }
        if value < 0x800 {
            return fnv1a(fnv1a(state, UInt8(truncatingIfNeeded: 0xC0 | (value >> 6))),
                         UInt8(truncatingIfNeeded: 0x80 | (value & 0x3F)))
        }
        if value < 0x10000 {
            var h = fnv1a(state, UInt8(truncatingIfNeeded: 0xE0 | (value >> 12)))
            h = fnv1a(h, UInt8(truncatingIfNeeded: 0x80 | ((value >> 6) & 0x3F)))
            return fnv1a(h, UInt8(truncatingIfNeeded: 0x80 | (value & 0x3F)))
        }
        var h = fnv1a(state, UInt8(truncatingIfNeeded: 0xF0 | (value >> 18)))
        h = fnv1a(h, UInt8(truncatingIfNeeded: 0x80 | ((value >> 12) & 0x3F)))
        h = fnv1a(h, UInt8(truncatingIfNeeded: 0x80 | ((value >> 6) & 0x3F)))
        return fnv1a(h, UInt8(truncatingIfNeeded: 0x80 | (value & 0x3F)))
    }

    /// MurmurHash3's 64-bit finaliser: a bijective avalanche of all 64 bits.
    @inlinable @inline(__always)
    public static func finalize(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    /// The finalised FNV-1a hash of a byte sequence.
    public static func hash<Bytes: Sequence>(bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var h = offsetBasis
        for byte in bytes { h = fnv1a(h, byte) }
        return finalize(h)
    }

    /// The finalised FNV-1a hash of a string's UTF-8 bytes.
    public static func hash(_ text: String) -> UInt64 {
        var copy = text
        return copy.withUTF8 { hash(bytes: $0) }
    }
}
