import Foundation
import LangID
import Testing

/// A few runs of the built `embedkit` binary: exit codes (64 usage, 1 runtime, one line on
/// standard error), `--version`, and a short training whose redirected log has no `\r` frames and
/// whose model lands next to a bare `--output` file name (items 15, 16, 19).
@Suite("embedkit binary")
struct BinaryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let corpus = root.appendingPathComponent("Tests/LangIDTests/Fixtures/mini-fortunes").path

    /// The binary next to the test bundle (`swift build` puts both in the same folder).
    static var binary: URL? {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("embedkit")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        let fallback = root.appendingPathComponent(".build/debug/embedkit")
        return FileManager.default.isExecutableFile(atPath: fallback.path) ? fallback : nil
    }

    static func run(_ arguments: [String], in folder: String? = nil, stdin: String = "") throws -> (code: Int32, out: String, err: String) {
        let binary = try #require(Self.binary, "the embedkit binary is not built (swift build)")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile(), errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    @Test func exitCodesAndVersion() throws {
        let version = try Self.run(["--version"])
        #expect(version.code == 0 && version.out.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil)
        let usage = try Self.run(["langid", "train", "--batch-size", "0"])
        #expect(usage.code == 64 && usage.err.contains("Usage: embedkit langid train"))
        let runtime = try Self.run(["langid", "predict", "--model", "/nonexistent/m.safetensors", "x"])
        #expect(runtime.code == 1)
        #expect(runtime.err == "Error: cannot read '/nonexistent/m.safetensors': open: No such file or directory (errno 2)\n")
    }

    /// `langid quantize` (issue 18): 64 for a bad option, 1 with one line for a missing model; a run
    /// prints the size, the per-table error and both models' accuracy and rate; predict reads the file.
    @Test func quantizeExitCodesAndReport() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embedkit-bin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let usage = try Self.run(["langid", "quantize", "--bits", "5"])
        #expect(usage.code == 64 && usage.err.contains("--bits: 5 is not 8, 4 or 2") && usage.err.contains("Usage: embedkit langid quantize"))
        let missing = try Self.run(["langid", "quantize", "--model", dir + "/none.safetensors", "--output", dir + "/q.safetensors"])
        #expect(missing.code == 1)
        #expect(missing.err == "Error: cannot read '\(dir)/none.safetensors': open: No such file or directory (errno 2)\n")

        let model = try LangIDModel(LangIDConfiguration(orders: [1, 2], buckets: [64, 128], dimensions: [4, 4], hidden: 8,
                                                        languages: ["de", "en", "es", "pl", "ru"]))
        try model.save(to: dir + "/m.safetensors")
        let run = try Self.run(["langid", "quantize", "--model", dir + "/m.safetensors", "--bits", "8", "--corpus", Self.corpus,
                                "--no-held-out", "--threads", "1"])
        #expect(run.code == 0, "\(run.err)")
        for part in ["quantized \(dir)/m.safetensors to 8 bits: \(dir)/m.q8.safetensors", "of the float32 model's",
                     "quantization error per table", "rowwise_q8", "fortune test split:", "accuracy, full text", "accuracy, 40 ch.",
                     "samples/s"] {
            #expect(run.out.contains(part), "\(part) missing from:\n\(run.out)")
        }
        let predict = try Self.run(["langid", "predict", "--model", dir + "/m.q8.safetensors", "Der frühe Vogel fängt den Wurm."])
        #expect(predict.code == 0 && predict.out.hasSuffix("\tDer frühe Vogel fängt den Wurm.\n"), "\(predict)")
    }

    @Test func trainWithABareFileNameThenPredict() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embedkit-bin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = try Self.run(["langid", "train", "--corpus", Self.corpus, "--output", "model.safetensors", "--epochs", "2",
                                  "--balance", "0", "--buckets", "512", "--dim", "8", "--hidden", "16", "--threads", "1",
                                  "--word-samples", "0", "--fill-up", "0", "--no-held-out"], in: dir)
        #expect(train.code == 0, "\(train.err)")
        #expect(!train.err.contains("\r") && !train.out.contains("\r"))
        #expect(train.out.contains("epoch 2/2"))
        #expect(FileManager.default.fileExists(atPath: dir + "/model.safetensors") && FileManager.default.fileExists(atPath: dir + "/model.svg"))
        let predict = try Self.run(["langid", "predict", "--model", dir + "/model.safetensors"],
                                   stdin: "\n  \nDer frühe Vogel fängt den Wurm.\n" + String(repeating: "z", count: 20_000) + "\n")
        let lines = predict.out.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(predict.code == 0 && lines.count == 5, "\(predict)")
        #expect(lines[0] == "no text\t" && lines[1] == "no text\t  ")
        #expect(lines[3].hasSuffix(String(repeating: "z", count: 10_000) + "…"))
    }
}
