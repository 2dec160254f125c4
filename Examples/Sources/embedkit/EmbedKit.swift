// embedkit: the EmbeddingKit command-line tool.
//
//   embedkit examples seed000|seed001|seed002|seed003   the seed documents, in Swift
//   embedkit langid train|eval|predict                  CLD3-style language identification
//   embedkit --version                                  the kernel library's version (EK_VERSION)
//
// Errors: a usage error (a bad option value) prints the message and the subcommand's usage and
// exits 64; a runtime error (a missing file, a bad model file) prints one line and exits 1.

import ArgumentParser
import EmbeddingKit

@main
struct EmbedKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embedkit",
        abstract: "EmbeddingKit: sparse embedding models on Linux CPUs.",
        // the linked kernel library's version, i.e. EK_VERSION of embeddingkit.h: one source of truth
        version: EmbeddingKitVersion.string,
        subcommands: [ExamplesCommand.self, LangIDCommand.self]
    )
}
