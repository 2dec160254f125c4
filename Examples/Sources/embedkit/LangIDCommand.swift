import ArgumentParser
import LangID

/// `embedkit langid`: train, evaluate and run the CLD3-style language identifier.
struct LangIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "langid",
        abstract: "CLD3-style language identification, trained on Debian's fortune files.",
        subcommands: [Train.self, Eval.self, Predict.self, Quantize.self]
    )
}

/// Options the subcommands share.
struct CommonOptions: ParsableArguments {
    @Option(help: "The fortune folder (Debian's fortunes packages install it).")
    var corpus = LanguageCorpus.defaultFolder
    @Option(help: "Kernel and featurisation threads (1 to \(maxThreads)).")
    var threads = 2

    func validate() throws {
        try validateThreads(threads)
        guard !corpus.isEmpty else { throw ValidationError("--corpus: empty path") }
    }
}
