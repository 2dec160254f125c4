import ArgumentParser
import EmbeddingKit
import LangID

extension LangIDCommand {
    /// `embedkit langid eval`: the saved model on the corpus's held-out 20 % and on the held-out
    /// genres `langid train` reports (the tutorials that are installed).
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Evaluate a saved model on the corpus's held-out 20 % and the held-out genres.")
        @OptionGroup var common: CommonOptions
        @Option(help: "The model file (float32 or quantized).") var model = "build/langid/langid.safetensors"
        @Flag(inversion: .prefixedNo, help: "Also test on the held-out genres (Vim's tutorial; Emacs's where installed).")
        var heldOut = true

        func validate() throws {
            guard !model.isEmpty else { throw ValidationError("--model: empty path") }
        }

        func run() throws {
            try setNumThreads(common.threads)
            let model = try loadLangIDClassifier(from: self.model)
            let corpus = try LanguageCorpus.load(from: common.corpus, options: CorpusOptions(threads: common.threads))
            // the held-out genres of the model's languages, as `langid train` reads them (no word lists)
            let languages = Set(model.configuration.languages)
            let extra = try SupplementaryCorpus.load(
                wordLists: [], samplesPerLanguage: 0,
                heldOutText: heldOut ? DebianSources.heldOutTexts.filter { languages.contains($0.language) } : [],
                threads: common.threads)
            for file in extra.skipped where !file.reason.contains("emacs-common") { print("skipped \(file)") }
            try evaluate(model, corpus: corpus, heldOut: extra.heldOutGenres, threads: common.threads)
        }
    }
}
