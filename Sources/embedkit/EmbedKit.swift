// embedkit: the EmbeddingKit command-line tool.
//
//   embedkit examples seed000|seed001|seed002|seed003   the seed documents, in Swift
//   embedkit langid train|eval|predict                  CLD3-style language identification

import ArgumentParser

@main
struct EmbedKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embedkit",
        abstract: "EmbeddingKit: sparse embedding models on Linux CPUs.",
        subcommands: [ExamplesCommand.self, LangIDCommand.self]
    )
}
