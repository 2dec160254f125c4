# EmbeddingKit — build, test, install. One concern per file under mk/:
#
#   mk/deps.mk      the Debian packages (make deps) and the apt_install helper the demo and fuzzing reuse
#   mk/swift.mk     the Swift packages (the library and Examples/): build, release, test-swift, docs,
#                   test-package (a package depending on EmbeddingKit by version), check-openmp
#   mk/lib.mk       the C library, twice from the same sources: gcc + libgomp (make lib, make install)
#                   and the toolchain clang + LLVM libomp (what SwiftPM compiles and links); install
#   mk/tests.mk     make test: test-c (the C suite against both builds), test-install, test-swift,
#                   test-package, docs
#   mk/sanitize.mk  sanitize-c (ASan + UBSan + LSan, gcc and clang), tsan-c, sanitize-swift
#   mk/fuzz.mk      the libFuzzer harnesses: fuzz, fuzz-ci
#   mk/bench.mk     make bench, make bench-peers (Benchmarks/README.md)
#   mk/demo.mk      make demo (the Swift language identifier), demo-corpus, demo-c (the C example)
#   mk/mpi.mk       the opt-in MPI library libembeddingkit_dist: lib-dist, test-mpi, demo-distributed
#
#   make demo       install the corpus, build in release mode, train and evaluate the language identifier
#   make test       install the system packages if missing, then run every test (C, install, Swift, the
#                   package as a consumer uses it, the DocC catalog)

SHELL := /bin/bash

# ---- tools -----------------------------------------------------------------------------------------
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
# The examples package (Examples/: the embedkit CLI, LangID, the seed examples, the Swift bench) and
# where `swift build -c release` puts its executables
EXAMPLES := Examples
SWIFT_RELEASE_BIN = $(EXAMPLES)/.build/release
# CC ?= gcc (make's built-in default `cc` counts as unset)
ifeq ($(origin CC),default)
CC := gcc
endif
AR ?= ar
PKG_CONFIG ?= pkg-config
# The Swift toolchain's clang: SwiftPM compiles CKernels with it; it also ships the sanitizer runtimes
# and libFuzzer.
SWIFT_BIN_DIR := $(patsubst %/,%,$(dir $(realpath $(SWIFT))))
TOOLCHAIN_CLANG := $(SWIFT_BIN_DIR)/clang
# Debian's libomp-dev (LLVM 14): the OpenMP runtime SwiftPM links (as libomp5) and, for TSan, Archer.
OMP_LIBDIR ?= $(patsubst %/,%,$(dir $(firstword $(wildcard /usr/lib/llvm-*/lib/libomp.so))))
CLANG_LD := $(if $(shell command -v ld.lld 2>/dev/null),-fuse-ld=lld,)

# ---- version: read from the header, never repeated here ------------------------------------------
HEADER := CKernels/include/embeddingkit.h
ek_version_part = $(shell sed -n 's/^\#define EK_VERSION_$(1)[[:space:]]\{1,\}\([0-9]\{1,\}\).*/\1/p' $(HEADER))
VERSION_MAJOR := $(call ek_version_part,MAJOR)
VERSION_MINOR := $(call ek_version_part,MINOR)
VERSION_PATCH := $(call ek_version_part,PATCH)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

# ---- sources shared by every build of the C library -----------------------------------------------
BUILD := build
# every C file under CKernels/src, per-ISA subfolders included (SwiftPM compiles the same tree)
SRCS := $(sort $(wildcard CKernels/src/*.c CKernels/src/*/*.c CKernels/src/*/*/*.c CKernels/src/*/*/*/*.c))
CFLAGS ?= -O3
EK_CFLAGS := -std=c11 -fPIC -fopenmp -Wall -Wextra -ICKernels/include -ICKernels/src
EK_LIBS := -fopenmp -lopenblas -lm
# the C test suite, built by test-c, the sanitizers
TEST_SRCS := $(sort $(wildcard Tests/c/*.c))
TEST_DEPS := $(TEST_SRCS) $(wildcard Tests/c/*.h Tests/common/*.h)
TEST_FLAGS := -ITests/c -DEK_DEFAULT_FIXTURE_DIR=\"$(CURDIR)/Tests/Fixtures\"

.PHONY: all clean FORCE
all: lib

include mk/deps.mk
include mk/swift.mk
include mk/lib.mk
include mk/tests.mk
include mk/sanitize.mk
include mk/fuzz.mk
include mk/bench.mk
include mk/demo.mk
include mk/mpi.mk

FORCE:

# Removes build/ (both C library builds, tests, sanitizer and fuzz builds, the bench). SwiftPM's
# .build*/ scratch paths are left alone: `swift package clean`, or remove them.
clean:
	rm -rf $(BUILD)
