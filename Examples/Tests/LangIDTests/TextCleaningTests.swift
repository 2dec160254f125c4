import XCTest
@testable import LangID

/// Cleaning of terminal text and the fortune file format, on small hand-made inputs.
final class TextCleaningTests: XCTestCase {
    func testColourCodesAreRemoved() {
        XCTAssertEqual(TextCleaning.clean("\u{1B}[33mHello\u{1B}[m world"), "Hello world")
        XCTAssertEqual(TextCleaning.clean("\u{1B}[35;1m《塞上》\u{1B}[;m"), "《塞上》")
        XCTAssertEqual(TextCleaning.clean("a \u{1B}(B b"), "a b")            // a character-set selection
        XCTAssertEqual(TextCleaning.clean("a\u{1B} b"), "a b")                // a lone ESC
        XCTAssertEqual(TextCleaning.clean("x\u{1B}"), "x")                    // ESC at the very end
    }

    func testBackspaceOverstrike() {
        XCTAssertEqual(TextCleaning.clean("b\u{8}bo\u{8}ol\u{8}ld\u{8}d"), "bold")        // bold
        XCTAssertEqual(TextCleaning.clean("_\u{8}N persons"), "N persons")                 // underline
        XCTAssertEqual(TextCleaning.clean("the ___\u{8}\u{8}\u{8}and more"), "the and more")
        XCTAssertEqual(TextCleaning.clean("ж\u{8}жук"), "жук")                            // a 2-byte scalar is erased whole
        XCTAssertEqual(TextCleaning.clean("\u{8}\u{8}abc"), "abc")                         // nothing to erase
    }

    func testWhitespaceAndLineEnds() {
        XCTAssertEqual(TextCleaning.clean("line one\r\nline two\r\n"), "line one line two")
        XCTAssertEqual(TextCleaning.clean("\t  Indented\t\ttext  \n\n  "), "Indented text")
        XCTAssertEqual(TextCleaning.clean("全角\u{3000}空格\u{00A0}nbsp"), "全角 空格 nbsp")
        XCTAssertEqual(TextCleaning.clean("bell\u{7}and\u{0}nul"), "bell and nul")
        XCTAssertEqual(TextCleaning.clean(" \r\n\t "), "")
    }

    func testCleaningCountsForTheFilters() {
        let input = Array("Ab 1! жЖ\u{8}Ж".utf8)
        var output = [UInt8](repeating: 0, count: input.count)
        let result = input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { TextCleaning.clean(i, into: $0.baseAddress!) }
        }
        XCTAssertEqual(String(decoding: output[..<result.count], as: UTF8.self), "Ab 1! жЖ")
        XCTAssertEqual(result.scalars, 8)
        XCTAssertEqual(result.spaces, 2)
        XCTAssertEqual(result.letters, 4)                                  // A b ж Ж
    }

    func testFortuneFileSplitting() {
        func split(_ text: String) -> [String] {
            let bytes = Array(text.utf8)
            return FortuneFile.split(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
        XCTAssertEqual(split("one\n%\ntwo\nlines\n%\n"), ["one\n", "two\nlines\n"])
        XCTAssertEqual(split("%\nfirst\n%\n%\nlast"), ["first\n", "last"])      // leading and doubled separators
        XCTAssertEqual(split("crlf\r\n%\r\nnext\r\n"), ["crlf\r\n", "next\r\n"])
        XCTAssertEqual(split("50%\n%%\n % \nstill one"), ["50%\n%%\n % \nstill one"])   // not separators
        XCTAssertEqual(split(""), [])
    }

    func testStableHashKnownAnswers() {
        // FNV-1a 64 reference values: "" is the offset basis, "a" is 0xaf63dc4c8601ec8c.
        XCTAssertEqual(StableHash.offsetBasis, 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(StableHash.fnv1a(StableHash.offsetBasis, UInt8(ascii: "a")), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(StableHash.fnv1a(StableHash.offsetBasis, scalar: 0x61), 0xaf63_dc4c_8601_ec8c)
        // A scalar hashes as its UTF-8 bytes.
        let viaBytes = Array("ж".utf8).reduce(StableHash.offsetBasis) { StableHash.fnv1a($0, $1) }
        XCTAssertEqual(StableHash.fnv1a(StableHash.offsetBasis, scalar: 0x436), viaBytes)
        XCTAssertEqual(StableHash.hash("a"), StableHash.finalize(0xaf63_dc4c_8601_ec8c))
        XCTAssertEqual(StableHash.finalize(0), 0)
    }
}
