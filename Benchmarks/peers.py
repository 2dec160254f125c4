#!/usr/bin/env python3
"""peers.py — the workloads of docs/WORKLOADS.md through PyTorch's CPU kernels, for `make bench`.

Same sizes and the same kind of data as the C harness (Benchmarks/workloads/): fp32 tables uniform in [-1, 1), int64
indices drawn uniformly with a fixed seed, 8 batches rotated between repeats, warm-up (>= 8 calls and
>= 0.2 s), then every call timed on its own until >= SECONDS have passed and >= MIN_REPEATS calls were
made (or >= 8 calls and 4 x SECONDS for slow calls); the figure is the median call. PyTorch is called
the way a user calls it (outputs are allocated by PyTorch; inference under no_grad).

Output: one JSON object per line.

  peers.py --serve                       co-process of ek_bench: prints a hello line, then reads
                                         "run ID THREADS SECONDS MIN_REPEATS" lines (THREADS like 1,2)
                                         and answers with result lines and a {"kind": "done"} line;
                                         "quit" ends it.
  peers.py --workload W2 [--threads 1,2] [--seconds 1.5]
                                         standalone: one workload, JSON lines on stdout.
  peers.py --list                        the workload ids.
"""
import gc
import json
import os
import statistics
import sys
import time

NBATCH = 8
SEED = 20240601


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


try:
    import torch
    import torch.nn.functional as F
except Exception as exc:  # noqa: BLE001 - any failure means "no PyTorch here"
    emit({"kind": "hello", "ok": False, "error": f"{type(exc).__name__}: {exc}"})
    sys.exit(0)

try:
    import numpy

    NUMPY_VERSION = numpy.__version__
except Exception:  # noqa: BLE001
    NUMPY_VERSION = "absent"


def machine_busy_s():
    """Busy CPU seconds of the whole machine (user nice system irq softirq steal), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
    except Exception:  # noqa: BLE001
        return None


def self_cpu_s():
    t = os.times()
    return t.user + t.system


# ---- workloads: each returns (call(batch), cleanup) ----------------------------------------------

def gen():
    return torch.Generator().manual_seed(SEED)


def table(rows, dim, g):
    return torch.rand(rows, dim, generator=g) * 2 - 1


def batches(count, n, g):
    return [torch.randint(0, count, (n,), generator=g, dtype=torch.int64) for _ in range(NBATCH)]


def bag_offsets(n, bags):
    return torch.arange(0, n, n // bags, dtype=torch.int64)


def w_gather(out_param=False):
    g = gen()
    w = table(1_000_000, 128, g)
    idx = batches(1_000_000, 65536, g)
    if out_param:
        out = torch.empty(65536, 128)
        return lambda b: torch.index_select(w, 0, idx[b], out=out)
    return lambda b: F.embedding(idx[b], w)


def w_bag(mode, weighted=False, rows=1_000_000):
    g = gen()
    w = table(rows, 64, g)
    n, bags = 4096 * 40, 4096
    idx = batches(rows, n, g)
    offsets = bag_offsets(n, bags)
    psw = [torch.rand(n, generator=g) for _ in range(NBATCH)] if weighted else [None] * NBATCH
    return lambda b: F.embedding_bag(idx[b], w, offsets, mode=mode, per_sample_weights=psw[b])


def w_quant_bag(bits):
    """W10 / W11: W2's table prepacked to 8 or 4 bits (the bytes ek_quantize gives), bag sum through
    PyTorch's quantized ops on the packed bytes."""
    g = gen()
    w = table(1_000_000, 64, g)
    n, bags = 4096 * 40, 4096
    idx = batches(1_000_000, n, g)
    offsets = bag_offsets(n, bags)
    if bits == 8:
        packed = torch.ops.quantized.embedding_bag_byte_prepack(w)
        op = torch.ops.quantized.embedding_bag_byte_rowwise_offsets
    else:
        packed = torch.ops.quantized.embedding_bag_4bit_prepack(w)
        op = torch.ops.quantized.embedding_bag_4bit_rowwise_offsets
    del w
    return lambda b: op(packed, idx[b], offsets, False, 0, False, None, None, False)


def w_tiny_calls():
    """W0: 1,000 separate F.embedding_bag calls of one bag of 8 indices, D = 16 (per-call overhead)."""
    g = gen()
    w = torch.rand(100_000, 16, generator=g)
    idx = [torch.randint(0, 100_000, (8,), generator=g) for _ in range(1000)]
    offsets = torch.zeros(1, dtype=torch.int64)

    def calls(b):
        for i in idx:
            F.embedding_bag(i, w, offsets, mode="sum")

    return calls


def w_sparse_step():
    g = gen()
    rows, n, bags = 1_000_000, 4096 * 40, 4096
    emb = torch.nn.EmbeddingBag(rows, 64, mode="sum", sparse=True)
    with torch.no_grad():
        emb.weight.copy_(table(rows, 64, g))
    idx = batches(rows, n, g)
    offsets = bag_offsets(n, bags)
    grad_out = torch.rand(bags, 64, generator=g) * 2 - 1
    opt = torch.optim.SGD(emb.parameters(), lr=0.01)

    def step(b):
        with torch.enable_grad():
            opt.zero_grad(set_to_none=True)
            emb(idx[b], offsets).backward(grad_out)
            opt.step()

    return step


def w_sparse_step_bf16():
    """W12: W5 with the table in bfloat16 (PyTorch's own rounding: to nearest). Raises if this
    PyTorch cannot run a sparse bf16 step; the bench then shows the error, and its row W12-vs-fp32
    compares with the fp32 W5 instead."""
    g = gen()
    rows, n, bags = 1_000_000, 4096 * 40, 4096
    emb = torch.nn.EmbeddingBag(rows, 64, mode="sum", sparse=True, dtype=torch.bfloat16)
    with torch.no_grad():
        emb.weight.copy_(table(rows, 64, g))
    idx = batches(rows, n, g)
    offsets = bag_offsets(n, bags)
    grad_out = (torch.rand(bags, 64, generator=g) * 2 - 1).to(torch.bfloat16)
    opt = torch.optim.SGD(emb.parameters(), lr=0.01)

    def step(b):
        with torch.enable_grad():
            opt.zero_grad(set_to_none=True)
            emb(idx[b], offsets).backward(grad_out)
            opt.step()

    step(0)  # fail at set-up, not in the timing loop
    return step


def w_dense_backward():
    g = gen()
    rows, n = 100_000, 65536
    w = table(rows, 64, g).requires_grad_()
    idx = batches(rows, n, g)
    grad_out = torch.rand(n, 64, generator=g) * 2 - 1

    def step(b):
        with torch.enable_grad():
            w.grad = None
            F.embedding(idx[b], w).backward(grad_out)

    return step


def w_dense_backward_only():
    g = gen()
    rows, n = 100_000, 65536
    idx = batches(rows, n, g)
    grad_out = torch.rand(n, 64, generator=g) * 2 - 1
    op = torch.ops.aten.embedding_dense_backward
    return lambda b: op(grad_out, idx[b], rows, -1, False)


def w_max_norm():
    g = gen()
    w = table(1_000_000, 128, g)
    idx = batches(1_000_000, 65536, g)
    return lambda b: F.embedding(idx[b], w, max_norm=1.0)


def w_softmax():
    g = gen()
    x = [torch.rand(4096, 1024, generator=g) * 8 - 4 for _ in range(NBATCH)]
    return lambda b: torch.softmax(x[b], -1)


def w_cross_entropy():
    g = gen()
    x = [(torch.rand(4096, 1024, generator=g) * 8 - 4).requires_grad_() for _ in range(NBATCH)]
    t = [torch.randint(0, 1024, (4096,), generator=g, dtype=torch.int64) for _ in range(NBATCH)]

    def step(b):
        with torch.enable_grad():
            x[b].grad = None
            F.cross_entropy(x[b], t[b]).backward()

    return step


def w_text_classifier(optimizer="sgd"):
    """W9: EmbeddingBag(mean, 200k x 64, sparse) -> Linear(64, 100) -> cross-entropy -> SGD, 256 bags x 20;
    W9a: the same with Adagrad(lr 0.1)."""
    g = gen()
    torch.manual_seed(SEED)
    vocab, dim, classes, batch, tokens = 200_000, 64, 100, 256, 20
    emb = torch.nn.EmbeddingBag(vocab, dim, mode="mean", sparse=True)
    head = torch.nn.Linear(dim, classes)
    params = list(emb.parameters()) + list(head.parameters())
    opt = torch.optim.Adagrad(params, lr=0.1) if optimizer == "adagrad" else torch.optim.SGD(params, lr=0.1)
    idx = [torch.randint(0, vocab, (batch, tokens), generator=g, dtype=torch.int64) for _ in range(NBATCH)]
    tgt = [torch.randint(0, classes, (batch,), generator=g, dtype=torch.int64) for _ in range(NBATCH)]

    def step(b):
        with torch.enable_grad():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(head(emb(idx[b])), tgt[b]).backward()
            opt.step()

    return step


WORKLOADS = {
    "W0": w_tiny_calls,
    "W1": lambda: w_gather(),
    "W1-out": lambda: w_gather(out_param=True),
    "W2": lambda: w_bag("sum"),
    "W3": lambda: w_bag("sum", weighted=True),
    "W3b": lambda: w_bag("mean"),
    "W4": lambda: w_bag("max"),
    "W5": w_sparse_step,
    "W12": w_sparse_step_bf16,
    "W6": w_dense_backward,
    "W6-bwd": w_dense_backward_only,
    "W7": w_max_norm,
    "W8": w_softmax,
    "W8b": w_cross_entropy,
    "W9": w_text_classifier,
    "W9a": lambda: w_text_classifier("adagrad"),
    "W10": lambda: w_quant_bag(8),
    "W11": lambda: w_quant_bag(4),
    "W2@64MiB": lambda: w_bag("sum", rows=262_144),
    "W2@256MiB": lambda: w_bag("sum", rows=1_000_000),
    "W2@1GiB": lambda: w_bag("sum", rows=4_194_304),
}


# ---- measurement (the same rule as harness/measure.c) -------------------------------------------

def measure(call, seconds, min_repeats):
    clock = time.perf_counter
    t0 = clock()
    calls = 0
    while calls < NBATCH or (clock() - t0 < 0.2 and calls < 100000):
        call(calls % NBATCH)
        calls += 1
    times = []
    busy0, self0 = machine_busy_s(), self_cpu_s()
    start = clock()
    n = 0
    while True:
        a = clock()
        call(n % NBATCH)
        b = clock()
        times.append(b - a)
        n += 1
        elapsed = b - start
        if (n >= min_repeats and elapsed >= seconds) or (n >= NBATCH and elapsed >= 4 * seconds) or n >= 20000:
            break
    wall = clock() - start
    busy1, self1 = machine_busy_s(), self_cpu_s()
    times.sort()
    foreign = 0.0
    if busy0 is not None and busy1 is not None:
        foreign = max(0.0, ((busy1 - busy0) - (self1 - self0)) / wall)
    return {
        "median_ms": 1e3 * statistics.median(times),
        "min_ms": 1e3 * times[0],
        "p25_ms": 1e3 * times[n // 4],
        "p75_ms": 1e3 * times[(3 * n) // 4],
        "repeats": n,
        "foreign_cpu": foreign,
    }


# The data of the last workload run, kept for the next command on the same workload (ek_bench asks
# for one thread count at a time, interleaved with its own measurements).
_current = {"id": None, "call": None}


def run(wid, threads, seconds, min_repeats):
    if wid not in WORKLOADS:
        emit({"kind": "error", "workload": wid, "message": f"unknown workload {wid}"})
        return
    if _current["id"] != wid:
        _current["id"], _current["call"] = None, None
        gc.collect()
        try:
            torch.set_num_threads(threads[0])
            _current["call"] = WORKLOADS[wid]()
            _current["id"] = wid
        except Exception as exc:  # noqa: BLE001
            emit({"kind": "error", "workload": wid, "message": f"setup: {type(exc).__name__}: {exc}"})
            return
    for t in threads:
        try:
            torch.set_num_threads(t)
            res = measure(_current["call"], seconds, min_repeats)
            emit({"kind": "result", "workload": wid, "threads": t, **res})
        except Exception as exc:  # noqa: BLE001
            emit({"kind": "error", "workload": wid, "threads": t, "message": f"{type(exc).__name__}: {exc}"})


def hello():
    emit({
        "kind": "hello",
        "ok": True,
        "torch": torch.__version__,
        "numpy": NUMPY_VERSION,
        "capability": torch.backends.cpu.get_cpu_capability(),
        # PyTorch's CPU allocator asks for transparent huge pages (blocks >= 2 MiB) when this is 1:
        # ek_bench starts a second co-process with it for the informational "-thp" rows
        "thp_mem_alloc_enable": os.environ.get("THP_MEM_ALLOC_ENABLE", ""),
    })


def main(argv):
    torch.set_grad_enabled(False)  # inference by default; the training workloads enable grad
    if "--list" in argv:
        print("\n".join(WORKLOADS))
        return 0
    if "--serve" in argv:
        hello()
        for line in sys.stdin:
            parts = line.split()
            if not parts or parts[0] == "quit":
                break
            if parts[0] == "run" and len(parts) == 5:
                run(parts[1], [int(x) for x in parts[2].split(",")], float(parts[3]), int(parts[4]))
            else:
                emit({"kind": "error", "message": f"bad command: {line.strip()}"})
            emit({"kind": "done"})
        return 0
    args = {"--workload": None, "--threads": "1,2", "--seconds": "1.5", "--min-repeats": "24"}
    i = 0
    while i < len(argv):
        if argv[i] in args and i + 1 < len(argv):
            args[argv[i]] = argv[i + 1]
            i += 2
        else:
            print(__doc__, file=sys.stderr)
            return 1
    if not args["--workload"]:
        print(__doc__, file=sys.stderr)
        return 1
    hello()
    for wid in args["--workload"].split(","):
        run(wid, [int(x) for x in args["--threads"].split(",")], float(args["--seconds"]), int(args["--min-repeats"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
