// swift-tools-version: 6.2
//
// EmbeddingKit: sparse embedding models on Linux CPUs. The Swift library `EmbeddingKit` sits on the
// C target `CKernels` (C11 + OpenMP kernels, the C ABI in CKernels/include/embeddingkit.h).
// C programs use the same kernels through libembeddingkit, built by the Makefile (`make lib`).
//
// This package holds the library only. The `embedkit` tool, the language identifier (LangID), the
// seed examples and the Swift bench are a package of their own in Examples/ (it depends on this one
// by path and on swift-argument-parser), so a package that depends on EmbeddingKit resolves no
// tool-only dependency.
//
// System libraries (Debian/Ubuntu, `make deps`): libopenblas-dev, libomp-dev, declared below as
// system-library targets (SystemLibraries/) so that SwiftPM names the package to install.
//
// OpenMP under SwiftPM: the toolchain's clang compiles `-fopenmp` (the kernels declare the few
// runtime calls they use instead of including omp.h, which this clang cannot see), but at link time
// SwiftPM does not pass `-fopenmp`, so the LLVM OpenMP runtime is linked explicitly. Debian's
// libomp-dev installs it as libomp5.so (there is no plain libomp.so on the default search path),
// hence `.linkedLibrary("omp5")`.

import Foundation   // ProcessInfo: EK_DOCS below
import PackageDescription

// MARK: - Public API

let package = Package(
    name: "EmbeddingKit",
    products: [
        .library(name: "EmbeddingKit", targets: ["EmbeddingKit"]),
        .library(name: "EmbeddingKitDistributed", targets: ["EmbeddingKitDistributed"]),
    ],
    dependencies: [],
    targets: [
        // MARK: - Implementation

        /// The C kernel library and its C ABI. Every loop over data lives here.
        .target(
            name: "CKernels",
            dependencies: ["COpenMP", "COpenBLAS"],
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

        // MARK: - System libraries

        /// LLVM's OpenMP runtime (libomp5.so). Debian ships no .pc file for it, so no pkgConfig: a
        /// missing runtime shows as the linker's `cannot find -lomp5` (README, "Troubleshooting").
        .systemLibrary(
            name: "COpenMP",
            path: "SystemLibraries/COpenMP",
            providers: [.apt(["libomp-dev"])]
        ),

        /// OpenBLAS (cblas_sgemm). pkg-config `openblas` gives the header and library paths; when it
        /// is missing SwiftPM prints "you may be able to install openblas using your system-packager:
        /// apt-get install libopenblas-dev".
        .systemLibrary(
            name: "COpenBLAS",
            path: "SystemLibraries/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
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
            dependencies: ["EmbeddingKit", "CKernels"],
            path: "Tests/EmbeddingKitTests"
        ),
    ],
    cLanguageStandard: .c11
)

// MARK: - Documentation

// `make docs` (EK_DOCS=1 swift package generate-documentation): the DocC plugin, declared only then,
// so that packages depending on EmbeddingKit never resolve it.
if ProcessInfo.processInfo.environment["EK_DOCS"] == "1" {
    package.dependencies.append(
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"))
}
