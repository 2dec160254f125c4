/* bench.c — `make bench`: EmbeddingKit's kernels through the C ABI against PyTorch's CPU kernels.
 *
 * One process does the whole run:
 *   1. measures this machine's sequential read and copy bandwidth (1 GiB buffer, 1 and 2 threads),
 *      at the start, again right before each W1/W2-like figure (the denominator of its share: the
 *      2-thread bandwidth of this VM drifts during a run) and at the end;
 *   2. starts Benchmarks/peers.py (PyTorch) as a co-process, if the venv's Python can import torch;
 *   3. for each workload of docs/WORKLOADS.md: builds the data (fp32 tables, int64 indices drawn
 *      uniformly with a fixed seed, 8 batches), checks EmbeddingKit's result against the scalar
 *      reference kernel (ekref_*, CKernels/src/ref.c) at every thread count — a mismatch stops the
 *      bench with exit status 2 — then, at 1 and then 2 threads, times EmbeddingKit and right after it
 *      asks the co-process for the same workload at the same thread count (interleaved);
 *   4. prints one table and writes it as JSON to Benchmarks/results/bench-<date>.json.
 *
 * Timing (both sides): batches rotated 0..7 between repeats, warm-up (>= 8 calls and >= 0.2 s), then
 * each call timed on its own with a monotonic clock until >= --seconds have passed and >= 24 calls
 * were made (or >= 8 calls and 4x --seconds for slow calls); the figure is the median call.
 * Outputs are reused between calls where the C ABI allows it.
 *
 * Usage: ek_bench [--seconds S] [--threads 1,2] [--only W1,W2,...] [--python PY] [--peers peers.py]
 *                 [--no-peers] [--results DIR] [--quick]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "embeddingkit.h"
#include "../Tests/common/ek_positional.h"
#include "ref.h"

/* OpenBLAS's name for the kernels it picked (W9's matrix products run on them). OPENBLAS_CORETYPE in
 * the environment overrides its own choice; the bench reports both. */
char *openblas_get_corename(void);

#define NBATCH 8
#define MAX_THREADS 8

/* ================================================================================================
 * Small utilities
 * ============================================================================================== */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* A co-process speaking the bench protocol on its stdin and stdout: PyTorch's peers.py --serve and
 * ek-swift-bench --serve. in == NULL: not running. */
typedef struct {
    FILE *in, *out;
    pid_t pid;
} coproc;
static coproc peer, swift;

static void die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, code == 2 ? "bench: FAILED: " : "bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    if (peer.pid > 0) kill(peer.pid, SIGTERM);
    if (swift.pid > 0) kill(swift.pid, SIGTERM);
    exit(code);
}

static void *xalloc(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) die(1, "cannot allocate %zu bytes", bytes);
    return p;
}
#define ALLOC(type, count) ((type *)xalloc(sizeof(type) * (size_t)(count)))

static void ek_ok(ek_status s, const char *what) {
    if (s != EK_OK) die(3, "%s failed: %s: %s", what, ek_status_string(s), ek_last_error());
}

/* Counter-based random numbers: value i of stream `seed` does not depend on how the fill is split
 * between threads, so the data are the same for any thread count. */
static inline uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
static void fill_uniform(float *p, int64_t n, uint64_t seed, float lo, float hi) {
    uint64_t base = splitmix64(seed * 0x100000001B3ull + 12345);
#pragma omp parallel for schedule(static) num_threads(2)
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(base ^ (uint64_t)i);
        p[i] = lo + (hi - lo) * (float)((double)(r >> 40) * (1.0 / 16777216.0));
    }
}
static void fill_indices(int64_t *p, int64_t n, uint64_t seed, int64_t count) {
    uint64_t base = splitmix64(seed * 0x100000001B3ull + 777);
    for (int64_t i = 0; i < n; i++) p[i] = (int64_t)(splitmix64(base ^ (uint64_t)i) % (uint64_t)count);
}

/* |a - b| <= atol + rtol * |b| everywhere (NaN matches NaN); a mismatch stops the bench. */
static void check_close(const char *wid, const char *what, int threads, const float *a, const float *b, int64_t n,
                        double atol, double rtol) {
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        if (isnan(x) && isnan(y)) continue;
        double err = fabs(x - y);
        if (!(err <= atol + rtol * fabs(y)))
            die(2, "%s: EmbeddingKit's %s differs from the reference kernel at %d thread(s): element %lld is %.9g, "
                   "reference %.9g (|diff| %.3g > atol %g + rtol %g)",
                wid, what, threads, (long long)i, x, y, err, atol, rtol);
        if (err > worst) worst = err;
    }
    (void)worst;
}
static void check_equal_i64(const char *wid, const char *what, int threads, const int64_t *a, const int64_t *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i])
            die(2, "%s: EmbeddingKit's %s differs from the reference kernel at %d thread(s): entry %lld is %lld, reference %lld",
                wid, what, threads, (long long)i, (long long)a[i], (long long)b[i]);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* CPU time (all threads) of this process, and busy time of the whole machine, in seconds: their
 * difference over a measurement is what other processes took from the CPUs meanwhile. */
static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}
static double machine_busy_s(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[10] = {0};
    int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
                     &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (got < 8) return -1;
    /* user nice system [idle iowait] irq softirq steal */
    double ticks = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
    return ticks / (double)sysconf(_SC_CLK_TCK);
}

/* ================================================================================================
 * Measurement
 * ============================================================================================== */

typedef struct {
    double median_ms, min_ms, p25_ms, p75_ms;
    int repeats;
    double foreign_cpu; /* cores' worth of CPU other processes used during the measurement */
} stats;

static double g_seconds = 1.5;
static int g_min_repeats = 24;

typedef void (*call_fn)(void *ctx, int batch);

static stats measure(call_fn fn, void *ctx) {
    /* warm-up: every batch at least once, and at least 0.2 s */
    double t0 = now_s();
    int calls = 0;
    while (calls < NBATCH || (now_s() - t0 < 0.2 && calls < 100000)) fn(ctx, calls++ % NBATCH);

    int cap = 4096, n = 0;
    double *t = ALLOC(double, cap);
    double busy0 = machine_busy_s(), self0 = self_cpu_s();
    double start = now_s();
    for (;;) {
        double a = now_s();
        fn(ctx, n % NBATCH);
        double b = now_s();
        if (n == cap) {
            cap *= 2;
            double *bigger = ALLOC(double, cap);
            memcpy(bigger, t, sizeof(double) * (size_t)n);
            free(t);
            t = bigger;
        }
        t[n++] = b - a;
        double elapsed = b - start;
        if ((n >= g_min_repeats && elapsed >= g_seconds) || (n >= NBATCH && elapsed >= 4 * g_seconds) || n >= 20000)
            break;
    }
    double wall = now_s() - start;
    double busy1 = machine_busy_s(), self1 = self_cpu_s();
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    stats s;
    s.repeats = n;
    s.min_ms = 1e3 * t[0];
    s.median_ms = 1e3 * (n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]));
    s.p25_ms = 1e3 * t[n / 4];
    s.p75_ms = 1e3 * t[(3 * n) / 4];
    s.foreign_cpu = busy0 < 0 ? 0.0 : ((busy1 - busy0) - (self1 - self0)) / wall;
    if (s.foreign_cpu < 0) s.foreign_cpu = 0;
    free(t);
    return s;
}

/* ================================================================================================
 * Machine bandwidth
 * ============================================================================================== */

/* 32 independent accumulators: gcc -O3 turns the inner loop into independent vector adds without
 * reassociating a reduction (no -ffast-math), which keeps enough loads in flight to be limited by
 * memory only. target_clones picks the widest loads this CPU has at run time (the bench itself is
 * built without -march), so the figure is the memory system's, not the baseline ISA's. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static float read_sum(const float *p, size_t n) {
    float acc[32] = {0};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int k = 0; k < 32; k++) acc[k] += p[i + k];
    float s = 0.0f;
    for (; i < n; i++) s += p[i];
    for (int k = 0; k < 32; k++) s += acc[k];
    return s;
}

typedef struct {
    /* median of the passes (what the shares are computed against) and best pass */
    double read_gbs[MAX_THREADS + 1], read_best_gbs[MAX_THREADS + 1];
    double copy_gbs[MAX_THREADS + 1], copy_best_gbs[MAX_THREADS + 1];
    size_t bytes;
} bandwidth;

static volatile float g_sink;

/* The 1 GiB buffer stays allocated for the whole run: bandwidth is measured at the start, next to
 * every W1/W2-like figure (the share's denominator) and at the end. */
static float *g_bw_buf;
static const size_t g_bw_bytes = (size_t)1 << 30;

/* `reps` passes of a read-sum of the whole buffer and of a copy of its first half onto its second
 * half, at T threads; median and best in GB/s (copy counts the bytes read + written). */
static void bandwidth_at(int T, int reps, double *read_med, double *read_best, double *copy_med, double *copy_best) {
    const size_t n = g_bw_bytes / sizeof(float);
    if (!g_bw_buf) {
        g_bw_buf = ALLOC(float, n);
#pragma omp parallel for schedule(static) num_threads(2)
        for (size_t i = 0; i < n; i++) g_bw_buf[i] = (float)(i & 1023) * (1.0f / 1024.0f);
    }
    float *buf = g_bw_buf;
    double rt[64], ct[64];
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        float total = 0.0f;
        double a = now_s();
#pragma omp parallel num_threads(T) reduction(+ : total)
        {
            int id = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t chunk = n / (size_t)nt, begin = (size_t)id * chunk;
            size_t len = id == nt - 1 ? n - begin : chunk;
            total += read_sum(buf + begin, len);
        }
        rt[r] = now_s() - a;
        g_sink = total;
    }
    for (int r = 0; r < reps; r++) {
        double a = now_s();
#pragma omp parallel num_threads(T)
        {
            int id = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t half = n / 2, chunk = half / (size_t)nt, begin = (size_t)id * chunk;
            size_t len = id == nt - 1 ? half - begin : chunk;
            memcpy(buf + half + begin, buf + begin, len * sizeof(float));
        }
        ct[r] = now_s() - a;
    }
    qsort(rt, (size_t)reps, sizeof(double), cmp_double);
    qsort(ct, (size_t)reps, sizeof(double), cmp_double);
    double gb = (double)g_bw_bytes * 1e-9;
    *read_best = gb / rt[0], *read_med = gb / rt[reps / 2];
    *copy_best = gb / ct[0], *copy_med = gb / ct[reps / 2];
}

static void measure_bandwidth(bandwidth *bw, const int *threads, int nthreads) {
    bw->bytes = g_bw_bytes;
    for (int k = 0; k < nthreads; k++) {
        int T = threads[k];
        bandwidth_at(T, 15, &bw->read_gbs[T], &bw->read_best_gbs[T], &bw->copy_gbs[T], &bw->copy_best_gbs[T]);
    }
}

/* ================================================================================================
 * Workloads
 * ============================================================================================== */

enum unit { UNIT_BYTES, UNIT_ELEMS };
enum share { SHARE_NONE, SHARE_COPY, SHARE_READ };
enum kind {
    K_GATHER,     /* W1 */
    K_BAG,        /* W2, W3, W3b, W4 */
    K_SPARSE,     /* W5: bag forward + the sparse backward fused with the SGD step */
    K_SPARSE_COO, /* W5-coo: bag forward + sparse backward to a COO gradient + scatter-add(-lr) */
    K_SPARSE_SGD, /* W5-sgd: bag forward + sparse backward + coalesce + sgd_update */
    K_DENSE,      /* W6: gather + zero grad + dense backward */
    K_DENSE_BWD,  /* W6-bwd: zero grad + dense backward */
    K_MAXNORM,    /* W7: renorm + gather */
    K_SOFTMAX,    /* W8 */
    K_XENT,       /* W8b */
    K_SWIFT,      /* W5-swift, W9: measured by the Swift co-process (Benchmarks/swift/main.swift) */
    K_NONE        /* no EmbeddingKit figure */
};

typedef struct {
    const char *id, *name, *params, *peer_call;
    enum kind kind;
    int64_t rows, dim, n, bags; /* table rows x dim; indices per batch; bags (0: none) */
    ek_bag_mode mode;
    int weighted;
    enum unit unit;
    enum share share;
    double target_ratio; /* 0: no target (informational row) */
    double target_share; /* > 0: "or bytes read >= this share of read bandwidth" */
    const char *target_text;
    const char *peer_id;   /* workload the peer runs for this row; NULL: none */
    const char *reuse_ek;  /* take EK's figures from this row instead of measuring (NULL: measure) */
    int scaling;           /* 1: W2 table-size scaling row */
    const char *note;
} workload;

#define LR 0.01f

static const workload WORKLOADS[] = {
    {"W1", "embedding gather", "table 1M x 128, 65,536 indices", "F.embedding", K_GATHER, 1000000, 128, 65536, 0,
     EK_BAG_SUM, 0, UNIT_BYTES, SHARE_COPY, 3.0, 0, ">= 3x", "W1", NULL, 0, NULL},
    {"W1-out", "gather, PyTorch into a preallocated out", "as W1", "torch.index_select(out=)", K_GATHER, 1000000,
     128, 65536, 0, EK_BAG_SUM, 0, UNIT_BYTES, SHARE_COPY, 0, 0, "(info)", "W1-out", "W1", 0,
     "PyTorch without its per-call 32 MiB output allocation: the kernel-to-kernel ratio"},
    {"W2", "bag sum", "table 1M x 64, 4,096 bags x 40, offsets", "F.embedding_bag(sum)", K_BAG, 1000000, 64,
     4096 * 40, 4096, EK_BAG_SUM, 0, UNIT_BYTES, SHARE_READ, 1.2, 0.92, ">= 1.2x or >= 92% read BW", "W2", NULL, 0,
     NULL},
    {"W3", "bag sum, weighted", "W2 + per_sample_weights", "F.embedding_bag(sum, psw)", K_BAG, 1000000, 64, 4096 * 40,
     4096, EK_BAG_SUM, 1, UNIT_BYTES, SHARE_READ, 1.2, 0.92, ">= 1.2x or >= 92% read BW", "W3", NULL, 0, NULL},
    {"W3b", "bag mean", "W2, mode mean", "F.embedding_bag(mean)", K_BAG, 1000000, 64, 4096 * 40, 4096, EK_BAG_MEAN, 0,
     UNIT_BYTES, SHARE_READ, 1.2, 0.92, ">= 1.2x or >= 92% read BW", "W3b", NULL, 0, NULL},
    {"W4", "bag max", "W2, mode max", "F.embedding_bag(max)", K_BAG, 1000000, 64, 4096 * 40, 4096, EK_BAG_MAX, 0,
     UNIT_BYTES, SHARE_READ, 20.0, 0, ">= 20x", "W4", NULL, 0,
     "EK called as an inference would: bag_size and max_indices NULL"},
    {"W5", "sparse train step", "W2 fwd + sparse bwd + SGD step on the table",
     "EmbeddingBag(sparse=True)+optim.SGD", K_SPARSE, 1000000, 64, 4096 * 40, 4096, EK_BAG_SUM, 0, UNIT_ELEMS,
     SHARE_NONE, 5.0, 0, ">= 5x", "W5", NULL, 0,
     "C ABI: bag forward + pos_embedding_bag_backward_sgd_i64 (the sparse backward fused with the SGD step)"},
    {"W5-swift", "sparse train step, Swift API", "as W5, through EmbeddingBag + SGD in Swift",
     "(the W5 PyTorch figure)", K_SWIFT, 1000000, 64, 4096 * 40, 4096, EK_BAG_SUM, 0, UNIT_ELEMS, SHARE_NONE, 5.0, 0,
     ">= 5x", "W5", NULL, 0,
     "Swift: EmbeddingBag(sum, sparse) forward, backward(g), SGD.step(), zeroGrad() (ek-swift-bench)"},
    {"W5-coo", "sparse train step, COO gradient", "as W5", "(the W5 PyTorch figure)", K_SPARSE_COO, 1000000, 64,
     4096 * 40, 4096, EK_BAG_SUM, 0, UNIT_ELEMS, SHARE_NONE, 0, 0, "(info)", "W5", NULL, 0,
     "the gradient materialised as PyTorch's is: pos_embedding_bag_backward_sparse_i64 + ek_coo_scatter_add_f32"},
    {"W5-sgd", "sparse train step, coalesce + sgd_update", "as W5", "(the W5 PyTorch figure)", K_SPARSE_SGD, 1000000,
     64, 4096 * 40, 4096, EK_BAG_SUM, 0, UNIT_ELEMS, SHARE_NONE, 0, 0, "(info)", "W5", NULL, 0,
     "the optimizer-API path: ek_coo_coalesce_f32 + ek_sgd_update_f32 in place of the scatter-add"},
    {"W6", "dense backward", "table 100k x 64, 65,536 indices", "F.embedding(...).backward(g)", K_DENSE, 100000, 64,
     65536, 0, EK_BAG_SUM, 0, UNIT_ELEMS, SHARE_NONE, 3.0, 0, ">= 3x", "W6", NULL, 0,
     "same work on both sides: forward gather + fresh (zeroed) dense gradient + backward"},
    {"W6-bwd", "dense backward kernel only", "as W6", "aten.embedding_dense_backward", K_DENSE_BWD, 100000, 64, 65536,
     0, EK_BAG_SUM, 0, UNIT_ELEMS, SHARE_NONE, 0, 0, "(info)", "W6-bwd", NULL, 0,
     "EK: memset(grad) + pos_embedding_backward_dense; PyTorch: the backward op alone (allocates zeros)"},
    {"W7", "max_norm lookup", "W1 with max_norm 1.0 (in-place renorm)", "F.embedding(max_norm=1.0)", K_MAXNORM,
     1000000, 128, 65536, 0, EK_BAG_SUM, 0, UNIT_BYTES, SHARE_NONE, 20.0, 0, ">= 20x", "W7", NULL, 0,
     "ek_renorm + gather; the table is renormed in place and reused across calls"},
    {"W8", "softmax", "4,096 x 1,024", "torch.softmax(x, -1)", K_SOFTMAX, 4096, 1024, 0, 0, EK_BAG_SUM, 0, UNIT_ELEMS,
     SHARE_NONE, 1.0, 0, ">= 1.0x", "W8", NULL, 0, NULL},
    {"W8b", "cross-entropy fwd + bwd", "4,096 x 1,024 logits", "F.cross_entropy(...).backward()", K_XENT, 4096, 1024,
     0, 0, EK_BAG_SUM, 0, UNIT_ELEMS, SHARE_NONE, 2.0, 0, ">= 2x", "W8b", NULL, 0,
     "EK: ek_cross_entropy_f32_i64 (mean), loss and grad_logits in one pass"},
    {"W9", "text-classifier train step", "EmbeddingBag(mean, 200k x 64, sparse) + Linear(64,100) + CE + SGD",
     "the same model in PyTorch", K_SWIFT, 200000, 64, 256 * 20, 256, EK_BAG_MEAN, 0, UNIT_ELEMS, SHARE_NONE, 3.0, 0,
     ">= 3x", "W9", NULL, 0,
     "Swift: EmbeddingBag(mean, sparse) -> Linear(64, 100) -> crossEntropy -> backward -> SGD(lr 0.1), batch 256 x 20 "
     "(ek-swift-bench); throughput = tokens x dim per s"},
    /* W2 scaling over table sizes (256 MiB is W2 itself) */
    {"W2@64MiB", "bag sum, table 64 MiB", "table 256k x 64, 4,096 bags x 40", "F.embedding_bag(sum)", K_BAG, 262144,
     64, 4096 * 40, 4096, EK_BAG_SUM, 0, UNIT_BYTES, SHARE_READ, 0, 0, "", "W2@64MiB", NULL, 1, NULL},
    {"W2@256MiB", "bag sum, table 256 MiB", "= W2", "F.embedding_bag(sum)", K_BAG, 1000000, 64, 4096 * 40, 4096,
     EK_BAG_SUM, 0, UNIT_BYTES, SHARE_READ, 0, 0, "", NULL, "W2", 1, NULL},
    {"W2@1GiB", "bag sum, table 1 GiB", "table 4M x 64, 4,096 bags x 40", "F.embedding_bag(sum)", K_BAG, 4194304, 64,
     4096 * 40, 4096, EK_BAG_SUM, 0, UNIT_BYTES, SHARE_READ, 0, 0, "", "W2@1GiB", NULL, 1, NULL},
};
#define NWORK ((int)(sizeof WORKLOADS / sizeof WORKLOADS[0]))

/* Data of one workload (only the fields its kind needs are allocated). */
typedef struct {
    const workload *w;
    float *table, *table0;     /* table0: pristine copy for the mutating workloads' checks */
    int64_t *idx[NBATCH];
    float *psw[NBATCH];
    int64_t *offsets;          /* B entries (the C ABI / PyTorch layout) */
    int64_t *csr;              /* B + 1 entries (the reference's layout) */
    float *out, *grad_out, *grad_weight;
    int64_t *sp_rows, *co_rows, nnz;
    float *sp_vals, *co_vals;
    float *x[NBATCH];
    int64_t *tgt[NBATCH];
    float loss;
} wdata;

static void w_setup(wdata *d, const workload *w) {
    memset(d, 0, sizeof *d);
    d->w = w;
    int64_t R = w->rows, D = w->dim, N = w->n, B = w->bags;
    uint64_t seed = 20240601;
    switch (w->kind) {
    case K_SOFTMAX:
    case K_XENT:
        for (int b = 0; b < NBATCH; b++) {
            d->x[b] = ALLOC(float, R * D);
            fill_uniform(d->x[b], R * D, seed + 100 + (uint64_t)b, -4.0f, 4.0f);
            if (w->kind == K_XENT) {
                d->tgt[b] = ALLOC(int64_t, R);
                fill_indices(d->tgt[b], R, seed + 200 + (uint64_t)b, D);
            }
        }
        d->out = ALLOC(float, R * D);
        return;
    case K_NONE:
        return;
    default:
        break;
    }
    d->table = ALLOC(float, R * D);
    fill_uniform(d->table, R * D, seed, -1.0f, 1.0f);
    for (int b = 0; b < NBATCH; b++) {
        d->idx[b] = ALLOC(int64_t, N);
        fill_indices(d->idx[b], N, seed + 1 + (uint64_t)b, R);
        if (w->weighted) {
            d->psw[b] = ALLOC(float, N);
            fill_uniform(d->psw[b], N, seed + 50 + (uint64_t)b, 0.0f, 1.0f);
        }
    }
    int64_t out_rows = B ? B : N;
    d->out = ALLOC(float, out_rows * D);
    if (B) {
        d->offsets = ALLOC(int64_t, B);
        d->csr = ALLOC(int64_t, B + 1);
        for (int64_t b = 0; b <= B; b++) {
            if (b < B) d->offsets[b] = b * (N / B);
            d->csr[b] = b * (N / B);
        }
    }
    if (w->kind == K_SPARSE || w->kind == K_SPARSE_COO || w->kind == K_SPARSE_SGD || w->kind == K_DENSE ||
        w->kind == K_DENSE_BWD) {
        d->grad_out = ALLOC(float, out_rows * D);
        fill_uniform(d->grad_out, out_rows * D, seed + 300, -1.0f, 1.0f);
    }
    if (w->kind == K_SPARSE_COO || w->kind == K_SPARSE_SGD) {
        d->sp_rows = ALLOC(int64_t, N);
        d->sp_vals = ALLOC(float, N * D);
        if (w->kind == K_SPARSE_SGD) {
            d->co_rows = ALLOC(int64_t, N);
            d->co_vals = ALLOC(float, N * D);
        }
    }
    if (w->kind == K_DENSE || w->kind == K_DENSE_BWD) d->grad_weight = ALLOC(float, R * D);
    if (w->kind == K_SPARSE || w->kind == K_SPARSE_COO || w->kind == K_SPARSE_SGD || w->kind == K_MAXNORM) {
        d->table0 = ALLOC(float, R * D);
        memcpy(d->table0, d->table, sizeof(float) * (size_t)(R * D));
    }
}

static void w_free(wdata *d) {
    free(d->table), free(d->table0), free(d->offsets), free(d->csr), free(d->out), free(d->grad_out);
    free(d->grad_weight), free(d->sp_rows), free(d->co_rows), free(d->sp_vals), free(d->co_vals);
    for (int b = 0; b < NBATCH; b++) free(d->idx[b]), free(d->psw[b]), free(d->x[b]), free(d->tgt[b]);
    memset(d, 0, sizeof *d);
}

/* One call of a workload through the C ABI on batch `b`, into `table` (the mutating kinds). */
static void ek_call_on(wdata *d, int b, float *table) {
    const workload *w = d->w;
    int64_t R = w->rows, D = w->dim, N = w->n, B = w->bags;
    switch (w->kind) {
    case K_GATHER:
        ek_ok(pos_embedding_forward_i64(R, D, N, table, d->idx[b], d->out), "ek_lookup_forward");
        break;
    case K_BAG:
        ek_ok(pos_embedding_bag_forward_i64(R, D, N, B, w->weighted ? N : 0, table, d->idx[b], d->offsets, 0,
                                               w->weighted ? d->psw[b] : NULL, w->mode, EK_NO_PADDING, d->out, NULL,
                                               NULL),
              "ek_bag_forward");
        break;
    case K_SPARSE:
    case K_SPARSE_COO:
    case K_SPARSE_SGD:
        ek_ok(pos_embedding_bag_forward_i64(R, D, N, B, 0, table, d->idx[b], d->offsets, 0, NULL, EK_BAG_SUM,
                                               EK_NO_PADDING, d->out, NULL, NULL),
              "ek_bag_forward");
        if (w->kind == K_SPARSE) {
            ek_ok(pos_embedding_bag_backward_sgd_i64(R, D, N, B, 0, d->idx[b], d->offsets, 0, NULL, EK_BAG_SUM,
                                                        EK_NO_PADDING, 0, NULL, d->grad_out, LR, table),
                  "ek_bag_backward_update (SGD)");
            break;
        }
        ek_ok(pos_embedding_bag_backward_sparse_i64(R, D, N, B, 0, d->idx[b], d->offsets, 0, NULL, EK_BAG_SUM,
                                                       EK_NO_PADDING, 0, NULL, d->grad_out, d->sp_rows, d->sp_vals,
                                                       &d->nnz),
              "ek_bag_backward_sparse");
        if (w->kind == K_SPARSE_COO) {
            ek_ok(ek_coo_scatter_add_f32(R, D, d->nnz, d->sp_rows, d->sp_vals, -LR, table), "ek_coo_scatter_add_f32");
        } else {
            int64_t cnnz = 0;
            ek_ok(ek_coo_coalesce_f32(R, D, d->nnz, d->sp_rows, d->sp_vals, d->co_rows, d->co_vals, &cnnz),
                  "ek_coo_coalesce_f32");
            ek_ok(ek_sgd_update_f32(R, D, cnnz, d->co_rows, d->co_vals, LR, 0, 0, 0, 0, table, NULL),
                  "ek_sgd_update_f32");
        }
        break;
    case K_DENSE:
        ek_ok(pos_embedding_forward_i64(R, D, N, table, d->idx[b], d->out), "ek_lookup_forward");
        __attribute__((fallthrough)); /* then a fresh gradient and the backward */
    case K_DENSE_BWD:
        memset(d->grad_weight, 0, sizeof(float) * (size_t)(R * D));
        ek_ok(pos_embedding_backward_dense_i64(R, D, N, d->idx[b], d->grad_out, EK_NO_PADDING, 0, d->grad_weight),
              "ek_lookup_backward_dense");
        break;
    case K_MAXNORM:
        ek_ok(pos_embedding_renorm_i64(R, D, N, d->idx[b], 1.0, 2.0, table), "ek_renorm");
        ek_ok(pos_embedding_forward_i64(R, D, N, table, d->idx[b], d->out), "ek_lookup_forward");
        break;
    case K_SOFTMAX:
        ek_ok(ek_softmax_forward_f32(R, D, d->x[b], d->out), "ek_softmax_forward_f32");
        break;
    case K_XENT:
        ek_ok(ek_cross_entropy_f32_i64(R, D, d->x[b], d->tgt[b], -100, 0.0f, EK_REDUCTION_MEAN, &d->loss, d->out),
              "ek_cross_entropy_f32_i64");
        break;
    case K_SWIFT:
    case K_NONE:
        break;
    }
}

static void ek_call(void *ctx, int b) {
    wdata *d = ctx;
    ek_call_on(d, b, d->table);
}

/* The reference result of batch 0 and the check of EmbeddingKit's against it at every thread count.
 * The mutating workloads (W5, W7) start each check from a fresh copy of the pristine table. */
static void w_check(wdata *d, const int *threads, int nthreads) {
    const workload *w = d->w;
    int64_t R = w->rows, D = w->dim, N = w->n, B = w->bags;
    const char *id = w->id;
    double t0 = now_s();
    switch (w->kind) {
    case K_GATHER:
    case K_BAG: {
        int64_t cells = (B ? B : N) * D;
        float *ref = ALLOC(float, cells);
        if (w->kind == K_GATHER) ekref_embedding_forward(R, D, N, d->table, d->idx[0], ref);
        else ekref_bag_forward(R, D, N, B, d->table, d->idx[0], d->csr, w->weighted ? d->psw[0] : NULL, w->mode, -1,
                               ref, NULL, NULL);
        for (int k = 0; k < nthreads; k++) {
            ek_set_num_threads(threads[k]);
            memset(d->out, 0xff, sizeof(float) * (size_t)cells); /* NaN: an unwritten cell cannot pass */
            ek_call_on(d, 0, d->table);
            check_close(id, "output", threads[k], d->out, ref, cells, 1e-5, 1e-5);
        }
        free(ref);
        break;
    }
    case K_SPARSE:
    case K_SPARSE_COO:
    case K_SPARSE_SGD: {
        float *ref_table = ALLOC(float, R * D), *ref_out = ALLOC(float, B * D), *ref_vals = ALLOC(float, N * D);
        int64_t *ref_rows = ALLOC(int64_t, N);
        memcpy(ref_table, d->table0, sizeof(float) * (size_t)(R * D));
        ekref_bag_forward(R, D, N, B, ref_table, d->idx[0], d->csr, NULL, EK_BAG_SUM, -1, ref_out, NULL, NULL);
        int64_t nnz = ekref_bag_backward_sparse(R, D, N, B, d->idx[0], d->csr, NULL, EK_BAG_SUM, -1, 0, NULL,
                                                d->grad_out, ref_rows, ref_vals);
        if (w->kind != K_SPARSE_SGD) {
            ekref_coo_scatter_add(R, D, nnz, ref_rows, ref_vals, -LR, ref_table);
        } else {
            int64_t *crow = ALLOC(int64_t, N);
            float *cval = ALLOC(float, N * D);
            int64_t cnnz = ekref_coo_coalesce(R, D, nnz, ref_rows, ref_vals, crow, cval);
            ekref_sgd(D, cnnz, crow, cval, LR, 0, 0, 0, 0, ref_table, NULL);
            free(crow), free(cval);
        }
        for (int k = 0; k < nthreads; k++) {
            ek_set_num_threads(threads[k]);
            memcpy(d->table, d->table0, sizeof(float) * (size_t)(R * D));
            ek_call_on(d, 0, d->table);
            check_close(id, "bag forward output", threads[k], d->out, ref_out, B * D, 1e-5, 1e-5);
            if (w->kind == K_SPARSE) { /* fused: no gradient to check, only the table it stepped */
                check_close(id, "updated table", threads[k], d->table, ref_table, R * D, 1e-6, 1e-5);
                continue;
            }
            if (d->nnz != nnz)
                die(2, "%s: sparse gradient has %lld entries at %d thread(s), reference %lld", id, (long long)d->nnz,
                    threads[k], (long long)nnz);
            check_equal_i64(id, "sparse gradient rows", threads[k], d->sp_rows, ref_rows, nnz);
            check_close(id, "sparse gradient values", threads[k], d->sp_vals, ref_vals, nnz * D, 1e-6, 1e-5);
            check_close(id, "updated table", threads[k], d->table, ref_table, R * D, 1e-6, 1e-5);
        }
        memcpy(d->table, d->table0, sizeof(float) * (size_t)(R * D)); /* time from the pristine table */
        free(ref_table), free(ref_out), free(ref_vals), free(ref_rows);
        break;
    }
    case K_DENSE:
    case K_DENSE_BWD: {
        float *ref_out = ALLOC(float, N * D), *ref_grad = ALLOC(float, R * D);
        ekref_embedding_forward(R, D, N, d->table, d->idx[0], ref_out);
        memset(ref_grad, 0, sizeof(float) * (size_t)(R * D));
        ekref_embedding_backward_dense(R, D, N, d->idx[0], d->grad_out, -1, 0, ref_grad);
        for (int k = 0; k < nthreads; k++) {
            ek_set_num_threads(threads[k]);
            memset(d->out, 0xff, sizeof(float) * (size_t)(N * D));
            ek_call_on(d, 0, d->table);
            if (w->kind == K_DENSE) check_close(id, "forward output", threads[k], d->out, ref_out, N * D, 0, 0);
            check_close(id, "dense gradient", threads[k], d->grad_weight, ref_grad, R * D, 1e-5, 1e-5);
        }
        free(ref_out), free(ref_grad);
        break;
    }
    case K_MAXNORM: {
        float *ref_table = ALLOC(float, R * D), *ref_out = ALLOC(float, N * D);
        memcpy(ref_table, d->table0, sizeof(float) * (size_t)(R * D));
        ekref_renorm(R, D, N, d->idx[0], 1.0, 2.0, ref_table);
        ekref_embedding_forward(R, D, N, ref_table, d->idx[0], ref_out);
        for (int k = 0; k < nthreads; k++) {
            ek_set_num_threads(threads[k]);
            memcpy(d->table, d->table0, sizeof(float) * (size_t)(R * D));
            memset(d->out, 0xff, sizeof(float) * (size_t)(N * D));
            ek_call_on(d, 0, d->table);
            check_close(id, "renormed lookup output", threads[k], d->out, ref_out, N * D, 1e-6, 1e-5);
            check_close(id, "renormed table", threads[k], d->table, ref_table, R * D, 1e-6, 1e-5);
        }
        memcpy(d->table, d->table0, sizeof(float) * (size_t)(R * D));
        free(ref_table), free(ref_out);
        break;
    }
    case K_SOFTMAX: {
        float *ref = ALLOC(float, R * D);
        ekref_softmax(R, D, d->x[0], ref, 0);
        for (int k = 0; k < nthreads; k++) {
            ek_set_num_threads(threads[k]);
            memset(d->out, 0xff, sizeof(float) * (size_t)(R * D));
            ek_call_on(d, 0, d->table);
            check_close(id, "softmax", threads[k], d->out, ref, R * D, 1e-5, 1e-5);
        }
        free(ref);
        break;
    }
    case K_XENT: {
        float *ref = ALLOC(float, R * D), ref_loss = 0;
        ekref_cross_entropy(R, D, d->x[0], d->tgt[0], -100, 0.0f, EK_REDUCTION_MEAN, &ref_loss, ref);
        for (int k = 0; k < nthreads; k++) {
            ek_set_num_threads(threads[k]);
            memset(d->out, 0xff, sizeof(float) * (size_t)(R * D));
            ek_call_on(d, 0, d->table);
            check_close(id, "loss", threads[k], &d->loss, &ref_loss, 1, 1e-4, 1e-5);
            check_close(id, "grad_logits", threads[k], d->out, ref, R * D, 1e-6, 1e-4);
        }
        free(ref);
        break;
    }
    case K_SWIFT:
    case K_NONE:
        break;
    }
    fprintf(stderr, "  %-9s EmbeddingKit matches the reference kernel at", id);
    for (int k = 0; k < nthreads; k++) fprintf(stderr, " %d", threads[k]);
    fprintf(stderr, " thread(s) (%.1f s)\n", now_s() - t0);
}

/* Work per call: bytes of table rows read (UNIT_BYTES) or elements (UNIT_ELEMS). */
static double w_work(const workload *w) {
    switch (w->kind) {
    case K_GATHER:
    case K_BAG:
    case K_MAXNORM:
        return (double)w->n * (double)w->dim * sizeof(float);
    case K_SOFTMAX:
    case K_XENT:
        return (double)w->rows * (double)w->dim;
    default:
        return (double)w->n * (double)w->dim;
    }
}

/* ================================================================================================
 * The PyTorch co-process (Benchmarks/peers.py)
 * ============================================================================================== */

static char peer_torch[64] = "", peer_numpy[64] = "", peer_capability[64] = "", peer_absent[512] = "";

/* The value of "key" in a flat JSON object line (numbers and strings without escapes). */
static int json_get(const char *line, const char *key, char *buf, size_t cap) {
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p) return 0;
    p += strlen(pat);
    while (*p == ' ') p++;
    size_t k = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"' && k + 1 < cap) {
            if (*p == '\\' && p[1]) p++;
            buf[k++] = *p++;
        }
    } else {
        while (*p && *p != ',' && *p != '}' && k + 1 < cap) buf[k++] = *p++;
    }
    buf[k] = 0;
    return 1;
}
static double json_num(const char *line, const char *key, double fallback) {
    char buf[64];
    if (!json_get(line, key, buf, sizeof buf)) return fallback;
    char *end;
    double v = strtod(buf, &end);
    return end == buf ? fallback : v;
}

static void coproc_close(coproc *c) {
    fclose(c->in), fclose(c->out);
    waitpid(c->pid, NULL, 0);
    c->in = c->out = NULL;
    c->pid = 0;
}

/* Starts argv[0] with its stdin and stdout piped to *c and reads its first line (its hello) into
 * `line`; returns 0, or -1 (and closes *c) when it exits without a line. */
static int coproc_spawn(coproc *c, char *const argv[], char *line, int cap) {
    int to_child[2], from_child[2];
    if (pipe(to_child) || pipe(from_child)) die(1, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) die(1, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        close(to_child[0]), close(to_child[1]), close(from_child[0]), close(from_child[1]);
        execv(argv[0], argv);
        fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(to_child[0]), close(from_child[1]);
    c->pid = pid;
    c->in = fdopen(to_child[1], "w");
    c->out = fdopen(from_child[0], "r");
    if (fgets(line, cap, c->out)) return 0;
    coproc_close(c);
    return -1;
}

static void coproc_stop(coproc *c) {
    if (!c->in) return;
    fprintf(c->in, "quit\n");
    fflush(c->in);
    coproc_close(c);
}

static void peer_start(const char *python, const char *script) {
    if (access(python, X_OK) != 0) {
        snprintf(peer_absent, sizeof peer_absent, "%s not found (run `make bench-peers`)", python);
        return;
    }
    char line[4096];
    if (coproc_spawn(&peer, (char *const[]){(char *)python, (char *)script, "--serve", NULL}, line, sizeof line)) {
        snprintf(peer_absent, sizeof peer_absent, "%s %s exited before saying hello", python, script);
    } else if (strstr(line, "\"ok\": true") || strstr(line, "\"ok\":true")) {
        json_get(line, "torch", peer_torch, sizeof peer_torch);
        json_get(line, "numpy", peer_numpy, sizeof peer_numpy);
        json_get(line, "capability", peer_capability, sizeof peer_capability);
    } else {
        char err[400] = "";
        json_get(line, "error", err, sizeof err);
        snprintf(peer_absent, sizeof peer_absent, "%s cannot import torch (%s); run `make bench-peers`", python, err);
        coproc_close(&peer);
    }
}

typedef struct {
    int have;
    stats s;
    char error[300];
} peer_result;

/* Runs one workload in a co-process (same protocol for PyTorch's peers.py and ek-swift-bench) at each
 * thread count; fills res[k] for threads[k]. A co-process that ends is closed (*in = NULL). An error
 * line with "check": true (a wrong result) fails the bench. */
static void coproc_run(coproc *c, const char *who, const char *id, const int *threads, int nthreads,
                       peer_result *res) {
    for (int k = 0; k < nthreads; k++) memset(&res[k], 0, sizeof res[k]);
    if (!c->in) return;
    fprintf(c->in, "run %s ", id);
    for (int k = 0; k < nthreads; k++) fprintf(c->in, "%s%d", k ? "," : "", threads[k]);
    fprintf(c->in, " %g %d\n", g_seconds, g_min_repeats);
    fflush(c->in);
    char line[4096];
    while (fgets(line, sizeof line, c->out)) {
        char kind[32] = "";
        json_get(line, "kind", kind, sizeof kind);
        if (!strcmp(kind, "done")) return;
        int T = (int)json_num(line, "threads", -1);
        if (!strcmp(kind, "error") && strstr(line, "\"check\": true")) {
            char msg[600] = "";
            json_get(line, "message", msg, sizeof msg);
            die(2, "%s: %s's result differs from the plain computation: %s", id, who, msg);
        }
        for (int k = 0; k < nthreads; k++) {
            if (threads[k] != T) continue;
            if (!strcmp(kind, "result")) {
                res[k].have = 1;
                res[k].s.median_ms = json_num(line, "median_ms", NAN);
                res[k].s.min_ms = json_num(line, "min_ms", NAN);
                res[k].s.p25_ms = json_num(line, "p25_ms", NAN);
                res[k].s.p75_ms = json_num(line, "p75_ms", NAN);
                res[k].s.repeats = (int)json_num(line, "repeats", 0);
                res[k].s.foreign_cpu = json_num(line, "foreign_cpu", 0);
            } else if (!strcmp(kind, "error")) {
                json_get(line, "message", res[k].error, sizeof res[k].error);
                fprintf(stderr, "  %-9s %s failed at %d thread(s): %s\n", id, who, T, res[k].error);
            }
        }
        if (!strcmp(kind, "error") && T < 0) {
            char msg[300] = "";
            json_get(line, "message", msg, sizeof msg);
            fprintf(stderr, "  %-9s %s failed: %s\n", id, who, msg);
        }
    }
    fprintf(stderr, "bench: the %s co-process ended unexpectedly; continuing without it\n", who);
    coproc_close(c);
}

static void peer_run(const char *id, const int *threads, int nthreads, peer_result *res) {
    coproc_run(&peer, "PyTorch", id, threads, nthreads, res);
}

/* ---- the Swift co-process (ek-swift-bench --serve): W5-swift and W9 through the Swift API ---- */

static char swift_absent[512] = "", swift_isa[32] = "";

static void swift_start(const char *path) {
    if (access(path, X_OK) != 0) {
        snprintf(swift_absent, sizeof swift_absent, "%s not found (make bench builds it with swift build)", path);
        return;
    }
    char line[4096];
    if (coproc_spawn(&swift, (char *const[]){(char *)path, "--serve", NULL}, line, sizeof line) == 0 &&
        strstr(line, "\"ok\": true")) {
        json_get(line, "isa", swift_isa, sizeof swift_isa);
        return;
    }
    snprintf(swift_absent, sizeof swift_absent, "%s did not say hello", path);
    if (swift.in) coproc_close(&swift);
}

/* ================================================================================================
 * Results, table, JSON
 * ============================================================================================== */

typedef struct {
    const workload *w;
    int threads;
    int have_ek;
    stats ek;
    peer_result pt;
    double ratio;      /* PyTorch time / EK time; NAN when absent */
    double throughput; /* GB/s or elements/s */
    double share;      /* of copy (W1) or read (W2-like) bandwidth at the same thread count; NAN if none */
    double bw_ref;     /* that bandwidth (GB/s), measured right before the row's EK figure; 0 if none */
    int met;           /* 1 met, 0 not met, -1 no target or no figure */
    const char *met_by;
} row;

static row rows[NWORK * MAX_THREADS];
static int nrows = 0;

static row *find_row(const char *id, int threads) {
    for (int i = 0; i < nrows; i++)
        if (!strcmp(rows[i].w->id, id) && rows[i].threads == threads) return &rows[i];
    return NULL;
}

/* PyTorch's figure for workload w at one thread count, into r. */
static void pytorch_figure(const workload *w, int threads, row *r) {
    peer_run(w->peer_id, &threads, 1, &r->pt);
    if (r->pt.have)
        fprintf(stderr, "  %-9s PyTorch %d thread(s): %9.4f ms/call (%d calls)\n", w->id, threads, r->pt.s.median_ms,
                r->pt.s.repeats);
}

static void finish_row(row *r, const bandwidth *bw) {
    const workload *w = r->w;
    r->ratio = r->have_ek && r->pt.have ? r->pt.s.median_ms / r->ek.median_ms : NAN;
    double work = w_work(w);
    r->throughput = r->have_ek ? work / (r->ek.median_ms * 1e-3) : NAN;
    if (w->unit == UNIT_BYTES) r->throughput *= 1e-9;
    r->share = NAN;
    if (r->have_ek && w->share != SHARE_NONE && !(r->bw_ref > 0))
        r->bw_ref = w->share == SHARE_COPY ? bw->copy_gbs[r->threads] : bw->read_gbs[r->threads];
    if (r->have_ek && w->share == SHARE_COPY) /* rows read + the same bytes written to out */
        r->share = 2.0 * work / (r->ek.median_ms * 1e-3) * 1e-9 / r->bw_ref;
    if (r->have_ek && w->share == SHARE_READ) r->share = work / (r->ek.median_ms * 1e-3) * 1e-9 / r->bw_ref;
    r->met = -1;
    r->met_by = "";
    if (w->target_ratio > 0 && r->have_ek) {
        if (w->target_share > 0 && r->share >= w->target_share) r->met = 1, r->met_by = "bandwidth";
        else if (!isnan(r->ratio)) {
            r->met = r->ratio >= w->target_ratio;
            r->met_by = r->met ? "ratio" : "";
        }
    }
}

static void fmt_ms(char *buf, size_t cap, double ms) {
    if (isnan(ms)) snprintf(buf, cap, "-");
    else if (ms >= 100) snprintf(buf, cap, "%.1f", ms);
    else if (ms >= 1) snprintf(buf, cap, "%.3f", ms);
    else snprintf(buf, cap, "%.4f", ms);
}

static void print_row(const row *r, int with_peer) {
    const workload *w = r->w;
    char ek[32], pt[32], ratio[32] = "-", thr[32] = "-", share[32] = "", met[32] = "";
    fmt_ms(ek, sizeof ek, r->have_ek ? r->ek.median_ms : NAN);
    fmt_ms(pt, sizeof pt, r->pt.have ? r->pt.s.median_ms : NAN);
    if (!isnan(r->ratio)) snprintf(ratio, sizeof ratio, "%.2fx", r->ratio);
    if (!isnan(r->throughput)) {
        if (w->unit == UNIT_BYTES) snprintf(thr, sizeof thr, "%.2f GB/s", r->throughput);
        else snprintf(thr, sizeof thr, "%.1f Melem/s", r->throughput * 1e-6);
    }
    if (!isnan(r->share)) snprintf(share, sizeof share, "%.0f%% of %.1f", 100 * r->share, r->bw_ref);
    if (w->kind == K_NONE) snprintf(met, sizeof met, "not yet");
    else if (w->kind == K_SWIFT && !r->have_ek) snprintf(met, sizeof met, "- (no Swift)");
    else if (r->met == 1) snprintf(met, sizeof met, "met%s", !strcmp(r->met_by, "bandwidth") ? " (BW)" : "");
    else if (r->met == 0) snprintf(met, sizeof met, "NOT MET");
    else if (w->target_ratio > 0) snprintf(met, sizeof met, with_peer ? "?" : "- (no PyTorch)");
    const char *noisy = (r->have_ek && r->ek.foreign_cpu > 0.15) || (r->pt.have && r->pt.s.foreign_cpu > 0.15) ? " *" : "";
    if (with_peer)
        printf("%-9s %3d %10s %10s %8s %15s %13s  %-27s %s%s\n", w->id, r->threads, ek, pt, ratio, thr, share,
               w->target_text, met, noisy);
    else
        printf("%-9s %3d %10s %15s %13s  %-27s %s%s\n", w->id, r->threads, ek, thr, share, w->target_text, met, noisy);
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f), fputc(*s, f);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}
static void json_num_out(FILE *f, double v) {
    if (isnan(v) || isinf(v)) fprintf(f, "null");
    else fprintf(f, "%.6g", v);
}

static void cpu_model(char *buf, size_t cap) {
    snprintf(buf, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ' || *p == '\t') p++;
                p[strcspn(p, "\n")] = 0;
                snprintf(buf, cap, "%s", p);
            }
            break;
        }
    fclose(f);
}
static void read_first_line(const char *path, char *buf, size_t cap) {
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (fgets(buf, (int)cap, f)) buf[strcspn(buf, "\n")] = 0;
    fclose(f);
}

/* ================================================================================================
 * main
 * ============================================================================================== */

static int parse_threads(const char *s, int *out) {
    int n = 0;
    while (*s && n < 4) {
        int v = atoi(s);
        if (v < 1 || v > MAX_THREADS) die(1, "--threads: each count must lie in 1..%d", MAX_THREADS);
        out[n++] = v;
        s = strchr(s, ',');
        if (!s) break;
        s++;
    }
    return n;
}

static int selected(const char *only, const char *id) {
    if (!only) return 1;
    size_t len = strlen(id);
    for (const char *p = only; (p = strstr(p, id)); p += len)
        if ((p == only || p[-1] == ',') && (p[len] == 0 || p[len] == ',')) return 1;
    return 0;
}

int main(int argc, char **argv) {
    const char *python = ".venv/bin/python", *script = "Benchmarks/peers.py", *results = "Benchmarks/results";
    const char *only = NULL, *swift_bench = ".build-bench/release/ek-swift-bench";
    int use_peers = 1, threads[4] = {1, 2}, nthreads = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seconds") && v) g_seconds = atof(v), i++;
        else if (!strcmp(a, "--threads") && v) nthreads = parse_threads(v, threads), i++;
        else if (!strcmp(a, "--only") && v) only = v, i++;
        else if (!strcmp(a, "--python") && v) python = v, i++;
        else if (!strcmp(a, "--peers") && v) script = v, i++;
        else if (!strcmp(a, "--results") && v) results = v, i++;
        else if (!strcmp(a, "--no-peers")) use_peers = 0;
        else if (!strcmp(a, "--swift") && v) swift_bench = v, i++;
        else if (!strcmp(a, "--no-swift")) swift_bench = NULL;
        else if (!strcmp(a, "--quick")) g_seconds = 0.3, g_min_repeats = 8;
        else {
            fprintf(stderr,
                    "usage: %s [--seconds S] [--threads 1,2] [--only W1,W2,...] [--python PY] [--peers peers.py]\n"
                    "          [--no-peers] [--results DIR] [--quick] [--swift PATH | --no-swift]\n",
                    argv[0]);
            return 1;
        }
    }
    if (!(g_seconds > 0)) die(1, "--seconds must be positive");
    signal(SIGPIPE, SIG_IGN);

    double run_start = now_s(), busy_start = machine_busy_s();
    char model[256], loadavg_start[128], thp[128];
    cpu_model(model, sizeof model);
    read_first_line("/proc/loadavg", loadavg_start, sizeof loadavg_start);
    read_first_line("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof thp);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    time_t wall = time(NULL);
    struct tm tm;
    localtime_r(&wall, &tm);
    char date[64], stamp[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S%z", &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d-%H%M%S", &tm);

    printf("EmbeddingKit %s bench: %s, %s, %ld CPU(s); load average at start: %s\n", ek_version_string(), date, model,
           ncpu, loadavg_start);
    printf("Method: fp32 tables, int64 indices uniform (fixed seed), %d batches rotated, warm-up then the median of\n"
           ">= %d calls and >= %.2g s per figure; outputs reused; EmbeddingKit checked against the reference kernel first.\n",
           NBATCH, g_min_repeats, g_seconds);

    /* 1. bandwidth */
    bandwidth bw;
    memset(&bw, 0, sizeof bw);
    fprintf(stderr, "measuring bandwidth (1 GiB buffer) ...\n");
    measure_bandwidth(&bw, threads, nthreads);
    printf("\nMachine bandwidth (1 GiB buffer, median of 15 passes [best]; copy counts bytes read + written):\n");
    for (int k = 0; k < nthreads; k++)
        printf("  %d thread(s): sequential read %.1f GB/s [%.1f], copy %.1f GB/s [%.1f]\n", threads[k],
               bw.read_gbs[threads[k]], bw.read_best_gbs[threads[k]], bw.copy_gbs[threads[k]],
               bw.copy_best_gbs[threads[k]]);

    /* 2. the PyTorch co-process */
    if (use_peers) peer_start(python, script);
    else snprintf(peer_absent, sizeof peer_absent, "--no-peers");
    int with_peer = peer.in != NULL;
    if (with_peer)
        printf("\nPyTorch %s (numpy %s, CPU capability %s) runs the same workloads in a co-process, interleaved:\n"
               "for each workload and thread count, EmbeddingKit then PyTorch.\n",
               peer_torch, peer_numpy, peer_capability);
    else
        printf("\nPyTorch: NOT AVAILABLE (%s).\nShowing EmbeddingKit's columns only.\n", peer_absent);
    int wants_swift = 0;
    for (int wi = 0; wi < NWORK; wi++) wants_swift |= WORKLOADS[wi].kind == K_SWIFT && selected(only, WORKLOADS[wi].id);
    if (swift_bench && wants_swift) swift_start(swift_bench);
    else if (!swift_bench) snprintf(swift_absent, sizeof swift_absent, "--no-swift");
    if (swift.in)
        printf("Swift API: %s --serve (ISA %s) runs W5-swift and W9 in a second co-process, checked first.\n",
               swift_bench, swift_isa);
    else if (wants_swift)
        printf("Swift API: NOT AVAILABLE (%s): no W5-swift / W9 figures.\n", swift_absent);
    printf("Kernels' ISA: %s (EK_ISA or ek_set_isa lowers it).\n", ek_isa_name(ek_get_isa()));
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    if (coretype)
        printf("OpenBLAS kernels: %s, forced by OPENBLAS_CORETYPE=%s in the environment (unset it to let OpenBLAS\n"
               "  pick for this CPU; W9's products run on these kernels).\n", openblas_get_corename(), coretype);
    else printf("OpenBLAS kernels: %s (OpenBLAS's own choice for this CPU).\n", openblas_get_corename());
    fflush(stdout);

    /* 3. the workloads */
    for (int wi = 0; wi < NWORK; wi++) {
        const workload *w = &WORKLOADS[wi];
        if (!selected(only, w->id) && !(w->reuse_ek && selected(only, w->reuse_ek))) continue;
        int first = nrows;
        for (int k = 0; k < nthreads; k++) {
            row *r = &rows[nrows++];
            memset(r, 0, sizeof *r);
            r->w = w, r->threads = threads[k];
        }
        if (w->kind == K_NONE) {
            fprintf(stderr, "  %-9s not yet (%s)\n", w->id, w->note);
            for (int k = 0; k < nthreads; k++) finish_row(&rows[first + k], &bw);
            continue;
        }
        /* Figures taken from an earlier row: EK's (reuse_ek) and/or PyTorch's (the same peer call). */
        const row *pt_src = NULL;
        if (w->peer_id) {
            for (int i = 0; i < first && !pt_src; i++)
                if (rows[i].w->peer_id && !strcmp(rows[i].w->peer_id, w->peer_id)) pt_src = &rows[i];
        } else if (w->reuse_ek) {
            pt_src = find_row(w->reuse_ek, threads[0]);
        }
        int run_peer = w->peer_id && !pt_src;
        for (int k = 0; k < nthreads; k++) {
            row *r = &rows[first + k];
            if (w->reuse_ek) {
                const row *src = find_row(w->reuse_ek, threads[k]);
                if (src) r->have_ek = src->have_ek, r->ek = src->ek, r->bw_ref = src->bw_ref;
            }
            if (pt_src) {
                const row *src = find_row(pt_src->w->id, threads[k]);
                if (src) r->pt = src->pt;
            }
        }
        wdata d;
        int have_data = 0;
        if (w->kind == K_SWIFT) { /* EK's figure from the Swift co-process, then PyTorch's, per thread count */
            for (int k = 0; k < nthreads; k++) {
                row *r = &rows[first + k];
                peer_result sw;
                coproc_run(&swift, "Swift", w->id, &threads[k], 1, &sw);
                if (sw.have) {
                    r->ek = sw.s, r->have_ek = 1;
                    fprintf(stderr, "  %-9s EK/Swift %d thread(s): %9.4f ms/call (%d calls)\n", w->id, threads[k],
                            r->ek.median_ms, r->ek.repeats);
                }
                if (run_peer) pytorch_figure(w, threads[k], r);
            }
            for (int k = 0; k < nthreads; k++) finish_row(&rows[first + k], &bw);
            continue;
        }
        if (!w->reuse_ek) {
            double t0 = now_s();
            w_setup(&d, w);
            have_data = 1;
            fprintf(stderr, "  %-9s data ready (%.1f s)\n", w->id, now_s() - t0);
            w_check(&d, threads, nthreads);
        }
        /* Interleaved: at each thread count, EmbeddingKit then PyTorch. */
        for (int k = 0; k < nthreads; k++) {
            row *r = &rows[first + k];
            if (have_data) {
                if (w->share != SHARE_NONE) { /* the share's denominator, measured right before */
                    double rm, rb, cm, cb;
                    bandwidth_at(threads[k], 7, &rm, &rb, &cm, &cb);
                    r->bw_ref = w->share == SHARE_COPY ? cm : rm;
                }
                ek_ok(ek_set_num_threads(threads[k]), "ek_set_num_threads");
                r->ek = measure(ek_call, &d);
                r->have_ek = 1;
                fprintf(stderr, "  %-9s EK      %d thread(s): %9.4f ms/call (%d calls)\n", w->id, threads[k],
                        r->ek.median_ms, r->ek.repeats);
            }
            if (run_peer) pytorch_figure(w, threads[k], r);
        }
        if (have_data) w_free(&d);
        for (int k = 0; k < nthreads; k++) finish_row(&rows[first + k], &bw);
    }
    coproc_stop(&peer);
    coproc_stop(&swift);
    /* again at the end: only reported, to show how much the memory system drifted during the run */
    bandwidth bw_end;
    memset(&bw_end, 0, sizeof bw_end);
    measure_bandwidth(&bw_end, threads, nthreads);
    free(g_bw_buf);
    g_bw_buf = NULL;
    double run_s = now_s() - run_start;
    double busy = machine_busy_s() - busy_start;
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self), getrusage(RUSAGE_CHILDREN, &kids);
    double own = (double)self.ru_utime.tv_sec + 1e-6 * self.ru_utime.tv_usec + (double)self.ru_stime.tv_sec +
                 1e-6 * self.ru_stime.tv_usec + (double)kids.ru_utime.tv_sec + 1e-6 * kids.ru_utime.tv_usec +
                 (double)kids.ru_stime.tv_sec + 1e-6 * kids.ru_stime.tv_usec;
    double foreign = busy_start < 0 ? 0 : (busy - own) / run_s;
    if (foreign < 0) foreign = 0;

    /* 4. the table */
    printf("\n%s\n", with_peer ? "ms/call = median; ratio = PyTorch time / EK time (EK speed-up); throughput = EK's"
                               : "ms/call = median; throughput = EK's");
    printf("(GB/s of table rows read for W1-W4/W7, elements/s otherwise); BW share: W1 = rows read + written vs copy\n"
           "bandwidth, W2-like = rows read vs sequential read bandwidth; each against that bandwidth (\"of\", GB/s, median of\n"
           "7 passes) measured right before the row's EK figure at its thread count.\n\n");
    if (with_peer)
        printf("%-9s %3s %10s %10s %8s %15s %13s  %-27s %s\n", "workload", "thr", "EK ms", "PyTorch ms", "EK/PT",
               "throughput", "BW share", "target (WORKLOADS.md)", "status");
    else
        printf("%-9s %3s %10s %15s %13s  %-27s %s\n", "workload", "thr", "EK ms", "throughput", "BW share",
               "target (WORKLOADS.md)", "status");
    for (int i = 0; i < nrows; i++)
        if (!rows[i].w->scaling) print_row(&rows[i], with_peer);
    int any_scaling = 0;
    for (int i = 0; i < nrows; i++) any_scaling |= rows[i].w->scaling;
    if (any_scaling) {
        printf("\nW2 scaling over table size (bag sum, 4,096 bags x 40, dim 64):\n");
        if (with_peer)
            printf("%-9s %3s %10s %10s %8s %15s %13s\n", "table", "thr", "EK ms", "PyTorch ms", "EK/PT", "throughput",
                   "BW share");
        else
            printf("%-9s %3s %10s %15s %13s\n", "table", "thr", "EK ms", "throughput", "BW share");
        for (int i = 0; i < nrows; i++)
            if (rows[i].w->scaling) {
                row r = rows[i];
                char ek[32], pt[32], ratio[32] = "-";
                fmt_ms(ek, sizeof ek, r.have_ek ? r.ek.median_ms : NAN);
                fmt_ms(pt, sizeof pt, r.pt.have ? r.pt.s.median_ms : NAN);
                if (!isnan(r.ratio)) snprintf(ratio, sizeof ratio, "%.2fx", r.ratio);
                const char *size = strchr(r.w->id, '@') + 1;
                if (with_peer)
                    printf("%-9s %3d %10s %10s %8s %10.2f GB/s %5.0f%% of %4.1f\n", size, r.threads, ek, pt, ratio,
                           r.throughput, 100 * r.share, r.bw_ref);
                else
                    printf("%-9s %3d %10s %10.2f GB/s %5.0f%% of %4.1f\n", size, r.threads, ek, r.throughput,
                           100 * r.share, r.bw_ref);
            }
    }
    printf("\nNotes:\n");
    for (int wi = 0; wi < NWORK; wi++)
        if (WORKLOADS[wi].note && selected(only, WORKLOADS[wi].id)) printf("  %-7s %s\n", WORKLOADS[wi].id, WORKLOADS[wi].note);
    printf("  W2 target: met when EK/PT >= 1.2x OR rows read >= 92%% of the read bandwidth measured next to it "
           "(met (BW)).\n");
    printf("  * = other processes used > 0.15 CPU during that figure (the machine was shared).\n");
    printf("\nBandwidth measured again at the end (not used above):");
    for (int k = 0; k < nthreads; k++)
        printf("%s %d thread(s): read %.1f GB/s, copy %.1f GB/s", k ? ";" : "", threads[k], bw_end.read_gbs[threads[k]],
               bw_end.copy_gbs[threads[k]]);
    printf("\nRun took %.0f s; other processes used %.2f CPU on average during it (of %ld).\n", run_s, foreign, ncpu);
    if (foreign > 0.25)
        printf("WARNING: the machine was busy (other processes used %.2f of %ld CPUs): the figures, above all the\n"
               "2-thread ones, are not reliable; run again on a quiet machine.\n",
               foreign, ncpu);
    if (!with_peer) printf("PyTorch was not available: %s\n", peer_absent);

    /* 5. JSON */
    mkdir(results, 0777);
    char path[1024];
    snprintf(path, sizeof path, "%s/bench-%s.json", results, stamp);
    FILE *f = fopen(path, "w");
    if (!f) die(1, "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "{\n  \"date\": ");
    json_str(f, date);
    fprintf(f, ",\n  \"machine\": {\"cpu\": ");
    json_str(f, model);
    fprintf(f, ", \"cpus\": %ld, \"transparent_hugepage\": ", ncpu);
    json_str(f, thp);
    fprintf(f, ", \"loadavg_at_start\": ");
    json_str(f, loadavg_start);
    fprintf(f, ", \"foreign_cpu_during_run\": ");
    json_num_out(f, foreign);
    fprintf(f, "},\n  \"embeddingkit\": ");
    json_str(f, ek_version_string());
    fprintf(f, ",\n  \"compiler\": ");
    json_str(f, "gcc " __VERSION__);
    fprintf(f, ",\n  \"openblas_core\": ");
    json_str(f, openblas_get_corename());
    fprintf(f, ",\n  \"openblas_coretype_env\": ");
    if (getenv("OPENBLAS_CORETYPE")) json_str(f, getenv("OPENBLAS_CORETYPE"));
    else fprintf(f, "null");
    fprintf(f, ",\n  \"isa\": ");
    json_str(f, ek_isa_name(ek_get_isa()));
    fprintf(f, ",\n  \"swift_api\": ");
    if (swift_isa[0]) {
        fprintf(f, "{\"binary\": ");
        json_str(f, swift_bench);
        fprintf(f, ", \"isa\": ");
        json_str(f, swift_isa);
        fprintf(f, "}");
    } else {
        json_str(f, swift_absent[0] ? swift_absent : "not run");
    }
    fprintf(f, ",\n  \"pytorch\": ");
    if (with_peer) {
        fprintf(f, "{\"version\": ");
        json_str(f, peer_torch);
        fprintf(f, ", \"numpy\": ");
        json_str(f, peer_numpy);
        fprintf(f, ", \"cpu_capability\": ");
        json_str(f, peer_capability);
        fprintf(f, "}");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ",\n  \"pytorch_absent_reason\": ");
    if (with_peer) fprintf(f, "null");
    else json_str(f, peer_absent);
    fprintf(f, ",\n  \"method\": {\"batches\": %d, \"min_repeats\": %d, \"seconds_per_figure\": %g, \"statistic\": "
               "\"median\", \"interleaving\": \"per workload and thread count: EK, then PyTorch\"},\n",
            NBATCH, g_min_repeats, g_seconds);
    fprintf(f, "  \"bandwidth_gbs\": {");
    for (int k = 0; k < nthreads; k++) {
        int T = threads[k];
        fprintf(f, "%s\"%d\": {\"read\": ", k ? ", " : "", T);
        json_num_out(f, bw.read_gbs[T]);
        fprintf(f, ", \"read_best\": ");
        json_num_out(f, bw.read_best_gbs[T]);
        fprintf(f, ", \"copy\": ");
        json_num_out(f, bw.copy_gbs[T]);
        fprintf(f, ", \"copy_best\": ");
        json_num_out(f, bw.copy_best_gbs[T]);
        fprintf(f, ", \"read_at_end\": ");
        json_num_out(f, bw_end.read_gbs[T]);
        fprintf(f, ", \"copy_at_end\": ");
        json_num_out(f, bw_end.copy_gbs[T]);
        fprintf(f, "}");
    }
    fprintf(f, "},\n  \"rows\": [\n");
    for (int i = 0; i < nrows; i++) {
        const row *r = &rows[i];
        const workload *w = r->w;
        fprintf(f, "    {\"id\": ");
        json_str(f, w->id);
        fprintf(f, ", \"name\": ");
        json_str(f, w->name);
        fprintf(f, ", \"params\": ");
        json_str(f, w->params);
        fprintf(f, ", \"pytorch_call\": ");
        json_str(f, w->peer_call);
        fprintf(f, ", \"scaling\": %s, \"threads\": %d, \"status\": ", w->scaling ? "true" : "false", r->threads);
        json_str(f, w->kind == K_NONE ? "not yet" : r->have_ek ? "measured" : "no EK figure");
        fprintf(f, ", \"api\": ");
        json_str(f, w->kind == K_SWIFT ? "Swift" : "C");
        fprintf(f, ",\n     \"ek_ms\": ");
        json_num_out(f, r->have_ek ? r->ek.median_ms : NAN);
        fprintf(f, ", \"ek_min_ms\": ");
        json_num_out(f, r->have_ek ? r->ek.min_ms : NAN);
        fprintf(f, ", \"ek_p25_ms\": ");
        json_num_out(f, r->have_ek ? r->ek.p25_ms : NAN);
        fprintf(f, ", \"ek_p75_ms\": ");
        json_num_out(f, r->have_ek ? r->ek.p75_ms : NAN);
        fprintf(f, ", \"ek_repeats\": %d, \"ek_foreign_cpu\": ", r->have_ek ? r->ek.repeats : 0);
        json_num_out(f, r->have_ek ? r->ek.foreign_cpu : NAN);
        fprintf(f, ",\n     \"pytorch_ms\": ");
        json_num_out(f, r->pt.have ? r->pt.s.median_ms : NAN);
        fprintf(f, ", \"pytorch_min_ms\": ");
        json_num_out(f, r->pt.have ? r->pt.s.min_ms : NAN);
        fprintf(f, ", \"pytorch_p25_ms\": ");
        json_num_out(f, r->pt.have ? r->pt.s.p25_ms : NAN);
        fprintf(f, ", \"pytorch_p75_ms\": ");
        json_num_out(f, r->pt.have ? r->pt.s.p75_ms : NAN);
        fprintf(f, ", \"pytorch_repeats\": %d, \"pytorch_foreign_cpu\": ", r->pt.have ? r->pt.s.repeats : 0);
        json_num_out(f, r->pt.have ? r->pt.s.foreign_cpu : NAN);
        fprintf(f, ",\n     \"ratio\": ");
        json_num_out(f, r->ratio);
        fprintf(f, ", \"throughput\": ");
        json_num_out(f, r->throughput);
        fprintf(f, ", \"throughput_unit\": \"%s\", \"bandwidth_share\": ", w->unit == UNIT_BYTES ? "GB/s" : "elements/s");
        json_num_out(f, r->share);
        double pt_thr = r->pt.have ? w_work(w) / (r->pt.s.median_ms * 1e-3) * (w->unit == UNIT_BYTES ? 1e-9 : 1.0) : NAN;
        fprintf(f, ", \"pytorch_throughput\": ");
        json_num_out(f, pt_thr);
        fprintf(f, ", \"pytorch_bandwidth_share\": ");
        json_num_out(f, r->bw_ref > 0 && r->pt.have ? (w->share == SHARE_COPY ? 2 : 1) * pt_thr / r->bw_ref : NAN);
        fprintf(f, ", \"bandwidth_ref_gbs\": ");
        json_num_out(f, r->bw_ref > 0 ? r->bw_ref : NAN);
        fprintf(f, ", \"bandwidth_share_of\": ");
        if (w->share == SHARE_NONE) fprintf(f, "null");
        else json_str(f, w->share == SHARE_COPY ? "copy" : "read");
        fprintf(f, ",\n     \"target\": ");
        json_str(f, w->target_text);
        fprintf(f, ", \"target_ratio\": ");
        json_num_out(f, w->target_ratio > 0 ? w->target_ratio : NAN);
        fprintf(f, ", \"target_share\": ");
        json_num_out(f, w->target_share > 0 ? w->target_share : NAN);
        fprintf(f, ", \"met\": %s", r->met == 1 ? "true" : r->met == 0 ? "false" : "null");
        fprintf(f, ", \"met_by\": ");
        if (r->met == 1) json_str(f, r->met_by);
        else fprintf(f, "null");
        fprintf(f, ", \"note\": ");
        if (w->note) json_str(f, w->note);
        else fprintf(f, "null");
        fprintf(f, "}%s\n", i + 1 < nrows ? "," : "");
    }
    fprintf(f, "  ],\n  \"run_seconds\": %.1f\n}\n", run_s);
    fclose(f);
    printf("Wrote %s\n", path);
    return 0;
}
