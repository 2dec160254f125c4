import ArgumentParser

/// `embedkit langid`: train, evaluate and run the CLD3-style language identifier.
struct LangIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "langid",
        abstract: "CLD3-style language identification (train | eval | predict)."
    )
}
