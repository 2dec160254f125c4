import EmbeddingKit

/// CLD3-style character n-gram features: for each n-gram order, the hashed n-grams of a text with
/// their relative frequencies — the input of one `EmbeddingBag(mode: .sum)` per order, with the
/// frequencies as `perSampleWeights`.
///
/// ## What a text becomes
///
/// 0. **Prefix**: only the first `maxTextBytes` (10,000) bytes are read, cut back to a character
///    boundary, as CLD3 does.
/// 1. **Normalisation**: the text's Unicode scalars are lowercased (simple one-scalar mapping, any
///    script: `Ä` → `ä`, `Ж` → `ж`); every run of whitespace or control characters becomes one space;
///    the ends are trimmed. Punctuation, digits and symbols are kept: `¿`, `«`, `。` say something
///    about the language too.
/// 2. **Boundary markers** (`boundaryMarkers`, default on): one space is added at each end, so that
///    n-grams see where the first and last word begin and end, as they do for inner words.
///    `"Abab"` becomes `" abab "`. An empty (or all-whitespace) text stays empty.
/// 3. **N-grams**: for each order `n` in `orders`, every run of `n` consecutive scalars of that
///    sequence — `L - n + 1` of them for a sequence of `L` scalars, none when `L < n`. Characters are
///    Unicode scalars, not bytes, so a Cyrillic or Chinese bigram is two letters.
/// 4. **Hashing**: an n-gram's hash is FNV-1a over its scalar values taken as 32-bit units
///    (`h = (h ^ scalar) &* StableHash.prime`, from `StableHash.offsetBasis`; one multiply per
///    character whatever its UTF-8 length), mixed by one round `x = h ^ (h >> 32);
///    x &*= 0xD6E8FEB86659FD93; x ^= x >> 32`, and mapped onto `0..<buckets[i]` by multiply-shift,
///    `(x >> 32) * buckets[i] >> 32`. Fixed forever and the same on every machine, so saved models
///    stay valid; `bucket(of:orderIndex:)` computes it for one n-gram.
/// 5. **Weights**: n-grams that fall into the same bucket are merged into one entry whose weight is
///    `count / (L - n + 1)`, its share of the text's n-grams of that order. The weights of an order
///    sum to 1 for every text long enough to have n-grams of that order.
///
/// Worked example, orders `[1, 2]`, `"abab"` → `" abab "` (L = 6):
/// unigrams `' '`×2, `a`×2, `b`×2 → weights 2/6 each; bigrams `" a"`, `"ab"`×2, `"ba"`, `"b "` → 1/5,
/// 2/5, 1/5, 1/5.
///
/// ## Speed and determinism
///
/// Featurisation runs on bytes and 32-bit scalar values with a lookup table for lowercasing, and
/// merges duplicate buckets in a small per-text hash table that stays in the L1 cache, so it is
/// linear in the text length with no sorting and no allocation per n-gram or per text.
/// `featurize(_:threads:)` splits the texts into fixed chunks of 1,024 spread over the threads; the
/// result is identical for any thread count. Entries of a bag are stored in the order their buckets
/// first occur in the text.
public struct NGramFeaturizer: Sendable, Equatable {
    /// The default n-gram orders: 1 to 4.
    public static let defaultOrders = [1, 2, 3, 4]
    /// The default bucket counts per order. The fortune corpus (lowercased, with boundary spaces)
    /// has about 6,200 distinct characters (most of them Chinese), 125,000 distinct bigrams, 317,000
    /// trigrams and 693,000 4-grams, nearly all of them rare. 4,096 unigram buckets keep the frequent
    /// characters apart; longer orders get more buckets but far fewer than their distinct n-grams,
    /// as in CLD3: collisions among rare n-grams cost little, and the tables stay small enough for
    /// fast sparse training.
    public static let defaultBuckets = [4_096, 16_384, 65_536, 131_072]
    /// What `embedkit langid train` uses: the default character orders plus the bag of letters
    /// outside ASCII (`letterOrder`, 4,096 buckets: a few hundred distinct letters outside Chinese),
    /// which lifted Slovak on both held-out tutorials by 4-6 points (issue 20).
    public static let demoOrders = [letterOrder] + defaultOrders
    /// The bucket counts of `demoOrders`.
    public static let demoBuckets = [4_096] + defaultBuckets

    /// The order that stands for whole words rather than characters (see `WordFeatures`).
    public static let wordOrder = 0
    /// The order that stands for the letters outside ASCII alone (see `LetterFeatures`).
    public static let letterOrder = -1

    /// The n-gram orders (lengths in characters), e.g. `[1, 2, 3, 4]`; distinct; `wordOrder` (0)
    /// adds a bag of whole words, `letterOrder` (-1) one of the letters outside ASCII.
    public let orders: [Int]
    /// The number of hash buckets for each order (`buckets[i]` for `orders[i]`); the embedding
    /// table of order `i` needs this many rows.
    public let buckets: [Int]
    /// Whether texts are lowercased first. Default `true`.
    public let lowercase: Bool
    /// Whether one space is added at each end of the text. Default `true`.
    public let boundaryMarkers: Bool

    /// Only the first `maxTextBytes` bytes of a text are featurised (cut back to a character
    /// boundary), as CLD3 reads at most 10,000 bytes (`kMaxNumInputBytesToConsider`): the language
    /// of a text shows in its start, and memory per text stays bounded (a 10 MB text costs what a
    /// 10 KB one does).
    public static let maxTextBytes = 10_000

    /// Throws `invalidArgument` (naming the argument, the position and the value) unless there is
    /// at least one order, the orders are distinct values in -1...64 (0: `wordOrder`, -1: `letterOrder`), and there is one bucket count
    /// in 1...Int32.max per order.
    public init(orders: [Int] = defaultOrders, buckets: [Int] = defaultBuckets,
                lowercase: Bool = true, boundaryMarkers: Bool = true) throws(EmbeddingKitError) {
        func fail(_ message: String) -> EmbeddingKitError { EmbeddingKitError(.invalidArgument, "NGramFeaturizer: " + message) }
        guard !orders.isEmpty else { throw fail("at least one order is needed") }
        guard orders.count == buckets.count else { throw fail("\(orders.count) orders but \(buckets.count) bucket counts") }
        for (i, n) in orders.enumerated() {
            guard (-1...64).contains(n) else { throw fail("order \(n) at position \(i) is outside -1...64 (0: whole words, -1: letters outside ASCII)") }
            if let first = orders[..<i].firstIndex(of: n) {
                throw fail("order \(n) at position \(i) repeats position \(first) (orders must be distinct)")
            }
        }
        for (i, b) in buckets.enumerated() where !(1...Int(Int32.max)).contains(b) {
            throw fail("bucket count \(b) at position \(i) is outside 1...\(Int32.max)")
        }
        self.orders = orders
        self.buckets = buckets
        self.lowercase = lowercase
        self.boundaryMarkers = boundaryMarkers
    }

    /// The bucket of one n-gram (given as it appears after normalisation: lowercase, spaces as
    /// spaces) in the table of `orders[orderIndex]`.
    public func bucket(of ngram: String, orderIndex: Int) -> Int {
        var h = StableHash.offsetBasis
        for scalar in ngram.unicodeScalars { h = (h ^ UInt64(scalar.value)) &* StableHash.prime }
        return Int((Self.mix(h) >> 32 &* UInt64(buckets[orderIndex])) >> 32)
    }

    /// The features of one text: for each order, the bucket ids and weights of its bag.
    public func features(of text: String) -> [(indices: [Int64], weights: [Float])] {
        let set = featurize([text], threads: 1)
        return orders.indices.map { o in
            let bag = set.bag(0, order: o)
            return (bag.indices.map(Int64.init), Array(bag.weights))
        }
    }

    /// Featurises `texts` once into compact storage from which batches of any subset are assembled
    /// (`FeatureSet.assemble(_:into:)`). `threads`: `nil` for one per core; the result does not depend on it.
    public func featurize(_ texts: [String], threads: Int? = nil) -> FeatureSet {
        let chunkCount = (texts.count + FeatureSet.chunkSize - 1) / FeatureSet.chunkSize
        let chunks = parallelMap(count: chunkCount, threads: threads) { c -> FeatureSet.Chunk in
            let range = c * FeatureSet.chunkSize..<min(texts.count, (c + 1) * FeatureSet.chunkSize)
            return Worker(featurizer: self).run(texts[range])
        }
        return FeatureSet(orders: orders, buckets: buckets, count: texts.count, chunks: chunks)
    }

    /// Featurises `texts` straight into `batch` (one bag per text, in order): for prediction.
    public func batch(_ texts: [String], into batch: inout FeatureBatch, threads: Int? = nil) {
        let set = featurize(texts, threads: threads)
        set.assemble(0..<set.count, into: &batch)
    }

    /// The finaliser of an n-gram's FNV-1a hash: one xor-shift-multiply-xor-shift round, which makes
    /// the top 32 bits depend on every bit of the hash (FNV-1a alone leaves the last character in
    /// the low bits).
    @inline(__always)
    static func mix(_ h: UInt64) -> UInt64 {
        var x = h ^ (h >> 32)
        x &*= 0xD6E8_FEB8_6659_FD93
        return x ^ (x >> 32)
    }

    /// Featurises a run of texts on one thread. Per text: the normalised scalars in a reusable
    /// buffer; the n-grams' buckets counted in a small open-addressing table keyed by (order,
    /// bucket), sized to the text so it stays in the L1 cache (a dense counter per bucket would
    /// miss the cache on nearly every n-gram); per order, the table slots in first-occurrence order.
    struct Worker {
        let featurizer: NGramFeaturizer

        func run(_ texts: ArraySlice<String>) -> FeatureSet.Chunk {
            let orders = featurizer.orders, buckets = featurizer.buckets
            let orderCount = orders.count
            let maxOrder = Swift.max(orders.max()!, 1)
            // the bag of whole words, when the orders ask for one (order 0 never matches a slot below)
            let wordSlot = orders.firstIndex(of: NGramFeaturizer.wordOrder) ?? -1
            let letterSlot = orders.firstIndex(of: NGramFeaturizer.letterOrder) ?? -1
            // Output storage, reserved at an upper bound (a text of L bytes has at most L + 2
            // scalars, so at most L + 2 n-grams per order): no regrowth, and untouched capacity costs
            // no physical memory.
            let bound = texts.reduce(0) { $0 + Swift.min($1.utf8.count, NGramFeaturizer.maxTextBytes) + 2 }
            let chunk = FeatureSet.Chunk(orderCount: orderCount, textCount: texts.count, capacity: bound)
            // slot[n]: the index in `orders` of order n, or -1.
            let slot = UnsafeMutablePointer<Int>.allocate(capacity: maxOrder + 1)
            slot.initialize(repeating: -1, count: maxOrder + 1)
            for (o, n) in orders.enumerated() where n >= 1 { slot[n] = o }      // character orders only
            let bucketCount = UnsafeMutablePointer<UInt64>.allocate(capacity: orderCount)
            for o in 0..<orderCount { bucketCount[o] = UInt64(buckets[o]) }
            var capacity = 0                 // scalars per text the buffers hold
            var tableBits = 0
            var scalars = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
            var keys = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)     // 0: empty; else (o + 1) << 32 | bucket
            var counts = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
            var touched = UnsafeMutablePointer<Int32>.allocate(capacity: 1)   // orderCount × capacity table slots
            var weights = UnsafeMutablePointer<Float>.allocate(capacity: 1)
            var indexBuffer = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
            let touchedCount = UnsafeMutablePointer<Int>.allocate(capacity: orderCount)
            defer {
                slot.deallocate(); bucketCount.deallocate(); scalars.deallocate(); keys.deallocate()
                counts.deallocate(); touched.deallocate(); weights.deallocate(); indexBuffer.deallocate()
                touchedCount.deallocate()
            }

            for text in texts {
                var text = text
                let length = text.withUTF8 { whole -> Int in
                    let bytes = NGramFeaturizer.prefix(whole)
                    if bytes.count + 2 > capacity {
                        capacity = bytes.count * 2 + 16
                        tableBits = 1
                        while (1 << tableBits) < 2 * orderCount * capacity { tableBits += 1 }
                        scalars.deallocate(); keys.deallocate(); counts.deallocate()
                        touched.deallocate(); weights.deallocate(); indexBuffer.deallocate()
                        scalars = .allocate(capacity: capacity)
                        keys = .allocate(capacity: 1 << tableBits)
                        keys.initialize(repeating: 0, count: 1 << tableBits)
                        counts = .allocate(capacity: 1 << tableBits)
                        touched = .allocate(capacity: capacity * orderCount)
                        weights = .allocate(capacity: capacity)
                        indexBuffer = .allocate(capacity: capacity)
                    }
                    return featurizer.normalize(bytes, into: scalars)
                }
                // This text's part of the table: the smallest power of two >= 2 × its n-gram count
                // bound (load factor <= 1/2), so short texts touch only a few cache lines.
                var bits = 4
                while (1 << bits) < 2 * orderCount * length && bits < tableBits { bits += 1 }
                let shift = UInt64(64 - bits), mask = (1 << bits) - 1
                for o in 0..<orderCount { touchedCount[o] = 0 }
                // One (slot, bucket) occurrence into this text's open-addressing table; the slots
                // touched are listed per order so that emitting and clearing skip the empty ones.
                func count(slot o: Int, bucket: UInt64) {
                    let key = UInt64(truncatingIfNeeded: o &+ 1) << 32 | bucket
                    var i = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
                    while true {
                        let found = keys[i]
                        if found == key { counts[i] &+= 1; break }
                        if found == 0 {
                            keys[i] = key
                            counts[i] = 1
                            touched[o &* capacity &+ touchedCount[o]] = Int32(truncatingIfNeeded: i)
                            touchedCount[o] &+= 1
                            break
                        }
                        i = (i &+ 1) & mask
                    }
                }
                // One pass over the positions: at position p the hash grows one scalar at a time up
                // to the longest order; after n scalars it is the hash of the n-gram at p.
                for p in 0..<length {
                    var h = StableHash.offsetBasis
                    let kEnd = min(maxOrder, length &- p)
                    var k = 0
                    while k < kEnd {
                        h = (h ^ UInt64(scalars[p &+ k])) &* StableHash.prime
                        k &+= 1
                        let o = slot[k]
                        if o < 0 { continue }
                        count(slot: o, bucket: (NGramFeaturizer.mix(h) >> 32 &* bucketCount[o]) >> 32)
                    }
                }
                var words = 0, letters = 0
                if wordSlot >= 0 {
                    words = WordFeatures.count(scalars, length: length, buckets: bucketCount[wordSlot]) { count(slot: wordSlot, bucket: $0) }
                }
                if letterSlot >= 0 {
                    letters = LetterFeatures.count(scalars, length: length, buckets: bucketCount[letterSlot]) { count(slot: letterSlot, bucket: $0) }
                }
                for o in 0..<orderCount {
                    let n = touchedCount[o]
                    let list = touched + o * capacity
                    let total = Float(o == wordSlot ? words : o == letterSlot ? letters : length - orders[o] + 1)
                    for t in 0..<n {
                        let i = Int(list[t])
                        indexBuffer[t] = Int32(truncatingIfNeeded: keys[i])
                        weights[t] = Float(counts[i]) / total
                        keys[i] = 0
                    }
                    chunk.append(order: o, indices: indexBuffer, weights: weights, count: n)
                }
            }
            return chunk
        }
    }

    /// The first `maxTextBytes` bytes of valid UTF-8 `bytes`, cut back to the start of a character.
    static func prefix(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard bytes.count > maxTextBytes else { return bytes }
        var end = maxTextBytes
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }      // a continuation byte
        return UnsafeBufferPointer(rebasing: bytes[..<end])
    }

    /// Whether `text` has anything to featurise: false for an empty text or one of nothing but
    /// whitespace and control characters (its bags would be empty, its prediction meaningless).
    public func hasText(_ text: String) -> Bool {
        text.unicodeScalars.contains { ScalarTable.entry($0.value) & ScalarTable.whitespaceFlag == 0 }
    }

    /// Writes the normalised (and, with `boundaryMarkers`, padded) scalars of the valid UTF-8
    /// `bytes` to `out`, which has room for `bytes.count + 2`; returns their count (0 for a text
    /// with nothing but whitespace).
    func normalize(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt32>) -> Int {
        let table = ScalarTable.bmpPointer
        let first = boundaryMarkers ? 1 : 0
        var n = first
        if boundaryMarkers { out[0] = 0x20 }
        var pendingSpace = false
        var i = 0
        let end = bytes.count
        while i < end {
            let b = bytes[i]
            let value: UInt32
            if b < 0x80 {
                value = UInt32(b); i += 1
            } else if b >= 0xF0 {
                value = UInt32(b & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12
                    | UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F)
                i += 4
            } else if b >= 0xE0 {
                value = UInt32(b & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)
                i += 3
            } else {
                value = UInt32(b & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F)
                i += 2
            }
            let entry = value < 0x10000 ? table[Int(value)] : ScalarTable.entry(value)
            if entry & ScalarTable.whitespaceFlag != 0 {
                pendingSpace = true
                continue
            }
            if pendingSpace {
                if n > first { out[n] = 0x20; n += 1 }
                pendingSpace = false
            }
            out[n] = lowercase ? entry & ScalarTable.scalarMask : value
            n += 1
        }
        if n == first { return 0 }                               // empty text: empty bags
        if boundaryMarkers { out[n] = 0x20; n += 1 }
        return n
    }
}
