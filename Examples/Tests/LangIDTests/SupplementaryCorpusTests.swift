import XCTest
@testable import LangID

/// The readers of issue 20's extra sources on the small files of `Fixtures/sources`: word lists in
/// every format and encoding the Debian packages use, Vim's tutorial, and bad input (missing
/// packages, unreadable, malformed and mis-encoded files).
final class SupplementaryCorpusTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sources").path

    func path(_ name: String) -> String { fixtures + "/" + name }

    func testPlainListFiltersAndDeduplicates() throws {
        let list = try WordList.read(path: path("words.txt"), format: .lines)
        XCTAssertEqual(list.words, ["žaba", "kôň", "ľad", "d'Andóraigh", "my-self"])
        XCTAssertEqual(list.filtered, 3)                     // Amerika, 3D, sk.
        XCTAssertEqual(try WordList.read(path: path("words.txt"), format: .lines, keepCapitalised: true).words.count, 6)
    }

    func testInvalidLinesAreCountedNotFatal() throws {
        let list = try WordList.read(path: path("invalid.txt"), format: .lines)
        XCTAssertEqual(list.words, ["slovo", "máj"])
        XCTAssertEqual(list.invalidLines, 2)
    }

    func testHunspellEncodingsFromTheAffixFile() throws {
        XCTAssertEqual(try WordList.read(path: path("pl_PL.dic"), format: .hunspell).words, ["żółw", "źdźbło", "śnieg"])
        XCTAssertEqual(try WordList.read(path: path("ga_IE.dic"), format: .hunspell).words, ["béal", "tuairisceoirí"])
        XCTAssertEqual(try WordList.read(path: path("eo.dic"), format: .hunspell).words, ["ĉirkaŭ", "ŝipo"])
        XCTAssertEqual(try WordList.read(path: path("pt_BR.dic"), format: .hunspell).words, ["ação", "maçã"])   // BOMs
        XCTAssertEqual(try WordList.read(path: path("sk_SK.dic"), format: .hunspell).words, ["aby", "kôň"])   // morphology
        XCTAssertEqual(try WordList.read(path: path("lex.lex"), format: .friso).words, ["一般来说", "一般"])
    }

    func testStrideCapKeepsEveryKthLine() throws {
        let list = try WordList.read(path: path("words.txt"), format: .lines, keepCapitalised: true, maximumEntries: 5)
        XCTAssertEqual(list.words, ["žaba", "kôň", "sk.", "d'Andóraigh"].filter { WordList.isWord($0, keepCapitalised: true) })
    }

    func testMalformedDictionariesThrow() {
        func error(_ name: String) -> CorpusError? {
            do { _ = try WordList.read(path: path(name), format: .hunspell); return nil } catch { return error }
        }
        guard case .malformedSource(_, let r1)? = error("nocount.dic") else { return XCTFail("no count line accepted") }
        XCTAssertTrue(r1.contains("entry count"))
        guard case .malformedSource(_, let r2)? = error("noaff.dic") else { return XCTFail("missing .aff accepted") }
        XCTAssertTrue(r2.contains("noaff.aff"))
        guard case .malformedSource(_, let r3)? = error("koi.dic") else { return XCTFail("unknown SET accepted") }
        XCTAssertTrue(r3.contains("KOI8-R"))
    }

    func testUnreadableFilesThrow() {
        XCTAssertThrowsError(try WordList.read(path: fixtures, format: .lines)) { error in
            XCTAssertEqual(error as? CorpusError, .unreadableFile(path: fixtures, reason: "Is a directory"))
        }
        XCTAssertThrowsError(try WordList.read(path: path("nope.txt"), format: .lines)) { error in
            XCTAssertEqual(error as? CorpusError, .unreadableFile(path: path("nope.txt"), reason: "No such file or directory"))
        }
        XCTAssertThrowsError(try TutorText.sentences(path: path("tutor.latin2"))) { error in
            guard case .malformedSource? = error as? CorpusError else { return XCTFail("\(error)") }
        }
    }

    func testLegacyEncodings() {
        XCTAssertEqual(LegacyEncoding(setName: "iso-8859-2"), .latin2)
        XCTAssertNil(LegacyEncoding(setName: "KOI8-R"))
        XCTAssertEqual(LegacyEncoding.latin2.decode([0xB5, 0xE4]), "ľä")
        XCTAssertNil(LegacyEncoding.latin3.decode([0xA5]))      // unassigned in ISO-8859-3
        XCTAssertNil(LegacyEncoding.utf8.decode([0xC3]))
    }

    func testTutorSentences() throws {
        XCTAssertEqual(try TutorText.sentences(path: path("tutor.sk.utf-8")), [
            "Vim je veľmi výkonný editor, ktorý má príliž veľa príkazov.",
            "Táto výuka popisuje dostatočné množstvo príkazov.",
            "Stlač klávesu x aby sa zmazal nechcený znak.",
        ])
    }

    func testEmacsTutorialDropsItsCopyingSection() throws {
        let sentences = try TutorText.sentences(path: path("TUTORIAL.sk"), layout: .emacs)
        XCTAssertEqual(sentences.first, "Podmienky pozri na konci.")
        XCTAssertTrue(sentences.contains { $0.hasPrefix("Teraz stlačte") })       // `>>` has no letter: gone
        XCTAssertFalse(sentences.contains { $0.contains("KOPÍROVANIE") || $0.contains("Tento tútorial") || $0.contains("coding") })
        // read as a Vim tutor, the copying section (no `~` rule) would stay
        XCTAssertTrue(try TutorText.sentences(path: path("TUTORIAL.sk")).contains { $0.contains("Tento tútorial") })
    }

    func testSuffixRulesInflectStems() throws {
        let list = try WordList.read(path: path("sfx.dic"), format: .hunspell, expandSuffixes: true)
        XCTAssertEqual(list.words, ["žena", "ženy", "žene", "ženou", "riadok", "riadoka", "riadokov", "rieka", "rieky", "rieke", "riekou"])
        XCTAssertEqual(try WordList.read(path: path("sfx.dic"), format: .hunspell).words, ["žena", "riadok", "rieka"])
        // the cap strides over the forms too
        XCTAssertEqual(try WordList.read(path: path("sfx.dic"), format: .hunspell, maximumEntries: 4, expandSuffixes: true).words,
                       ["žena", "ženou", "riadokov", "rieke"])
        let rules = try HunspellSuffixes(affixText: "SFX A Y 1\nSFX A 0 ov [^aeo]\nFLAG long\nSFX Bx Y 1\nSFX Bx 0 mi .",
                                         path: "test.aff")
        XCTAssertEqual(rules.forms(of: "dub", flags: "Bx"), ["dubmi"])
        XCTAssertEqual(rules.forms(of: "dub", flags: "A"), [])             // one-letter flags no longer read
    }

    func testMalformedSuffixRulesThrow() {
        func reason(_ name: String) -> String? {
            do { _ = try WordList.read(path: path(name), format: .hunspell, expandSuffixes: true); return nil } catch {
                guard case .malformedSource(_, let reason) = error else { return "\(error)" }
                return reason
            }
        }
        XCTAssertEqual(reason("flagnum.dic"), "FLAG num is not supported for suffix expansion")
        XCTAssertEqual(reason("shortsfx.dic"), "SFX line with 3 fields: SFX z a")
        XCTAssertEqual(reason("noaff.dic")?.contains("noaff.aff"), true)
        // without expansion the same files read (only the encoding is taken from the .aff)
        XCTAssertEqual(try WordList.read(path: path("flagnum.dic"), format: .hunspell).words, ["slovo"])
    }

    func testPseudoSentencesAreSeededAndShaped() {
        let words = ["jeden", "dva", "tri"]
        let a = PseudoSentences.make(from: words, count: 50, seed: 7)
        XCTAssertEqual(a, PseudoSentences.make(from: words, count: 50, seed: 7))
        XCTAssertNotEqual(a, PseudoSentences.make(from: words, count: 50, seed: 8))
        for s in a {
            let parts = s.dropLast().split(separator: " ")
            XCTAssertTrue(PseudoSentences.wordsPerSample.contains(parts.count))
            XCTAssertTrue(parts.allSatisfy { words.contains(String($0.hasSuffix(",") ? $0.dropLast() : $0)) })
            XCTAssertFalse(parts.last!.hasSuffix(","))
        }
        XCTAssertTrue(PseudoSentences.make(from: ["一般"], count: 3, seed: 1, joinWithoutSpaces: true).allSatisfy { !$0.contains(" ") && $0.hasSuffix("。") })
        XCTAssertEqual(PseudoSentences.make(from: [], count: 5, seed: 1), [])
        let commas = a.map { $0.filter { $0 == "," }.count }.reduce(0, +)
        XCTAssertTrue(commas > 0 && commas < 50 * 11 / 4)                  // some, about one in 12 words
        let common = PseudoSentences.make(from: ["slovo"], count: 20, seed: 1, common: [("sa", 3)], commonShare: 1)
        XCTAssertTrue(common.allSatisfy { !$0.contains("slovo") })
    }

    func testCorpusSkipsMissingPackagesAndDropsSharedWords() throws {
        let lists = [
            CorpusSource(language: "sk", package: "fixture-sk", licence: "test", pattern: path("words.txt")),
            CorpusSource(language: "cs", package: "fixture-cs", licence: "test", pattern: path("sk_SK.dic"), format: .hunspell),
            CorpusSource(language: "bg", package: "wbulgarian-missing", licence: "test", pattern: path("missing/*.dic")),
        ]
        let tutors = [CorpusSource(language: "sk", package: "vim-runtime", licence: "Vim", pattern: path("tutor.s[k].utf-8"))]
        let corpus = try SupplementaryCorpus.load(wordLists: lists, samplesPerLanguage: 10, heldOutText: tutors, seed: 3)
        XCTAssertEqual(corpus.sharedWords, 1)                 // kôň is in both lists
        XCTAssertEqual(corpus.train.count, 20)
        XCTAssertFalse(corpus.train.contains { $0.text.contains("kôň") })
        XCTAssertEqual(corpus.heldOut.count, 3)
        XCTAssertEqual(corpus.heldOutGenres.map(\.package), ["vim-runtime"])
        XCTAssertEqual(corpus.skipped.count, 1)
        XCTAssertTrue(corpus.skipped[0].reason.contains("wbulgarian-missing"))
        XCTAssertEqual(try SupplementaryCorpus.load(wordLists: lists, samplesPerLanguage: 10, heldOutText: tutors, seed: 3).train,
                       corpus.train)
        let filled = try SupplementaryCorpus.load(wordLists: lists, samplesPerLanguage: 10, heldOutText: [],
                                                  existing: ["sk": 5], fillUpTo: 30, seed: 3)
        XCTAssertEqual(filled.train.filter { $0.language == "sk" }.count, 25)
        XCTAssertThrowsError(try SupplementaryCorpus.load(wordLists: lists, samplesPerLanguage: -1, heldOutText: []))
    }

    func testUnreadableSourceThrowsInsteadOfSkipping() {
        let bad = [CorpusSource(language: "sk", package: "x", licence: "test", pattern: fixtures)]
        XCTAssertThrowsError(try SupplementaryCorpus.load(wordLists: bad, samplesPerLanguage: 5, heldOutText: [])) { error in
            XCTAssertEqual(error as? CorpusError, .unreadableFile(path: fixtures, reason: "Is a directory"))
        }
    }
}
