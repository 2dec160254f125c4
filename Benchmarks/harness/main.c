/* main.c — `make bench`: EmbeddingKit's kernels through the C ABI against PyTorch's CPU kernels.
 *
 * One process does the whole run:
 *   1. measures this machine's sequential read and copy bandwidth (1 GiB buffer, 1 and 2 threads),
 *      at the start, again right before each W1/W2-like figure (the denominator of its share: the
 *      2-thread bandwidth of a VM drifts during a run) and at the end (measure.c); and the gather
 *      limit, the limit of the W2-like figures (random rows summed into bags, best software-prefetch
 *      distance), at the start and again right before each W2-like figure (limits.c);
 *   2. starts Benchmarks/peers.py (PyTorch) as a co-process, if the venv's Python can import torch,
 *      and ek-swift-bench for the Swift-API rows (coproc.c);
 *   3. for each workload (Benchmarks/workloads/<family>.c, in `order`): builds its data (fixed seeds, 8
 *      batches), checks EmbeddingKit's result against the scalar reference kernel (ekref_*,
 *      CKernels/src/ref.c) at every thread count — a mismatch stops the bench with exit status 2 —
 *      then, at 1 and then 2 threads, times EmbeddingKit and right after it asks the co-process for
 *      the same workload at the same thread count (interleaved);
 *   4. prints one table and writes it as JSON to Benchmarks/results/bench-<date>-<time>.json (report.c).
 *
 * Usage: ek_bench [--seconds S] [--threads 1,2] [--only W1,W2,...] [--python PY] [--peers peers.py]
 *                 [--no-peers] [--results DIR] [--quick] [--swift PATH | --no-swift]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define die bench_die
#define now_s bench_now_s

static row *rows;
static int nrows = 0;

static row *find_row(const char *id, int threads) {
    for (int i = 0; i < nrows; i++)
        if (!strcmp(rows[i].w->id, id) && rows[i].threads == threads) return &rows[i];
    return NULL;
}

/* PyTorch's figure for workload w at one thread count, into r. */
static void pytorch_figure(const bench_workload *w, int threads, row *r) {
    char base[64];
    coproc *c = peer_for(w->peer_id, base, sizeof base);
    coproc_run(c, c == &peer ? "PyTorch" : "PyTorch (THP_MEM_ALLOC_ENABLE=1)", base, &threads, 1, &r->pt);
    if (r->pt.have)
        fprintf(stderr, "  %-9s PyTorch %d thread(s): %9.4f ms/call (%d calls)\n", w->id, threads, r->pt.s.median_ms,
                r->pt.s.repeats);
}

/* The workload's check against the reference kernel at every thread count, timed and reported. */
static void check_workload(const bench_workload *w, void *data, const int *threads, int nthreads) {
    double t0 = now_s();
    w->check(data, threads, nthreads);
    fprintf(stderr, "  %-9s EmbeddingKit matches the reference kernel at", w->id);
    for (int k = 0; k < nthreads; k++) fprintf(stderr, " %d", threads[k]);
    fprintf(stderr, " thread(s) (%.1f s)\n", now_s() - t0);
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

    const bench_workload **all;
    int nwork = workloads_all(&all);
    rows = ALLOC(row, nwork * 4);

    double run_start = now_s(), busy_start = machine_busy_s();
    static run_info run;
    cpu_model(run.model, sizeof run.model);
    read_first_line("/proc/loadavg", run.loadavg_start, sizeof run.loadavg_start);
    read_first_line("/sys/kernel/mm/transparent_hugepage/enabled", run.thp, sizeof run.thp);
    run.ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    time_t wall = time(NULL);
    struct tm tm;
    localtime_r(&wall, &tm);
    strftime(run.date, sizeof run.date, "%Y-%m-%dT%H:%M:%S%z", &tm);
    strftime(run.stamp, sizeof run.stamp, "%Y-%m-%d-%H%M%S", &tm);

    printf("EmbeddingKit %s bench: %s, %s, %ld CPU(s); load average at start: %s\n", ek_version_string(), run.date, run.model,
           run.ncpu, run.loadavg_start);
    printf("Method: fp32 tables, int64 indices uniform (fixed seed), %d batches rotated, warm-up then the median of\n"
           ">= %d calls and >= %.2g s per figure; outputs reused; EmbeddingKit checked against the reference kernel first.\n",
           NBATCH, g_min_repeats, g_seconds);

    /* 1. bandwidth */
    fprintf(stderr, "measuring bandwidth (1 GiB buffer) ...\n");
    measure_bandwidth(&run.bw, threads, nthreads);
    printf("\nMachine bandwidth (1 GiB buffer, median of 15 passes [best]; copy counts bytes read + written):\n");
    for (int k = 0; k < nthreads; k++)
        printf("  %d thread(s): sequential read %.1f GB/s [%.1f], copy %.1f GB/s [%.1f]\n", threads[k],
               run.bw.read_gbs[threads[k]], run.bw.read_best_gbs[threads[k]], run.bw.copy_gbs[threads[k]],
               run.bw.copy_best_gbs[threads[k]]);

    /* 1b. the gather limit: the limit of the W2-like workloads (limits.c) */
    fprintf(stderr, "measuring the gather limit (1M x 64 table, bags of 40) ...\n");
    printf("\nGather limit (random 256-byte rows of a 1M x 64 fp32 table summed into bags of 40, 4,096 bags, 8 rotated\n"
           "batches; median of 31 calls per software-prefetch distance, best distance; GB/s of rows read):\n");
    for (int k = 0; k < nthreads; k++) {
        gather_limit *g = &run.gather[threads[k]];
        gather_limit_at(threads[k], 31, g);
        printf("  %d thread(s): %.2f GB/s at prefetch %d rows (", threads[k], g->gbs, g->best_pf);
        for (int p = 0; p < GATHER_NPF; p++) printf("%s%d: %.2f", p ? ", " : "", gather_pf[p], g->sweep_gbs[p]);
        printf(")\n");
    }

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
    for (int wi = 0; wi < nwork; wi++) wants_swift |= all[wi]->api == BENCH_API_SWIFT && selected(only, all[wi]->id);
    if (swift_bench && wants_swift) swift_start(swift_bench);
    else if (!swift_bench) snprintf(swift_absent, sizeof swift_absent, "--no-swift");
    if (swift.in)
        printf("Swift API: %s --serve (ISA %s) runs W5-swift, W9 and W9a in a second co-process, checked first.\n",
               swift_bench, swift_isa);
    else if (wants_swift)
        printf("Swift API: NOT AVAILABLE (%s): no W5-swift / W9 figures.\n", swift_absent);
    printf("Kernels' ISA: %s (EK_ISA or ek_set_isa lowers it).\n", ek_isa_name(ek_get_isa()));
    printf("Tuning (chosen for this CPU; EK_BAG_PREFETCH_ROWS / EK_STREAM_MIN_BYTES / EK_SCATTER_MIN_WORK pin\n"
           "them): %s\n",
           ek_tuning_summary());
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    if (coretype)
        printf("OpenBLAS kernels: %s, forced by OPENBLAS_CORETYPE=%s in the environment (unset it to let OpenBLAS\n"
               "  pick for this CPU; W9's products run on these kernels).\n", openblas_get_corename(), coretype);
    else printf("OpenBLAS kernels: %s (OpenBLAS's own choice for this CPU).\n", openblas_get_corename());
    fflush(stdout);

    /* 3. the workloads */
    for (int wi = 0; wi < nwork; wi++) {
        const bench_workload *w = all[wi];
        if (!selected(only, w->id) && !(w->reuse_ek && selected(only, w->reuse_ek))) continue;
        int first = nrows;
        for (int k = 0; k < nthreads; k++) {
            row *r = &rows[nrows++];
            memset(r, 0, sizeof *r);
            r->w = w, r->threads = threads[k];
        }
        if (workload_not_yet(w)) {
            fprintf(stderr, "  %-9s not yet (%s)\n", w->id, w->note);
            for (int k = 0; k < nthreads; k++) finish_row(&rows[first + k], &run.bw, run.gather);
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
                if (src) r->have_ek = src->have_ek, r->ek = src->ek, r->bw_ref = src->bw_ref, r->gather_ref = src->gather_ref;
            }
            if (pt_src) {
                const row *src = find_row(pt_src->w->id, threads[k]);
                if (src) r->pt = src->pt;
            }
        }
        void *data = NULL;
        if (w->api == BENCH_API_SWIFT) { /* EK's figure from the Swift co-process, then PyTorch's, per thread count */
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
            for (int k = 0; k < nthreads; k++) finish_row(&rows[first + k], &run.bw, run.gather);
            continue;
        }
        if (!w->reuse_ek) {
            double t0 = now_s();
            data = w->setup(w);
            fprintf(stderr, "  %-9s data ready (%.1f s)\n", w->id, now_s() - t0);
            check_workload(w, data, threads, nthreads);
        }
        /* Interleaved: at each thread count, EmbeddingKit then PyTorch. */
        for (int k = 0; k < nthreads; k++) {
            row *r = &rows[first + k];
            if (data) {
                if (w->share != SHARE_NONE) { /* the share's denominator, measured right before */
                    double rm, rb, cm, cb;
                    bandwidth_at(threads[k], 7, &rm, &rb, &cm, &cb);
                    r->bw_ref = w->share == SHARE_COPY ? cm : rm;
                }
                if (w->share == SHARE_READ) { /* and the gather limit, the one that counts */
                    gather_limit g;
                    gather_limit_at(threads[k], 15, &g);
                    r->gather_ref = g.gbs;
                }
                bench_ok(ek_set_num_threads(threads[k]), "ek_set_num_threads");
                r->ek = measure(w->call, data);
                r->have_ek = 1;
                fprintf(stderr, "  %-9s EK      %d thread(s): %9.4f ms/call (%d calls)\n", w->id, threads[k],
                        r->ek.median_ms, r->ek.repeats);
            }
            if (run_peer) pytorch_figure(w, threads[k], r);
        }
        if (data) w->release(data);
        for (int k = 0; k < nthreads; k++) finish_row(&rows[first + k], &run.bw, run.gather);
    }
    peers_stop();
    coproc_stop(&swift);
    /* again at the end: only reported, to show how much the memory system drifted during the run */
    measure_bandwidth(&run.bw_end, threads, nthreads);
    bandwidth_release();
    gather_limit_release();
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
    print_tables(rows, nrows, with_peer);
    printf("\nNotes:\n");
    for (int wi = 0; wi < nwork; wi++)
        if (all[wi]->note && selected(only, all[wi]->id)) printf("  %-7s %s\n", all[wi]->id, all[wi]->note);
    printf("  W2-W4 targets: met when EK/PT reaches the ratio OR rows read >= 95%% of the gather limit measured next to\n"
           "  the figure (met (gather)); a gather share above 100%% means the probe is wrong (BROKEN PROBE), never met.\n"
           "  The BW share (vs sequential read) is kept for comparison with older runs; it counts for nothing.\n");
    printf("  * = other processes used > 0.15 CPU during that figure (the machine was shared).\n");
    printf("\nBandwidth measured again at the end (not used above):");
    for (int k = 0; k < nthreads; k++)
        printf("%s %d thread(s): read %.1f GB/s, copy %.1f GB/s", k ? ";" : "", threads[k], run.bw_end.read_gbs[threads[k]],
               run.bw_end.copy_gbs[threads[k]]);
    printf("\nRun took %.0f s; other processes used %.2f CPU on average during it (of %ld).\n", run_s, foreign, run.ncpu);
    if (foreign > 0.25)
        printf("WARNING: the machine was busy (other processes used %.2f of %ld CPUs): the figures, above all the\n"
               "2-thread ones, are not reliable; run again on a quiet machine.\n",
               foreign, run.ncpu);
    if (!with_peer) printf("PyTorch was not available: %s\n", peer_absent);

    /* 5. JSON */
    mkdir(results, 0777);
    char path[1024];
    snprintf(path, sizeof path, "%s/bench-%s.json", results, run.stamp);
    memcpy(run.threads, threads, sizeof threads), run.nthreads = nthreads;
    run.swift_bench = swift_bench, run.with_peer = with_peer, run.foreign = foreign, run.run_s = run_s;
    write_json(path, &run, rows, nrows);
    printf("Wrote %s\n", path);
    return 0;
}
