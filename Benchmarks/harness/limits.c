/* limits.c — the gather limit: the physical limit of the W2-like workloads (docs/WORKLOADS.md v2,
 * "The physical limit, measured in the same run"). Sequential read bandwidth is the wrong limit for a
 * gather (W2 read "170 %" of it on an AVX-512 Zen 5): random rows cost a DRAM page and a TLB walk
 * each, a stream does not. The probe is ../shared/tools/gather_limit.c inside the bench: random
 * 256-byte rows of a 1M x 64 fp32 table (256 MiB) read and summed into bags of 40, 4,096 bags per
 * call, 8 rotated index batches (the same LCG and seed as the tool), statically split over T
 * threads; the median call time at each software-prefetch distance in GATHER_PF, and the best of
 * those (GB/s of rows read) is the limit. target_clones picks the widest loads this CPU has at run
 * time (the bench itself is built without -march). */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define now_s bench_now_s
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { G_ROWS = 1 << 20, G_DIM = 64, G_BAGS = 4096, G_LEN = 40, G_ROT = 8 };
const int gather_pf[GATHER_NPF] = {0, 8, 16, 24, 32, 48, 64, 96};

static float *g_table, *g_out;
static int64_t *g_idx[G_ROT];

__attribute__((target_clones("avx512f", "avx2", "default")))
static void gather_bags(const float *W, const int64_t *idx, float *out, int pf, int64_t b0, int64_t b1) {
    const int64_t total = (int64_t)G_BAGS * G_LEN;
    for (int64_t b = b0; b < b1; b++) {
        float acc[G_DIM] = {0};
        const int64_t *ix = idx + b * G_LEN;
        for (int j = 0; j < G_LEN; j++) {
            if (pf) {
                int64_t jj = b * G_LEN + j + pf;
                if (jj < total) {
                    const char *p = (const char *)(W + idx[jj] * G_DIM);
                    __builtin_prefetch(p, 0, 3), __builtin_prefetch(p + 64, 0, 3);
                    __builtin_prefetch(p + 128, 0, 3), __builtin_prefetch(p + 192, 0, 3);
                }
            }
            const float *r = W + ix[j] * G_DIM;
            for (int v = 0; v < G_DIM; v++) acc[v] += r[v];
        }
        memcpy(out + b * G_DIM, acc, sizeof acc);
    }
}

static void gather_call(int T, int batch, int pf) {
#pragma omp parallel num_threads(T)
    {
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t b0 = (int64_t)G_BAGS * id / nt, b1 = (int64_t)G_BAGS * (id + 1) / nt;
        gather_bags(g_table, g_idx[batch % G_ROT], g_out, pf, b0, b1);
    }
}

static void gather_init(void) {
    if (g_table) return;
    g_table = bench_table_alloc((int64_t)G_ROWS * G_DIM, sizeof(float)); /* the memory policy of the tables it bounds */
    g_out = ALLOC(float, (size_t)G_BAGS * G_DIM);
#pragma omp parallel for schedule(static) num_threads(2)
    for (size_t i = 0; i < (size_t)G_ROWS * G_DIM; i++) g_table[i] = (float)(i % 7);
    uint64_t s = 12345;
    for (int r = 0; r < G_ROT; r++) {
        g_idx[r] = ALLOC(int64_t, G_BAGS * G_LEN);
        for (int i = 0; i < G_BAGS * G_LEN; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            g_idx[r][i] = (int64_t)((s >> 33) % G_ROWS);
        }
    }
}

/* The limit at T threads: for each distance, 8 warm-up calls then the median of `reps` calls. */
void gather_limit_at(int T, int reps, gather_limit *g) {
    gather_init();
    if (reps > 64) reps = 64;
    double ts[64];
    const double bytes = (double)G_BAGS * G_LEN * G_DIM * sizeof(float);
    g->gbs = 0, g->best_pf = 0;
    for (int k = 0; k < GATHER_NPF; k++) {
        for (int w = 0; w < 8; w++) gather_call(T, w, gather_pf[k]);
        for (int it = 0; it < reps; it++) {
            double a = now_s();
            gather_call(T, it, gather_pf[k]);
            ts[it] = now_s() - a;
        }
        qsort(ts, (size_t)reps, sizeof(double), cmp_double);
        g->sweep_gbs[k] = bytes / ts[reps / 2] * 1e-9;
        if (g->sweep_gbs[k] > g->gbs) g->gbs = g->sweep_gbs[k], g->best_pf = gather_pf[k];
    }
}

void gather_limit_release(void) {
    bench_table_free(g_table), free(g_out);
    for (int r = 0; r < G_ROT; r++) free(g_idx[r]), g_idx[r] = NULL;
    g_table = g_out = NULL;
}
