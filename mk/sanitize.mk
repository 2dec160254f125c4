# mk/sanitize.mk — the C tests and the Swift tests under the sanitizers (issue 6).
#
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

SAN_CC ?= $(CC)
SAN_DIR := $(BUILD)/sanitize
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1
SAN_OBJS := $(patsubst CKernels/src/%.c,$(SAN_DIR)/obj/%.o,$(SRCS))
SAN_TEST_BIN := $(SAN_DIR)/ek_tests
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: sanitize sanitize-c sanitize-c-clang tsan-c sanitize-swift

sanitize: sanitize-c tsan-c sanitize-swift

# ---- gcc + libgomp ---------------------------------------------------------------------------------
sanitize-c: deps $(SAN_TEST_BIN)
	env -u OMP_NUM_THREADS $(SAN_ENV) $(SAN_TEST_BIN)
	@$(MAKE) --no-print-directory sanitize-c-clang

$(SAN_DIR)/obj/%.o: CKernels/src/%.c
	@mkdir -p $(@D)
	$(SAN_CC) $(EK_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(SAN_TEST_BIN): $(TEST_DEPS) $(SAN_OBJS)
	@mkdir -p $(@D)
	$(SAN_CC) $(EK_CFLAGS) $(SAN_FLAGS) $(TEST_FLAGS) -o $@ $(TEST_SRCS) $(SAN_OBJS) $(EK_LIBS)

-include $(SAN_OBJS:.o=.d)

# ---- the toolchain clang + LLVM libomp (the clang half of sanitize-c) ------------------------------
TSAN_CC ?= $(TOOLCHAIN_CLANG)
SANCL_DIR := $(BUILD)/sanitize-clang
SANCL_OBJS := $(patsubst CKernels/src/%.c,$(SANCL_DIR)/obj/%.o,$(SRCS))
SANCL_TEST_BIN := $(SANCL_DIR)/ek_tests

sanitize-c-clang: $(SANCL_TEST_BIN)
	env -u OMP_NUM_THREADS $(SAN_ENV) $(SANCL_TEST_BIN)

$(SANCL_DIR)/obj/%.o: CKernels/src/%.c
	@[ -x '$(TSAN_CC)' ] || { echo "sanitize-c: $(TSAN_CC) not found (the Swift toolchain's clang)" >&2; exit 1; }
	@mkdir -p $(@D)
	$(TSAN_CC) $(EK_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(SANCL_TEST_BIN): $(TEST_DEPS) $(SANCL_OBJS)
	@[ -n '$(OMP_LIBDIR)' ] || { echo "sanitize-c: libomp not found under /usr/lib/llvm-*/lib (libomp-dev)" >&2; exit 1; }
	@mkdir -p $(@D)
	$(TSAN_CC) $(CLANG_LD) $(EK_CFLAGS) $(SAN_FLAGS) $(TEST_FLAGS) -o $@ $(TEST_SRCS) $(SANCL_OBJS) $(CLANG_LIBS)

-include $(SANCL_OBJS:.o=.d)

# ---- ThreadSanitizer -------------------------------------------------------------------------------
# TSan with libgomp reports every fork/join as a race (libgomp is not instrumented); LLVM's libomp with
# OMP_TOOL_LIBRARIES=libarcher.so gives TSan the OpenMP synchronisation, so reports are real races.
TSAN_DIR := $(BUILD)/tsan
TSAN_TEST_BIN := $(TSAN_DIR)/ek_tests
ARCHER_LIB := $(firstword $(wildcard $(OMP_LIBDIR)/libarcher.so))
# The toolchain's static TSan runtime intercepts libdispatch: link the toolchain's copy.
SWIFT_RUNTIME_DIR := $(SWIFT_BIN_DIR)/../lib/swift/linux

tsan-c: deps
	@[ -x '$(TSAN_CC)' ] || { echo "tsan-c: $(TSAN_CC) not found (the Swift toolchain's clang)" >&2; exit 1; }
	@[ -n '$(ARCHER_LIB)' ] || { echo "tsan-c: libarcher.so not found under /usr/lib/llvm-*/lib (libomp-dev)" >&2; exit 1; }
	@mkdir -p $(TSAN_DIR)
	$(TSAN_CC) $(EK_CFLAGS) -fsanitize=thread -g -O1 $(TEST_FLAGS) \
	    -o $(TSAN_TEST_BIN) $(SRCS) $(TEST_SRCS) -L$(OMP_LIBDIR) -Wl,-rpath,$(OMP_LIBDIR) \
	    -L$(SWIFT_RUNTIME_DIR) -Wl,-rpath,$(SWIFT_RUNTIME_DIR) -Wl,--no-as-needed -ldispatch -lBlocksRuntime \
	    -lomp -lopenblas -lm
	env -u OMP_NUM_THREADS OMP_TOOL_LIBRARIES=$(ARCHER_LIB) \
	    TSAN_OPTIONS=ignore_noninstrumented_modules=1:halt_on_error=1:exitcode=66 $(TSAN_TEST_BIN)

# ---- Swift -----------------------------------------------------------------------------------------
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
