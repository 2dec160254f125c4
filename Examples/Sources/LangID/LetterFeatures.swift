/// The bag of letters outside ASCII of `NGramFeaturizer` (order -1, `letterOrder`): each letter
/// beyond `a`–`z` (after lowercasing), hashed into its own table, weighted by its share of those
/// letters alone.
///
/// Why: the letters that tell close languages apart are few and rare — Slovak ä ô ľ ĺ ŕ against
/// Czech ř ů ě, Bulgarian ъ against Russian ы э ё, Portuguese ã õ ç against Spanish ñ. In the
/// unigram bag one `ľ` among 50 characters weighs 1/50 and drowns; here it weighs its share of the
/// accented letters (`naľavo … doľava`: ľ is 2 of 4), so the model sees it whatever the text's length.
/// Texts without such letters get an empty bag (a zero vector), as short texts do for long orders.
enum LetterFeatures {
    /// Calls `add(bucket)` for each letter above U+007F of `scalars[0..<length]` (normalised
    /// scalars); returns their number. The hash is the unigram's (FNV-1a of the scalar, `mix`).
    @inline(__always)
    static func count(_ scalars: UnsafeMutablePointer<UInt32>, length: Int, buckets: UInt64,
                      add: (UInt64) -> Void) -> Int {
        var letters = 0
        for p in 0..<length where scalars[p] >= 0x80 && ScalarTable.entry(scalars[p]) & ScalarTable.letterFlag != 0 {
            let h = (StableHash.offsetBasis ^ UInt64(scalars[p])) &* StableHash.prime
            add((NGramFeaturizer.mix(h) >> 32 &* buckets) >> 32)
            letters &+= 1
        }
        return letters
    }
}
