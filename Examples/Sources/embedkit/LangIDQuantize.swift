import ArgumentParser
import EmbeddingKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LangID

extension LangIDCommand {
    /// `embedkit langid quantize`: the float32 model's n-gram tables quantized row-wise to 8, 4 or 2
    /// bits (the dense layers stay float32), written as one file that `langid predict` and `langid
    /// eval` read like the float model; then size, per-table quantization error, and accuracy and
    /// prediction rate of both models from the same run, side by side.
    struct Quantize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Quantize a trained model's n-gram tables to 8, 4 or 2 bits; compare size, accuracy and speed with the float32 model.",
            discussion: """
                The quantized model is read back from --output and evaluated on the corpus's held-out 20 % (full text and \
                first 40 characters) and the held-out genres, next to the float32 model. Prediction rates are the best of \
                \(Quantize.timedRuns) runs of each model; they are wall-clock figures of this machine as it is.
                """)
        @OptionGroup var common: CommonOptions
        @Option(help: "The float32 model file (langid train's output).") var model = "build/langid/langid.safetensors"
        @Option(help: "Bits per table element: 8, 4 or 2.") var bits = 8
        @Option(help: "Where to write the quantized model (default: the model's path with .q<bits> before the extension).")
        var output: String?
        @Flag(inversion: .prefixedNo, help: "Compare accuracy and prediction rate with the float32 model on the corpus.")
        var evaluate = true
        @Flag(inversion: .prefixedNo, help: "Also test on the held-out genres (Vim's tutorial; Emacs's where installed).")
        var heldOut = true

        static let timedRuns = 3

        /// `--output`, or `model` with `.q<bits>` before its extension.
        var outputPath: String {
            if let output { return output }
            let slash = model.lastIndex(of: "/").map { model.index(after: $0) } ?? model.startIndex
            if let dot = model[slash...].lastIndex(of: "."), dot > slash {
                return String(model[..<dot]) + ".q\(bits)" + String(model[dot...])
            }
            return model + ".q\(bits).safetensors"
        }

        func validate() throws {
            guard [8, 4, 2].contains(bits) else { throw ValidationError("--bits: \(bits) is not 8, 4 or 2") }
            guard !model.isEmpty else { throw ValidationError("--model: empty path") }
            let out = outputPath
            guard !out.isEmpty else { throw ValidationError("--output: empty path") }
            let base = out.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? out
            guard !base.isEmpty, base != ".", base != ".." else {
                throw ValidationError("--output '\(out)' names a folder; give a file name, such as '\(out.hasSuffix("/") ? out : out + "/")langid.q\(bits).safetensors'")
            }
            guard URL(fileURLWithPath: out).standardized.path != URL(fileURLWithPath: model).standardized.path else {
                throw ValidationError("--output '\(out)' is the --model file; the float32 model would be replaced by the quantized one")
            }
            try common.validate()
        }

        func run() throws {
            try setNumThreads(common.threads)
            let out = outputPath
            let float = try LangIDModel.load(from: model)
            try Self.prepareOutput(out)
            let quantized: QuantizedLangIDModel
            do {
                quantized = try QuantizedLangIDModel(float, bits: bits)
            } catch {
                throw CLIError("cannot quantize \(model): \(error.message)")
            }
            try quantized.save(to: out)
            let floatBytes = Self.size(of: model), quantizedBytes = Self.size(of: out)
            print("quantized \(model) to \(bits) bits: \(out)")
            print("file size: \(megabytes(quantizedBytes)), \(String(format: "%.1f", 100 * Double(quantizedBytes) / Double(max(floatBytes, 1)))) % "
                  + "of the float32 model's \(megabytes(floatBytes)) (the dense layers stay float32)")
            printErrors(quantized)
            guard evaluate else { return }

            // the file just written, read back as `langid predict` reads it
            let reread = try loadLangIDClassifier(from: out)
            let corpus = try LanguageCorpus.load(from: common.corpus, options: CorpusOptions(threads: common.threads))
            let languages = Set(float.configuration.languages)
            let extra = try SupplementaryCorpus.load(
                wordLists: [], samplesPerLanguage: 0,
                heldOutText: heldOut ? DebianSources.heldOutTexts.filter { languages.contains($0.language) } : [],
                threads: common.threads)
            for file in extra.skipped where !file.reason.contains("emacs-common") { print("skipped \(file)") }
            let sets = [("fortune test split", corpus.test)] + extra.heldOutGenres.map { (heldOutTitle($0.package), $0.samples) }
            for (title, samples) in sets {
                try compare(LangIDPredictor(float), LangIDPredictor(reread), samples: samples, title: title)
            }
        }

        /// The per-table quantization error (`QuantizedEmbeddingBag.quantizationError`).
        func printErrors(_ quantized: QuantizedLangIDModel) {
            print("\nquantization error per table (|dequantized - float32|):")
            print("  table  order     rows  dim  format        max |err|    RMS err  worst row (RMS)    max |w|")
            for (i, (table, error)) in zip(quantized.embeddings, quantized.quantizationErrors).enumerated() {
                let order = quantized.configuration.orders[i]
                print(String(format: "  %5d  %5d  %7d  %3d  %@  %11.3e  %9.3e  %8d (%.2e)  %9.3e", i, order, table.count, table.dimension,
                             table.format.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0),
                             error.maxAbsolute, error.rms, error.worstRow, error.worstRowRMS, error.maxAbsoluteValue))
            }
        }

        /// Both models on one labelled set: accuracy (full text, first 40 characters), prediction
        /// rate, and how often the quantized model predicts what the float32 model predicts.
        func compare(_ float: LangIDPredictor, _ quantized: LangIDPredictor, samples: [LanguageSample], title: String) throws {
            let languages = float.model.configuration.languages
            guard let f = try measure(float, languages: languages, samples: samples, timedRuns: Self.timedRuns),
                  let q = try measure(quantized, languages: languages, samples: samples, timedRuns: Self.timedRuns) else {
                print("\n\(title): no samples in the model's languages \(languages)")
                return
            }
            func agreement(_ a: [Int], _ b: [Int]) -> String {
                percent(Double(zip(a, b).filter { $0 == $1 }.count) / Double(max(a.count, 1)))
            }
            func points(_ a: Double, _ b: Double) -> String { String(format: "%+8.2f", (b - a) * 100) }
            print("\n\(title): \(f.full.count) samples")
            print("                        float32     \(bits)-bit   difference (points)   same prediction")
            print("  accuracy, full text " + percent(f.full.accuracy) + "  " + percent(q.full.accuracy) + "   " + points(f.full.accuracy, q.full.accuracy)
                  + "              " + agreement(f.predictedFull, q.predictedFull))
            print("  accuracy, 40 ch.    " + percent(f.short.accuracy) + "  " + percent(q.short.accuracy) + "   " + points(f.short.accuracy, q.short.accuracy)
                  + "              " + agreement(f.predictedShort, q.predictedShort))
            print("  samples/s           " + String(format: "%9.0f  %9.0f   x%.2f (best of %d runs each)", f.samplesPerSecond, q.samplesPerSecond,
                                                    q.samplesPerSecond / max(f.samplesPerSecond, 1e-9), Self.timedRuns))
        }

        /// Creates the output's folder and refuses a folder or a non-regular file at the path, before
        /// anything is quantized.
        static func prepareOutput(_ path: String) throws {
            let folder = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
            try TrainOutput.makeFolders(folder, for: path)
            var info = stat()
            guard stat(path, &info) == 0 else { return }
            if info.st_mode & S_IFMT == S_IFDIR { throw CLIError("--output: '\(path)' is a folder; give a file name") }
            if info.st_mode & S_IFMT != S_IFREG { throw CLIError("--output: '\(path)' exists and is not a regular file; it will not be replaced") }
        }

        static func size(of path: String) -> Int {
            (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        }
    }
}

func megabytes(_ bytes: Int) -> String { String(format: "%.2f MB", Double(bytes) / 1e6) }
