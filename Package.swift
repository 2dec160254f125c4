// swift-tools-version: 6.2
//
// EmbeddingKit: sparse embedding models on Linux CPUs. The Swift library `EmbeddingKit` sits on the
// C target `CKernels` (C11 + OpenMP kernels, the C ABI in CKernels/include/embeddingkit.h).
// C programs use the same kernels through libembeddingkit, built by the Makefile (`make lib`).
//
// System libraries (Debian/Ubuntu, `make deps`): libopenblas-dev, libomp-dev.
//
// OpenMP under SwiftPM: the toolchain's clang compiles `-fopenmp` (the kernels declare the few
// runtime calls they use instead of including omp.h, which this clang cannot see), but at link time
// SwiftPM does not pass `-fopenmp`, so the LLVM OpenMP runtime is linked explicitly. Debian's
// libomp-dev installs it as libomp5.so (there is no plain libomp.so on the default search path),
// hence `.linkedLibrary("omp5")`.

import PackageDescription

// MARK: - Public API

let package = Package(
    name: "EmbeddingKit",
    products: [
        .library(name: "EmbeddingKit", targets: ["EmbeddingKit"]),
        .executable(name: "embedkit", targets: ["embedkit"]),
        .library(name: "EmbeddingKitDistributed", targets: ["EmbeddingKitDistributed"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - Implementation

        /// The C kernel library and its C ABI. Every loop over data lives here.
        .target(
            name: "CKernels",
            path: "CKernels",
            sources: ["src"],
            publicHeadersPath: "include",
            cSettings: [
                .headerSearchPath("src"),
                .unsafeFlags(["-fopenmp", "-O3"]),
            ],
            linkerSettings: [
                .linkedLibrary("omp5"),
                .linkedLibrary("openblas"),
                .linkedLibrary("m"),
            ]
        ),

        /// The Swift layer: tensors, autograd, modules, optimizers, safetensors checkpoints.
        .target(
            name: "EmbeddingKit",
            dependencies: ["CKernels"],
            path: "Sources/EmbeddingKit"
        ),

        /// CLD3-style language identification built on EmbeddingKit (the `make demo` model).
        .target(
            name: "LangID",
            dependencies: ["EmbeddingKit"],
            path: "Sources/LangID"
        ),

        /// The Swift versions of the four seed documents, as library code the CLI and tests share.
        .target(
            name: "SeedExamples",
            dependencies: ["EmbeddingKit"],
            path: "Sources/SeedExamples"
        ),

        /// `embedkit`: the command-line tool (seed examples, language identification).
        .executableTarget(
            name: "embedkit",
            dependencies: [
                "EmbeddingKit", "LangID", "SeedExamples",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/embedkit"
        ),

        /// W5 and W9 of `make bench` written against the public Swift API (Benchmarks/README.md).
        .executableTarget(
            name: "ek-swift-bench",
            dependencies: ["EmbeddingKit"],
            path: "Benchmarks/swift"
        ),

        // MARK: - Distributed (MPI)
        // Opt-in (docs/DISTRIBUTED.md): these targets need Open MPI (libopenmpi-dev, `make deps`); the
        // products above build without it. The C library is the one mpicc builds (make lib-dist).

        /// MPI itself, found through pkg-config's ompi-c.
        .systemLibrary(
            name: "CMPI",
            path: "Distributed/CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        /// libembeddingkit_dist: sharded EmbeddingBag collections over MPI (embeddingkit_dist.h).
        .target(
            name: "CEmbeddingKitDistributed",
            dependencies: ["CKernels", "CMPI"],
            path: "Distributed",
            exclude: ["CMPI", "Swift", "SwiftCheck", "embeddingkit_dist.pc.in"],
            sources: ["src"],
            publicHeadersPath: "include"
        ),
        /// The Swift API over it: ShardedEmbeddingBags, MPI.initialize / rank / size.
        .target(
            name: "EmbeddingKitDistributed",
            dependencies: ["EmbeddingKit", "CEmbeddingKitDistributed", "CKernels", "CMPI"],
            path: "Distributed/Swift"
        ),
        /// Run under mpirun by `make test-mpi`: the Swift API against the core on the global batch.
        .executableTarget(
            name: "ekd-swift-check",
            dependencies: ["EmbeddingKitDistributed", "EmbeddingKit", "CKernels"],
            path: "Distributed/SwiftCheck"
        ),

        // MARK: - Tests

        .testTarget(
            name: "EmbeddingKitTests",
            dependencies: ["EmbeddingKit", "CKernels", "SeedExamples"],
            path: "Tests/EmbeddingKitTests"
        ),
        .testTarget(
            name: "LangIDTests",
            dependencies: ["LangID", "EmbeddingKit"],
            path: "Tests/LangIDTests",
            exclude: ["Fixtures"]   // read from the source tree (#filePath), not bundled
        ),
        /// The `embedkit` commands in-process (option validation, output paths, predict's input) and
        /// a few runs of the built binary (exit codes, --version, logs without progress frames).
        .testTarget(
            name: "EmbedKitCLITests",
            dependencies: ["embedkit", "LangID", "EmbeddingKit", "CKernels",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tests/EmbedKitCLITests"
        ),
    ],
    cLanguageStandard: .c11
)
