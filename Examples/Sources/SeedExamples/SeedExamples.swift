import EmbeddingKit

/// The Swift versions of the four seed documents (PyTorch tutorials; each file names its source, and
/// the DocC articles Seed000... quote them line by line), as library code that the
/// `embedkit examples` command and the tests share.
///
/// Each seed is an enum conforming to ``SeedExample``: `Seed001`, `Seed002`, `Seed003` (and `Seed000`,
/// the Transformer model, written separately). `run(output:)` executes the document's code line for
/// line with EmbeddingKit and hands `output` what each of the document's `print` calls (or each
/// notebook cell that shows a value) prints.
public enum SeedExamples {
    /// Python's `print(a, b, ...)`: the items' descriptions separated by single spaces.
    static func line(_ items: [Any]) -> String {
        items.map { String(describing: $0) }.joined(separator: " ")
    }

    /// How PyTorch prints a parameter: `Parameter containing:` and the tensor on the next line.
    static func parameter(_ tensor: Tensor) -> String {
        "Parameter containing:\n\(tensor)"
    }
}

/// One seed document rewritten in Swift.
///
/// Conform an enum and implement ``run(output:)``; ``run()`` prints to standard output.
///
/// ```swift
/// try Seed001.run()                              // prints what the document prints
/// var lines: [String] = []
/// try Seed001.run { lines.append($0) }           // or collects it
/// ```
public protocol SeedExample {
    /// The name the `embedkit examples` command takes, for example `"seed001"`.
    static var name: String { get }
    /// One line saying what the document shows.
    static var summary: String { get }
    /// Runs the document's code. `output` receives, in order, what each printing statement prints,
    /// without the trailing newline (a multi-line tensor is one call).
    ///
    /// Throws only if EmbeddingKit rejects data the document feeds in; an error the document shows
    /// on purpose (seed 001's out-of-range index) is caught and printed.
    static func run(output: (String) -> Void) throws
}

extension SeedExample {
    /// Runs the document's code, printing to standard output.
    public static func run() throws {
        try run { Swift.print($0) }
    }
}

extension Tensor {
    /// PyTorch's printed `tensor.shape`: `torch.Size([64, 13])`.
    var torchSize: String { "torch.Size([\(shape.map(String.init).joined(separator: ", "))])" }
}
