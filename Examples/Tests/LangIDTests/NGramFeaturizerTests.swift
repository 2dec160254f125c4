import XCTest
import EmbeddingKit
import LangID

/// N-gram extraction on hand-worked strings, weights, empty texts, determinism, batch assembly.
final class NGramFeaturizerTests: XCTestCase {
    /// The expected bag of one order as bucket → weight, from n-grams and counts worked out by hand.
    func expected(_ featurizer: NGramFeaturizer, orderIndex: Int, _ ngrams: [String: Int], total: Int) -> [Int64: Float] {
        var bag: [Int64: Float] = [:]
        for (ngram, count) in ngrams {
            bag[Int64(featurizer.bucket(of: ngram, orderIndex: orderIndex)), default: 0] += Float(count) / Float(total)
        }
        return bag
    }

    func actual(_ bag: (indices: [Int64], weights: [Float])) -> [Int64: Float] {
        XCTAssertEqual(Set(bag.indices).count, bag.indices.count, "duplicate buckets must be merged")
        return Dictionary(uniqueKeysWithValues: zip(bag.indices, bag.weights))
    }

    func assertBag(_ bag: (indices: [Int64], weights: [Float]), _ expected: [Int64: Float],
                   file: StaticString = #filePath, line: UInt = #line) {
        let got = actual(bag)
        XCTAssertEqual(Set(got.keys), Set(expected.keys), file: file, line: line)
        for (bucket, weight) in expected {
            XCTAssertEqual(got[bucket] ?? -1, weight, accuracy: 1e-6, file: file, line: line)
        }
    }

    func testAbabWithBoundaryMarkers() throws {
        // "abab" → " abab " (6 characters): unigrams ' '×2 a×2 b×2 of 6; bigrams " a", "ab"×2, "ba", "b " of 5.
        let f = try NGramFeaturizer(orders: [1, 2], buckets: [1 << 20, 1 << 20])
        let bags = f.features(of: "abab")
        assertBag(bags[0], expected(f, orderIndex: 0, [" ": 2, "a": 2, "b": 2], total: 6))
        assertBag(bags[1], expected(f, orderIndex: 1, [" a": 1, "ab": 2, "ba": 1, "b ": 1], total: 5))
        // Entries come in first-occurrence order: ' ', 'a', 'b'.
        XCTAssertEqual(bags[0].indices, [" ", "a", "b"].map { Int64(f.bucket(of: $0, orderIndex: 0)) })
        XCTAssertEqual(bags[1].weights, [0.2, 0.4, 0.2, 0.2])
    }

    func testAbabWithoutMarkersAndHigherOrders() throws {
        // "abab" as is: unigrams a×2 b×2 of 4; bigrams "ab"×2 "ba" of 3; trigrams "aba" "bab" of 2;
        // 4-grams "abab" of 1; no 5-grams (the text is shorter).
        let f = try NGramFeaturizer(orders: [1, 2, 3, 4, 5], buckets: [1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20],
                                boundaryMarkers: false)
        let bags = f.features(of: "abab")
        assertBag(bags[0], expected(f, orderIndex: 0, ["a": 2, "b": 2], total: 4))
        assertBag(bags[1], expected(f, orderIndex: 1, ["ab": 2, "ba": 1], total: 3))
        assertBag(bags[2], expected(f, orderIndex: 2, ["aba": 1, "bab": 1], total: 2))
        assertBag(bags[3], expected(f, orderIndex: 3, ["abab": 1], total: 1))
        XCTAssertTrue(bags[4].indices.isEmpty)
        XCTAssertTrue(bags[4].weights.isEmpty)
    }

    func testCharactersNotBytesAndLowercase() throws {
        let f = try NGramFeaturizer(orders: [1, 2], buckets: [1 << 20, 1 << 20])
        // "ЖжA" → " жжa " (Cyrillic Ж is 2 UTF-8 bytes but one character): 5 characters.
        let cyrillic = f.features(of: "ЖжA")
        assertBag(cyrillic[0], expected(f, orderIndex: 0, [" ": 2, "ж": 2, "a": 1], total: 5))
        assertBag(cyrillic[1], expected(f, orderIndex: 1, [" ж": 1, "жж": 1, "жa": 1, "a ": 1], total: 4))
        // "你好" → " 你好 ": bigrams " 你", "你好", "好 " (3-byte characters, still one each).
        let chinese = f.features(of: "你好")
        assertBag(chinese[1], expected(f, orderIndex: 1, [" 你": 1, "你好": 1, "好 ": 1], total: 3))
        // Uppercase and lowercase give the same features; whitespace runs are one space.
        XCTAssertEqual(actual(f.features(of: "Straße  ÄPFEL")[1]), actual(f.features(of: "straße\täpfel")[1]))
        XCTAssertEqual(actual(f.features(of: "  a b \n")[0]), actual(f.features(of: "a b")[0]))
        // Without lowercasing they differ.
        let cased = try NGramFeaturizer(orders: [1], buckets: [1 << 20], lowercase: false)
        XCTAssertNotEqual(actual(cased.features(of: "A")[0]), actual(cased.features(of: "a")[0]))
    }

    func testWeightsSumToOnePerOrder() throws {
        let f = try NGramFeaturizer()
        for text in ["Hello, world!", "Съешь же ещё этих мягких французских булок.", "要有礼貌", "ab", "x"] {
            let bags = f.features(of: text)
            let length = text.unicodeScalars.count + 2                 // with the two boundary spaces
            for (o, order) in f.orders.enumerated() {
                let sum = bags[o].weights.reduce(0, +)
                if length >= order {
                    XCTAssertEqual(sum, 1, accuracy: 1e-5, "\(text) order \(order)")
                } else {
                    XCTAssertTrue(bags[o].indices.isEmpty, "\(text) order \(order)")
                }
                XCTAssertTrue(bags[o].indices.allSatisfy { $0 >= 0 && $0 < f.buckets[o] })
            }
        }
    }

    func testEmptyTextGivesEmptyBags() throws {
        let f = try NGramFeaturizer()
        for text in ["", "   ", "\n\t"] {
            XCTAssertTrue(f.features(of: text).allSatisfy { $0.indices.isEmpty && $0.weights.isEmpty })
        }
        var batch = FeatureBatch()
        f.batch(["ab", "", "cd"], into: &batch)
        XCTAssertEqual(batch.count, 3)
        for bag in batch.bags {
            XCTAssertEqual(bag.offsets.count, 3)
            XCTAssertEqual(bag.offsets[0], 0)
            XCTAssertEqual(bag.offsets[1], bag.offsets[2], "the empty text's bag is empty")
            XCTAssertEqual(bag.indices.count, bag.weights.count)
        }
        f.batch([""], into: &batch)
        XCTAssertTrue(batch.bags.allSatisfy { $0.offsets == [0] && $0.indices.isEmpty })
    }

    func testDeterministicForAnyThreadCount() throws {
        // More than two chunks of 1,024 texts, with lengths that vary.
        let words = ["alpha", "беta", "γάμμα", "delta", "中文", "épsilon", "zeta"]
        let texts = (0..<2500).map { i in (0..<(i % 23)).map { words[($0 * 7 + i) % words.count] }.joined(separator: " ") }
        let f = try NGramFeaturizer()
        let one = f.featurize(texts, threads: 1), two = f.featurize(texts, threads: 2), four = f.featurize(texts, threads: 4)
        XCTAssertEqual(one.count, 2500)
        XCTAssertEqual(one.entryCounts, two.entryCounts)
        XCTAssertEqual(one.entryCounts, four.entryCounts)
        var a = FeatureBatch(), b = FeatureBatch(), c = FeatureBatch()
        one.assemble(0..<2500, into: &a)
        two.assemble(0..<2500, into: &b)
        four.assemble(0..<2500, into: &c)
        for o in f.orders.indices {
            XCTAssertEqual(a.bags[o].indices, b.bags[o].indices)
            XCTAssertEqual(a.bags[o].weights, b.bags[o].weights)
            XCTAssertEqual(a.bags[o].offsets, b.bags[o].offsets)
            XCTAssertEqual(a.bags[o].indices, c.bags[o].indices)
            XCTAssertEqual(a.bags[o].weights, c.bags[o].weights)
        }
        // And the same as featurising each text alone.
        for i in [0, 1, 1023, 1024, 2047, 2499] {
            let alone = f.features(of: texts[i])
            for o in f.orders.indices {
                let bag = one.bag(i, order: o)
                XCTAssertEqual(bag.indices.map(Int64.init), alone[o].indices)
                XCTAssertEqual(Array(bag.weights), alone[o].weights)
            }
        }
    }

    func testAssembleSubsetsIntoAReusedBatch() throws {
        let texts = ["the cat", "der Hund", "el gato", "кот", "猫"]
        let f = try NGramFeaturizer(orders: [1, 3], buckets: [100, 1000])
        let set = f.featurize(texts)
        var batch = FeatureBatch()
        set.assemble([3, 0, 3], into: &batch)
        XCTAssertEqual(batch.count, 3)
        for (o, bag) in batch.bags.enumerated() {
            XCTAssertEqual(bag.order, f.orders[o])
            XCTAssertEqual(bag.buckets, f.buckets[o])
            let b3 = set.bag(3, order: o), b0 = set.bag(0, order: o)
            XCTAssertEqual(bag.offsets, [0, Int64(b3.indices.count), Int64(b3.indices.count + b0.indices.count)])
            XCTAssertEqual(bag.indices, (b3.indices + b0.indices + b3.indices).map(Int64.init))
            XCTAssertEqual(bag.weights, Array(b3.weights + b0.weights + b3.weights))
        }
        // A smaller batch after a larger one: sizes shrink to fit.
        set.assemble([4], into: &batch)
        XCTAssertEqual(batch.count, 1)
        for (o, bag) in batch.bags.enumerated() {
            XCTAssertEqual(bag.offsets, [0])
            XCTAssertEqual(bag.indices, set.bag(4, order: o).indices.map(Int64.init))
        }
        set.assemble([], into: &batch)
        XCTAssertTrue(batch.bags.allSatisfy { $0.offsets.isEmpty && $0.indices.isEmpty })
    }

    func testBucketsAreStable() throws {
        // Saved models depend on these never changing (FNV-1a over scalars, one mixing round, multiply-shift).
        let f = try NGramFeaturizer()
        XCTAssertEqual(f.buckets, [4_096, 16_384, 65_536, 131_072])
        XCTAssertEqual([" ", "a", "ж", "你"].map { f.bucket(of: $0, orderIndex: 0) }, [1909, 751, 2753, 2972])
        XCTAssertEqual(["the ", "ein ", "это "].map { f.bucket(of: $0, orderIndex: 3) }, [128343, 106742, 103981])
    }

    /// Order 0 is a bag of whole words (runs of letters), weighted by their share of the words;
    /// order -1 a bag of the letters outside ASCII, weighted by their share of those letters.
    func testWordAndLetterBags() throws {
        let f = try NGramFeaturizer(orders: [0, -1, 1], buckets: [1 << 20, 1 << 20, 1 << 20])
        let bags = f.features(of: "Naľavo, naľavo je ř!")
        let words = ["naľavo", "je", "ř"].map { Int64(f.bucket(of: $0, orderIndex: 0)) }
        XCTAssertEqual(bags[0].indices, words)
        XCTAssertEqual(bags[0].weights, [0.5, 0.25, 0.25])
        XCTAssertEqual(bags[1].indices, ["ľ", "ř"].map { Int64(f.bucket(of: $0, orderIndex: 1)) })
        XCTAssertEqual(bags[1].weights, [2 / 3, 1 / 3])
        XCTAssertEqual(bags[2].weights.reduce(0, +), 1, accuracy: 1e-6)
        // no such letters, no words: empty bags; Chinese runs longer than a word are no words
        XCTAssertEqual(f.features(of: "ab cd").map(\.indices.count), [2, 0, 5])
        XCTAssertEqual(f.features(of: "。。").map(\.indices.count), [0, 0, 2])
        XCTAssertEqual(f.features(of: String(repeating: "字", count: 30))[0].indices.count, 0)
        // the same for any thread count, and the bags travel through a batch like the n-grams
        let texts = (0..<3000).map { "Slovo č. \($0): ľad, kôň a ďateľ \($0 % 7)" }
        XCTAssertEqual(f.featurize(texts, threads: 1).entryCounts, f.featurize(texts, threads: 3).entryCounts)
        XCTAssertEqual(f.featurize(texts, threads: 1).bag(2999, order: 1).weights, f.featurize(texts, threads: 2).bag(2999, order: 1).weights)
    }

    /// Orders and bucket counts come from command lines and model files: a bad one is a thrown
    /// error naming the argument, the position and the value (they were preconditions: a trap).
    func testBadOrdersAndBucketsThrow() {
        let cases: [([Int], [Int], String)] = [
            ([], [], "at least one order is needed"),
            ([1, 1], [4, 4], "order 1 at position 1 repeats position 0"),
            ([65], [4], "order 65 at position 0 is outside -1...64"),
            ([-2], [4], "order -2 at position 0 is outside -1...64"),
            ([0, 0], [4, 4], "order 0 at position 1 repeats position 0"),
            ([1, 2], [4], "2 orders but 1 bucket counts"),
            ([1], [0], "bucket count 0 at position 0 is outside 1...2147483647"),
            ([1], [3_000_000_000], "bucket count 3000000000 at position 0"),
        ]
        for (orders, buckets, message) in cases {
            XCTAssertThrowsError(try NGramFeaturizer(orders: orders, buckets: buckets)) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)")
                XCTAssertEqual((error as? EmbeddingKitError)?.kind, .invalidArgument)
            }
        }
    }

    /// Only the first 10,000 bytes are featurised, cut back to a character boundary (CLD3's
    /// kMaxNumInputBytesToConsider): a long text has exactly its prefix's features.
    func testOnlyThePrefixOfALongTextIsRead() throws {
        let f = try NGramFeaturizer(orders: [1, 2, 3], buckets: [1 << 20, 1 << 20, 1 << 20])
        XCTAssertEqual(NGramFeaturizer.maxTextBytes, 10_000)
        // 9,999 ASCII bytes then "é" (2 bytes) straddles the limit: the prefix is the 9,999 bytes
        let head = String(repeating: "ab", count: 4_999) + "c"
        let long = head + "é" + String(repeating: "xyz ", count: 100_000)
        XCTAssertEqual(head.utf8.count, 9_999)
        let a = f.features(of: long), b = f.features(of: head)
        for o in 0..<3 {
            XCTAssertEqual(a[o].indices, b[o].indices)
            XCTAssertEqual(a[o].weights, b[o].weights)
        }
        // a text of exactly 10,000 bytes is read whole (its last character counts)
        let exact = String(repeating: "ab", count: 4_999) + "cd"
        XCTAssertNotEqual(f.features(of: exact)[0].indices, f.features(of: String(exact.dropLast()))[0].indices)
    }

    func testHasText() throws {
        let f = try NGramFeaturizer()
        XCTAssertFalse(f.hasText(""))
        XCTAssertFalse(f.hasText(" \t\r\u{0B}\u{85}\u{3000}\u{1}"))
        XCTAssertTrue(f.hasText("  x "))
        XCTAssertTrue(f.hasText("。"))
    }
}
