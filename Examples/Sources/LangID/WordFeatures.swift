/// The whole-word bag of `NGramFeaturizer` (order 0): each word of the normalised text, hashed
/// like an n-gram into its own table, weighted by its share of the text's words.
///
/// Character n-grams of close languages overlap (Slovak `ktorý` and Czech `který` share `kt`, `ý `),
/// while whole function words (`sa`/`se`, `alebo`/`nebo`, `е`/`є`) tell them apart at once; one
/// extra small table gives the model those words directly.
///
/// A word is a maximal run of letters (`ScalarTable`'s letter flag: any script); runs longer than
/// `maximumLength` scalars (Chinese, written without spaces, or glued tokens) are not words and
/// are left to the character n-grams. Deterministic: the same hash as the n-grams (FNV-1a over the
/// scalars, `NGramFeaturizer.mix`, multiply-shift onto the buckets).
enum WordFeatures {
    /// Longer letter runs are not counted as words.
    static let maximumLength = 24

    /// Calls `add(bucket)` for each word of `scalars[0..<length]` (normalised scalars); returns the
    /// number of words.
    @inline(__always)
    static func count(_ scalars: UnsafeMutablePointer<UInt32>, length: Int, buckets: UInt64,
                      add: (UInt64) -> Void) -> Int {
        var words = 0, run = 0
        var h = StableHash.offsetBasis
        for p in 0...length {
            let isLetter = p < length && ScalarTable.entry(scalars[p]) & ScalarTable.letterFlag != 0
            if isLetter {
                h = (h ^ UInt64(scalars[p])) &* StableHash.prime
                run &+= 1
                continue
            }
            if run > 0 && run <= maximumLength {
                add((NGramFeaturizer.mix(h) >> 32 &* buckets) >> 32)
                words &+= 1
            }
            run = 0
            h = StableHash.offsetBasis
        }
        return words
    }
}
