import XCTest
import LangID

/// The 40-character word-boundary cut of the "short" test set.
final class ShortVariantTests: XCTestCase {
    func testCutsAtTheLastSpaceWithinTheLimit() {
        // "The quick brown fox": the first 13 characters are "The quick bro"; the last space is after "quick".
        XCTAssertEqual(shortVariant(of: "The quick brown fox", maxCharacters: 12), "The quick")
        // A space right after the limit: the first 9 characters are whole words.
        XCTAssertEqual(shortVariant(of: "The quick brown fox", maxCharacters: 9), "The quick")
        XCTAssertEqual(shortVariant(of: "abc def", maxCharacters: 3), "abc")
        XCTAssertEqual(shortVariant(of: "abc def", maxCharacters: 4), "abc")
    }

    func testDefaultFortyCharacters() {
        let text = "A journey of a thousand miles begins with a single step."
        // The first 40 characters are "A journey of a thousand miles begins wit", the 41st is "h":
        // "with" does not fit, so the cut is at the space after "begins" (36 characters).
        XCTAssertEqual(shortVariant(of: text), "A journey of a thousand miles begins")
        let exact = "A journey of a thousand miles begins wit and more"     // the 41st character is a space
        XCTAssertEqual(shortVariant(of: exact), "A journey of a thousand miles begins wit")
        XCTAssertEqual(shortVariant(of: exact).count, 40)
        let german = "Lieber den Spatz in der Hand als die Taube auf dem Dach."
        // The first 40 characters end inside "Taube": cut after "die".
        XCTAssertEqual(shortVariant(of: german), "Lieber den Spatz in der Hand als die")
    }

    func testShortTextIsUnchanged() {
        XCTAssertEqual(shortVariant(of: "Short enough."), "Short enough.")
        XCTAssertEqual(shortVariant(of: String(repeating: "x", count: 40)), String(repeating: "x", count: 40))
    }

    func testNoSpaceIsAHardCut() {
        XCTAssertEqual(shortVariant(of: "abcdefghij", maxCharacters: 4), "abcd")
        let chinese = String(repeating: "要有礼貌。", count: 10)             // 50 characters, no spaces
        XCTAssertEqual(shortVariant(of: chinese), String(chinese.prefix(40)))
    }

    func testCharactersAreGraphemes() {
        let accented = String(repeating: "e\u{301}", count: 5) + " tail"   // 5 characters of 2 scalars each
        XCTAssertEqual(shortVariant(of: accented, maxCharacters: 5), String(repeating: "e\u{301}", count: 5))
    }
}
