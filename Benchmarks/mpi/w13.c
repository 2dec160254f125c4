/* w13.c — bench W13 (docs/WORKLOADS.md): W5's train step (table 1M x 64, 4,096 bags x 40 ids, sum,
 * fused SGD lr 0.01) with the table row-wise sharded over the ranks of an MPI job (one thread each),
 * against the same step unsharded in one process. Run by Benchmarks/mpi/run.sh (make bench, make
 * bench-w13); three modes:
 *
 *   w13 --baseline [--threads T]         no MPI: ek_bag_forward + ek_bag_backward_update on the whole
 *                                        batch at T threads; prints "baseline_ms <median>"
 *   mpirun -np P w13 --sharded [--dedup] [--ids uniform|zipf] [--baseline-ms X] [--json FILE]
 *                                        the sharded step (each rank its share of the bags); checks the
 *                                        first forward against the core, prints a row with ms/step, the
 *                                        ratio to X, bytes per step (the library's ekd_get_traffic) and
 *                                        the per-message cost fit; rank 0 appends a JSON object to FILE
 *   mpirun -np P w13 --message-costs     only the MPI_Alltoallv size sweep and its fit
 *   --tables T (with --sharded)          W13's ids split over T row-wise tables of 1M / T rows, 40 / T
 *                                        ids per bag each (T divides 40; output T x 64 wide, so T times
 *                                        the pooled bytes): measures the per-table cost of a step
 *   --bags N (with --tables)             only the first N bags of each batch (small steps: latency-bound)
 *   --extra-syncs K (with --sharded)     K more one-int MPI_Allreduce per step: what each collective
 *                                        a batched exchange would save costs in the step
 *
 * Timing follows Benchmarks/harness/measure.c: batches rotated 0..7, warm-up (>= 8 steps, >= 0.2 s),
 * then every step timed until >= --seconds and >= 24 steps; the figure is the median. A sharded
 * step's time is the slowest rank's (a barrier starts each step). The data are W5's: the same seeds
 * and generators as Benchmarks/harness/util.c (uniform ids); --ids zipf draws ids with P(k) ~ 1/k^1.05
 * over the rows, hot rows scattered by a fixed permutation (the skewed case of the dedup study). */
#define _GNU_SOURCE
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embeddingkit.h"
#include "embeddingkit_dist.h"

#define ROWS 1000000
#define DIM 64
#define BAGS 4096
#define LEN 40
#define NBATCH 8
#define LR 0.01f
#define SEED 20240601u

static double g_seconds = 1.5;
static int g_extra_syncs;
static int g_bags = BAGS; /* --bags N (with --tables): the first N bags only (a latency-bound step) */
static int g_tables = 1; /* --tables T: the same ids split over T row-wise tables of ROWS / T rows (40 / T ids per bag each) */ /* --extra-syncs K: K one-int MPI_Allreduce per step (what one more collective costs) */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, ek_status s, const char *msg) {
    fprintf(stderr, "w13: %s failed: %s: %s\n", what, ek_status_string(s), msg);
    exit(3);
}
#define EK(call) do { ek_status s_ = (call); if (s_ != EK_OK) die(#call, s_, ek_last_error()); } while (0)
#define EKD(call) do { ek_status s_ = (call); if (s_ != EK_OK) die(#call, s_, ekd_last_error()); } while (0)

static void *xalloc(size_t n) {
    void *p = aligned_alloc(64, (n + 63) / 64 * 64);
    if (!p) { fprintf(stderr, "w13: cannot allocate %zu bytes\n", n); exit(1); }
    return p;
}

/* The generators of Benchmarks/harness/util.c: the same streams, so the data are W5's. */
static inline uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
static void fill_uniform(float *p, int64_t n, uint64_t seed, float lo, float hi) {
    uint64_t base = splitmix64(seed * 0x100000001B3ull + 12345);
    for (int64_t i = 0; i < n; i++)
        p[i] = lo + (hi - lo) * (float)((double)(splitmix64(base ^ (uint64_t)i) >> 40) * (1.0 / 16777216.0));
}
static void fill_indices(int64_t *p, int64_t n, uint64_t seed, int64_t count) {
    uint64_t base = splitmix64(seed * 0x100000001B3ull + 777);
    for (int64_t i = 0; i < n; i++) p[i] = (int64_t)(splitmix64(base ^ (uint64_t)i) % (uint64_t)count);
}
/* Zipf(1.05) over the rows by inverse CDF; rank k lands on row (k * 999983) % ROWS (a bijection). */
static void fill_zipf(int64_t *p, int64_t n, uint64_t seed) {
    static double *cdf;
    if (!cdf) {
        cdf = xalloc(sizeof(double) * ROWS);
        double acc = 0;
        for (int64_t k = 0; k < ROWS; k++) cdf[k] = acc += pow((double)(k + 1), -1.05);
        for (int64_t k = 0; k < ROWS; k++) cdf[k] /= acc;
    }
    uint64_t base = splitmix64(seed * 0x100000001B3ull + 999);
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(splitmix64(base ^ (uint64_t)i) >> 11) * (1.0 / 9007199254740992.0);
        int64_t lo = 0, hi = ROWS - 1;
        while (lo < hi) { int64_t mid = (lo + hi) / 2; if (cdf[mid] < u) lo = mid + 1; else hi = mid; }
        p[i] = (lo * 999983) % ROWS;
    }
}

typedef struct {
    int64_t *idx[NBATCH];
    int64_t offsets[BAGS];
    float *grad; /* BAGS x DIM */
} data;

static void make_data(data *d, int zipf) {
    for (int b = 0; b < NBATCH; b++) {
        d->idx[b] = xalloc(sizeof(int64_t) * BAGS * LEN);
        if (zipf) fill_zipf(d->idx[b], BAGS * LEN, SEED + 1 + (uint64_t)b);
        else fill_indices(d->idx[b], BAGS * LEN, SEED + 1 + (uint64_t)b, ROWS);
    }
    for (int64_t b = 0; b < BAGS; b++) d->offsets[b] = b * LEN;
    d->grad = xalloc(sizeof(float) * BAGS * DIM);
    fill_uniform(d->grad, BAGS * DIM, SEED + 300, -1.0f, 1.0f);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* ---- the unsharded W5 step ---------------------------------------------------------------------- */
static int run_baseline(int threads, int zipf) {
    data d;
    make_data(&d, zipf);
    float *table = xalloc(sizeof(float) * (size_t)ROWS * DIM), *out = xalloc(sizeof(float) * BAGS * DIM);
    fill_uniform(table, (int64_t)ROWS * DIM, SEED, -1.0f, 1.0f);
    EK(ek_set_num_threads(threads));
    ek_table tab = {.struct_size = sizeof(ek_table), .rows = ROWS, .dim = DIM, .data = table};
    ek_bag_options opts = {.struct_size = sizeof(ek_bag_options), .mode = EK_BAG_SUM};
    ek_optimizer opt = {.struct_size = sizeof(ek_optimizer), .kind = EK_OPT_SGD, .lr = LR};
    double t[20000];
    int n = 0, calls = 0;
    double t0 = now_s(), start = 0;
    for (int warm = 1;;) {
        ek_bag_input in = {.struct_size = sizeof(ek_bag_input), .index_type = EK_INDEX_I64, .indices = d.idx[calls % NBATCH],
                           .num_indices = BAGS * LEN, .offsets = d.offsets, .num_bags = BAGS};
        double a = now_s();
        EK(ek_bag_forward(&tab, &in, &opts, out, NULL, NULL));
        EK(ek_bag_backward_update(&tab, &in, &opts, NULL, d.grad, &opt));
        double b = now_s();
        calls++;
        if (warm) {
            if (calls >= NBATCH && b - t0 >= 0.2) { warm = 0; start = now_s(); }
            continue;
        }
        t[n++] = b - a;
        if ((n >= 24 && b - start >= g_seconds) || n >= 20000) break;
    }
    printf("baseline_ms %.4f steps %d threads %d\n", 1e3 * median(t, n), n, threads);
    return 0;
}

/* ---- per-message costs: MPI_Alltoallv with s bytes to every other rank ---------------------------- */
#define NSIZES 8
static const int64_t g_sizes[NSIZES] = {8, 64, 512, 4096, 32768, 262144, 1048576, 4194304};

/* median seconds of one Alltoallv per size (the slowest rank's), and the fit t = alpha + beta * s */
static void message_costs(MPI_Comm comm, double *med, double *alpha, double *beta) {
    int P, me;
    MPI_Comm_size(comm, &P);
    MPI_Comm_rank(comm, &me);
    char *sbuf = xalloc((size_t)g_sizes[NSIZES - 1] * P), *rbuf = xalloc((size_t)g_sizes[NSIZES - 1] * P);
    memset(sbuf, 1, (size_t)g_sizes[NSIZES - 1] * P);
    int *cnt = xalloc(sizeof(int) * P), *disp = xalloc(sizeof(int) * P);
    for (int k = 0; k < NSIZES; k++) {
        for (int i = 0; i < P; i++) { cnt[i] = (int)g_sizes[k]; disp[i] = (int)(g_sizes[k] * i); }
        int reps = g_sizes[k] >= 1048576 ? 30 : 200;
        double t[200];
        for (int r = -5; r < reps; r++) {
            MPI_Barrier(comm);
            double a = now_s();
            MPI_Alltoallv(sbuf, cnt, disp, MPI_BYTE, rbuf, cnt, disp, MPI_BYTE, comm);
            double dt = now_s() - a, mx = 0;
            MPI_Allreduce(&dt, &mx, 1, MPI_DOUBLE, MPI_MAX, comm);
            if (r >= 0) t[r] = mx;
        }
        med[k] = median(t, reps);
    }
    /* robust to one slow sample on a shared machine: alpha = the smallest message's time (pure
     * latency), beta = the median over the sizes >= 32 KiB of (t - alpha) / bytes */
    *alpha = med[0];
    double b[NSIZES];
    int nb = 0;
    for (int k = 0; k < NSIZES; k++)
        if (g_sizes[k] >= 32768) b[nb++] = (med[k] - *alpha) / (double)g_sizes[k];
    *beta = median(b, nb);
    free(sbuf); free(rbuf); free(cnt); free(disp);
}

static void print_costs(FILE *f, const double *med, double alpha, double beta, int json) {
    if (json) {
        fprintf(f, "\"message_costs\": {\"bytes_per_rank\": [");
        for (int k = 0; k < NSIZES; k++) fprintf(f, "%s%lld", k ? ", " : "", (long long)g_sizes[k]);
        fprintf(f, "], \"median_us\": [");
        for (int k = 0; k < NSIZES; k++) fprintf(f, "%s%.3f", k ? ", " : "", 1e6 * med[k]);
        fprintf(f, "], \"fit_alpha_us\": %.3f, \"fit_beta_ns_per_byte\": %.5f, \"fit_gbs\": %.3f}", 1e6 * alpha, 1e9 * beta,
                1e-9 / beta);
        return;
    }
    fprintf(f, "  MPI_Alltoallv, bytes to each other rank -> median us:");
    for (int k = 0; k < NSIZES; k++) fprintf(f, " %lld:%.1f", (long long)g_sizes[k], 1e6 * med[k]);
    fprintf(f, "\n  fit t = alpha + beta*bytes: alpha %.2f us, beta %.4f ns/B (%.2f GB/s)\n", 1e6 * alpha, 1e9 * beta,
            1e-9 / beta);
}

/* ---- the sharded step --------------------------------------------------------------------------- */
static int run_sharded(int dedup, int zipf, double baseline_ms, const char *json, const char *label) {
    MPI_Comm comm = MPI_COMM_WORLD;
    int P, me;
    MPI_Comm_size(comm, &P);
    MPI_Comm_rank(comm, &me);
    EK(ek_set_num_threads(1));
    data d;
    make_data(&d, zipf);
    const int64_t b0 = BAGS * me / P, b1 = BAGS * (me + 1) / P, Br = b1 - b0;
    ekd_table_config cfg = {.rows = ROWS, .dim = DIM, .scheme = EKD_ROW_WISE, .mode = EK_BAG_SUM};
    ek_optimizer opt = {.struct_size = sizeof(ek_optimizer), .kind = EK_OPT_SGD, .lr = LR};
    ekd_collection *c = NULL;
    EKD(ekd_create(comm, 1, &cfg, &opt, &c));
    EKD(ekd_init_uniform(c, SEED, 1.0f));
    EKD(ekd_set_dedup(c, dedup));
    int64_t offs[BAGS];
    for (int64_t b = 0; b < Br; b++) offs[b] = b * LEN;
    float *out = xalloc(sizeof(float) * (size_t)(Br ? Br : 1) * DIM);
    const float *grad = d.grad + b0 * DIM;
#define INPUT(batch) {.struct_size = sizeof(ek_bag_input), .index_type = EK_INDEX_I64, \
                      .indices = d.idx[(batch) % NBATCH] + b0 * LEN, .num_indices = Br * LEN, .offsets = offs, .num_bags = Br}

    /* check: the first forward equals the core's on the whole batch (row-wise sum: within fp32 rounding) */
    {
        ek_bag_input in = INPUT(0);
        EKD(ekd_forward(c, &in, out));
        float *full = xalloc(sizeof(float) * (size_t)ROWS * DIM), *all = xalloc(sizeof(float) * BAGS * DIM);
        EKD(ekd_get_table(c, 0, full));
        int *rc = xalloc(sizeof(int) * P), *rd = xalloc(sizeof(int) * P);
        for (int s = 0; s < P; s++) { rc[s] = (int)((BAGS * (s + 1) / P - BAGS * s / P) * DIM); rd[s] = (int)(BAGS * s / P * DIM); }
        MPI_Gatherv(out, (int)(Br * DIM), MPI_FLOAT, all, rc, rd, MPI_FLOAT, 0, comm);
        int bad = 0;
        if (me == 0) {
            float *ref = xalloc(sizeof(float) * BAGS * DIM);
            ek_table tab = {.struct_size = sizeof(ek_table), .rows = ROWS, .dim = DIM, .data = full};
            ek_bag_input gin = {.struct_size = sizeof(ek_bag_input), .index_type = EK_INDEX_I64, .indices = d.idx[0],
                                .num_indices = BAGS * LEN, .offsets = d.offsets, .num_bags = BAGS};
            ek_bag_options opts = {.struct_size = sizeof(ek_bag_options), .mode = EK_BAG_SUM};
            EK(ek_bag_forward(&tab, &gin, &opts, ref, NULL, NULL));
            for (int64_t i = 0; i < BAGS * DIM && !bad; i++)
                if (!(fabsf(all[i] - ref[i]) <= 1e-5f + 1e-5f * fabsf(ref[i]))) {
                    fprintf(stderr, "w13: FAILED: the sharded forward differs from the core at element %lld: %.9g vs %.9g\n",
                            (long long)i, all[i], ref[i]);
                    bad = 1;
                }
            free(ref);
        }
        MPI_Bcast(&bad, 1, MPI_INT, 0, comm);
        if (bad) return 2;
        free(full); free(all); free(rc); free(rd);
        EKD(ekd_backward_update(c, grad));
    }

    /* warm-up, then timed steps; the traffic counters cover the timed steps only */
    double t[20000];
    int n = 0, calls = 0, warm = 1;
    double t0 = now_s(), start = 0;
    for (;;) {
        ek_bag_input in = INPUT(calls);
        MPI_Barrier(comm);
        double a = now_s();
        EKD(ekd_forward(c, &in, out));
        EKD(ekd_backward_update(c, grad));
        for (int k = 0; k < g_extra_syncs; k++) {
            int one = 1, sum = 0;
            MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, comm);
        }
        double dt = now_s() - a, mx = 0;
        calls++;
        MPI_Allreduce(&dt, &mx, 1, MPI_DOUBLE, MPI_MAX, comm); /* the slowest rank's step; also agrees on stopping */
        if (warm) {
            double el = now_s() - t0;
            MPI_Bcast(&el, 1, MPI_DOUBLE, 0, comm);
            if (calls >= NBATCH && el >= 0.2) { warm = 0; EKD(ekd_reset_traffic(c)); start = now_s(); MPI_Bcast(&start, 1, MPI_DOUBLE, 0, comm); }
            continue;
        }
        t[n++] = mx;
        double el = now_s() - start;
        MPI_Bcast(&el, 1, MPI_DOUBLE, 0, comm);
        if ((n >= 24 && el >= g_seconds) || n >= 20000) break;
    }
    ekd_traffic tr;
    EKD(ekd_get_traffic(c, &tr));
    int64_t mine[8] = {tr.bytes, tr.messages, tr.calls, tr.control_bytes, tr.length_bytes, tr.id_bytes, tr.pooled_bytes, tr.gradient_bytes}, sum[8];
    MPI_Reduce(mine, sum, 8, MPI_INT64_T, MPI_SUM, 0, comm);
    double med[NSIZES], alpha = 0, beta = 0;
    message_costs(comm, med, &alpha, &beta);
    if (me == 0) {
        double ms = 1e3 * median(t, n), per = 1.0 / n;
        double ratio = baseline_ms > 0 ? baseline_ms / ms : NAN;
        printf("%-14s %d ranks x 1 thread, %s ids%s: %.2f ms/step (median of %d)", label, P, zipf ? "zipf(1.05)" : "uniform",
               dedup ? ", dedup" : "", ms, n);
        if (baseline_ms > 0)
            printf("; unsharded 2 threads %.2f ms; speed %.2fx (target >= 0.7x: %s)", baseline_ms, ratio,
                   ratio >= 0.7 ? "MET" : "NOT MET");
        printf("\n  bytes/step sent between ranks (job total): %.0f (ids+weights %.0f, lengths %.0f, pooled %.0f, "
               "gradients %.0f, control %.0f) in %.1f messages, %.1f collective calls per rank\n",
               sum[0] * per, sum[5] * per, sum[4] * per, sum[6] * per, sum[7] * per, sum[3] * per, sum[1] * per,
               (double)sum[2] * per / P);
        print_costs(stdout, med, alpha, beta, 0);
        if (json) {
            FILE *f = fopen(json, "a");
            if (!f) { fprintf(stderr, "w13: cannot write %s\n", json); return 1; }
            fprintf(f, "{\"id\": \"%s\", \"ranks\": %d, \"threads_per_rank\": 1, \"ids\": \"%s\", \"dedup\": %s, "
                       "\"median_ms\": %.4f, \"steps\": %d, \"baseline_ms\": ",
                    label, P, zipf ? "zipf1.05" : "uniform", dedup ? "true" : "false", ms, n);
            if (baseline_ms > 0) fprintf(f, "%.4f, \"speed_vs_baseline\": %.4f, \"target\": 0.7, \"met\": %s", baseline_ms, ratio, ratio >= 0.7 ? "true" : "false");
            else fprintf(f, "null");
            fprintf(f, ", \"bytes_per_step\": {\"total\": %.1f, \"ids\": %.1f, \"lengths\": %.1f, \"pooled\": %.1f, "
                       "\"gradients\": %.1f, \"control\": %.1f}, \"messages_per_step\": %.2f, \"calls_per_step_per_rank\": %.2f, ",
                    sum[0] * per, sum[5] * per, sum[4] * per, sum[6] * per, sum[7] * per, sum[3] * per, sum[1] * per,
                    (double)sum[2] * per / P);
            print_costs(f, med, alpha, beta, 1);
            fprintf(f, "}\n");
            fclose(f);
        }
    }
    ekd_free(c);
    return 0;
}

/* W13's ids over T tables: what each table costs a step beyond its share of the work. No check
 * against the core here (the one-table run has it; Tests/mpi checks many tables). */
static int run_tables(int T, const char *label) {
    MPI_Comm comm = MPI_COMM_WORLD;
    int P, me;
    MPI_Comm_size(comm, &P);
    MPI_Comm_rank(comm, &me);
    EK(ek_set_num_threads(1));
    data d;
    make_data(&d, 0);
    const int64_t b0 = (int64_t)g_bags * me / P, b1 = (int64_t)g_bags * (me + 1) / P, Br = b1 - b0, len = LEN / T, rows = ROWS / T;
    ekd_table_config cfg[40];
    for (int t = 0; t < T; t++) cfg[t] = (ekd_table_config){.rows = rows, .dim = DIM, .scheme = EKD_ROW_WISE, .mode = EK_BAG_SUM};
    ek_optimizer opt = {.struct_size = sizeof(ek_optimizer), .kind = EK_OPT_SGD, .lr = LR};
    ekd_collection *c = NULL;
    EKD(ekd_create(comm, T, cfg, &opt, &c));
    EKD(ekd_init_uniform(c, SEED, 1.0f));
    int64_t *ids = xalloc(sizeof(int64_t) * NBATCH * BAGS * LEN), *offs = xalloc(sizeof(int64_t) * (Br + 1));
    for (int b = 0; b < NBATCH; b++) /* table t, batch b: bag k's ids are W5's ids t*len .. (t+1)*len of bag k */
        for (int t = 0; t < T; t++)
            for (int64_t k = 0; k < BAGS; k++)
                for (int64_t j = 0; j < len; j++)
                    ids[((int64_t)b * T + t) * BAGS * len + k * len + j] = d.idx[b][k * LEN + t * len + j] % rows;
    for (int64_t k = 0; k < Br; k++) offs[k] = k * len;
    float *out = xalloc(sizeof(float) * (size_t)(Br ? Br : 1) * DIM * T), *grad = xalloc(sizeof(float) * (size_t)(Br ? Br : 1) * DIM * T);
    for (int64_t k = 0; k < Br * T; k++) memcpy(grad + k * DIM, d.grad + ((b0 + k / T) % BAGS) * DIM, sizeof(float) * DIM);
    ek_bag_input in[40];
    double t_[20000];
    int n = 0, calls = 0, warm = 1;
    double t0 = now_s(), start = 0;
    for (;;) {
        for (int t = 0; t < T; t++)
            in[t] = (ek_bag_input){.struct_size = sizeof(ek_bag_input), .index_type = EK_INDEX_I64,
                                   .indices = ids + ((int64_t)(calls % NBATCH) * T + t) * BAGS * len + b0 * len,
                                   .num_indices = Br * len, .offsets = offs, .num_bags = Br};
        MPI_Barrier(comm);
        double a = now_s();
        EKD(ekd_forward(c, in, out));
        EKD(ekd_backward_update(c, grad));
        double dt = now_s() - a, mx = 0;
        calls++;
        MPI_Allreduce(&dt, &mx, 1, MPI_DOUBLE, MPI_MAX, comm);
        double el = now_s() - (warm ? t0 : start);
        MPI_Bcast(&el, 1, MPI_DOUBLE, 0, comm);
        if (warm) {
            if (calls >= NBATCH && el >= 0.2) { warm = 0; start = now_s(); EKD(ekd_reset_traffic(c)); }
            continue;
        }
        t_[n++] = mx;
        if ((n >= 24 && el >= g_seconds) || n >= 20000) break;
    }
    ekd_traffic tr;
    EKD(ekd_get_traffic(c, &tr));
    if (me == 0)
        printf("%-14s %d ranks x 1 thread, %d bags, %d tables of %lld rows x %d ids: %.2f ms/step (median of %d); %.1f collective calls per rank, %.0f bytes sent per rank per step\n",
               label, P, g_bags, T, (long long)rows, (int)len, 1e3 * median(t_, n), n, (double)tr.calls / n, (double)tr.bytes / n);
    ekd_free(c);
    free(ids); free(offs); free(out); free(grad);
    return 0;
}

int main(int argc, char **argv) {
    int baseline = 0, sharded = 0, costs = 0, dedup = 0, zipf = 0, threads = 2;
    double baseline_ms = 0;
    const char *json = NULL, *label = "W13";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--baseline")) baseline = 1;
        else if (!strcmp(a, "--sharded")) sharded = 1;
        else if (!strcmp(a, "--message-costs")) costs = 1;
        else if (!strcmp(a, "--dedup")) dedup = 1;
        else if (!strcmp(a, "--ids") && v && (!strcmp(v, "uniform") || !strcmp(v, "zipf"))) zipf = !strcmp(argv[++i], "zipf");
        else if (!strcmp(a, "--threads") && v) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--seconds") && v) g_seconds = atof(argv[++i]);
        else if (!strcmp(a, "--baseline-ms") && v) baseline_ms = atof(argv[++i]);
        else if (!strcmp(a, "--json") && v) json = argv[++i];
        else if (!strcmp(a, "--label") && v) label = argv[++i];
        else if (!strcmp(a, "--extra-syncs") && v) g_extra_syncs = atoi(argv[++i]);
        else if (!strcmp(a, "--tables") && v) g_tables = atoi(argv[++i]);
        else if (!strcmp(a, "--bags") && v) g_bags = atoi(argv[++i]);
        else { fprintf(stderr, "w13: bad option '%s' (see the comment at the top of Benchmarks/mpi/w13.c)\n", a); return 1; }
    }
    if (g_bags < 0 || g_bags > BAGS) { fprintf(stderr, "w13: --bags must be 0..%d\n", BAGS); return 1; }
    if (g_tables < 1 || g_tables > 40 || LEN % g_tables) { fprintf(stderr, "w13: --tables must divide 40\n"); return 1; }
    if (baseline + sharded + costs != 1 || threads < 1) { fprintf(stderr, "w13: give one of --baseline, --sharded, --message-costs\n"); return 1; }
    if (baseline) return run_baseline(threads, zipf);
    MPI_Init(&argc, &argv);
    int rc = 0;
    if (sharded && g_tables > 1) rc = run_tables(g_tables, label);
    else if (sharded) rc = run_sharded(dedup, zipf, baseline_ms, json, label);
    else {
        double med[NSIZES], alpha, beta;
        int me;
        MPI_Comm_rank(MPI_COMM_WORLD, &me);
        message_costs(MPI_COMM_WORLD, med, &alpha, &beta);
        if (me == 0) print_costs(stdout, med, alpha, beta, 0);
    }
    MPI_Finalize();
    return rc;
}
