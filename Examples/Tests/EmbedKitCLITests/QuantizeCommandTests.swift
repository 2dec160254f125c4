import EmbeddingKit
import Foundation
import Testing
@testable import embedkit
@testable import LangID

/// `embedkit langid quantize` in-process (issue 18): it writes a model `langid predict` and `langid
/// eval` read, and a run that fails — missing, damaged or already quantized model, a table the
/// format cannot hold, a folder in the way — leaves an existing output file as it was.
@Suite("embedkit langid quantize")
struct QuantizeCommandTests {
    static let corpus = CommandTests.corpus

    /// A small untrained model of the mini corpus's languages, saved in `dir`.
    static func floatModel(in dir: String, nanAt row: Int? = nil) throws -> String {
        let model = try LangIDModel(LangIDConfiguration(orders: [1, 2], buckets: [64, 128], dimensions: [4, 4], hidden: 8,
                                                        languages: ["de", "en", "es", "pl", "ru"]), generator: Generator(seed: 3))
        if let row {
            var state = model.stateDict()
            var w = state["embeddings.1.weight"]!.scalars
            w[row * 4 + 2] = .nan
            state["embeddings.1.weight"] = Tensor(shape: [128, 4], values: w)
            try model.loadStateDict(state)
        }
        let path = dir + (row == nil ? "/float.safetensors" : "/nan.safetensors")
        try model.save(to: path)
        return path
    }

    static func quantize(_ arguments: [String]) throws {
        let command = try #require(try EmbedKit.parseAsRoot(["langid", "quantize", "--threads", "1"] + arguments) as? LangIDCommand.Quantize)
        try command.run()
    }

    @Test func quantizeWritesAModelThatPredictAndEvalRead() throws {
        let dir = try CommandTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let float = try Self.floatModel(in: dir)
        let out = dir + "/sub/q4.safetensors"             // the folder is created
        try Self.quantize(["--model", float, "--bits", "4", "--output", out, "--corpus", Self.corpus, "--no-held-out"])
        let q = try #require(try loadLangIDClassifier(from: out) as? QuantizedLangIDModel)
        #expect(q.embeddings.map(\.format) == [.int4, .int4])
        let lines = try answers([InputLine(text: "Der frühe Vogel fängt den Wurm.", cut: false)], predictor: LangIDPredictor(q), top: 2)
        #expect(lines.count == 1 && lines[0].hasSuffix("\tDer frühe Vogel fängt den Wurm."))
        let eval = try #require(try EmbedKit.parseAsRoot(["langid", "eval", "--model", out, "--corpus", Self.corpus, "--no-held-out",
                                                          "--threads", "1"]) as? LangIDCommand.Eval)
        try eval.run()
        // the default output: next to the model
        try Self.quantize(["--model", float, "--no-evaluate"])
        #expect(try QuantizedLangIDModel.load(from: dir + "/float.q8.safetensors").embeddings.map(\.format) == [.int8, .int8])
    }

    @Test func aFailedQuantizeLeavesTheOutputIntact() throws {
        let dir = try CommandTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/out.safetensors"
        let old = Data("the previous output".utf8)
        try old.write(to: URL(fileURLWithPath: out))
        let float = try Self.floatModel(in: dir)
        let damaged = dir + "/damaged.safetensors"
        try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: damaged))
        let quantized = dir + "/q.safetensors"
        try Self.quantize(["--model", float, "--output", quantized, "--no-evaluate"])
        let nan = try Self.floatModel(in: dir, nanAt: 5)

        let cases: [(String, String)] = [
            (dir + "/missing.safetensors", "cannot read '\(dir)/missing.safetensors': open: No such file or directory"),
            (damaged, "\(damaged): not a language-ID model file (header of"),
            (quantized, "\(quantized): a quantized language-ID model (format 'embedkit-langid-quantized-1', tables rowwise_q8,rowwise_q8) "
                        + "can only predict (langid predict, langid eval); this needs the float32 model it was made from"),
            (nan, "cannot quantize \(nan): table embeddings.1 (n-gram order 2): quantize: src[5, 2]=nan is not finite"),
        ]
        for (model, message) in cases {
            #expect { try Self.quantize(["--model", model, "--output", out, "--no-evaluate"]) } throws: { error in
                "\(error)".contains(message) || { print("got: \(error)"); return false }()
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == old, "\(model)")
        }
        try FileManager.default.createDirectory(atPath: dir + "/folder.safetensors", withIntermediateDirectories: false)
        #expect { try Self.quantize(["--model", float, "--output", dir + "/folder.safetensors", "--no-evaluate"]) } throws: {
            "\($0)".contains("'\(dir)/folder.safetensors' is a folder")
        }
    }
}
