# mk/swift.mk — the Swift package (SwiftPM compiles CKernels/src with the toolchain's clang and links
# LLVM's libomp; see Package.swift).

.PHONY: build release test-swift check-openmp

build: check-openmp
	$(SWIFT) build

release: check-openmp
	$(SWIFT) build -c release

test-swift: check-openmp
	$(SWIFT) test

# The Swift toolchain's clang (LLVM 19+) compiles schedule(dynamic|guided|runtime) loops into calls to
# __kmpc_dispatch_deinit, which LLVM OpenMP runtimes before 19 lack (Debian 12's libomp-dev is LLVM 14):
# SwiftPM's link then fails with an undefined reference. The kernels use schedule(static[, chunk])
# (gcc + libgomp does not hit this); this check says so before a long build.
check-openmp:
	@bad=$$(grep -nE 'schedule[[:space:]]*\([[:space:]]*(dynamic|guided|runtime)' $(SRCS) 2>/dev/null || true); \
	if [ -n "$$bad" ]; then \
	    echo "check-openmp: use schedule(static[, chunk]) in CKernels/src: dynamic, guided and runtime schedules" >&2; \
	    echo "  need __kmpc_dispatch_deinit, which libomp before LLVM 19 (Debian 12: LLVM 14) lacks:" >&2; \
	    echo "$$bad" | sed 's/^/  /' >&2; \
	    exit 1; \
	fi
