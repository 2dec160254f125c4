# mk/tests.mk — make test: the C suite (both library builds), the install test, the Swift tests (both
# packages), the package test (a consumer by version, the documentation's snippets compiled), the
# DocC catalog (make docs: every symbol link resolves, warnings are errors) and the MPI tests of the
# distributed library (test-mpi, mk/mpi.mk).

# `make test-install` installs here: DESTDIR and PREFIX both exercised.
TI_ROOT := $(CURDIR)/$(BUILD)/test-install/root
TI_PREFIX := /opt/embeddingkit
TI_BIN := $(BUILD)/test-install/bin
EXAMPLE_SRCS := $(sort $(wildcard examples/c/*.c))

TEST_BIN := $(BUILD)/tests/ek_tests
CLANG_TEST_BIN := $(CLANG_DIR)/tests/ek_tests

.PHONY: test test-c test-c-gcc test-c-clang test-install

# Every test target runs even if an earlier one failed; `make test` fails if any did.
test: deps
	@failed=""; \
	for t in test-c test-install test-swift test-package docs test-mpi; do \
	    echo "==> make $$t"; \
	    $(MAKE) --no-print-directory $$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed" >&2; exit 1; fi

# The plain-C ABI tests against both builds of the library (mk/lib.mk): gcc + libgomp (what `make
# install` installs) and the toolchain clang + LLVM libomp (what Swift programs link). Each is linked
# statically (the archive keeps the internal eki_* helpers and the ekref_* reference kernels the
# tests compare with) and prints "N passed, N failed".
test-c:
	@failed=""; \
	$(MAKE) --no-print-directory test-c-gcc || failed="$$failed gcc"; \
	$(MAKE) --no-print-directory test-c-clang || failed="$$failed clang"; \
	if [ -n "$$failed" ]; then echo "test-c: FAILED with the$$failed build(s)" >&2; exit 1; fi

test-c-gcc: $(TEST_BIN)
	@echo "==> the C tests against the gcc + libgomp build ($(STATIC))"
	env -u OMP_NUM_THREADS $(TEST_BIN)

$(TEST_BIN): $(TEST_DEPS) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(EK_CFLAGS) $(CFLAGS) $(TEST_FLAGS) -o $@ $(TEST_SRCS) $(STATIC) $(EK_LIBS)

# Without the Swift toolchain's clang (a C-only machine) this half says so and passes; `make test`
# needs the toolchain anyway.
CLANG_FOUND := $(shell { [ -x '$(CLANG_CC)' ] || command -v '$(CLANG_CC)'; } >/dev/null 2>&1 && echo yes)
ifeq ($(CLANG_FOUND),yes)
test-c-clang: $(CLANG_TEST_BIN)
	@echo "==> the C tests against the clang + libomp build ($(CLANG_STATIC), SwiftPM's)"
	env -u OMP_NUM_THREADS $(CLANG_TEST_BIN)
else
test-c-clang:
	@echo "test-c: SKIPPED the clang + libomp build: no $(CLANG_CC) (set SWIFT=... or CLANG_CC=...)"
endif

$(CLANG_TEST_BIN): $(TEST_DEPS) $(CLANG_STATIC)
	@[ -n '$(OMP_LIBDIR)' ] || { echo "test-c: libomp not found under /usr/lib/llvm-*/lib (make deps)" >&2; exit 1; }
	@mkdir -p $(@D)
	$(CLANG_CC) $(CLANG_LD) $(EK_CFLAGS) -O3 $(TEST_FLAGS) -o $@ $(TEST_SRCS) $(CLANG_STATIC) $(CLANG_LIBS)

# Installs into a temporary DESTDIR + PREFIX, builds the C examples with pkg-config against the
# installed copy only, and runs them. Also checks that the shared library exports nothing but ek_*,
# and no function the header does not declare (a leftover of an old ABI).
test-install:
	rm -rf $(BUILD)/test-install
	$(MAKE) --no-print-directory install DESTDIR=$(TI_ROOT) PREFIX=$(TI_PREFIX)
	@exported=$$(nm -D --defined-only $(TI_ROOT)$(TI_PREFIX)/lib/$(SONAME) | awk '{print $$3}' | grep -v '^ek_' || true); \
	if [ -n "$$exported" ]; then echo "test-install: symbols exported besides ek_*:" $$exported >&2; exit 1; fi; \
	echo "test-install: $(SONAME) exports only ek_* ($$(nm -D --defined-only $(TI_ROOT)$(TI_PREFIX)/lib/$(SONAME) | grep -c ' ek_') symbols)"
	@undeclared=$$(nm -D --defined-only $(TI_ROOT)$(TI_PREFIX)/lib/$(SONAME) | awk '$$2 == "T" {print $$3}' | sort | \
	    comm -23 - <(grep -oE '\bek_[a-z0-9_]+\(' $(HEADER) | tr -d '(' | sort -u)); \
	if [ -n "$$undeclared" ]; then echo "test-install: exported but not in $(HEADER) (an ABI no caller can see):" $$undeclared >&2; exit 1; fi; \
	echo "test-install: every exported function is declared in the header"
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
