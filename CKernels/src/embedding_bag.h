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
    int64_t prefetch_rows; /* the forward's prefetch distance (eki_bag_prefetch_rows_for, once per call) */
} eki_bag_call;

/* The vector row loops read the call's fields as locals (`row_loop`, passed by value into
 * always-inline functions, so they live in registers) and take the index width and the presence of
 * per-sample weights as compile-time constants (`is32`, `weighted`: each ISA's range function is
 * instantiated once per combination, see EKI_BAG_RANGE_VARIANTS). The loop over a bag's rows then
 * branches only on padding and the prefetch bound: W2 went from ~15 to ~9 ns per row. */
typedef struct {
    const float *weight;  /* the table (fp16 / bf16: the half kernels cast it back; esize says which) */
    const void *indices;  /* int32_t or int64_t */
    const float *psw;     /* per-sample weights or NULL */
    int64_t dim, stride, pad, pend; /* stride: of the table's rows, in elements; pend: end of this
                                     * thread's indices (prefetches stop there) */
    int64_t ahead;          /* the prefetch distance in rows (run time: tuning.c) */
    int64_t esize;          /* bytes per element: 4, or 2 (fp16 / bf16) */
    int mean;
    /* rows start mid-line (table, row size or stride not a multiple of 64 bytes): a block of a row
     * then spans one line more */
    int misaligned;
    /* where prefetch_ahead touches the current block a last time: its last byte when misaligned,
     * else 0 (set_block) */
    int64_t last_line;
} row_loop;

static inline __attribute__((always_inline)) row_loop make_row_loop_of(const eki_bag_call *c, const void *table,
                                                                       int64_t esize, int64_t b0, int64_t b1) {
    row_loop L = {(const float *)table, c->indices.data, c->weights, c->dim, c->stride, c->pad,
                  b1 > b0 ? eki_bag_end(&c->bags, b1 - 1) : 0, c->prefetch_rows, esize, c->mode == EK_BAG_MEAN, 0, 0};
    L.misaligned = ((uintptr_t)table | (uintptr_t)(esize * c->dim) | (uintptr_t)(esize * c->stride)) % 64 != 0;
    return L;
}

static inline __attribute__((always_inline)) row_loop make_row_loop(const eki_bag_call *c, const float *weight,
                                                                    int64_t b0, int64_t b1) {
    return make_row_loop_of(c, weight, (int64_t)sizeof(float), b0, b1);
}

/* Before a block of `width` elements (the range loop; L is then passed on by value). */
static inline __attribute__((always_inline)) void set_block(row_loop *L, int64_t width) {
    L->last_line = L->misaligned ? L->esize * width - 1 : 0;
}

static inline __attribute__((always_inline)) int64_t row_at(const row_loop *L, int64_t j, const int is32) {
    return is32 ? (int64_t)((const int32_t *)L->indices)[j] : ((const int64_t *)L->indices)[j];
}

/* Prefetches the current block (columns d0 .., `lines` cache lines: a compile-time constant) of row j
 * as straight-line code (a loop or a branch per row here cost W2 20-30 %), and the block's last byte
 * (last_line: the line a misaligned block spills into; 0 touches the first line again). Each pass
 * over a bag prefetches its own block of the rows ahead, so a wide row's lines are asked for at the
 * pace they are read: asking for the whole row in the first pass and nothing in the others left the
 * memory system idle half the time (D = 128 read 22 GB/s where D = 64 read 37; Zen 5, 1 thread). */
static inline __attribute__((always_inline)) void prefetch_ahead(const row_loop *L, int64_t j, int64_t d0,
                                                                 const int is32, const int lines) {
    if (j >= L->pend) return;
    const char *p = (const char *)L->weight + (row_at(L, j, is32) * L->stride + d0) * L->esize;
    for (int k = 0; k < lines; k++) __builtin_prefetch(p + 64 * k, 0, 3);
    __builtin_prefetch(p + L->last_line, 0, 3);
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

/* Columns per pass of the vector range functions, fp32 and fp16 / bf16 alike (x86/<isa>/half_bag.c):
 * 16 registers of sums (all of AVX2's; half of AVX-512's). A row is read once per pass, so the wider
 * the block the fewer passes; two passes over 256-byte blocks read 22-28 GB/s where one pass over the
 * whole row read 37 (D = 128, Zen 5, 1 thread, either ISA): a row's two halves, asked for at
 * different times, cost the memory system more than the whole row at once. */
#define EKI_BAG_BLOCK_ELEMS_AVX512 256
#define EKI_BAG_BLOCK_ELEMS_AVX2 128

/* An ISA's fp16 / bf16 bag sum (isa.h: half_bag_sum) over its always-inline
 * range(c, weight, b0, b1, out, bag_size, bf16, is32, weighted), one instantiation per combination. */
#define EKI_HALF_BAG_SUM(isa, TARGET)                                                                     \
    TARGET void eki_half_bag_sum_##isa(const eki_bag_call *c, const uint16_t *weight, int bf16, int64_t b0, \
                                       int64_t b1, float *out, int64_t *bag_size) {                        \
        int is32 = c->indices.is32 != 0, weighted = c->weights != NULL;                                    \
        if (bf16) {                                                                                         \
            if (is32) weighted ? range(c, weight, b0, b1, out, bag_size, 1, 1, 1)                          \
                               : range(c, weight, b0, b1, out, bag_size, 1, 1, 0);                         \
            else weighted ? range(c, weight, b0, b1, out, bag_size, 1, 0, 1)                               \
                          : range(c, weight, b0, b1, out, bag_size, 1, 0, 0);                              \
        } else {                                                                                            \
            if (is32) weighted ? range(c, weight, b0, b1, out, bag_size, 0, 1, 1)                          \
                               : range(c, weight, b0, b1, out, bag_size, 0, 1, 0);                         \
            else weighted ? range(c, weight, b0, b1, out, bag_size, 0, 0, 1)                               \
                          : range(c, weight, b0, b1, out, bag_size, 0, 0, 0);                              \
        }                                                                                                   \
    }

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

/* In bag_range_<isa>_impl: ISA's max or sum block for k vectors, a compile-time constant (the
 * switch over nv instantiates each once). */
#define EKI_BAG_CASE(isa, k)                                                                            \
    case k:                                                                                             \
        if (is_max) max_bag_block_##isa(L, begin, end, d0, k, tail, o, argmax, &count, is32);           \
        else sum_bag_block_##isa(L, begin, end, d0, k, tail, o, &count, is32, weighted);                \
        break;

#endif
