import ArgumentParser
import SeedExamples

/// `embedkit examples <seed>`: the Swift version of a seed document, printing what the document prints.
///
///     embedkit examples seed001
///     embedkit examples --list
struct ExamplesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "examples",
        abstract: "Run the Swift version of a seed document (a PyTorch tutorial EmbeddingKit was built from).",
        discussion: """
            Each seed prints what its PyTorch document prints; random values come from a seeded \
            generator. The Swift code is Examples/Sources/SeedExamples/SeedNNN.swift. The documents:

            seed000: the PyTorch forums question "Different prediction results update different \
            weights in the model", https://discuss.pytorch.org/t/64997

            seed001: the notebook "embedding_layer" (January 2023)

            seed002: embedding/embedding.ipynb of https://github.com/jihoonerd/pytorch-in-action

            seed003: Pierre Nugues, "Tatoeba: PyTorch Embeddings"; a later version is \
            notebooks/11_03_pytorch_embeddings.ipynb of https://github.com/pnugues/pnlp
            """
    )

    /// The seeds by name.
    enum Seed: String, CaseIterable, ExpressibleByArgument {
        case seed000, seed001, seed002, seed003

        /// The Swift version of the document, or nil while it is not written yet.
        var example: (any SeedExample.Type)? {
            switch self {
            case .seed000: return Seed000.self
            case .seed001: return Seed001.self
            case .seed002: return Seed002.self
            case .seed003: return Seed003.self
            }
        }
    }

    @Argument(help: "The seed document to run.")
    var seed: Seed?

    @Flag(name: .long, help: "List the seeds and what each shows.")
    var list = false

    func run() throws {
        if list {
            for s in Seed.allCases { print("\(s.rawValue)  \(s.example?.summary ?? "(not available yet)")") }
            return
        }
        guard let seed else { throw ValidationError("Name a seed (--list shows them).") }
        guard let example = seed.example else { throw ValidationError("\(seed.rawValue) is not available yet.") }
        try example.run()
    }
}
