/* util.c — the helpers bench.h promises to workload files: clock, exits, allocation, data, checks. */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

double bench_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Exit status: 1 bad option or allocation, 2 a result differs from the reference, 3 a C ABI error. */
void bench_die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, code == 2 ? "bench: FAILED: " : "bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    coproc_kill_all();
    exit(code);
}

void *bench_alloc(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) bench_die(1, "cannot allocate %zu bytes", bytes);
    return p;
}

void *bench_table_alloc(int64_t count, size_t elem_bytes) {
    void *p = NULL;
    ek_status s = ek_alloc(count, (int64_t)elem_bytes, &p);
    if (s != EK_OK)
        bench_die(1, "cannot allocate a table of %lld x %zu bytes: %s", (long long)count, elem_bytes, ek_last_error());
    return p;
}

void bench_table_free(void *p) {
    ek_status s = ek_free(p);
    if (s != EK_OK) bench_die(3, "ek_free failed: %s", ek_last_error());
}

void bench_ok(ek_status s, const char *what) {
    if (s != EK_OK) bench_die(3, "%s failed: %s: %s", what, ek_status_string(s), ek_last_error());
}

/* Counter-based random numbers: value i of stream `seed` does not depend on how the fill is split
 * between threads, so the data are the same for any thread count. */
static inline uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
void fill_uniform(float *p, int64_t n, uint64_t seed, float lo, float hi) {
    uint64_t base = splitmix64(seed * 0x100000001B3ull + 12345);
#pragma omp parallel for schedule(static) num_threads(2)
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(base ^ (uint64_t)i);
        p[i] = lo + (hi - lo) * (float)((double)(r >> 40) * (1.0 / 16777216.0));
    }
}
void fill_indices(int64_t *p, int64_t n, uint64_t seed, int64_t count) {
    uint64_t base = splitmix64(seed * 0x100000001B3ull + 777);
    for (int64_t i = 0; i < n; i++) p[i] = (int64_t)(splitmix64(base ^ (uint64_t)i) % (uint64_t)count);
}

void check_close(const char *wid, const char *what, int threads, const float *a, const float *b, int64_t n,
                 double atol, double rtol) {
    for (int64_t i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        if (isnan(x) && isnan(y)) continue;
        double err = fabs(x - y);
        if (!(err <= atol + rtol * fabs(y)))
            bench_die(2, "%s: EmbeddingKit's %s differs from the reference kernel at %d thread(s): element %lld is %.9g, "
                         "reference %.9g (|diff| %.3g > atol %g + rtol %g)",
                      wid, what, threads, (long long)i, x, y, err, atol, rtol);
    }
}
void check_equal_i64(const char *wid, const char *what, int threads, const int64_t *a, const int64_t *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i])
            bench_die(2, "%s: EmbeddingKit's %s differs from the reference kernel at %d thread(s): entry %lld is %lld, "
                         "reference %lld",
                      wid, what, threads, (long long)i, (long long)a[i], (long long)b[i]);
}

void bench_table_inputs_init(bench_table_inputs *in, const bench_workload *w, int pristine) {
    memset(in, 0, sizeof *in);
    int64_t R = w->rows, D = w->dim, N = w->n, B = w->bags;
    uint64_t seed = BENCH_SEED;
    in->table = bench_table_alloc(R * D, sizeof(float));
    fill_uniform(in->table, R * D, seed, -1.0f, 1.0f);
    for (int b = 0; b < NBATCH; b++) {
        in->idx[b] = ALLOC(int64_t, N);
        fill_indices(in->idx[b], N, seed + 1 + (uint64_t)b, R);
        if (w->weighted) {
            in->psw[b] = ALLOC(float, N);
            fill_uniform(in->psw[b], N, seed + 50 + (uint64_t)b, 0.0f, 1.0f);
        }
    }
    if (B) {
        in->offsets = ALLOC(int64_t, B);
        in->csr = ALLOC(int64_t, B + 1);
        for (int64_t b = 0; b <= B; b++) {
            if (b < B) in->offsets[b] = b * (N / B);
            in->csr[b] = b * (N / B);
        }
    }
    if (pristine) {
        in->table0 = ALLOC(float, R * D);
        memcpy(in->table0, in->table, sizeof(float) * (size_t)(R * D));
    }
}

void bench_table_inputs_free(bench_table_inputs *in) {
    bench_table_free(in->table);
    free(in->table0), free(in->offsets), free(in->csr);
    for (int b = 0; b < NBATCH; b++) free(in->idx[b]), free(in->psw[b]);
    memset(in, 0, sizeof *in);
}

void bench_restore_table(bench_table_inputs *in, const bench_workload *w) {
    memcpy(in->table, in->table0, sizeof(float) * (size_t)(w->rows * w->dim));
}

double work_rows_read(const bench_workload *w) { return (double)w->n * (double)w->dim * sizeof(float); }
double work_index_elems(const bench_workload *w) { return (double)w->n * (double)w->dim; }
double work_matrix_elems(const bench_workload *w) { return (double)w->rows * (double)w->dim; }
