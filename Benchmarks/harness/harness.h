/* harness.h — the parts of the bench harness (Benchmarks/harness/<part>.c) that talk to each other.
 * Workload files include bench.h only. */
#ifndef EK_BENCH_HARNESS_H
#define EK_BENCH_HARNESS_H

#include <stdio.h>
#include <sys/types.h>

#include "bench.h"

/* OpenBLAS's name for the kernels it picked (W9's matrix products run on them). OPENBLAS_CORETYPE in
 * the environment overrides its own choice; the bench reports both. */
char *openblas_get_corename(void);

/* ---- measure.c: timing and the machine's bandwidth ---- */
typedef struct {
    double median_ms, min_ms, p25_ms, p75_ms;
    int repeats;
    double foreign_cpu; /* cores' worth of CPU other processes used during the measurement */
} stats;

extern double g_seconds;
extern int g_min_repeats;

double self_cpu_s(void);
double machine_busy_s(void);
stats measure(void (*call)(void *data, int batch), void *data);

typedef struct {
    /* median of the passes (what the shares are computed against) and best pass */
    double read_gbs[MAX_THREADS + 1], read_best_gbs[MAX_THREADS + 1];
    double copy_gbs[MAX_THREADS + 1], copy_best_gbs[MAX_THREADS + 1];
    size_t bytes;
} bandwidth;

void bandwidth_at(int T, int reps, double *read_med, double *read_best, double *copy_med, double *copy_best);
void measure_bandwidth(bandwidth *bw, const int *threads, int nthreads);
void bandwidth_release(void);

/* ---- limits.c: the gather limit (random 256-byte rows summed into bags of 40, the best over the
 * software-prefetch distances gather_pf), the limit of the W2-like (SHARE_READ) workloads ---- */
#define GATHER_NPF 8
extern const int gather_pf[GATHER_NPF];
typedef struct {
    double gbs;                   /* the best over the distances: the limit (GB/s of rows read) */
    int best_pf;                  /* the distance (rows) it was reached at */
    double sweep_gbs[GATHER_NPF]; /* each distance's figure */
} gather_limit;
void gather_limit_at(int T, int reps, gather_limit *g);
void gather_limit_release(void);

/* ---- coproc.c: PyTorch's peers.py --serve and ek-swift-bench --serve ---- */
/* A co-process speaking the bench protocol on its stdin and stdout. in == NULL: not running. */
typedef struct {
    FILE *in, *out;
    pid_t pid;
} coproc;
extern coproc peer, swift;
extern char peer_torch[64], peer_numpy[64], peer_capability[64], peer_absent[512];
extern char swift_absent[512], swift_isa[32];

typedef struct {
    int have;
    stats s;
    char error[300];
} peer_result;

void peer_start(const char *python, const char *script);
/* The co-process for a row's peer id: a "+thp" suffix means the PyTorch co-process started with
 * THP_MEM_ALLOC_ENABLE=1 (started at first use); `base` receives the id without the suffix. */
coproc *peer_for(const char *peer_id, char *base, size_t cap);
void peers_stop(void); /* both PyTorch co-processes */
void swift_start(const char *path);
void coproc_run(coproc *c, const char *who, const char *id, const int *threads, int nthreads, peer_result *res);
void coproc_stop(coproc *c);
void coproc_kill_all(void);

/* ---- report.c: rows, the printed table, the JSON file ---- */
typedef struct {
    const bench_workload *w;
    int threads;
    int have_ek;
    stats ek;
    peer_result pt;
    double ratio;      /* PyTorch time / EK time; NAN when absent */
    double throughput; /* GB/s or elements/s */
    double share;      /* of copy (W1) or read (W2-like) bandwidth at the same thread count; NAN if none */
    double bw_ref;     /* that bandwidth (GB/s), measured right before the row's EK figure; 0 if none */
    double gather_share; /* W2-like rows: rows read as a share of the gather limit; NAN if none */
    double gather_ref;   /* that limit (GB/s), measured right before the row's EK figure; 0 if none */
    int gather_broken;   /* gather_share > 100 %: the probe is wrong; never counted as met */
    int met;           /* 1 met, 0 not met, -1 no target or no figure */
    const char *met_by;
} row;

typedef struct {
    char date[64], stamp[64], model[256], loadavg_start[128], thp[128];
    long ncpu;
    const char *swift_bench;
    int with_peer;
    int threads[4], nthreads;
    bandwidth bw, bw_end;
    gather_limit gather[MAX_THREADS + 1]; /* at the start, per thread count */
    double foreign, run_s;
} run_info;

void finish_row(row *r, const bandwidth *bw, const gather_limit *gather);
void print_tables(const row *rows, int nrows, int with_peer);
void write_json(const char *path, const run_info *run, const row *rows, int nrows);

/* ---- workloads.c: every registered family, in `order` ---- */
int workloads_all(const bench_workload ***out);
int workload_measured_in_c(const bench_workload *w); /* has setup/call/check */
int workload_not_yet(const bench_workload *w);       /* C row without functions nor reuse */

#endif
