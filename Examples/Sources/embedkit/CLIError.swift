import ArgumentParser
import EmbeddingKit
import Foundation

/// A runtime failure of a command: ArgumentParser prints `Error: <description>` (one line) and
/// exits 1. Usage errors are `ValidationError`s thrown from `validate()` (exit 64).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The most threads `--threads` accepts: the kernels' own bound (`EK_MAX_THREADS`), far above the
/// cores of any machine this runs on and below where thread creation itself fails.
let maxThreads = EmbeddingKit.maxThreads

/// Checks a `--threads` value (usage error when out of range).
func validateThreads(_ threads: Int, option: String = "--threads") throws {
    guard (1...maxThreads).contains(threads) else {
        throw ValidationError("\(option): \(threads) is outside 1...\(maxThreads)")
    }
}

/// Runs a library check whose `EmbeddingKitError` is a usage error of the command line.
func asUsageError(_ body: () throws(EmbeddingKitError) -> Void) throws {
    do { try body() } catch { throw ValidationError(error.message) }
}

/// Parses `"1,2,3"` (integers, any sign: the ranges are checked by the library); one value is
/// repeated `count` times when a count is given.
func integerList(_ text: String, option: String, count: Int? = nil) throws -> [Int] {
    var list: [Int] = []
    for (i, part) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
        guard let value = Int(part.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("\(option): '\(part)' at position \(i) is not an integer (expected integers separated by commas, got '\(text)')")
        }
        list.append(value)
    }
    guard let count, list.count != count else { return list }
    if list.count == 1 { return Array(repeating: list[0], count: count) }
    throw ValidationError("\(option): \(list.count) values for \(count) n-gram orders")
}
