import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import LangID

/// The corpus reader on small folders the tests write themselves (nothing here needs the fortune
/// packages): labels, exclusions, cleaning, filters, de-duplication, the split, and the errors.
final class CorpusTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("langid-corpus-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        _ = chmod(folder + "/locked", 0o644)
        try? FileManager.default.removeItem(atPath: folder)
    }

    func write(_ relativePath: String, _ text: String) throws {
        try write(relativePath, bytes: Array(text.utf8))
    }

    func write(_ relativePath: String, bytes: [UInt8]) throws {
        let url = URL(fileURLWithPath: folder).appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    func fortunes(_ texts: [String]) -> String { texts.joined(separator: "\n%\n") + "\n" }

    let english = [
        "The early bird catches the worm, but the second mouse gets the cheese.",
        "A journey of a thousand miles begins with a single step.",
    ]
    let german = ["Wer zuletzt lacht, denkt zu langsam.", "Lieber den Spatz in der Hand als die Taube auf dem Dach."]

    /// A folder with every case at once; the expectations are worked out by hand.
    func testLabelsFiltersAndReports() throws {
        try write("people", fortunes([
            "\u{1B}[33m" + english[0] + "\u{1B}[m",                   // colour codes
            "A j\u{8}journey of a thousand miles begins\r\nwith a single step.",   // overstrike + CRLF → english[1]
            "Too short.",                                              // 10 characters: dropped
            "  /\\_/\\  ( o.o )  > ^ < |||| ---- ==== ****",           // ASCII art: dropped
            english[0],                                                // duplicate of the first: dropped
            "Shared text that appears in two languages.",              // conflicting: dropped everywhere
        ]))
        try write("de/witze", fortunes(german + ["Shared text that appears in two languages."]))
        try write("cs/klasik-sk", fortunes(["Kto druhému jamu kope, sám do nej padne."]))
        try write("brasil", fortunes(["Quem não tem cão caça com gato, diz o ditado."]))
        try write("es/off/rot13", fortunes(["Ab zr yynzr gnagb pbzb gh ghyr nyzn."]))
        try write("translate-me", fortunes(["Aliquid melius quam pessimum optimum non est."]))
        try write("empty", "")
        try write("people.dat", bytes: [0, 1, 2, 3])
        try write("people.u8", "")
        try write("xx/unknown", fortunes(["Text in a folder nobody has a label for."]))
        try write(".hidden", fortunes(["A hidden file is not part of the corpus."]))
        try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: folder + "/people")

        let corpus = try LanguageCorpus.load(from: folder)
        let all = corpus.train + corpus.test
        XCTAssertEqual(Set(all.map(\.text)),
                       Set(english + german + ["Kto druhému jamu kope, sám do nej padne.",
                                               "Quem não tem cão caça com gato, diz o ditado."]))
        let label = Dictionary(all.map { ($0.text, $0.language) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(label[english[1]], "en")
        XCTAssertEqual(label[german[0]], "de")
        XCTAssertEqual(label["Kto druhému jamu kope, sám do nej padne."], "sk")
        XCTAssertEqual(label["Quem não tem cão caça com gato, diz o ditado."], "pt")
        XCTAssertEqual(corpus.languages, ["de", "en", "pt", "sk"])

        let s = corpus.statistics
        XCTAssertEqual(s.files, 5)                     // brasil, cs/klasik-sk, de/witze, empty, people
        XCTAssertEqual(s.fortunes, 6 + 3 + 1 + 1)
        XCTAssertEqual(s.tooShort, 1)
        XCTAssertEqual(s.notText, 1)
        XCTAssertEqual(s.duplicates, 1)
        XCTAssertEqual(s.conflicting, 2)
        XCTAssertEqual(s.invalidUTF8, 0)
        XCTAssertEqual(s.kept, 6)
        XCTAssertEqual(s.fortunes, s.tooShort + s.notText + s.duplicates + s.conflicting + s.invalidUTF8 + s.kept)

        XCTAssertEqual(corpus.skippedFiles.map(\.path), [".hidden", "empty", "es/off/", "translate-me", "xx/"])
        XCTAssertEqual(corpus.skippedFiles.first { $0.path == "empty" }?.reason, "empty file (no fortunes)")
        XCTAssertTrue(corpus.skippedFiles.first { $0.path == "es/off/" }!.reason.contains("ROT13"))
        XCTAssertTrue(corpus.skippedFiles.first { $0.path == "xx/" }!.reason.contains("no language"))

        // The split follows the stable hash, and samples keep file order (files sorted by path).
        for sample in corpus.train { XCTAssertFalse(LanguageCorpus.isTestSample(sample.text)) }
        for sample in corpus.test { XCTAssertTrue(LanguageCorpus.isTestSample(sample.text)) }
        let order = ["Quem não tem cão caça com gato, diz o ditado.", "Kto druhému jamu kope, sám do nej padne."]
            + german + english
        XCTAssertEqual(corpus.train.map(\.text), order.filter { !LanguageCorpus.isTestSample($0) })

        let counts = corpus.counts()
        XCTAssertEqual(counts.map(\.language), corpus.languages)
        XCTAssertEqual(counts.reduce(0) { $0 + $1.total }, 6)
        XCTAssertEqual(counts.first { $0.language == "de" }.map { $0.train + $0.test }, 2)
        XCTAssertTrue(corpus.formattedCounts().contains("total"))
    }

    func testInvalidUTF8IsSkippedOrFails() throws {
        let good = Array("A perfectly valid first fortune in English.\n%\n".utf8)
        let bad = Array("Latin-1 text: caf".utf8) + [0xE9] + Array(" au lait, sans UTF-8.\n%\n".utf8)   // é in Latin-1
        let last = Array("And a valid fortune after the broken one.\n".utf8)
        try write("mixed", bytes: good + bad + last)

        let corpus = try LanguageCorpus.load(from: folder)
        XCTAssertEqual(corpus.statistics.invalidUTF8, 1)
        XCTAssertEqual(corpus.invalidUTF8, [InvalidSample(path: "mixed", sample: 2, byteOffset: good.count)])
        XCTAssertEqual(Set((corpus.train + corpus.test).map(\.text)),
                       ["A perfectly valid first fortune in English.", "And a valid fortune after the broken one."])

        XCTAssertThrowsError(try LanguageCorpus.load(from: folder, options: CorpusOptions(invalidUTF8: .fail))) { error in
            XCTAssertEqual(error as? CorpusError, .invalidUTF8(path: folder + "/mixed", sample: 2, byteOffset: good.count))
            XCTAssertTrue("\(error)".contains("/mixed"))
            XCTAssertTrue("\(error)".contains("not valid UTF-8"))
        }
        // A truncated multi-byte sequence at the end of a file is invalid too, and nothing reads past it.
        try write("mixed", bytes: Array("Ends in the middle of a character: ".utf8) + [0xD0])
        XCTAssertThrowsError(try LanguageCorpus.load(from: folder)) { error in
            XCTAssertEqual(error as? CorpusError, .noSamples(path: folder))
        }
    }

    func testMissingFolder() {
        let missing = folder + "/does-not-exist"
        XCTAssertThrowsError(try LanguageCorpus.load(from: missing)) { error in
            XCTAssertEqual(error as? CorpusError, .folderNotFound(path: missing))
            XCTAssertTrue("\(error)".contains(missing))
            XCTAssertTrue("\(error)".contains("fortune"))
        }
    }

    func testPathThatIsAFile() throws {
        try write("file", fortunes(english))
        XCTAssertThrowsError(try LanguageCorpus.load(from: folder + "/file")) { error in
            XCTAssertEqual(error as? CorpusError, .notAFolder(path: folder + "/file"))
        }
    }

    func testEmptyFolderAndEmptyFiles() throws {
        XCTAssertThrowsError(try LanguageCorpus.load(from: folder)) { error in
            XCTAssertEqual(error as? CorpusError, .noFortuneFiles(path: folder))
            XCTAssertTrue("\(error)".contains(folder))
        }
        try write("blank", "\n%\n   \n%\n")
        try write("index.dat", bytes: [1, 2, 3])
        XCTAssertThrowsError(try LanguageCorpus.load(from: folder)) { error in
            XCTAssertEqual(error as? CorpusError, .noSamples(path: folder))
        }
    }

    func testUnreadablePaths() throws {
        // Reading something that cannot be read as a file gives the path and the system's reason.
        XCTAssertThrowsError(try FortuneFile.read(path: folder)) { error in
            XCTAssertEqual(error as? CorpusError, .unreadableFile(path: folder, reason: "Is a directory"))
            XCTAssertTrue("\(error)".contains("cannot read corpus file \(folder): Is a directory"))
        }
        XCTAssertThrowsError(try FortuneFile.read(path: folder + "/nope")) { error in
            XCTAssertEqual(error as? CorpusError, .unreadableFile(path: folder + "/nope", reason: "No such file or directory"))
        }
    }

    func testFileWithoutReadPermission() throws {
        // A file without read permission fails the whole load (root reads it anyway, so not as root).
        try write("locked", fortunes(english))
        XCTAssertEqual(chmod(folder + "/locked", 0), 0)
        if geteuid() == 0 { throw XCTSkip("running as root: permissions do not stop reading") }
        XCTAssertThrowsError(try LanguageCorpus.load(from: folder)) { error in
            XCTAssertEqual(error as? CorpusError, .unreadableFile(path: folder + "/locked", reason: "Permission denied"))
        }
    }

    func testSplitIsStableAndAboutEightyTwenty() throws {
        let texts = (0..<3000).map { "Sample number \($0) with enough characters to be kept." }
        try write("many", fortunes(texts))
        let first = try LanguageCorpus.load(from: folder, options: CorpusOptions(threads: 1))
        let second = try LanguageCorpus.load(from: folder, options: CorpusOptions(threads: 2))
        XCTAssertEqual(first.train, second.train)
        XCTAssertEqual(first.test, second.test)
        XCTAssertEqual(first.train.count + first.test.count, 3000)
        let share = Double(first.test.count) / 3000
        XCTAssertEqual(share, 0.2, accuracy: 0.03)
        // Other percentages, same rule.
        let all = try LanguageCorpus.load(from: folder, options: CorpusOptions(testPercent: 0))
        XCTAssertEqual(all.test.count, 0)
    }

    func testLayoutRules() {
        XCTAssertEqual(FortuneLayout.language(forRelativePath: "fortunes"), "en")
        XCTAssertEqual(FortuneLayout.language(forRelativePath: "chinese"), "zh")
        XCTAssertEqual(FortuneLayout.language(forRelativePath: "tang300"), "zh")
        XCTAssertEqual(FortuneLayout.language(forRelativePath: "brasil"), "pt")
        XCTAssertEqual(FortuneLayout.language(forRelativePath: "cs/klasik-sk"), "sk")
        XCTAssertEqual(FortuneLayout.language(forRelativePath: "cs/klasik-cz"), "cs")
        XCTAssertEqual(FortuneLayout.language(forRelativePath: "ru/2001.03"), "ru")
        XCTAssertNil(FortuneLayout.language(forRelativePath: "xx/file"))
        XCTAssertNotNil(FortuneLayout.excludedFiles["pl/newyear"])
        XCTAssertNotNil(FortuneLayout.excludedFolders["es/off"])
    }

    /// A file whose name is not UTF-8 (byte 0xFF) is opened by its bytes: its fortunes are read and
    /// labelled; the name shows as `\xFF`. (The name used to be decoded lossily to U+FFFD, and
    /// opening that name failed the whole load with "No such file or directory".)
    func testAFileNameThatIsNotUTF8IsReadByItsBytes() throws {
        try write("people", fortunes(english))
        // "caf\xFF" at the top level: English by the layout's rules
        let path = Array(folder.utf8) + Array("/caf".utf8) + [0xFF, 0]
        let fd = path.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_EXCL, 0o644) } }
        XCTAssertGreaterThanOrEqual(fd, 0)
        let text = Array(fortunes(["A file with a strange name still holds a proper English sentence."]).utf8)
        XCTAssertEqual(text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }, text.count)
        close(fd)
        let corpus = try LanguageCorpus.load(from: folder, options: CorpusOptions(testPercent: 0))
        XCTAssertEqual(corpus.statistics.files, 2)
        XCTAssertTrue(corpus.train.contains(LanguageSample(text: "A file with a strange name still holds a proper English sentence.", language: "en")))
        XCTAssertEqual(corpus.skippedFiles, [])
        XCTAssertEqual(CorpusFolder.display([0x63, 0x61, 0x66, 0xFF]), "caf\\xFF")
        XCTAssertEqual(CorpusFolder.display(Array("Ελλάδα".utf8)), "Ελλάδα")
        XCTAssertEqual(CorpusFolder.display([0xC3, 0x41, 0xE2, 0x82]), "\\xC3A\\xE2\\x82")
    }

    /// Options out of range are a thrown error, not a trap (they were preconditions).
    func testOptionsOutOfRangeThrow() throws {
        try write("people", fortunes(english))
        for options in [CorpusOptions(minimumLength: -1), CorpusOptions(testPercent: 101), CorpusOptions(threads: 0)] {
            XCTAssertThrowsError(try LanguageCorpus.load(from: folder, options: options)) { error in
                guard case .invalidOption? = error as? CorpusError else { return XCTFail("\(error)") }
            }
        }
        XCTAssertEqual(shortVariant(of: "abc def", maxCharacters: 0), "")
        XCTAssertEqual(shortVariant(of: "abc def", maxCharacters: -5), "")
    }
}
