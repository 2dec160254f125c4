import ArgumentParser
import CKernels
import Foundation
import Testing
@testable import embedkit

/// Every numeric option of every subcommand is checked in `validate()`: a bad value is a usage
/// error (exit 64) whose usage line names the subcommand, before any work (issue 14, item 15).
@Suite("embedkit option validation")
struct OptionValidationTests {
    /// Parses like `embedkit <arguments>` and returns the exit code and the message ArgumentParser prints.
    static func parse(_ arguments: [String]) -> (code: Int32, message: String) {
        do {
            _ = try EmbedKit.parseAsRoot(arguments)
            return (0, "")
        } catch {
            return (EmbedKit.exitCode(for: error).rawValue, EmbedKit.fullMessage(for: error))
        }
    }

    @Test(arguments: [
        (["--batch-size", "0"], "--batch-size: 0 is outside 1...1048576"),
        (["--batch-size=-1"], "--batch-size: -1 is outside"),
        (["--batch-size", "9223372036854775807"], "--batch-size: 9223372036854775807 is outside"),
        (["--epochs=-1"], "--epochs: -1 is outside 1...10000"),
        (["--epochs", "0"], "--epochs: 0 is outside 1...10000"),
        (["--hidden", "0"], "--hidden: 0 is outside 1...4096"),
        (["--hidden=-1"], "--hidden: -1 is outside 1...4096"),
        (["--dropout", "2"], "--dropout: 2.0 is outside [0, 1)"),
        (["--dropout", "nan"], "--dropout: nan is outside [0, 1)"),
        (["--dropout=-0.1"], "--dropout: -0.1 is outside [0, 1)"),
        (["--storage", "f64"], "--storage: f64 is not one of f32, bf16, bf16-nearest, f16"),
        (["--buckets", "3000000000"], "--buckets: 3000000000 at position 0 is outside 1...16777216"),
        (["--buckets", "1,2"], "--buckets: 2 values for 5 n-gram orders"),
        (["--orders", "1,1"], "--orders: order 1 at position 1 repeats position 0"),
        (["--orders", "65"], "--orders: order 65 at position 0 is outside -1...64"),
        (["--orders", "1,,2"], "--orders: '' at position 1 is not an integer"),
        (["--dim", "0"], "--dim: 0 at position 0 is outside 1...1024"),
        (["--dim", "1024", "--buckets", "16777216"], "the model would have"),
        (["--short-training=-5"], "--short-training: -5 is outside 0...10000"),
        (["--lr", "nan"], "--lr: nan is outside"),
        (["--lr=-0.5"], "--lr: -0.5 is outside"),
        (["--balance=-1"], "--balance: -1 is outside 0...1000000"),
        (["--threads", "0"], "--threads: 0 is outside 1...1024"),
        (["--threads", "100000"], "--threads: 100000 is outside 1...1024"),
        (["--output", "."], "--output '.' names a folder"),
        (["--output", "d/"], "--output 'd/' names a folder"),
        (["--output", "d/curve.svg"], "the model's own extension cannot be .svg"),
        (["--output", ""], "--output: empty path"),
    ])
    func trainRefusesBadOptions(arguments: [String], message: String) {
        let result = Self.parse(["langid", "train"] + arguments)
        #expect(result.code == 64)
        #expect(result.message.contains(message), "\(result.message)")
        #expect(result.message.contains("Usage: embedkit langid train"), "\(result.message)")
    }

    @Test(arguments: [
        (["langid", "eval", "--threads", "0"], "--threads: 0 is outside 1...1024", "embedkit langid eval"),
        (["langid", "eval", "--threads=-3"], "--threads: -3 is outside", "embedkit langid eval"),
        (["langid", "eval", "--model", ""], "--model: empty path", "embedkit langid eval"),
        (["langid", "predict", "--top", "0"], "--top: 0 is below 1", "embedkit langid predict"),
        (["langid", "predict", "--top=-1"], "--top: -1 is below 1", "embedkit langid predict"),
        (["langid", "predict", "--threads", "100000", "x"], "--threads: 100000 is outside 1...1024", "embedkit langid predict"),
    ])
    func evalAndPredictRefuseBadOptions(arguments: [String], message: String, usage: String) {
        let result = Self.parse(arguments)
        #expect(result.code == 64)
        #expect(result.message.contains(message), "\(result.message)")
        #expect(result.message.contains("Usage: \(usage)"), "\(result.message)")
    }

    /// `langid quantize`: bits, paths and threads (issue 18).
    @Test(arguments: [
        (["--bits", "3"], "--bits: 3 is not 8, 4 or 2"),
        (["--bits=-8"], "--bits: -8 is not 8, 4 or 2"),
        (["--bits", "16"], "--bits: 16 is not 8, 4 or 2"),
        (["--model", ""], "--model: empty path"),
        (["--output", ""], "--output: empty path"),
        (["--output", "d/"], "--output 'd/' names a folder"),
        (["--output", "d/.."], "--output 'd/..' names a folder"),
        (["--model", "m.safetensors", "--output", "./m.safetensors"], "--output './m.safetensors' is the --model file"),
        (["--threads", "0"], "--threads: 0 is outside 1...1024"),
        (["--corpus", ""], "--corpus: empty path"),
    ])
    func quantizeRefusesBadOptions(arguments: [String], message: String) {
        let result = Self.parse(["langid", "quantize"] + arguments)
        #expect(result.code == 64)
        #expect(result.message.contains(message), "\(result.message)")
        #expect(result.message.contains("Usage: embedkit langid quantize"), "\(result.message)")
    }

    /// Without `--output`, the quantized model goes next to the float one with `.q<bits>` in its name.
    @Test func quantizeOutputDefaultsNextToTheModel() throws {
        func output(_ arguments: [String]) throws -> String {
            try #require(try EmbedKit.parseAsRoot(["langid", "quantize"] + arguments) as? LangIDCommand.Quantize).outputPath
        }
        #expect(try output([]) == "build/langid/langid.q8.safetensors")
        #expect(try output(["--bits", "4", "--model", "a.b/model"]) == "a.b/model.q4.safetensors")
        #expect(try output(["--model", "/x/.hidden"]) == "/x/.hidden.q8.safetensors")
        #expect(try output(["--output", "o.safetensors"]) == "o.safetensors")
    }

    @Test func goodOptionsParse() {
        #expect(Self.parse(["langid", "train", "--orders", "1,3", "--buckets", "7,9", "--dim", "4", "--hidden", "1",
                            "--dropout", "0", "--epochs", "1", "--batch-size", "1", "--short-training", "0", "--balance", "0"]).code == 0)
        #expect(Self.parse(["langid", "predict", "--top", "1000", "x"]).code == 0)
    }

    /// `embedkit --version` prints the kernel library's version, which is the header's EK_VERSION.
    @Test func versionIsTheHeadersVersion() {
        let result = Self.parse(["--version"])
        #expect(result.code == 0)
        #expect(result.message == "\(EK_VERSION_MAJOR).\(EK_VERSION_MINOR).\(EK_VERSION_PATCH)")
        #expect(ek_version() == EK_VERSION_MAJOR * 10000 + EK_VERSION_MINOR * 100 + EK_VERSION_PATCH)
    }
}
