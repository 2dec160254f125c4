import ArgumentParser

/// `embedkit examples`: the Swift version of each seed document, printing what the document prints.
struct ExamplesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "examples",
        abstract: "Run the Swift version of a seed document (../shared/seeds)."
    )
}
