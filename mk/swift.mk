# mk/swift.mk — the Swift packages (SwiftPM compiles CKernels/src with the toolchain's clang and links
# LLVM's libomp; see Package.swift): the library at the root, and Examples/ (the embedkit CLI, LangID,
# the seed examples, the Swift bench; it depends on the root by path and on swift-argument-parser).

.PHONY: build release test-swift test-package docs check-openmp

build: check-openmp
	$(SWIFT) build
	$(SWIFT) build --package-path $(EXAMPLES)

release: check-openmp
	$(SWIFT) build -c release
	$(SWIFT) build -c release --package-path $(EXAMPLES)

# Both packages' tests: the library's (Tests/EmbeddingKitTests) and the examples' (Examples/Tests);
# the second runs even if the first failed.
test-swift: check-openmp
	@failed=""; \
	echo "$(SWIFT) test"; $(SWIFT) test || failed="$$failed EmbeddingKit"; \
	echo "$(SWIFT) test --package-path $(EXAMPLES)"; $(SWIFT) test --package-path $(EXAMPLES) || failed="$$failed $(EXAMPLES)"; \
	if [ -n "$$failed" ]; then echo "test-swift: FAILED:$$failed" >&2; exit 1; fi

# A new package depending on EmbeddingKit by version (README's Package.swift, `from:` a tag made in a
# temporary clone) builds, resolves no tool dependency, and compiles every ```swift snippet of
# README.md and the DocC articles (Tests/package/README.md).
test-package: check-openmp
	SWIFT=$(SWIFT) VERSION=$(VERSION) Tests/package/consumer.sh

# The DocC catalog (Sources/EmbeddingKit/Documentation.docc) through swift-docc-plugin, which
# Package.swift declares only when EK_DOCS=1 (consumers never resolve it). Output: build/docs/.
DOCS_SCRATCH := .build-docs
docs: check-openmp
	@mkdir -p $(BUILD) && rm -rf $(BUILD)/docs
	EK_DOCS=1 $(SWIFT) package --scratch-path $(DOCS_SCRATCH) --allow-writing-to-directory $(BUILD)/docs \
	    generate-documentation --target EmbeddingKit --output-path $(BUILD)/docs --warnings-as-errors

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
