# EmbeddingKit — build, test, install.
#
#   make demo       build the C library and run the C example (the language-ID demo comes with issue 5)
#   make test       install the system packages if missing, then run every test (C, install, Swift)
#
# The C library (libembeddingkit.so / .a) is built here with the system C compiler from the same
# sources that SwiftPM compiles as the CKernels target (CKernels/src/*.c).

SHELL := /bin/bash

# ---- tools -----------------------------------------------------------------------------------------
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
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
SRCS := $(sort $(wildcard CKernels/src/*.c))
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

.PHONY: all deps build release check-openmp lib test test-c test-install test-swift install demo clean \
        bench sanitize fuzz

all: lib

# ---- system packages (Debian / Ubuntu) -------------------------------------------------------------
deps:
	@if ! command -v dpkg >/dev/null 2>&1; then \
	    echo "deps: not a Debian/Ubuntu system; install OpenBLAS, the LLVM OpenMP runtime (libomp) and pkg-config yourself"; \
	    exit 0; \
	fi; \
	missing=""; \
	for p in $(DEPS_PACKAGES); do \
	    dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all installed ($(DEPS_PACKAGES))"; exit 0; fi; \
	sudo=""; if [ "$$(id -u)" -ne 0 ]; then sudo=sudo; fi; \
	echo "deps: installing$$missing"; \
	$$sudo apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing

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
demo: deps lib
	@mkdir -p $(BUILD)/examples
	$(CC) -std=c11 -O2 -Wall -Wextra -ICKernels/include examples/c/lookup.c -o $(BUILD)/examples/lookup \
	    -L$(LIBOUT) -lembeddingkit -Wl,-rpath,'$$ORIGIN/../lib'
	$(BUILD)/examples/lookup

# ---- not yet implemented ---------------------------------------------------------------------------
bench:
	@echo "make bench: not yet implemented (issue 4)" >&2; exit 1

sanitize fuzz:
	@echo "make $@: not yet implemented (issue 6)" >&2; exit 1

# Removes build/ (the C library, tests, example). SwiftPM's .build/ is left alone: `swift package clean`.
clean:
	rm -rf $(BUILD)
