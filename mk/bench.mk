# mk/bench.mk — make bench (issue 4; Benchmarks/README.md).
#
# `make bench-peers` creates .venv (ignored by git) with PyTorch and numpy; `make bench` builds the
# static library (gcc + libgomp), the bench harness and workload files of Benchmarks/ (gcc -O3, no
# -march=native: the kernels pick AVX-512 / AVX2 / scalar at run time) and the Swift-API bench,
# measures the machine's bandwidth, checks and times every workload of docs/WORKLOADS.md at 1 and 2
# threads through the C ABI and, when .venv can import torch, through PyTorch (Benchmarks/peers.py, a
# co-process, interleaved per workload); prints one table and writes it to
# Benchmarks/results/bench-<date>-<time>.json. BENCH_ARGS passes options (e.g.
# BENCH_ARGS='--only W2,W4 --seconds 3').
BENCH_BIN := $(BUILD)/bench/ek_bench
BENCH_SRCS := $(sort $(wildcard Benchmarks/harness/*.c Benchmarks/workloads/*.c))
BENCH_CFLAGS := -std=c11 -O3 -fopenmp -Wall -Wextra -ICKernels/include -ICKernels/src -IBenchmarks -IBenchmarks/harness
BENCH_VENV := .venv
BENCH_VENV_PYTHON := $(BENCH_VENV)/bin/python
BENCH_PYTHON ?= python3
BENCH_PIP_ARGS ?=
BENCH_ARGS ?=

.PHONY: bench bench-peers

# W5-swift, W9 and W9a run through the Swift API: ek-swift-bench (Examples/Sources/ek-swift-bench/main.swift, in
# the examples package), built in release mode in its own scratch path at the root (.build-bench, where
# ek_bench looks by default); without a Swift toolchain the bench says so and runs the C-ABI rows.
SWIFT_BENCH_SCRATCH := .build-bench
SWIFT_BENCH_BIN := $(SWIFT_BENCH_SCRATCH)/release/ek-swift-bench

bench: $(BENCH_BIN)
	@if command -v $(SWIFT) >/dev/null 2>&1 || [ -x $(SWIFT) ]; then \
	    $(MAKE) --no-print-directory check-openmp && \
	    echo "$(SWIFT) build -c release --package-path $(EXAMPLES) --scratch-path $(SWIFT_BENCH_SCRATCH) --product ek-swift-bench" && \
	    $(SWIFT) build -c release --package-path $(EXAMPLES) --scratch-path $(CURDIR)/$(SWIFT_BENCH_SCRATCH) --product ek-swift-bench \
	        || echo "bench: the Swift build failed; W5-swift, W9 and W9a will be missing" >&2; \
	else echo "bench: no Swift toolchain ($(SWIFT)); W5-swift, W9 and W9a will be missing" >&2; fi
	$(BENCH_BIN) --python $(BENCH_VENV_PYTHON) --peers Benchmarks/peers.py --swift $(SWIFT_BENCH_BIN) \
	    --results Benchmarks/results $(BENCH_ARGS)
	@# W13: the W5 step row-wise sharded over 2 MPI ranks (mk/mpi.mk, Benchmarks/mpi/); NOT AVAILABLE without MPI
	@$(MAKE) --no-print-directory bench-w13

$(BENCH_BIN): $(BENCH_SRCS) $(wildcard Benchmarks/*.h Benchmarks/harness/*.h Tests/common/*.h) $(STATIC) $(HEADER) CKernels/src/ref.h
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
