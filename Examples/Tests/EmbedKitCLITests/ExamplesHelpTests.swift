import ArgumentParser
import Foundation
import Testing
@testable import embedkit

/// `embedkit examples --help` points at what a clone has: the Swift files of the seed examples and
/// the documents' public addresses, never the workspace-only `../shared/seeds` (issue 17).
@Suite("embedkit examples --help")
struct ExamplesHelpTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardized   // Examples/

    @Test func helpNamesTheSwiftFilesAndPublicSources() throws {
        let help = EmbedKit.helpMessage(for: ExamplesCommand.self, columns: 200)
        #expect(!help.contains("shared/seeds") && !help.contains(".txt"), "\(help)")
        // the Swift code it names exists in the clone, one file per seed
        #expect(help.contains("Examples/Sources/SeedExamples/SeedNNN.swift"))
        for seed in ExamplesCommand.Seed.allCases {
            let file = Self.examples.appendingPathComponent("Sources/SeedExamples/Seed\(seed.rawValue.dropFirst(4)).swift")
            #expect(FileManager.default.fileExists(atPath: file.path), "\(file.path)")
            #expect(help.contains("\(seed.rawValue): "), "no source named for \(seed.rawValue)")
        }
        // every document with a public address is cited by it
        for address in ["https://discuss.pytorch.org/t/64997", "https://github.com/jihoonerd/pytorch-in-action",
                        "https://github.com/pnugues/pnlp"] {
            #expect(help.contains(address), "\(address) missing")
        }
    }
}
