import ArgumentParser
import EmbeddingKit
import Foundation
import LangID

extension LangIDCommand {
    /// `embedkit langid predict`: one line per text, `<language> <probability>…<TAB><text>`, or
    /// `no text<TAB><text>` for a text with nothing but whitespace.
    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the language of each text (arguments, or one text per line of standard input).",
            discussion: """
                Only the first \(NGramFeaturizer.maxTextBytes) bytes of a text are read (as CLD3 does): the language \
                shows in its start, and memory stays bounded whatever the length of a line. A longer line of standard \
                input is echoed cut at that point, followed by '…'. Standard input is read and answered \
                \(Predict.linesPerBatch) lines at a time. An empty or whitespace-only text gets 'no text'.
                """)
        @Option(help: "The model file (float32 or quantized).") var model = "build/langid/langid.safetensors"
        @Option(help: "Show the k most likely languages (k >= 1).") var top = 1
        @Option(help: "Kernel threads (1 to \(maxThreads)).") var threads = 2
        @Argument(help: "Texts to identify; none: read lines from standard input.") var texts: [String] = []

        static let linesPerBatch = 256

        func validate() throws {
            guard top >= 1 else { throw ValidationError("--top: \(top) is below 1") }
            try validateThreads(threads)
            guard !model.isEmpty else { throw ValidationError("--model: empty path") }
        }

        func run() throws {
            try setNumThreads(threads)
            let predictor = LangIDPredictor(try loadLangIDClassifier(from: model))
            if !texts.isEmpty {
                for line in try answers(texts.map { InputLine(text: $0, cut: false) }, predictor: predictor, top: top) { print(line) }
                return
            }
            let reader = LineReader(fd: 0, maxBytes: NGramFeaturizer.maxTextBytes)
            while true {
                var batch: [InputLine] = []
                while batch.count < Self.linesPerBatch, let line = try reader.next() { batch.append(line) }
                if batch.isEmpty { break }
                for line in try answers(batch, predictor: predictor, top: top) { print(line) }
                fflush(nil)   // answers appear as their batch is done (nil: all streams; `stdout` is not concurrency-safe)
            }
        }
    }
}

/// The output lines for `inputs`: the `top` most likely languages with their probabilities, a tab
/// and the text (with `…` when it was cut), or `no text` for a text with nothing to read.
func answers(_ inputs: [InputLine], predictor: LangIDPredictor, top: Int) throws -> [String] {
    let featurizer = predictor.model.featurizer
    let readable = inputs.filter { featurizer.hasText($0.text) }
    var probabilities = try predictor.probabilities(readable.map(\.text))[...]
    let languages = predictor.model.configuration.languages
    return inputs.map { input in
        let echo = input.text + (input.cut ? "…" : "")
        guard featurizer.hasText(input.text), let p = probabilities.popFirst() else { return "no text\t" + echo }
        let ranked = p.indices.sorted { p[$0] > p[$1] }.prefix(top)
        return ranked.map { "\(languages[$0]) \(String(format: "%.3f", p[$0]))" }.joined(separator: "  ") + "\t" + echo
    }
}
