import EmbeddingKit
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import embedkit
@testable import LangID

/// The commands' parts in-process: output paths (item 16), predict's input (items 13 and 18), the
/// one-language corpus (item 18), the progress bar off a terminal (item 19).
@Suite("embedkit commands")
struct CommandTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../LangIDTests/Fixtures/mini-fortunes").standardized.path

    static func temporaryFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("embedkit-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func outputPathsAreWorkedOutFromTheModelPath() throws {
        let bare = try TrainOutput("model.safetensors")
        #expect((bare.folder, bare.curve) == (".", "model.svg"))
        let nested = try TrainOutput("a/b.c/langid.safetensors")
        #expect((nested.folder, nested.curve) == ("a/b.c", "a/b.c/langid.svg"))
        let plain = try TrainOutput("/m")
        #expect((plain.folder, plain.curve) == ("/", "/m.svg"))
        #expect((try TrainOutput("d/.hidden")).curve == "d/.hidden.svg")
    }

    /// Checked before training: a folder is created; a folder in place of the model or the curve,
    /// a file in place of the folder, or a device are refused.
    @Test func outputPathsAreCheckedBeforeTraining() throws {
        let dir = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TrainOutput(dir + "/new/deeper/m.safetensors").prepare()
        var isFolder: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: dir + "/new/deeper", isDirectory: &isFolder) && isFolder.boolValue)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/new/deeper").isEmpty)   // the probe is gone

        try FileManager.default.createDirectory(atPath: dir + "/taken.safetensors", withIntermediateDirectories: false)
        #expect { try TrainOutput(dir + "/taken.safetensors").prepare() } throws: { "\($0)".contains("is a folder") }
        try FileManager.default.createDirectory(atPath: dir + "/m2.svg", withIntermediateDirectories: false)
        #expect { try TrainOutput(dir + "/m2.safetensors").prepare() } throws: { "\($0)".contains("m2.svg' is a folder") }
        #expect(FileManager.default.createFile(atPath: dir + "/file", contents: Data([1])))
        #expect { try TrainOutput(dir + "/file/m.safetensors").prepare() } throws: { "\($0)".contains("is not a folder") }
        #expect { try TrainOutput("/dev/null").prepare() } throws: { "\($0)".contains("is not a regular file") }
        #expect { try TrainOutput("/proc/embedkit-test/m.safetensors").prepare() } throws: { "\($0)".contains("cannot create the folder") }
    }

    /// A model that cannot be saved where asked is saved in the temporary folder, and the error says where.
    @Test func aTrainedModelIsNeverLost() throws {
        let dir = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let output = try TrainOutput(dir + "/gone/m.safetensors")
        try output.prepare()
        try FileManager.default.removeItem(atPath: dir + "/gone")          // the folder vanishes during training
        let model = try LangIDModel(LangIDConfiguration(orders: [1], buckets: [4], dimensions: [2], hidden: 3, languages: ["a", "b"]))
        var message = ""
        #expect { try output.save(model, lossCurve: "<svg/>") } throws: { message = "\($0)"; return true }
        #expect(message.contains("cannot save the trained model") && message.contains("it was saved to '"), "\(message)")
        let fallback = message.components(separatedBy: "it was saved to '").last?.components(separatedBy: "'").first ?? ""
        defer { try? FileManager.default.removeItem(atPath: fallback) }
        #expect(try LangIDModel.load(from: fallback).configuration == model.configuration)
    }

    /// A corpus with one language is refused before training (it used to train and report 100 %),
    /// and nothing is written.
    @Test func aOneLanguageCorpusIsRefused() throws {
        let dir = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/corpus", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.corpus + "/fortunes", toPath: dir + "/corpus/fortunes")
        let train = try #require(try EmbedKit.parseAsRoot(
            ["langid", "train", "--corpus", dir + "/corpus", "--output", dir + "/m.safetensors", "--epochs", "1",
             "--word-samples", "0", "--no-held-out"]) as? LangIDCommand.Train)
        #expect { try train.run() } throws: { "\($0)".contains("training samples of 1 language(s) [\"en\"]; a language identifier needs at least two") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.safetensors"))
    }

    /// An empty or whitespace-only text gets "no text" (it got a prediction, `it 0.167`).
    @Test func blankTextsGetNoText() throws {
        let model = try LangIDModel(LangIDConfiguration(orders: [1], buckets: [4], dimensions: [2], hidden: 3, languages: ["a", "b"]))
        model.eval()
        let inputs = ["", "  \t ", "hello", "\u{3000}"].map { InputLine(text: $0, cut: false) }
        let lines = try answers(inputs, predictor: LangIDPredictor(model), top: 2)
        #expect(lines.count == 4)
        #expect(lines[0] == "no text\t" && lines[1] == "no text\t  \t " && lines[3] == "no text\t\u{3000}")
        #expect(lines[2].hasSuffix("\thello") && lines[2].hasPrefix("a ") || lines[2].hasPrefix("b "))
    }

    /// Standard input is read line by line keeping at most `maxBytes` of each line, cut back to a
    /// character boundary; the rest is dropped unread into memory.
    @Test func theLineReaderBoundsEachLine() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let input = Array("short\r\n\n".utf8) + Array(repeating: UInt8(ascii: "x"), count: 9) + Array("é".utf8) + Array(repeating: UInt8(ascii: "y"), count: 200_000)
            + Array("\nlast".utf8)
        let writeEnd = fds[1]
        let writer = Thread {
            input.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count { let n = write(writeEnd, raw.baseAddress! + done, raw.count - done); if n <= 0 { break }; done += n }
            }
            close(writeEnd)
        }
        writer.start()
        let reader = LineReader(fd: fds[0], maxBytes: 10)
        var lines: [InputLine] = []
        while let line = try reader.next() { lines.append(line) }
        close(fds[0])
        #expect(lines == [InputLine(text: "short", cut: false), InputLine(text: "", cut: false),
                          InputLine(text: "xxxxxxxxx", cut: true), InputLine(text: "last", cut: false)])
    }

    /// Off a terminal the bar draws no `\r` frames: one plain line per finished epoch.
    @Test func theProgressBarDrawsNoFramesOffATerminal() {
        let bar = ProgressBar(terminal: false)
        var printed: [String] = []
        bar.printLine = { printed.append($0) }
        for epoch in 0..<2 {
            for step in 1...50 {
                bar.update(TrainingProgress(epoch: epoch, epochs: 2, step: step, stepsPerEpoch: 50, loss: 1, samplesPerSecond: 10, elapsed: 1))
            }
        }
        #expect(printed.count == 2)
        #expect(printed.allSatisfy { !$0.contains("\r") && $0.hasPrefix("epoch ") })
    }
}
