/* measure.c — timing one workload (both sides use the same rule) and the machine's bandwidth.
 *
 * Timing: batches rotated 0..7 between repeats, warm-up (>= 8 calls and >= 0.2 s), then each call
 * timed on its own with a monotonic clock until >= --seconds have passed and >= 24 calls were made
 * (or >= 8 calls and 4x --seconds for slow calls); the figure is the median call. */
#define _GNU_SOURCE
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"

#define now_s bench_now_s

double g_seconds = 1.5;
int g_min_repeats = 24;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* CPU time (all threads) of this process, and busy time of the whole machine, in seconds: their
 * difference over a measurement is what other processes took from the CPUs meanwhile. */
double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}
double machine_busy_s(void) {
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

stats measure(void (*fn)(void *data, int batch), void *ctx) {
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

static volatile float g_sink;

/* The 1 GiB buffer stays allocated for the whole run: bandwidth is measured at the start, next to
 * every W1/W2-like figure (the share's denominator) and at the end. */
static float *g_bw_buf;
static const size_t g_bw_bytes = (size_t)1 << 30;

/* `reps` passes of a read-sum of the whole buffer and of a copy of its first half onto its second
 * half, at T threads; median and best in GB/s (copy counts the bytes read + written). */
void bandwidth_at(int T, int reps, double *read_med, double *read_best, double *copy_med, double *copy_best) {
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

void measure_bandwidth(bandwidth *bw, const int *threads, int nthreads) {
    bw->bytes = g_bw_bytes;
    for (int k = 0; k < nthreads; k++) {
        int T = threads[k];
        bandwidth_at(T, 15, &bw->read_gbs[T], &bw->read_best_gbs[T], &bw->copy_gbs[T], &bw->copy_best_gbs[T]);
    }
}

void bandwidth_release(void) {
    free(g_bw_buf);
    g_bw_buf = NULL;
}
