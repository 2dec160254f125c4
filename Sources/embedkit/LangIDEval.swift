import ArgumentParser
import EmbeddingKit
import LangID

extension LangIDCommand {
    /// `embedkit langid eval`: the saved model on the corpus's held-out 20 %.
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Evaluate a saved model on the corpus's held-out 20 %.")
        @OptionGroup var common: CommonOptions
        @Option(help: "The model file.") var model = "build/langid/langid.safetensors"

        func validate() throws {
            guard !model.isEmpty else { throw ValidationError("--model: empty path") }
        }

        func run() throws {
            try setNumThreads(common.threads)
            let model = try LangIDModel.load(from: self.model)
            let corpus = try LanguageCorpus.load(from: common.corpus, options: CorpusOptions(threads: common.threads))
            try evaluate(model, corpus: corpus, threads: common.threads)
        }
    }
}
