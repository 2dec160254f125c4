// swift-tools-version: 6.2
//
// EmbeddingKitExamples: what is built on EmbeddingKit but is not the library — the `embedkit`
// command-line tool, the language identifier of `make demo` (a library product here, `LangID`), the
// Swift versions of the seed documents, and the Swift half of `make bench`. A package of its own so
// that the library (../Package.swift) carries no tool-only dependency: swift-argument-parser is
// resolved here, never by a package that depends on EmbeddingKit.
//
// Build from the repository root with make (`make demo`, `make bench`, `make test-swift`), or here
// with `swift build` / `swift test`. EmbeddingKit comes from the enclosing checkout (by path), so the
// examples always build against the library next to them.

import PackageDescription

let package = Package(
    name: "EmbeddingKitExamples",
    products: [
        .library(name: "LangID", targets: ["LangID"]),
        .executable(name: "embedkit", targets: ["embedkit"]),
    ],
    dependencies: [
        .package(name: "EmbeddingKit", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        /// CLD3-style language identification built on EmbeddingKit (the `make demo` model).
        .target(
            name: "LangID",
            dependencies: [.product(name: "EmbeddingKit", package: "EmbeddingKit")]
        ),

        /// The Swift versions of the four seed documents, as library code the CLI and tests share.
        .target(
            name: "SeedExamples",
            dependencies: [.product(name: "EmbeddingKit", package: "EmbeddingKit")]
        ),

        /// `embedkit`: the command-line tool (seed examples, language identification).
        .executableTarget(
            name: "embedkit",
            dependencies: [
                "LangID", "SeedExamples",
                .product(name: "EmbeddingKit", package: "EmbeddingKit"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        /// W5 and W9 of `make bench` written against the public Swift API (Benchmarks/README.md).
        .executableTarget(
            name: "ek-swift-bench",
            dependencies: [.product(name: "EmbeddingKit", package: "EmbeddingKit")]
        ),

        // MARK: - Tests

        /// The seed examples run and print what the documents print; seed 000's training behaviour.
        .testTarget(
            name: "SeedExamplesTests",
            dependencies: ["SeedExamples", .product(name: "EmbeddingKit", package: "EmbeddingKit")]
        ),
        .testTarget(
            name: "LangIDTests",
            dependencies: ["LangID", .product(name: "EmbeddingKit", package: "EmbeddingKit")],
            exclude: ["Fixtures"]   // read from the source tree (#filePath), not bundled
        ),
        /// The `embedkit` commands in-process (option validation, output paths, predict's input) and
        /// a few runs of the built binary (exit codes, --version, logs without progress frames).
        .testTarget(
            name: "EmbedKitCLITests",
            dependencies: ["embedkit", "LangID",
                           .product(name: "EmbeddingKit", package: "EmbeddingKit"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
    ]
)
