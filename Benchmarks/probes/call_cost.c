/* call_cost.c — the fixed cost of one tiny call of each verb family (ns per call), against a plain
 * loop doing the same arithmetic with no checks and no dispatch (the "ref" column). Tiny calls are
 * below every kernel's parallel threshold: what they cost beyond ref is decoding, validation,
 * dispatch and, before issue 16's fix, entering an OpenMP region whose `if` clause is false.
 *
 *   gcc:   gcc -O2 -fopenmp -ICKernels/include Benchmarks/probes/call_cost.c build/lib/libembeddingkit.a \
 *              -lopenblas -lm -o /tmp/call_cost
 *   clang: clang -O2 -ICKernels/include Benchmarks/probes/call_cost.c build/clang/lib/libembeddingkit.a \
 *              -L/usr/lib/llvm-14/lib -lomp -lopenblas -lm -o /tmp/call_cost_clang
 *          (run with LD_LIBRARY_PATH=/usr/lib/llvm-14/lib)
 *   /tmp/call_cost [threads [verb]]   (default: the library's default thread count; every verb, or
 *                                      those whose name contains `verb`, e.g. for perf record)
 * Each row: the best of 7 batches of CALLS calls (noisy on a shared machine: compare rows of one run). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embeddingkit.h"

enum { CALLS = 100000, BATCHES = 7, ROWS = 100000, N = 8, D = 16 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float table[ROWS * D], state[ROWS * D], out[N * D], grad[D], x[16], y[16], a[16], b[16 * 16], c[16];
static int64_t idx[CALLS % 1024 + 1024][N], rows_out[N], nnz, csr[2] = {0, N};
static volatile float sink;

static void ok(ek_status s, const char *what) {
    if (s != EK_OK) {
        fprintf(stderr, "%s: %s\n", what, ek_last_error());
        exit(1);
    }
}

static const int64_t *ix(int i) { return idx[i & 1023]; }

/* ---- the calls ---- */
static ek_table tab(void) { return (ek_table){.struct_size = sizeof(ek_table), .rows = ROWS, .dim = D, .data = table}; }
static ek_bag_input lookup_in(int i) {
    return (ek_bag_input){.struct_size = sizeof(ek_bag_input), .indices = ix(i), .num_indices = N};
}
static ek_bag_input bag_in(int i) {
    ek_bag_input in = lookup_in(i);
    in.offsets = csr, in.num_bags = 1;
    return in;
}

static void lookup(int i) {
    ek_table t = tab();
    ek_bag_input in = lookup_in(i);
    ok(ek_lookup_forward(&t, &in, out), "lookup");
}
static void lookup_ref(int i) {
    for (int j = 0; j < N; j++) memcpy(out + j * D, table + ix(i)[j] * D, sizeof(float) * D);
}
static void bag(int i) {
    ek_table t = tab();
    ek_bag_input in = bag_in(i);
    ok(ek_bag_forward(&t, &in, NULL, out, NULL, NULL), "bag");
}
static void bag_ref(int i) {
    for (int d = 0; d < D; d++) out[d] = 0.0f;
    for (int j = 0; j < N; j++)
        for (int d = 0; d < D; d++) out[d] += table[ix(i)[j] * D + d];
}
static void sparse(int i) {
    ek_table t = tab();
    ek_bag_input in = bag_in(i);
    ok(ek_bag_backward_sparse(&t, &in, NULL, NULL, grad, rows_out, out, &nnz), "sparse");
}
static void sparse_ref(int i) {
    for (int j = 0; j < N; j++) {
        rows_out[j] = ix(i)[j];
        memcpy(out + j * D, grad, sizeof(float) * D);
    }
    nnz = N;
}
static void adagrad(int i) {
    ek_table t = tab();
    ek_bag_input in = bag_in(i);
    ek_optimizer o = {.struct_size = sizeof o, .kind = EK_OPT_ADAGRAD, .lr = 0.01f, .eps = 1e-10f, .state_sum = state};
    ok(ek_bag_backward_update(&t, &in, NULL, NULL, grad, &o), "adagrad");
}
static void adagrad_ref(int i) { /* distinct rows assumed (a duplicate would be coalesced first) */
    for (int j = 0; j < N; j++) {
        float *w = table + ix(i)[j] * D, *s = state + ix(i)[j] * D;
        for (int d = 0; d < D; d++) {
            s[d] += grad[d] * grad[d];
            w[d] -= 0.01f * grad[d] / (sqrtf(s[d]) + 1e-10f);
        }
    }
}
static void softmax(int i) {
    (void)i;
    ok(ek_softmax_forward_f32(1, 10, x, y), "softmax");
}
static void softmax_ref(int i) {
    (void)i;
    float m = x[0], s = 0.0f;
    for (int k = 1; k < 10; k++) m = x[k] > m ? x[k] : m;
    for (int k = 0; k < 10; k++) s += y[k] = expf(x[k] - m);
    for (int k = 0; k < 10; k++) y[k] /= s;
}
static void unary(int i) {
    (void)i;
    ok(ek_unary_f32(EK_UNARY_NEG, 16, x, 0.0f, y), "unary");
}
static void unary_ref(int i) {
    (void)i;
    for (int k = 0; k < 16; k++) y[k] = -x[k];
}
static void sum(int i) {
    (void)i;
    ok(ek_sum_dim_f32(1, 16, 1, x, y), "sum");
}
static void sum_ref(int i) {
    (void)i;
    float s = 0.0f;
    for (int k = 0; k < 16; k++) s += x[k];
    y[0] = s;
}
static void matmul(int i) {
    (void)i;
    ok(ek_matmul_f32(1, 16, 16, a, 0, b, 0, 1.0f, 0.0f, c), "matmul");
}
static void matmul_ref(int i) {
    (void)i;
    for (int n = 0; n < 16; n++) {
        float s = 0.0f;
        for (int k = 0; k < 16; k++) s += a[k] * b[k * 16 + n];
        c[n] = s;
    }
}

static double ns_per_call(void (*f)(int)) {
    double best = INFINITY;
    for (int r = 0; r < BATCHES; r++) {
        double t0 = now();
        for (int i = 0; i < CALLS; i++) f(i);
        double t = (now() - t0) / CALLS * 1e9;
        if (t < best) best = t;
        sink = out[0] + y[0] + c[0];
    }
    return best;
}

int main(int argc, char **argv) {
    if (argc > 1 && atoi(argv[1]) > 0) ok(ek_set_num_threads(atoi(argv[1])), "threads");
    srand(1);
    for (int i = 0; i < ROWS * D; i++) table[i] = rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < 1024; i++)
        for (int j = 0; j < N; j++) idx[i][j] = rand() % ROWS;
    for (int k = 0; k < 16; k++) x[k] = a[k] = grad[k] = (float)k / 16, c[k] = 0.0f;
    for (int k = 0; k < 256; k++) b[k] = (float)k / 256;
    struct {
        const char *name;
        void (*f)(int), (*ref)(int);
    } verbs[] = {
        {"ek_lookup_forward (8 rows, D 16)", lookup, lookup_ref},
        {"ek_bag_forward (1 bag x 8, D 16)", bag, bag_ref},
        {"ek_bag_backward_sparse (1 bag x 8)", sparse, sparse_ref},
        {"ek_bag_backward_update (Adagrad)", adagrad, adagrad_ref},
        {"ek_softmax_forward_f32 (1 x 10)", softmax, softmax_ref},
        {"ek_unary_f32 (neg, 16)", unary, unary_ref},
        {"ek_sum_dim_f32 (16 -> 1)", sum, sum_ref},
        {"ek_matmul_f32 (1x16 by 16x16)", matmul, matmul_ref},
    };
    printf("threads %d, %s\n", (int)ek_get_num_threads(), ek_isa_name(ek_get_isa()));
    printf("%-38s %10s %10s\n", "verb", "ns/call", "ref ns");
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
        if (argc <= 2 || strstr(verbs[v].name, argv[2]))
            printf("%-38s %10.1f %10.1f\n", verbs[v].name, ns_per_call(verbs[v].f), ns_per_call(verbs[v].ref));
    return 0;
}
