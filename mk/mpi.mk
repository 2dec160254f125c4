# mk/mpi.mk — the opt-in distributed library libembeddingkit_dist (Distributed/, docs/DISTRIBUTED.md):
# sharded EmbeddingBag collections over MPI (Open MPI), built with mpicc on top of `make lib`.
#
#   make lib-dist          build/dist/lib/libembeddingkit_dist.{so,a}
#   make test-mpi          Tests/mpi: mpirun -np 1..4 against the single-process core, bad input on one
#                          rank, checkpoints across rank counts, and a run across two network namespaces;
#                          then test-mpi-install (mpicc + pkg-config on an installed copy) and
#                          test-mpi-swift (the Swift product EmbeddingKitDistributed under mpirun)
#   make demo-distributed  a DLRM-style click model, row-wise sharded, on 1 and on 2 ranks
#   make install           also installs the library, embeddingkit_dist.h and embeddingkit_dist.pc
#                          when mpicc is found (the core installs without MPI)

MPI_PACKAGES := libopenmpi-dev openmpi-bin iproute2
MPICC ?= mpicc
MPIRUN ?= mpirun
DIST_DIR := $(BUILD)/dist
DIST_SRCS := $(sort $(wildcard Distributed/src/*.c))
DIST_HDRS := $(wildcard Distributed/include/*.h Distributed/src/*.h)
DIST_OBJS := $(patsubst Distributed/src/%.c,$(DIST_DIR)/obj/%.o,$(DIST_SRCS))
DIST_SONAME := libembeddingkit_dist.so.$(VERSION_MAJOR)
DIST_SHARED := $(DIST_DIR)/lib/libembeddingkit_dist.so.$(VERSION)
DIST_STATIC := $(DIST_DIR)/lib/libembeddingkit_dist.a
DIST_CFLAGS := -std=c11 -fPIC -O2 -Wall -Wextra -ICKernels/include -IDistributed/include
DIST_PC := $(DIST_DIR)/embeddingkit_dist.pc
# programs link the distributed library, then the core (shared, from build/lib). --no-as-needed keeps
# the core in a program that calls only ekd_* functions, so that its run path finds build/lib.
DIST_LINK := -L$(DIST_DIR)/lib -lembeddingkit_dist -L$(LIBOUT) -Wl,-rpath,$(CURDIR)/$(DIST_DIR)/lib \
             -Wl,-rpath,$(CURDIR)/$(LIBOUT) -Wl,--no-as-needed -lembeddingkit -Wl,--as-needed -lm
MPI_TEST_BIN := $(DIST_DIR)/tests/ek_mpi_tests
DEMO_DIST_BIN := $(DIST_DIR)/examples/click_model
HAVE_MPICC := $(shell command -v $(MPICC) >/dev/null 2>&1 && echo yes)

.PHONY: deps-mpi lib-dist test-mpi test-mpi-install test-mpi-swift demo-distributed install-dist

deps-mpi:
	$(call apt_install,$(MPI_PACKAGES),deps-mpi)

lib-dist: $(DIST_SHARED) $(DIST_DIR)/lib/$(DIST_SONAME) $(DIST_DIR)/lib/libembeddingkit_dist.so $(DIST_STATIC)

$(DIST_DIR)/obj/%.o: Distributed/src/%.c $(DIST_HDRS) $(HEADER)
	@mkdir -p $(@D)
	$(MPICC) $(DIST_CFLAGS) -c $< -o $@

$(DIST_SHARED): $(DIST_OBJS) $(SHARED) Distributed/embeddingkit_dist.map
	@mkdir -p $(@D)
	$(MPICC) -shared -Wl,-soname,$(DIST_SONAME) -Wl,--no-undefined '-Wl,-rpath,$$ORIGIN' \
	    -Wl,--version-script=Distributed/embeddingkit_dist.map -o $@ $(DIST_OBJS) \
	    -L$(LIBOUT) -lembeddingkit -lm

$(DIST_DIR)/lib/$(DIST_SONAME): $(DIST_SHARED)
	ln -sf $(notdir $(DIST_SHARED)) $@

$(DIST_DIR)/lib/libembeddingkit_dist.so: $(DIST_DIR)/lib/$(DIST_SONAME)
	ln -sf $(DIST_SONAME) $@

$(DIST_STATIC): $(DIST_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(DIST_OBJS)

# ---- tests -------------------------------------------------------------------------------------------
$(MPI_TEST_BIN): $(wildcard Tests/mpi/*.c Tests/mpi/*.h) $(DIST_SHARED) $(DIST_DIR)/lib/libembeddingkit_dist.so
	@mkdir -p $(@D)
	$(MPICC) -std=c11 -O2 -Wall -Wextra -ICKernels/include -IDistributed/include -o $@ $(wildcard Tests/mpi/*.c) $(DIST_LINK)

test-mpi: deps-mpi
	@$(MAKE) --no-print-directory lib $(MPI_TEST_BIN)
	Tests/mpi/run.sh $(MPI_TEST_BIN)
	@$(MAKE) --no-print-directory test-mpi-install
	@$(MAKE) --no-print-directory test-mpi-swift

# The Swift product EmbeddingKitDistributed (Package.swift, Distributed/Swift): its check program,
# Distributed/SwiftCheck, on 2 and 3 ranks against the core. After `make test-swift` the build is
# incremental. Without the Swift toolchain this part says so and passes.
SWIFT_FOUND := $(shell [ -x '$(SWIFT)' ] && echo yes)
test-mpi-swift:
ifeq ($(SWIFT_FOUND),yes)
	$(SWIFT) build --product ekd-swift-check
	@for np in 2 3; do \
	    echo "==> mpirun -np $$np .build/debug/ekd-swift-check"; \
	    timeout 120 $(MPIRUN) --allow-run-as-root --oversubscribe -np $$np .build/debug/ekd-swift-check || exit 1; \
	done
else
	@echo "test-mpi-swift: SKIPPED: no Swift toolchain at $(SWIFT)"
endif

# What the README tells a user: install, then mpicc with pkg-config's flags, against the installed copy
# only (DESTDIR + PREFIX); the click model built that way runs on 2 ranks.
TMI_ROOT := $(CURDIR)/$(BUILD)/test-mpi-install/root
TMI_PREFIX := /opt/embeddingkit
test-mpi-install:
	rm -rf $(BUILD)/test-mpi-install
	$(MAKE) --no-print-directory install DESTDIR=$(TMI_ROOT) PREFIX=$(TMI_PREFIX)
	@want=$$(grep -o '^ *ekd_[a-z_]*;' Distributed/embeddingkit_dist.map | tr -d ' ;' | sort); \
	got=$$(nm -D --defined-only $(TMI_ROOT)$(TMI_PREFIX)/lib/$(DIST_SONAME) | awk '{print $$3}' | sort); \
	[ "$$want" = "$$got" ] || { echo "test-mpi-install: exported symbols differ from the header's:" $$got >&2; exit 1; }; \
	echo "test-mpi-install: $(DIST_SONAME) exports the $$(echo $$got | wc -w) functions of embeddingkit_dist.h only"
	@export PKG_CONFIG_PATH=$(TMI_ROOT)$(TMI_PREFIX)/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(TMI_ROOT); \
	flags="$$($(PKG_CONFIG) --cflags --libs embeddingkit_dist)" || exit 1; \
	echo "$(MPICC) examples/distributed/click_model.c \$$(pkg-config --cflags --libs embeddingkit_dist) = $$flags"; \
	$(MPICC) -std=c11 -Wall -Wextra -Werror examples/distributed/click_model.c -o $(BUILD)/test-mpi-install/click_model $$flags -lm || exit 1; \
	LD_LIBRARY_PATH=$(TMI_ROOT)$(TMI_PREFIX)/lib ldd $(BUILD)/test-mpi-install/click_model | grep -q "libembeddingkit_dist.so.$(VERSION_MAJOR) => $(TMI_ROOT)$(TMI_PREFIX)/lib/" \
	    || { echo "test-mpi-install: the program does not load the installed libembeddingkit_dist" >&2; exit 1; }; \
	LD_LIBRARY_PATH=$(TMI_ROOT)$(TMI_PREFIX)/lib $(MPIRUN) --allow-run-as-root --oversubscribe -np 2 $(BUILD)/test-mpi-install/click_model | tail -1 \
	    || { echo "test-mpi-install: the installed build failed" >&2; exit 1; }; \
	echo "test-mpi-install: OK"

# ---- the example ---------------------------------------------------------------------------------------
$(DEMO_DIST_BIN): examples/distributed/click_model.c $(DIST_SHARED) $(DIST_DIR)/lib/libembeddingkit_dist.so
	@mkdir -p $(@D)
	$(MPICC) -std=c11 -O2 -Wall -Wextra -ICKernels/include -IDistributed/include -o $@ $< $(DIST_LINK)

demo-distributed: deps-mpi
	@$(MAKE) --no-print-directory lib $(DEMO_DIST_BIN)
	examples/distributed/run.sh $(DEMO_DIST_BIN)

# ---- install: the library, its header and its pkg-config file (Requires: embeddingkit, and MPI's
# own flags come from mpicc, which a user compiles with) ---------------------------------------------------
$(DIST_PC): Distributed/embeddingkit_dist.pc.in $(HEADER) FORCE
	@mkdir -p $(@D)
	@pc_libdir='$(LIBDIR)'; pc_incdir='$(INCLUDEDIR)'; \
	[ "$$pc_libdir" = '$(PREFIX)/lib' ] && pc_libdir='$${prefix}/lib'; \
	[ "$$pc_incdir" = '$(PREFIX)/include' ] && pc_incdir='$${prefix}/include'; \
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e "s|@LIBDIR@|$$pc_libdir|g" -e "s|@INCLUDEDIR@|$$pc_incdir|g" \
	    -e 's|@VERSION@|$(VERSION)|g' $< > $@.tmp && mv $@.tmp $@

ifeq ($(HAVE_MPICC),yes)
install: install-dist
endif

install-dist: lib-dist $(DIST_PC)
	install -d '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(INCLUDEDIR)' '$(DESTDIR)$(PKGCONFIGDIR)'
	install -m 755 $(DIST_SHARED) '$(DESTDIR)$(LIBDIR)/'
	ln -sf $(notdir $(DIST_SHARED)) '$(DESTDIR)$(LIBDIR)/$(DIST_SONAME)'
	ln -sf $(DIST_SONAME) '$(DESTDIR)$(LIBDIR)/libembeddingkit_dist.so'
	install -m 644 $(DIST_STATIC) '$(DESTDIR)$(LIBDIR)/'
	install -m 644 Distributed/include/embeddingkit_dist.h '$(DESTDIR)$(INCLUDEDIR)/'
	install -m 644 $(DIST_PC) '$(DESTDIR)$(PKGCONFIGDIR)/embeddingkit_dist.pc'

# ---- bench W13 (Benchmarks/mpi/: the W5 step row-wise sharded on 2 ranks vs. unsharded at 2 threads) --
# `make bench` runs it after the other workloads (mk/bench.mk); `make bench-w13` alone. W13_ARGS passes
# run.sh's options (--rounds N, --study: Zipf ids with and without dedup).
W13_BIN := $(DIST_DIR)/bench/w13
W13_ARGS ?=
.PHONY: bench-w13
$(W13_BIN): Benchmarks/mpi/w13.c $(DIST_SHARED) $(DIST_DIR)/lib/libembeddingkit_dist.so
	@mkdir -p $(@D)
	$(MPICC) -std=c11 -O2 -Wall -Wextra -ICKernels/include -IDistributed/include -o $@ $< $(DIST_LINK)

bench-w13:
ifeq ($(HAVE_MPICC),yes)
	@$(MAKE) --no-print-directory lib $(W13_BIN)
	Benchmarks/mpi/run.sh $(W13_BIN) Benchmarks/results $(W13_ARGS)
else
	@echo "W13  sharded train step: NOT AVAILABLE (no $(MPICC): make deps-mpi installs Open MPI)"
endif
