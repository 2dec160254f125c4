# EmbeddingKit — build, test, install.
#
#   make demo       install the fortune corpus, build in release mode, train and evaluate the language identifier
#   make test       install the system packages if missing, then run every test (C, install, Swift)
#
# The C library (libembeddingkit.so / .a) is built here with the system C compiler from the same
# sources that SwiftPM compiles as the CKernels target (CKernels/src/*.c).

SHELL := /bin/bash

# ---- tools -----------------------------------------------------------------------------------------
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
# where `swift build -c release` puts executables
SWIFT_RELEASE_BIN = .build/release
# CC ?= gcc (make's built-in default `cc` counts as unset)
ifeq ($(origin CC),default)
CC := gcc
endif
AR ?= ar
PKG_CONFIG ?= pkg-config

# ---- version: read from the header, never repeated here ------------------------------------------
HEADER := CKernels/include/embeddingkit.h
ek_version_part = $(shell sed -n 's/^\#define EK_VERSION_$(1)[[:space:]]\{1,\}\([0-9]\{1,\}\).*/\1/p' $(HEADER))
VERSION_MAJOR := $(call ek_version_part,MAJOR)
VERSION_MINOR := $(call ek_version_part,MINOR)
VERSION_PATCH := $(call ek_version_part,PATCH)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

# ---- install locations -----------------------------------------------------------------------------
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

# ---- the C library ---------------------------------------------------------------------------------
BUILD := build
OBJDIR := $(BUILD)/obj
LIBOUT := $(BUILD)/lib
# every C file under CKernels/src, per-ISA subfolders included (SwiftPM compiles the same tree)
SRCS := $(sort $(wildcard CKernels/src/*.c CKernels/src/*/*.c CKernels/src/*/*/*.c))
OBJS := $(patsubst CKernels/src/%.c,$(OBJDIR)/%.o,$(SRCS))
SONAME := libembeddingkit.so.$(VERSION_MAJOR)
SHARED := $(LIBOUT)/libembeddingkit.so.$(VERSION)
STATIC := $(LIBOUT)/libembeddingkit.a
VERSION_SCRIPT := CKernels/embeddingkit.map
PC_TEMPLATE := CKernels/embeddingkit.pc.in
PC := $(BUILD)/embeddingkit.pc

CFLAGS ?= -O3
EK_CFLAGS := -std=c11 -fPIC -fopenmp -Wall -Wextra -ICKernels/include -ICKernels/src
EK_LIBS := -fopenmp -lopenblas -lm

# ---- tests -----------------------------------------------------------------------------------------
TEST_SRCS := $(sort $(wildcard Tests/c/*.c))
TEST_BIN := $(BUILD)/tests/ek_tests
EXAMPLE_SRCS := $(sort $(wildcard examples/c/*.c))
# `make test-install` installs here: DESTDIR and PREFIX both exercised.
TI_ROOT := $(CURDIR)/$(BUILD)/test-install/root
TI_PREFIX := /opt/embeddingkit
TI_BIN := $(BUILD)/test-install/bin

DEPS_PACKAGES := libopenblas-dev libomp-dev pkg-config build-essential

.PHONY: all deps build release check-openmp lib test test-c test-install test-swift install demo demo-corpus demo-c clean \
        bench sanitize fuzz

all: lib

# ---- system packages (Debian / Ubuntu) -------------------------------------------------------------
# $(call apt_install,<packages>,<what for>): installs the Debian packages that are missing.
define apt_install
	@if ! command -v dpkg >/dev/null 2>&1; then \
	    echo "$(2): not a Debian/Ubuntu system; install the equivalents of $(1) yourself"; \
	    exit 0; \
	fi; \
	missing=""; \
	for p in $(1); do \
	    dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "$(2): all installed ($(1))"; exit 0; fi; \
	sudo=""; if [ "$$(id -u)" -ne 0 ]; then sudo=sudo; fi; \
	echo "$(2): installing$$missing"; \
	$$sudo apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing
endef

deps:
	$(call apt_install,$(DEPS_PACKAGES),deps)

# ---- Swift -----------------------------------------------------------------------------------------
build: check-openmp
	$(SWIFT) build

release: check-openmp
	$(SWIFT) build -c release

test-swift: check-openmp
	$(SWIFT) test

# The Swift toolchain's clang (LLVM 19+) compiles schedule(dynamic|guided|runtime) loops into calls to
# __kmpc_dispatch_deinit, which LLVM OpenMP runtimes before 19 lack (Debian 12's libomp-dev is LLVM 14):
# SwiftPM's link then fails with an undefined reference. The kernels use schedule(static[, chunk])
# (gcc + libgomp, `make lib`, does not hit this); this check says so before a long build.
check-openmp:
	@bad=$$(grep -nE 'schedule[[:space:]]*\([[:space:]]*(dynamic|guided|runtime)' CKernels/src/*.c CKernels/src/*/*.c 2>/dev/null || true); \
	if [ -n "$$bad" ]; then \
	    echo "check-openmp: use schedule(static[, chunk]) in CKernels/src: dynamic, guided and runtime schedules" >&2; \
	    echo "  need __kmpc_dispatch_deinit, which libomp before LLVM 19 (Debian 12: LLVM 14) lacks:" >&2; \
	    echo "$$bad" | sed 's/^/  /' >&2; \
	    exit 1; \
	fi

# ---- C library -------------------------------------------------------------------------------------
lib: $(SHARED) $(LIBOUT)/$(SONAME) $(LIBOUT)/libembeddingkit.so $(STATIC)

$(OBJDIR)/%.o: CKernels/src/%.c
	@mkdir -p $(@D)
	$(CC) $(EK_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(SHARED): $(OBJS) $(VERSION_SCRIPT)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(VERSION_SCRIPT) -Wl,--no-undefined \
	    $(LDFLAGS) -o $@ $(OBJS) $(EK_LIBS)

$(LIBOUT)/$(SONAME): $(SHARED)
	ln -sf $(notdir $(SHARED)) $@

$(LIBOUT)/libembeddingkit.so: $(LIBOUT)/$(SONAME)
	ln -sf $(SONAME) $@

$(STATIC): $(OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(OBJS)

$(PC): $(PC_TEMPLATE) $(HEADER) FORCE
	@mkdir -p $(@D)
	@pc_libdir='$(LIBDIR)'; pc_incdir='$(INCLUDEDIR)'; \
	[ "$$pc_libdir" = '$(PREFIX)/lib' ] && pc_libdir='$${prefix}/lib'; \
	[ "$$pc_incdir" = '$(PREFIX)/include' ] && pc_incdir='$${prefix}/include'; \
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e "s|@LIBDIR@|$$pc_libdir|g" -e "s|@INCLUDEDIR@|$$pc_incdir|g" \
	    -e 's|@VERSION@|$(VERSION)|g' $(PC_TEMPLATE) > $@.tmp && mv $@.tmp $@

FORCE:

-include $(OBJS:.o=.d)

# ---- install ---------------------------------------------------------------------------------------
install: lib $(PC)
	install -d '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(INCLUDEDIR)' '$(DESTDIR)$(PKGCONFIGDIR)'
	install -m 755 $(SHARED) '$(DESTDIR)$(LIBDIR)/'
	ln -sf $(notdir $(SHARED)) '$(DESTDIR)$(LIBDIR)/$(SONAME)'
	ln -sf $(SONAME) '$(DESTDIR)$(LIBDIR)/libembeddingkit.so'
	install -m 644 $(STATIC) '$(DESTDIR)$(LIBDIR)/'
	install -m 644 $(HEADER) '$(DESTDIR)$(INCLUDEDIR)/'
	install -m 644 $(PC) '$(DESTDIR)$(PKGCONFIGDIR)/embeddingkit.pc'
	@if [ -z '$(DESTDIR)' ]; then echo "installed into $(PREFIX) (run ldconfig if $(LIBDIR) is a system library directory)"; fi

# ---- tests -----------------------------------------------------------------------------------------
# Every test target runs even if an earlier one failed; `make test` fails if any did.
test: deps
	@failed=""; \
	for t in test-c test-install test-swift; do \
	    echo "==> make $$t"; \
	    $(MAKE) --no-print-directory $$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed" >&2; exit 1; fi

# Plain-C ABI tests, linked against the static library (which keeps the internal eki_* helpers and
# the ekref_* reference kernels the tests compare with). Prints "N passed, N failed".
test-c: $(TEST_BIN)
	env -u OMP_NUM_THREADS $(TEST_BIN)

$(TEST_BIN): $(TEST_SRCS) $(wildcard Tests/c/*.h) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(EK_CFLAGS) $(CFLAGS) -ITests/c -DEK_DEFAULT_FIXTURE_DIR=\"$(CURDIR)/Tests/Fixtures\" \
	    -o $@ $(TEST_SRCS) $(STATIC) $(EK_LIBS)

# Installs into a temporary DESTDIR + PREFIX, builds the C examples with pkg-config against the
# installed copy only, and runs them. Also checks that the shared library exports nothing but ek_*.
test-install:
	rm -rf $(BUILD)/test-install
	$(MAKE) --no-print-directory install DESTDIR=$(TI_ROOT) PREFIX=$(TI_PREFIX)
	@exported=$$(nm -D --defined-only $(TI_ROOT)$(TI_PREFIX)/lib/$(SONAME) | awk '{print $$3}' | grep -v '^ek_' || true); \
	if [ -n "$$exported" ]; then echo "test-install: symbols exported besides ek_*:" $$exported >&2; exit 1; fi; \
	echo "test-install: $(SONAME) exports only ek_* ($$(nm -D --defined-only $(TI_ROOT)$(TI_PREFIX)/lib/$(SONAME) | grep -c ' ek_') symbols)"
	@soname=$$(objdump -p $(TI_ROOT)$(TI_PREFIX)/lib/$(SONAME) | awk '$$1 == "SONAME" {print $$2}'); \
	[ "$$soname" = "$(SONAME)" ] || { echo "test-install: SONAME is '$$soname', want $(SONAME)" >&2; exit 1; }
	@mkdir -p $(TI_BIN)
	@export PKG_CONFIG_PATH=$(TI_ROOT)$(TI_PREFIX)/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(TI_ROOT); \
	flags="$$($(PKG_CONFIG) --cflags --libs embeddingkit)" || exit 1; \
	echo "pkg-config --cflags --libs embeddingkit: $$flags"; \
	[ "$$($(PKG_CONFIG) --modversion embeddingkit)" = "$(VERSION)" ] || { echo "test-install: pkg-config version mismatch" >&2; exit 1; }; \
	for src in $(EXAMPLE_SRCS); do \
	    bin=$(TI_BIN)/$$(basename $$src .c); \
	    echo "$(CC) -std=c11 -Wall -Wextra -Werror $$src -o $$bin $$flags"; \
	    $(CC) -std=c11 -Wall -Wextra -Werror $$src -o $$bin $$flags || exit 1; \
	    LD_LIBRARY_PATH=$(TI_ROOT)$(TI_PREFIX)/lib ldd $$bin | grep -q "libembeddingkit.so.$(VERSION_MAJOR) => $(TI_ROOT)$(TI_PREFIX)/lib/" \
	        || { echo "test-install: $$bin does not load the installed $(SONAME)" >&2; exit 1; }; \
	    echo "==> LD_LIBRARY_PATH=$(TI_ROOT)$(TI_PREFIX)/lib $$bin"; \
	    LD_LIBRARY_PATH=$(TI_ROOT)$(TI_PREFIX)/lib $$bin || { echo "test-install: $$bin failed" >&2; exit 1; }; \
	done; \
	echo "test-install: OK ($(words $(EXAMPLE_SRCS)) example(s) built with pkg-config and run)"

# ---- demo ------------------------------------------------------------------------------------------
# Until the language-identification demo exists (issue 5), the demo is the C example.
# make demo: the language identifier of issue 5 — Debian's fortune files in 13 languages, a CLD3-style
# model (hashed character n-grams, one EmbeddingBag per order, a hidden layer), trained and evaluated
# through the public Swift API; the model and its loss curve land in build/langid/.
FORTUNE_PACKAGES := fortunes fortunes-de fortunes-es fortunes-it fortunes-pl fortunes-ru fortunes-cs \
                    fortunes-br fortunes-bg fortunes-eo fortunes-ga fortunes-zh
# Word lists (training, as seeded pseudo-sentences) and Vim's tutorial (the held-out genre, never
# trained on): issue 20. Keep in step with DebianSources.swift; README "The demo" lists the licences.
WORDLIST_PACKAGES := wbulgarian hunspell-cs wngerman wamerican wesperanto wspanish myspell-ga wirish \
                     witalian hunspell-pl wbrazilian hunspell-ru hunspell-sk friso-dict vim-runtime
DEMO_MODEL := $(BUILD)/langid/langid.safetensors

demo-corpus:
	$(call apt_install,$(FORTUNE_PACKAGES) $(WORDLIST_PACKAGES),demo-corpus)

demo: deps demo-corpus check-openmp
	$(SWIFT) build -c release --product embedkit
	$(SWIFT_RELEASE_BIN)/embedkit langid train --output $(DEMO_MODEL)
	@echo
	@echo '$$ embedkit langid predict --top 3 "Das Leben ist schön." "La vida es bella."'
	@$(SWIFT_RELEASE_BIN)/embedkit langid predict --model $(DEMO_MODEL) --top 3 "Das Leben ist schön." "La vida es bella."

# The C example (the C ABI through pkg-config-style flags), as `make demo` ran before the Swift layer.
demo-c: deps lib
	@mkdir -p $(BUILD)/examples
	$(CC) -std=c11 -O2 -Wall -Wextra -ICKernels/include examples/c/lookup.c -o $(BUILD)/examples/lookup \
	    -L$(LIBOUT) -lembeddingkit -Wl,-rpath,'$$ORIGIN/../lib'
	$(BUILD)/examples/lookup

# ---- benchmarks (issue 4) --------------------------------------------------------------------------
# `make bench-peers` creates .venv (ignored by git) with PyTorch and numpy; `make bench` builds the
# static library, the bench harness + workload files of Benchmarks/ (gcc -O3, no -march=native: the kernels pick AVX-512 / AVX2 / scalar
# at run time) and the Swift-API bench, measures the machine's bandwidth,
# checks and times every workload of docs/WORKLOADS.md at 1 and 2 threads through the C ABI and, when
# .venv can import torch, through PyTorch (Benchmarks/peers.py, a co-process, interleaved per
# workload); prints one table and writes it to Benchmarks/results/bench-<date>.json. See
# Benchmarks/README.md. BENCH_ARGS passes options (e.g. BENCH_ARGS='--only W2,W4 --seconds 3').
BENCH_BIN := $(BUILD)/bench/ek_bench
BENCH_SRCS := $(sort $(wildcard Benchmarks/harness/*.c Benchmarks/workloads/*.c))
BENCH_CFLAGS := -std=c11 -O3 -fopenmp -Wall -Wextra -ICKernels/include -ICKernels/src -IBenchmarks -IBenchmarks/harness
BENCH_VENV := .venv
BENCH_VENV_PYTHON := $(BENCH_VENV)/bin/python
BENCH_PYTHON ?= python3
BENCH_PIP_ARGS ?=
BENCH_ARGS ?=

.PHONY: bench-peers

# W5-swift and W9 run through the Swift API: ek-swift-bench (Benchmarks/swift/main.swift), built in release
# mode in its own scratch path; without a Swift toolchain the bench says so and runs the C-ABI rows.
SWIFT_BENCH_SCRATCH := .build-bench
SWIFT_BENCH_BIN := $(SWIFT_BENCH_SCRATCH)/release/ek-swift-bench

bench: $(BENCH_BIN)
	@if command -v $(SWIFT) >/dev/null 2>&1 || [ -x $(SWIFT) ]; then \
	    $(MAKE) --no-print-directory check-openmp && \
	    echo "$(SWIFT) build -c release --scratch-path $(SWIFT_BENCH_SCRATCH) --product ek-swift-bench" && \
	    $(SWIFT) build -c release --scratch-path $(SWIFT_BENCH_SCRATCH) --product ek-swift-bench \
	        || echo "bench: the Swift build failed; W5-swift and W9 will be missing" >&2; \
	else echo "bench: no Swift toolchain ($(SWIFT)); W5-swift and W9 will be missing" >&2; fi
	$(BENCH_BIN) --python $(BENCH_VENV_PYTHON) --peers Benchmarks/peers.py --swift $(SWIFT_BENCH_BIN) \
	    --results Benchmarks/results $(BENCH_ARGS)

$(BENCH_BIN): $(BENCH_SRCS) $(wildcard Benchmarks/*.h Benchmarks/harness/*.h) $(STATIC) $(HEADER) CKernels/src/ref.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $(BENCH_SRCS) $(STATIC) $(EK_LIBS)

# Idempotent: does nothing when .venv already imports torch and numpy.
bench-peers:
	@if [ -x $(BENCH_VENV_PYTHON) ] && $(BENCH_VENV_PYTHON) -c 'import torch, numpy' 2>/dev/null; then \
	    echo "bench-peers: $(BENCH_VENV) already has torch $$($(BENCH_VENV_PYTHON) -c 'import torch; print(torch.__version__)')"; \
	else \
	    if [ ! -x $(BENCH_VENV_PYTHON) ]; then echo "$(BENCH_PYTHON) -m venv $(BENCH_VENV)"; $(BENCH_PYTHON) -m venv $(BENCH_VENV) || exit 1; fi; \
	    echo "$(BENCH_VENV_PYTHON) -m pip install $(BENCH_PIP_ARGS) torch numpy"; \
	    $(BENCH_VENV_PYTHON) -m pip install $(BENCH_PIP_ARGS) torch numpy; \
	fi

# ---- sanitizers and fuzzing (issue 6) --------------------------------------------------------------
# make sanitize-c  the C library sources and every Tests/c/*.c built with $(SAN_CC) (gcc) and
#                  -fsanitize=address,undefined -fno-sanitize-recover=all -g -O1 into build/sanitize/,
#                  the runner run with leak detection: any ASan / UBSan / LSan report fails it. Then
#                  the same with the Swift toolchain's clang and LLVM's libomp (what SwiftPM builds and
#                  links) into build/sanitize-clang/: clang's UBSan also stops at an offset applied to
#                  a NULL pointer, which gcc's does not check (issue 14: scatter.c's scratch + t * dim).
# make tsan-c      the same tests under ThreadSanitizer: the Swift toolchain's clang, LLVM's libomp and
#                  its Archer tool, which tells TSan about OpenMP's barriers (libgomp cannot; see
#                  Tests/fuzz/README.md).
# make sanitize    sanitize-c, tsan-c, and the Swift tests under ASan (swift test --sanitize=address) and
#                  with UBSan in the C target (scratch paths .build-asan and .build-ubsan).
# make fuzz        builds the libFuzzer harnesses Tests/fuzz/fuzz_*.c (clang -fsanitize=fuzzer,address,
#                  undefined) and runs each for FUZZ_SECONDS (default 60) from its committed seed corpus
#                  Tests/fuzz/corpus/<harness>/; what the fuzzer generates goes to build/fuzz/ only.
# make fuzz-ci     the same, FUZZ_CI_SECONDS (20) each: what CI runs.
SAN_CC ?= $(CC)
SAN_DIR := $(BUILD)/sanitize
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1
SAN_OBJS := $(patsubst CKernels/src/%.c,$(SAN_DIR)/obj/%.o,$(SRCS))
SAN_TEST_BIN := $(SAN_DIR)/ek_tests
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The Swift toolchain's clang ships the sanitizer runtimes and libFuzzer; it also builds the TSan run.
SWIFT_BIN_DIR := $(patsubst %/,%,$(dir $(realpath $(SWIFT))))
TOOLCHAIN_CLANG := $(SWIFT_BIN_DIR)/clang
TSAN_CC ?= $(TOOLCHAIN_CLANG)
TSAN_DIR := $(BUILD)/tsan
TSAN_TEST_BIN := $(TSAN_DIR)/ek_tests
# Debian's libomp-dev (LLVM 14): the OpenMP runtime and the Archer OMPT tool for TSan.
OMP_LIBDIR ?= $(patsubst %/,%,$(dir $(firstword $(wildcard /usr/lib/llvm-*/lib/libarcher.so))))
# The toolchain's static TSan runtime intercepts libdispatch: link the toolchain's copy.
SWIFT_RUNTIME_DIR := $(SWIFT_BIN_DIR)/../lib/swift/linux

FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SRCS := $(sort $(wildcard Tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst Tests/fuzz/%.c,%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 20
FUZZ_CC_CANDIDATES := $(TOOLCHAIN_CLANG) clang-14 clang
FUZZ_CFLAGS := -std=c11 -g -O1 -Wall -Wextra -Wno-unknown-pragmas -ICKernels/include -ICKernels/src \
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OBJS := $(patsubst CKernels/src/%.c,$(FUZZ_DIR)/obj/%.o,$(SRCS))
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/bin/%,$(FUZZ_NAMES))
FUZZ_OPTIONS := -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_RUN_SECONDS ?= $(FUZZ_SECONDS)
EK_FUZZ_ALLOW ?=

.PHONY: sanitize-c tsan-c sanitize-swift fuzz-ci fuzz-toolchain fuzz-build fuzz-run

sanitize: sanitize-c tsan-c sanitize-swift

sanitize-c: deps $(SAN_TEST_BIN)
	env -u OMP_NUM_THREADS $(SAN_ENV) $(SAN_TEST_BIN)
	@$(MAKE) --no-print-directory sanitize-c-clang

$(SAN_DIR)/obj/%.o: CKernels/src/%.c
	@mkdir -p $(@D)
	$(SAN_CC) $(EK_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(SAN_TEST_BIN): $(TEST_SRCS) $(wildcard Tests/c/*.h) $(SAN_OBJS)
	@mkdir -p $(@D)
	$(SAN_CC) $(EK_CFLAGS) $(SAN_FLAGS) -ITests/c -DEK_DEFAULT_FIXTURE_DIR=\"$(CURDIR)/Tests/Fixtures\" \
	    -o $@ $(TEST_SRCS) $(SAN_OBJS) $(EK_LIBS)

-include $(SAN_OBJS:.o=.d)

# The clang half of sanitize-c (see above): same flags, the toolchain clang, libomp from libomp-dev.
SANCL_DIR := $(BUILD)/sanitize-clang
SANCL_OBJS := $(patsubst CKernels/src/%.c,$(SANCL_DIR)/obj/%.o,$(SRCS))
SANCL_TEST_BIN := $(SANCL_DIR)/ek_tests
SANCL_LD := $(if $(shell command -v ld.lld 2>/dev/null),-fuse-ld=lld,)

.PHONY: sanitize-c-clang
sanitize-c-clang: $(SANCL_TEST_BIN)
	env -u OMP_NUM_THREADS $(SAN_ENV) $(SANCL_TEST_BIN)

$(SANCL_DIR)/obj/%.o: CKernels/src/%.c
	@[ -x '$(TSAN_CC)' ] || { echo "sanitize-c: $(TSAN_CC) not found (the Swift toolchain's clang)" >&2; exit 1; }
	@mkdir -p $(@D)
	$(TSAN_CC) $(EK_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(SANCL_TEST_BIN): $(TEST_SRCS) $(wildcard Tests/c/*.h) $(SANCL_OBJS)
	@[ -n '$(OMP_LIBDIR)' ] || { echo "sanitize-c: libomp not found under /usr/lib/llvm-*/lib (libomp-dev)" >&2; exit 1; }
	@mkdir -p $(@D)
	$(TSAN_CC) $(SANCL_LD) $(EK_CFLAGS) $(SAN_FLAGS) -ITests/c -DEK_DEFAULT_FIXTURE_DIR=\"$(CURDIR)/Tests/Fixtures\" \
	    -o $@ $(TEST_SRCS) $(SANCL_OBJS) -L$(OMP_LIBDIR) -Wl,-rpath,$(OMP_LIBDIR) -lomp -lopenblas -lm

-include $(SANCL_OBJS:.o=.d)

# TSan with libgomp reports every fork/join as a race (libgomp is not instrumented); LLVM's libomp with
# OMP_TOOL_LIBRARIES=libarcher.so gives TSan the OpenMP synchronisation, so reports are real races.
tsan-c: deps
	@[ -x '$(TSAN_CC)' ] || { echo "tsan-c: $(TSAN_CC) not found (the Swift toolchain's clang)" >&2; exit 1; }
	@[ -n '$(OMP_LIBDIR)' ] || { echo "tsan-c: libarcher.so not found under /usr/lib/llvm-*/lib (libomp-dev)" >&2; exit 1; }
	@mkdir -p $(TSAN_DIR)
	$(TSAN_CC) $(EK_CFLAGS) -fsanitize=thread -g -O1 -ITests/c -DEK_DEFAULT_FIXTURE_DIR=\"$(CURDIR)/Tests/Fixtures\" \
	    -o $(TSAN_TEST_BIN) $(SRCS) $(TEST_SRCS) -L$(OMP_LIBDIR) -Wl,-rpath,$(OMP_LIBDIR) \
	    -L$(SWIFT_RUNTIME_DIR) -Wl,-rpath,$(SWIFT_RUNTIME_DIR) -Wl,--no-as-needed -ldispatch -lBlocksRuntime \
	    -lomp -lopenblas -lm
	env -u OMP_NUM_THREADS OMP_TOOL_LIBRARIES=$(OMP_LIBDIR)/libarcher.so \
	    TSAN_OPTIONS=ignore_noninstrumented_modules=1:halt_on_error=1:exitcode=66 $(TSAN_TEST_BIN)

# ASan: XCTest's own harness leaks a few objects at exit (not EmbeddingKit's): suppressed by name only.
# UBSan: `swift test --sanitize=undefined` is refused on Linux (swiftc: "unsupported option
# '-sanitize=undefined'"; Swift code has no C-style UB), so the C target is built with clang's
# -fsanitize=undefined through -Xcc and linked with the toolchain's UBSan runtime.
SWIFT_CLANG_RT_DIR := $(firstword $(wildcard $(SWIFT_BIN_DIR)/../lib/clang/*/lib/linux))
SWIFT_UBSAN_FLAGS := -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=all -Xlinker -L$(SWIFT_CLANG_RT_DIR) \
    -Xlinker -rpath -Xlinker $(SWIFT_CLANG_RT_DIR) -Xlinker -lclang_rt.ubsan_standalone-x86_64

sanitize-swift: check-openmp
	@failed=""; \
	echo "==> $(SWIFT) test --sanitize=address --scratch-path .build-asan"; \
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/fuzz/lsan-swift.supp:print_suppressions=0 \
	    $(SWIFT) test --sanitize=address --scratch-path .build-asan || failed="$$failed address"; \
	echo "==> $(SWIFT) test --scratch-path .build-ubsan $(SWIFT_UBSAN_FLAGS)"; \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(SWIFT) test --scratch-path .build-ubsan $(SWIFT_UBSAN_FLAGS) || failed="$$failed undefined"; \
	if [ -n "$$failed" ]; then echo "sanitize-swift: FAILED:$$failed" >&2; exit 1; fi

fuzz: deps fuzz-toolchain
	@$(MAKE) --no-print-directory fuzz-run FUZZ_RUN_SECONDS=$(FUZZ_SECONDS)

fuzz-ci: deps fuzz-toolchain
	@$(MAKE) --no-print-directory fuzz-run FUZZ_RUN_SECONDS=$(FUZZ_CI_SECONDS)

# Picks the first compiler that links a libFuzzer + ASan + UBSan program (FUZZ_CC on the command line
# wins); installs Debian's clang-14 and libclang-rt-14-dev when none does. Records it in build/fuzz/cc.
fuzz-toolchain:
	@mkdir -p $(FUZZ_DIR); \
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > $(FUZZ_DIR)/probe.c; \
	probe() { "$$1" -fsanitize=fuzzer,address,undefined $$2 $(FUZZ_DIR)/probe.c -o $(FUZZ_DIR)/probe >/dev/null 2>&1; }; \
	pick() { for cc in $(if $(FUZZ_CC),$(FUZZ_CC),$(FUZZ_CC_CANDIDATES)); do \
	    command -v "$$cc" >/dev/null 2>&1 || continue; \
	    if probe "$$cc" -fuse-ld=lld; then printf '%s\n%s\n' "$$cc" -fuse-ld=lld; return 0; fi; \
	    if probe "$$cc" ""; then echo "$$cc"; return 0; fi; \
	done; return 1; }; \
	chosen=$$(pick); \
	if [ -z "$$chosen" ] && [ -z '$(FUZZ_CC)' ] && command -v apt-get >/dev/null 2>&1; then \
	    sudo=""; if [ "$$(id -u)" -ne 0 ]; then sudo=sudo; fi; \
	    echo "fuzz: no clang with libFuzzer; installing clang-14 libclang-rt-14-dev"; \
	    $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang-14 libclang-rt-14-dev; \
	    chosen=$$(pick); \
	fi; \
	[ -n "$$chosen" ] || { echo "fuzz: no compiler links -fsanitize=fuzzer,address,undefined (tried: $(if $(FUZZ_CC),$(FUZZ_CC),$(FUZZ_CC_CANDIDATES)))" >&2; exit 1; }; \
	[ "$$(cat $(FUZZ_DIR)/cc 2>/dev/null)" = "$$chosen" ] || echo "$$chosen" > $(FUZZ_DIR)/cc; \
	echo "fuzz: compiler" $$chosen

# Internal: the harnesses, with the compiler (line 1) and linker flag (line 2) fuzz-toolchain recorded.
FUZZ_CC_RECORDED = $(shell sed -n 1p $(FUZZ_DIR)/cc 2>/dev/null)
FUZZ_LD_RECORDED = $(shell sed -n 2p $(FUZZ_DIR)/cc 2>/dev/null)
.SECONDARY: $(FUZZ_OBJS)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/obj/%.o: CKernels/src/%.c $(FUZZ_DIR)/cc
	@mkdir -p $(@D)
	$(FUZZ_CC_RECORDED) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/bin/%: Tests/fuzz/%.c Tests/fuzz/fuzz_common.h $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC_RECORDED) $(FUZZ_LD_RECORDED) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) -lopenblas -lm

-include $(FUZZ_OBJS:.o=.d)

# Each harness from build/fuzz/corpus/<h> (where new inputs go) and Tests/fuzz/corpus/<h> (committed
# seeds, read only); crash files go to build/fuzz/artifacts/. Prints one line per harness; fails if any
# harness found something (its log: build/fuzz/logs/<h>.log).
fuzz-run: fuzz-build
	@failed=""; \
	mkdir -p $(FUZZ_DIR)/logs $(FUZZ_DIR)/artifacts; \
	for h in $(FUZZ_NAMES); do \
	    mkdir -p $(FUZZ_DIR)/corpus/$$h; \
	    log=$(FUZZ_DIR)/logs/$$h.log; \
	    echo "==> $$h: $(FUZZ_RUN_SECONDS) s"; \
	    EK_FUZZ_ALLOW='$(EK_FUZZ_ALLOW)' ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	        $(FUZZ_DIR)/bin/$$h $(FUZZ_OPTIONS) -max_total_time=$(FUZZ_RUN_SECONDS) \
	        -artifact_prefix=$(FUZZ_DIR)/artifacts/$$h- $(FUZZ_DIR)/corpus/$$h Tests/fuzz/corpus/$$h > $$log 2>&1; \
	    rc=$$?; \
	    execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -1); \
	    cov=$$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' $$log | tail -1); \
	    if [ $$rc -eq 0 ]; then \
	        echo "$$h: $${execs:-?} executions, $$cov, nothing found"; \
	    else \
	        failed="$$failed $$h"; \
	        echo "$$h: FAILED after $${execs:-?} executions (exit $$rc); log $$log:" >&2; \
	        grep -E -A1 '^call:' $$log | head -2 | sed 's/^/    /' >&2; \
	        grep -E 'SUMMARY|Test unit written' $$log | head -3 | sed 's/^/    /' >&2; \
	    fi; \
	done; \
	if [ -n "$$failed" ]; then echo "make fuzz: FAILED:$$failed" >&2; exit 1; fi

# Removes build/ (the C library, tests, example). SwiftPM's .build/ is left alone: `swift package clean`.
clean:
	rm -rf $(BUILD)
