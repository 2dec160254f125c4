/* bench.h — what a workload file of `make bench` sees (Benchmarks/workloads/<family>.c).
 *
 * A workload is one table entry: what it is (id, sizes, unit, target, PyTorch peer) and four
 * functions — setup (build the data of 8 batches), call (one call through the C ABI on a batch),
 * check (against the reference kernel at every thread count; a mismatch calls bench_die(2, ...)),
 * release — plus `work`, the bytes or elements one call moves (the throughput's numerator).
 * A family file defines an array of entries and registers it with BENCH_FAMILY(array): adding a
 * workload is adding an entry, adding a family is adding a file; the harness (Benchmarks/harness/)
 * finds every registered family at link time and runs the entries in `order`.
 *
 * Workloads measured by another program (the Swift API's ek-swift-bench) set .api = BENCH_API_SWIFT
 * and no functions. */
#ifndef EK_BENCH_H
#define EK_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "embeddingkit.h"
#include "../Tests/common/ek_positional.h"
#include "ref.h"

#define NBATCH 8      /* batches of inputs per workload, rotated between calls */
#define MAX_THREADS 8
#define BENCH_SEED 20240601u

enum bench_unit { UNIT_BYTES, UNIT_ELEMS };             /* throughput in GB/s or elements/s */
enum bench_share { SHARE_NONE, SHARE_COPY, SHARE_READ }; /* bandwidth the throughput is a share of */
enum bench_api { BENCH_API_C, BENCH_API_SWIFT };

typedef struct bench_workload bench_workload;
struct bench_workload {
    int order; /* position in the table and in the run (unique; the W2 scaling rows come last) */
    const char *id, *name, *params, *peer_call;
    int64_t rows, dim, n, bags; /* table rows x dim (or logits rows x classes); indices per batch; bags (0: none) */
    ek_bag_mode mode;
    int weighted;
    enum bench_unit unit;
    enum bench_share share;
    double target_ratio;     /* 0: no target (informational row) */
    double target_share;     /* > 0: "or bytes read >= this share of the gather limit" (SHARE_READ rows, limits.c) */
    const char *target_text;
    const char *peer_id;     /* workload the PyTorch peer runs for this row; NULL: none */
    const char *reuse_ek;    /* take EK's figures from this row instead of measuring (NULL: measure) */
    int scaling;             /* 1: a row of the W2 table-size scaling table */
    const char *note;
    enum bench_api api;
    /* BENCH_API_C rows that measure (reuse_ek == NULL) fill all five; none of them: "not yet". */
    void *(*setup)(const bench_workload *w);
    void (*call)(void *data, int batch);
    void (*check)(void *data, const int *threads, int nthreads);
    void (*release)(void *data);
    double (*work)(const bench_workload *w); /* bytes (UNIT_BYTES) or elements (UNIT_ELEMS) per call */
};

/* ---- registration: BENCH_FAMILY(array) once per family file ---- */
typedef struct {
    const char *file;
    const bench_workload *list;
    int count;
} bench_family;

#define BENCH_FAMILY(array)                                                                                \
    static const bench_family bench_family_##array = {__FILE__, array,                                    \
                                                      (int)(sizeof array / sizeof array[0])};              \
    __attribute__((used, section("ek_bench_families"))) static const bench_family *bench_family_ptr_##array = \
        &bench_family_##array

/* ---- helpers for workload files (Benchmarks/harness/util.c) ---- */
double bench_now_s(void);
void bench_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void *bench_alloc(size_t bytes); /* 64-byte aligned; dies on failure */
#define ALLOC(type, count) ((type *)bench_alloc(sizeof(type) * (size_t)(count)))
/* Tables of the C-ABI rows: ek_alloc (zeroed, 64-byte aligned, huge pages from 4 MiB: the policy of
 * the Swift tensors, so both sides of the bench get the same one); free with bench_table_free. */
void *bench_table_alloc(int64_t count, size_t elem_bytes);
void bench_table_free(void *p);
/* The note of the informational "-thp" rows (peer id "<id>+thp"). */
#define THP_NOTE                                                                                              \
    "PyTorch in a co-process started with THP_MEM_ALLOC_ENABLE=1 (its tables on huge pages, as EK's ek_alloc " \
    "tables are)"
void bench_ok(ek_status s, const char *what); /* dies (exit 3) with ek_last_error() unless EK_OK */
/* Counter-based: the same values for any thread count. */
void fill_uniform(float *p, int64_t n, uint64_t seed, float lo, float hi);
void fill_indices(int64_t *p, int64_t n, uint64_t seed, int64_t count);
/* |a - b| <= atol + rtol * |b| everywhere (NaN matches NaN); a mismatch stops the bench (exit 2). */
void check_close(const char *wid, const char *what, int threads, const float *a, const float *b, int64_t n,
                 double atol, double rtol);
void check_equal_i64(const char *wid, const char *what, int threads, const int64_t *a, const int64_t *b, int64_t n);

/* The inputs of the table workloads: a rows x dim fp32 table (uniform in [-1, 1]), NBATCH batches of
 * n int64 indices (+ per-sample weights when w->weighted), bag offsets (B entries, the C ABI layout)
 * and csr (B + 1, the reference's), and with `pristine` a copy of the table for the mutating ones. */
typedef struct {
    float *table, *table0;
    int64_t *idx[NBATCH];
    float *psw[NBATCH];
    int64_t *offsets, *csr;
} bench_table_inputs;
void bench_table_inputs_init(bench_table_inputs *in, const bench_workload *w, int pristine);
void bench_table_inputs_free(bench_table_inputs *in);
void bench_restore_table(bench_table_inputs *in, const bench_workload *w); /* table = table0 */

/* `work` functions: n x dim x 4 bytes of rows read; n x dim or rows x dim elements. */
double work_rows_read(const bench_workload *w);
double work_index_elems(const bench_workload *w);
double work_matrix_elems(const bench_workload *w);

#endif
