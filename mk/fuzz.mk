# mk/fuzz.mk — the libFuzzer harnesses Tests/fuzz/fuzz_*.c (issue 6).
#
# make fuzz        builds the harnesses (clang -fsanitize=fuzzer,address,undefined) and runs each for
#                  FUZZ_SECONDS (default 60) from its committed seed corpus Tests/fuzz/corpus/<harness>/;
#                  what the fuzzer generates goes to build/fuzz/ only.
# make fuzz-ci     the same, FUZZ_CI_SECONDS (20) each: what CI runs.

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

.PHONY: fuzz fuzz-ci fuzz-toolchain fuzz-build fuzz-run

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
