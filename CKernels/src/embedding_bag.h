/* embedding_bag.h — what embedding_bag.c shares with its ISA files (x86/<isa>/embedding_bag.c): the
 * validated call, and the building blocks of the vector forward's range functions. Internal. */
#ifndef EK_EMBEDDING_BAG_H
#define EK_EMBEDDING_BAG_H

#include "internal.h"

/* The validated arguments every bag kernel shares. */
typedef struct eki_bag_call {
    int64_t num_embeddings, dim, n;
    int64_t stride; /* table row r at element r * stride (>= dim; dim unless the verb sets its table's) */
    eki_index indices;
    eki_bags bags;
    const float *weights; /* per-sample weights, NULL when absent */
    ek_bag_mode mode;
    int64_t pad; /* resolved padding row, -1 for none */
    int64_t prefetch_rows; /* the forward's prefetch distance (eki_bag_prefetch_rows(), read once per call) */
} eki_bag_call;

/* The vector row loops read the call's fields as locals (`row_loop`, passed by value into
 * always-inline functions, so they live in registers) and take the index width and the presence of
 * per-sample weights as compile-time constants (`is32`, `weighted`: each ISA's range function is
 * instantiated once per combination, see EKI_BAG_RANGE_VARIANTS). The loop over a bag's rows then
 * branches only on padding and the prefetch bound: W2 went from ~15 to ~9 ns per row. */
typedef struct {
    const float *weight;  /* the table */
    const void *indices;  /* int32_t or int64_t */
    const float *psw;     /* per-sample weights or NULL */
    int64_t dim, stride, pad, pend; /* stride: of the table's rows; pend: end of this thread's indices
                                     * (prefetches stop there) */
    int64_t ahead;          /* the prefetch distance in rows (run time: tuning.c) */
    int mean;
    /* where prefetch_ahead touches a narrow row a last time: its last byte when rows start mid-line
     * (table, row size or stride not a multiple of 64 bytes: such a row spans one line more), else 0 */
    int64_t last_line;
} row_loop;

static inline __attribute__((always_inline)) row_loop make_row_loop(const eki_bag_call *c, const float *weight,
                                                                    int64_t b0, int64_t b1) {
    row_loop L = {weight, c->indices.data, c->weights, c->dim, c->stride, c->pad,
                  b1 > b0 ? eki_bag_end(&c->bags, b1 - 1) : 0, c->prefetch_rows, c->mode == EK_BAG_MEAN, 0};
    size_t bytes = sizeof(float) * (size_t)c->dim;
    if (((uintptr_t)weight | (uintptr_t)bytes | (uintptr_t)(sizeof(float) * (size_t)c->stride)) % 64 != 0)
        L.last_line = (int64_t)bytes - 1;
    return L;
}

static inline __attribute__((always_inline)) int64_t row_at(const row_loop *L, int64_t j, const int is32) {
    return is32 ? (int64_t)((const int32_t *)L->indices)[j] : ((const int64_t *)L->indices)[j];
}

/* Prefetches row j as straight-line code (a loop or a branch per row here cost W2 20-30 %): the
 * `lines` cache lines of its first 64 floats, then the rest of a `wide` row (more than 64 floats), or
 * the line at `last_line` (see row_loop). `lines` and `wide` are compile-time constants. */
static inline __attribute__((always_inline)) void prefetch_ahead(const row_loop *L, int64_t j, const int is32,
                                                                 const int lines, const int wide) {
    if (j >= L->pend) return;
    const char *p = (const char *)(L->weight + row_at(L, j, is32) * L->stride);
    for (int k = 0; k < lines; k++) __builtin_prefetch(p + 64 * k, 0, 3);
    if (wide) EKI_PREFETCH_SPAN(p + 256, sizeof(float) * (size_t)L->dim - 256, 0);
    else __builtin_prefetch(p + L->last_line, 0, 3);
}

/* Bags prefetch further ahead than the other kernels: their loop is shorter per row, so 16 rows
 * ahead arrived too late (W2, 1 thread: 10.4 ns per row at 16, 8.3 at 32). Re-measured after the
 * aligned storage and streaming changes (1 thread): W2 1.22-1.26 ms at 32 and 1.08-1.12 at 48 (3 runs
 * each), 1.16 at 64, 1.21 at 96; W3 and W4 gain the same way. At 2 threads the memory system is
 * the limit and runs vary more than the distances do. */
/* The distance is chosen at run time for the CPU (tuning.c: eki_bag_prefetch_rows, rules in
 * docs/TUNING.md; EK_BAG_PREFETCH_ROWS pins it): it depends on the memory system, not on the ISA. On an
 * AVX2-only Zen 3, 48 rows gave 7.8 GB/s of rows read (W2-like probe, 1 thread) and 8-32 rows
 * 9.1-9.9 GB/s (issue 16); on a Zen 5, 48 was the best with either ISA. A variable costs the loop one
 * add (it was a compile-time constant; Zen 5, 1 thread, 3 alternated runs: W2 and W4 the same within
 * the noise of a shared machine). The values below are the
 * defaults for CPUs without a rule (the dispatch table reports them as bag_prefetch_rows). */
#ifndef EKI_BAG_PREFETCH_ROWS_AVX512
#define EKI_BAG_PREFETCH_ROWS_AVX512 48
#endif
#ifndef EKI_BAG_PREFETCH_ROWS_AVX2
#define EKI_BAG_PREFETCH_ROWS_AVX2 32
#endif

/* One range function per (index width, weighted) for an ISA, eki_bag_range_<isa>_i64, _i64w, _i32,
 * _i32w (isa.h declares them; the table holds them as bag_range[is32][weighted]). */
#define EKI_BAG_RANGE_VARIANTS(isa, TARGET)                                                                   \
    TARGET void eki_bag_range_##isa##_i64(const eki_bag_call *c, const float *weight, int64_t b0, int64_t b1,  \
                                             float *out, int64_t *bag_size, int64_t *max_indices) {          \
        bag_range_##isa##_impl(c, weight, b0, b1, out, bag_size, max_indices, 0, 0);                         \
    }                                                                                                         \
    TARGET void eki_bag_range_##isa##_i64w(const eki_bag_call *c, const float *weight, int64_t b0, int64_t b1, \
                                              float *out, int64_t *bag_size, int64_t *max_indices) {         \
        bag_range_##isa##_impl(c, weight, b0, b1, out, bag_size, max_indices, 0, 1);                         \
    }                                                                                                         \
    TARGET void eki_bag_range_##isa##_i32(const eki_bag_call *c, const float *weight, int64_t b0, int64_t b1,  \
                                             float *out, int64_t *bag_size, int64_t *max_indices) {          \
        bag_range_##isa##_impl(c, weight, b0, b1, out, bag_size, max_indices, 1, 0);                         \
    }                                                                                                         \
    TARGET void eki_bag_range_##isa##_i32w(const eki_bag_call *c, const float *weight, int64_t b0, int64_t b1, \
                                              float *out, int64_t *bag_size, int64_t *max_indices) {         \
        bag_range_##isa##_impl(c, weight, b0, b1, out, bag_size, max_indices, 1, 1);                         \
    }

/* In bag_range_<isa>_impl: ISA's max or sum block for k vectors with prefetch mode PF, a
 * compile-time constant (the switch over nv and pf instantiates each combination once). */
#define EKI_BAG_BLOCK(isa, k, PF)                                                                       \
    do {                                                                                                \
        if (is_max) max_bag_block_##isa(L, begin, end, d0, k, tail, o, argmax, &count, is32, PF);       \
        else sum_bag_block_##isa(L, begin, end, d0, k, tail, o, &count, is32, weighted, PF);            \
    } while (0)
#define EKI_BAG_CASE(isa, k)                                                                            \
    case k:                                                                                             \
        if (pf == 1) EKI_BAG_BLOCK(isa, k, 1);                                                          \
        else EKI_BAG_BLOCK(isa, k, 0);                                                                  \
        break;

#endif
