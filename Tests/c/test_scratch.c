/* test_scratch.c — the kernels' scratch arena (scratch.c): LIFO marks across blocks, alignment, and
 * the point of it: a training loop's backward calls fault no new pages in once warm, with results
 * unchanged; memory released (ek_release_scratch, thread exit) is really given back. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "ek_test.h"

/* internal (scratch.c) */
size_t eki_scratch_mark(void);
void *eki_scratch_alloc(size_t bytes);
void eki_scratch_release(size_t mark);

static long minor_faults(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u); /* OpenMP workers touch scratch too */
    return u.ru_minflt;
}

TEST(scratch_lifo_across_blocks) {
    size_t base = eki_scratch_mark();
    unsigned char *a = eki_scratch_alloc(100);
    CHECK(a && (uintptr_t)a % 64 == 0);
    memset(a, 0x11, 100);
    size_t after_a = eki_scratch_mark();
    /* larger than any block so far: a new block on top; a stays where it was */
    unsigned char *b = eki_scratch_alloc((size_t)3 << 20);
    unsigned char *c = eki_scratch_alloc(1);
    CHECK(b && c && (uintptr_t)b % 64 == 0 && (uintptr_t)c % 64 == 0);
    memset(b, 0x22, (size_t)3 << 20);
    *c = 0x33;
    for (int i = 0; i < 100; i++) CHECK_MSG(a[i] == 0x11, "a[%d] overwritten", i);
    CHECK_MSG(b[((size_t)3 << 20) - 1] == 0x22 && *c == 0x33, "b or c overwritten");
    eki_scratch_release(after_a);
    CHECK_EQ_I64((int64_t)eki_scratch_mark(), (int64_t)after_a);
    /* the next request after the release starts right after a again */
    unsigned char *d = eki_scratch_alloc(64);
    CHECK(d != NULL);
    for (int i = 0; i < 100; i++) CHECK_MSG(a[i] == 0x11, "a[%d] overwritten after release", i);
    eki_scratch_release(base);
    CHECK_EQ_I64((int64_t)eki_scratch_mark(), (int64_t)base);
    /* empty again: one block of the peak size, so the same sequence now fits without a new block */
    unsigned char *a2 = eki_scratch_alloc(100), *b2 = eki_scratch_alloc((size_t)3 << 20);
    CHECK_MSG(a2 && b2 && b2 == a2 + 128, "after the peak, the same requests should be contiguous in one block");
    eki_scratch_release(base);
    CHECK(eki_scratch_alloc(SIZE_MAX - 8) == NULL); /* an impossible size is NULL, not a wrap-around */
    eki_scratch_release(base);
}

enum { ROWS = 100000, DIM = 16, BAGS = 5000, PER_BAG = 40, N = BAGS * PER_BAG };

typedef struct {
    float *table;
    int64_t *idx, *off, *rows;
    float *grad_out, *values;
} step_data;

static void step_alloc(step_data *d) {
    d->table = calloc((size_t)ROWS * DIM, sizeof(float));
    d->idx = malloc(sizeof(int64_t) * N);
    d->off = malloc(sizeof(int64_t) * BAGS);
    d->rows = malloc(sizeof(int64_t) * N);
    d->grad_out = malloc(sizeof(float) * BAGS * DIM);
    d->values = malloc(sizeof(float) * (size_t)N * DIM);
    uint64_t x = 12345;
    for (int64_t i = 0; i < N; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        d->idx[i] = (int64_t)((x >> 33) % ROWS);
    }
    for (int64_t b = 0; b < BAGS; b++) d->off[b] = b * PER_BAG;
    for (int64_t i = 0; i < BAGS * DIM; i++) d->grad_out[i] = (float)(i % 13) - 6.0f;
}

static void step_free(step_data *d) {
    free(d->table), free(d->idx), free(d->off), free(d->rows), free(d->grad_out), free(d->values);
}

/* W5-coo's calls: the sparse backward (plan + output slots) and the scatter-add (its partition) */
static ek_status step(step_data *d, int64_t *nnz) {
    ek_table t = {.struct_size = sizeof(ek_table), .rows = ROWS, .dim = DIM, .data = d->table};
    ek_bag_input in = {.struct_size = sizeof(ek_bag_input), .indices = d->idx, .num_indices = N, .offsets = d->off,
                       .num_bags = BAGS};
    ek_bag_options o = {.struct_size = sizeof(ek_bag_options), .mode = EK_BAG_MEAN, .scale_grad_by_freq = 1};
    ek_status s = ek_bag_backward_sparse(&t, &in, &o, NULL, d->grad_out, d->rows, d->values, nnz);
    return s ? s : ek_coo_scatter_add_f32(ROWS, DIM, *nnz, d->rows, d->values, -0.01f, d->table);
}

TEST(scratch_steady_loop_faults_no_pages) {
    step_data d;
    step_alloc(&d);
    int64_t nnz = 0;
    for (int k = 0; k < 3; k++) CHECK_OK(step(&d, &nnz)); /* warm: the arena reaches its peak */
    long before = minor_faults();
    for (int k = 0; k < 10; k++) CHECK_OK(step(&d, &nnz));
    long faults = minor_faults() - before;
    /* the O(n) scratch is ~4 MB (about 1,000 pages) per call; kept, the loop faults (almost) nothing */
    CHECK_MSG(faults < 64, "10 warm steps faulted %ld pages in (scratch freed and faulted again?)", faults);
    CHECK_EQ_I64(nnz, N);
    step_free(&d);
}

TEST(scratch_release_keeps_results) {
    step_data d1, d2;
    step_alloc(&d1), step_alloc(&d2);
    int64_t n1 = 0, n2 = 0;
    CHECK_OK(step(&d1, &n1));
    CHECK_OK(step(&d1, &n1));
    ek_release_scratch();
    CHECK_OK(step(&d2, &n2)); /* a fresh arena */
    ek_release_scratch();
    CHECK_OK(step(&d2, &n2));
    CHECK_EQ_I64(n1, n2);
    CHECK_SAME_BYTES(d1.table, d2.table, sizeof(float) * (size_t)ROWS * DIM);
    CHECK_SAME_BYTES(d1.values, d2.values, sizeof(float) * (size_t)n1 * DIM);
    step_free(&d1), step_free(&d2);
}

/* a thread that used the arena exits: its blocks are freed (LeakSanitizer in the sanitizer builds
 * reports them otherwise) and its results are the caller's */
static void *thread_step(void *arg) {
    int64_t nnz = 0;
    return (void *)(intptr_t)step(arg, &nnz);
}

TEST(scratch_threads_own_arenas) {
    step_data d1, d2;
    step_alloc(&d1), step_alloc(&d2);
    pthread_t a, b;
    void *ra, *rb;
    CHECK(pthread_create(&a, NULL, thread_step, &d1) == 0);
    CHECK(pthread_create(&b, NULL, thread_step, &d2) == 0);
    pthread_join(a, &ra), pthread_join(b, &rb);
    CHECK_EQ_I64((int64_t)(intptr_t)ra, EK_OK);
    CHECK_EQ_I64((int64_t)(intptr_t)rb, EK_OK);
    CHECK_SAME_BYTES(d1.table, d2.table, sizeof(float) * (size_t)ROWS * DIM);
    step_free(&d1), step_free(&d2);
}
