/* internal.h — what the kernel files share: error reporting, index access, validation, threading.
 * Internal symbols are named eki_* (hidden from the shared library by its version script). */
#ifndef EK_INTERNAL_H
#define EK_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#include "embeddingkit.h"

/* Records a thread-local error message (printf-style) and returns `status`. */
ek_status eki_fail(ek_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Indices arrive as int64 or int32; kernels read them through this view so that each kernel has
 * one implementation. The width test is loop-invariant and predicted perfectly. */
typedef struct {
    const void *data;
    int is32;
} eki_index;

static inline int64_t eki_at(eki_index ix, int64_t i) {
    return ix.is32 ? (int64_t)((const int32_t *)ix.data)[i] : ((const int64_t *)ix.data)[i];
}
static inline eki_index eki_i64(const int64_t *p) { return (eki_index){p, 0}; }
static inline eki_index eki_i32(const int32_t *p) { return (eki_index){p, 1}; }

/* ---- validation (each returns EK_OK or fails with a message naming `op`) ---- */

/* count >= 0 (or >= 1 when `positive`). */
ek_status eki_check_size(const char *op, const char *name, int64_t value, int positive);
/* rows * cols elements of `elem_size` bytes fit in size_t and ptrdiff_t. */
ek_status eki_check_bytes(const char *op, const char *name, int64_t rows, int64_t cols, size_t elem_size);
/* A boolean int flag: 0 or 1 only (7 is a caller's bug, not "true"). */
ek_status eki_check_flag(const char *op, const char *name, int32_t value);
/* p != NULL unless count == 0. */
ek_status eki_check_ptr(const char *op, const char *name, const void *p, int64_t count);
/* every index in [0, count). */
ek_status eki_check_indices(const char *op, eki_index ix, int64_t n, int64_t count, const char *what);
/* "No padding" inside the library (the descriptors say it with has_padding == 0). */
#define EKI_NO_PADDING INT64_MIN
/* Wraps a negative padding_idx (PyTorch rule) into *out; EKI_NO_PADDING gives -1 (matches no row). */
ek_status eki_resolve_padding(const char *op, int64_t padding_idx, int64_t num_embeddings, int64_t *out);

/* ceil(a / b) for a >= 0, b >= 1, without the signed overflow of (a + b - 1) / b near INT64_MAX. */
static inline int64_t eki_ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

/* ---- bag layout: validated bag boundaries, shared by every bag kernel ---- */
typedef struct {
    eki_index offsets; /* offsets.data == NULL: fixed-length bags */
    int64_t fixed_len;
    int64_t num_indices;
    int64_t num_bags;
} eki_bags;

static inline int64_t eki_bag_begin(const eki_bags *b, int64_t bag) {
    return b->offsets.data ? eki_at(b->offsets, bag) : bag * b->fixed_len;
}
static inline int64_t eki_bag_end(const eki_bags *b, int64_t bag) {
    if (!b->offsets.data) return (bag + 1) * b->fixed_len;
    return bag + 1 < b->num_bags ? eki_at(b->offsets, bag + 1) : b->num_indices;
}
/* The first bag of thread t of T (T for the end), balancing indices + bags: cost(b) = begin(b) + b
 * is non-decreasing, so the ranges split at the first bag whose cost reaches t / T of the total.
 * n: the number of indices. Every bag forward splits its bags this way. */
static inline int64_t eki_bag_split(const eki_bags *bags, int64_t n, int t, int T) {
    int64_t B = bags->num_bags, total = n + B;
    if (t <= 0) return 0;
    if (t >= T) return B;
    int64_t target = total / T * t + (total % T) * t / T;
    int64_t lo = 0, hi = B; /* smallest b in [0, B] with cost(b) >= target */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int64_t cost = (mid < B ? eki_bag_begin(bags, mid) : n) + mid;
        if (cost >= target) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}
/* Validates offsets (or the fixed length) and fills *out. With include_last_offset the offsets
 * array has num_bags + 1 entries and its last one must equal num_indices. */
ek_status eki_check_bags(const char *op, int64_t num_indices, int64_t num_bags, eki_index offsets,
                         int32_t include_last_offset, eki_bags *out);

/* ---- grouping by row: the deterministic basis of every scatter ---- */

/* Positions 0..<n (skipping those whose row equals `skip`, -1 for none) stably sorted by row:
 * `order` receives the kept positions grouped by ascending row, input order inside a group;
 * `group_start` (capacity n + 1) receives the start of each group in `order`, with a final entry
 * equal to the number of kept positions; *num_groups is the number of distinct rows; group_row
 * (nullable, capacity n) receives each group's row (saves the caller a scattered read per group).
 * Rows must already be validated to lie in [0, num_rows). */
ek_status eki_group_by_row(const char *op, eki_index rows, int64_t n, int64_t num_rows, int64_t skip,
                           int64_t *order, int64_t *group_start, int64_t *group_row, int64_t *num_groups);

/* ---- instruction sets and the dispatch table (isa.h, isa.c) ---- */
#include "isa.h"

/* Prefetch distance, in rows, of the gathers and row loops that do not derive theirs from the CPU's
 * tuning (FBGEMM uses 16; the bag forwards and the scatter-add use eki_bag_prefetch_rows_for). */
#ifndef EKI_PREFETCH_ROWS
#define EKI_PREFETCH_ROWS 16
#endif

/* Prefetches every cache line of the `bytes` bytes at p (rw: 0 read, 1 write). */
#define EKI_PREFETCH_SPAN(p, bytes, rw)                                                     \
    do {                                                                                    \
        uintptr_t eki_a_ = (uintptr_t)(p), eki_e_ = eki_a_ + (size_t)(bytes);                \
        for (eki_a_ &= ~(uintptr_t)63; eki_a_ < eki_e_; eki_a_ += 64)                         \
            __builtin_prefetch((const void *)eki_a_, rw, 3);                                \
    } while (0)

/* ---- descriptors (validate.c) ----
 * A lookup or bag call decoded from its ek_table / ek_bag_input / ek_bag_options: struct sizes,
 * dtype, row stride (rows * stride in range), index type and the lookup-only rules checked; every
 * other check (sizes, pointers, indices, offsets, padding) is left to the kernel's own, which keep
 * their messages. */
typedef struct {
    int64_t rows, dim;
    int64_t stride;     /* row r at element r * stride of the rows (quantized dtypes: byte); >= dim */
    float *data;        /* the rows when dtype is EK_DTYPE_F32, else NULL (see raw) */
    void *raw;          /* the rows, any dtype (written only by the verbs that update) */
    ek_dtype dtype;     /* EK_DTYPE_F32, or (eki_decode_forward only) EK_DTYPE_F16 / EK_DTYPE_BF16 */
    eki_index indices, offsets;
    int64_t n, num_bags, num_weights;
    int32_t include_last_offset;
    const float *weights;
    int64_t padding_idx; /* EKI_NO_PADDING for none */
    ek_bag_mode mode;
    int32_t scale_grad_by_freq;
} eki_call;
/* lookup != 0: a plain lookup (no bag fields allowed). options may be NULL (defaults). */
ek_status eki_decode(const char *op, const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                     int lookup, eki_call *out);
/* The same for the forward verbs (lookup, bag): the table may also be fp16 or bf16. */
ek_status eki_decode_forward(const char *op, const ek_table *table, const ek_bag_input *input,
                             const ek_bag_options *options, int lookup, eki_call *out);
/* The bytes of one element of a table of a dtype eki_decode_forward accepts. */
static inline size_t eki_dtype_size(ek_dtype dtype) { return dtype == EK_DTYPE_F32 ? sizeof(float) : 2; }
/* The table alone (f32, contiguous): rows, dim, data. */
ek_status eki_decode_table(const char *op, const ek_table *table, eki_call *out);
/* The training verbs (backward to a gradient, fused and plain updates): f32, fp16 or bf16 rows. */
ek_status eki_decode_training(const char *op, const ek_table *table, const ek_bag_input *input,
                              const ek_bag_options *options, int lookup, eki_call *out);
ek_status eki_decode_table_training(const char *op, const ek_table *table, eki_call *out);
/* A descriptor copied into `out` (out_size bytes, zeroed first) after the struct_size rule. */
ek_status eki_copy_struct(const char *op, const char *arg, const char *type, const void *p, size_t min_size,
                          size_t out_size, void *out);

/* ---- optimizer rows (optim.c) ----
 * An ek_optimizer checked for a rows x dim table (hyperparameters, state pointers), with the
 * per-step constants, and the update of one row from its coalesced gradient row g: the code
 * ek_sgd_update_f32 / ek_adagrad_update_f32 / ek_rowwise_adagrad_update_f32 / ek_adam_update_f32
 * run on each row, so a fused update is bit for bit the same. */
typedef struct {
    ek_optimizer o;
    ek_dtype dtype;                     /* of the table: f32, or fp16 / bf16 (rounded back, o.rounding) */
    int64_t stride;                     /* of the table's rows (dim unless the caller sets its own) */
    const eki_kernels *k;               /* the rows of the ISA at the call */
    float step_size, bias2_sqrt, decay; /* Adam */
    uint64_t round_key;                 /* stochastic rounding: eki_round_step_key(o.seed, o.step) */
    int fused_bf16_sgd;                 /* bf16, stochastic, SGD without momentum: one pass per row */
} eki_opt;
/* The size of ek_optimizer in 0.2 (before `rounding`): callers compiled then still pass it. */
#define EKI_OPTIMIZER_SIZE_0_2 offsetof(ek_optimizer, rounding)
/* the ek_bag_input of 0.3 (before lengths): its callers' struct_size */
#define EKI_BAG_INPUT_SIZE_0_3 offsetof(ek_bag_input, lengths)
ek_status eki_prepare_optimizer(const char *op, const ek_optimizer *optimizer, int64_t rows, int64_t dim, ek_dtype dtype,
                                eki_opt *out);
/* Updates row r (at table + r * o->stride) of `table` (of o->dtype). scratch: dim floats of the
 * calling thread (half tables: the widened row). */
void eki_optimizer_row(const eki_opt *o, int64_t r, int64_t dim, const float *g, void *table, float *scratch);
/* Prefetches (for writing) what eki_optimizer_row(o, r, ...) touches: row r and its state. Sparse
 * rows are scattered over a large table: without this every row update waits on its misses. Inline:
 * the rows loops call it once per row. */
void eki_optimizer_prefetch_state(const eki_opt *o, int64_t r, int64_t dim);
static inline void eki_optimizer_prefetch(const eki_opt *o, int64_t r, int64_t dim, const void *table) {
    size_t elem = eki_dtype_size(o->dtype);
    EKI_PREFETCH_SPAN((const char *)table + (size_t)r * (size_t)o->stride * elem, (size_t)dim * elem, 1);
    if (o->o.kind != EK_OPT_SGD || o->o.momentum != 0.0f) eki_optimizer_prefetch_state(o, r, dim);
}

/* ---- float32 to fp16 / bf16 with a rounding (half_round.c; header section 4 defines both) ---- */
uint32_t eki_round_bits(uint64_t seed, int64_t step, int64_t row, int64_t col);
/* The chain up to the step (the first two links of eki_round_bits): what eki_round_row_half takes.
 * Row r's key is mix64(step_key ^ r); column d's coin is fmix32(lo32(key) + d * EKI_ROUND_COLUMN_STEP)
 * ^ hi32(key) (half_round.c, and the vector rows of x86/<isa>/half.c). */
#define EKI_ROUND_COLUMN_STEP 0x9e3779b9u
#define EKI_ROUND_FMIX_1 0x85ebca6bu
#define EKI_ROUND_FMIX_2 0xc2b2ae35u
uint64_t eki_round_step_key(uint64_t seed, int64_t step);
/* The SplitMix64 finaliser: a bijection that spreads every input bit over the output. */
static inline uint64_t eki_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* The chain up to the row: its columns' coins come from it. */
static inline uint64_t eki_round_row_key(uint64_t step_key, int64_t row) { return eki_mix64(step_key ^ (uint64_t)row); }
/* o->fused_bf16_sgd only: row r updated from the gradient row c * g in one pass (no scratch row). */
static inline void eki_bf16_sgd_row(const eki_opt *o, int64_t r, int64_t dim, float c, const float *g, void *table) {
    uint16_t *row = (uint16_t *)table + r * o->stride;
    o->k->bf16_sgd_row(dim, row, g, c, o->o.lr, o->o.weight_decay, eki_round_row_key(o->round_key, r));
}
/* Columns [d0, d1) of a row to bf16 / fp16, stochastically (the scalar rule; the vector rows' tails). */
void eki_bf16_stochastic_cols(int64_t d0, int64_t d1, const float *src, uint16_t *dst, uint64_t key);
void eki_f16_stochastic_cols(int64_t d0, int64_t d1, const float *src, uint16_t *dst, uint64_t key);
/* Plain SGD (no momentum) on bf16 columns [d0, d1) of a row from the gradient row c * g, fused:
 * widened, updated as the f32 SGD row does, rounded stochastically with row key `key` (the scalar
 * rule; the vector rows' tails). */
void eki_bf16_sgd_cols(int64_t d0, int64_t d1, uint16_t *row, const float *g, float c, float lr, float weight_decay,
                       uint64_t key);
uint16_t eki_f32_to_f16_rounded(float x, ek_rounding rounding, uint32_t bits);
uint16_t eki_f32_to_bf16_rounded(float x, ek_rounding rounding, uint32_t bits);
/* dst[d] = src[d] rounded to dtype (EK_DTYPE_F16 or EK_DTYPE_BF16), the coin of column d of `row`
 * (step_key: eki_round_step_key; unused with EK_ROUND_NEAREST). */
void eki_round_row_half(ek_dtype dtype, int64_t dim, const float *src, uint16_t *dst, ek_rounding rounding,
                        uint64_t step_key, int64_t row);

/* ---- the parallel scatter-add (scatter.c) ----
 * dst[rows[i]] += a * src[i] for i in input order, skipping rows equal to `skip` (-1 for none): the
 * dense embedding backward and the COO scatter-add. No sort: threads take contiguous chunks of the
 * input; entries whose row an earlier chunk also touches (a marking pass finds them) are applied
 * after a barrier, chunk by chunk. Each row is so updated in input order, as the serial loop does:
 * bit-identical for any thread count. Rows must already be validated
 * to lie in [0, num_rows); fails only to allocate scratch, before anything is written. */
ek_status eki_scatter_add_rows(const char *op, eki_index rows, int64_t n, int64_t num_rows, int64_t skip,
                               int64_t dim, float a, const float *src, float *dst);
/* The same with source rows that need not exist in memory (the fused bag backward + SGD step: entry
 * i's gradient is its bag's gradient row, scaled), into rows dst_stride elements apart (a strided
 * table; the source rows are dense). Row i of the source is, by the first field set:
 *   rows:  rows + i * dim;
 *   base_row: coef[i] * (base + base_row[i] * dim), made inside the update (the table's
 *          axpy_scaled); base_row[i] < 0 skips entry i (base may then be NULL: a bag call without
 *          bags has no gradient rows, and its grad_out may be NULL);
 *   row:   row(ctx, i, scratch): in place, or made in `scratch` (dim floats), or NULL to skip
 *          entry i; called from several threads at once. */
typedef struct {
    const float *rows;
    const float *base;
    const int64_t *base_row;
    const float *coef;
    const float *(*row)(const void *ctx, int64_t i, float *scratch);
    const void *ctx;
} eki_scatter_source;
ek_status eki_scatter_add_from(const char *op, eki_index rows, int64_t n, int64_t num_rows, int64_t skip,
                               int64_t dim, float a, const eki_scatter_source *src, float *dst, int64_t dst_stride);

/* ---- threading ---- */

/* Temporary memory of a call, from the calling thread's arena (scratch.c): LIFO, 64-byte aligned,
 * not zeroed. m = eki_scratch_mark(); ... eki_scratch_alloc(bytes) (NULL: out of memory) ...;
 * eki_scratch_release(m) frees everything allocated since the mark. */
size_t eki_scratch_mark(void);
void *eki_scratch_alloc(size_t bytes);
void eki_scratch_release(size_t mark);

/* The cases of a switch over a block's vector count in the vector kernels (1..16; 16 is the
 * default: a full block). */
#define EKI_CASES_1_TO_15(CASE)                                                                          \
    CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10) CASE(11) CASE(12) \
    CASE(13) CASE(14) CASE(15)

/* Below this much work (elements touched) a kernel stays serial: forking costs more than it saves. */
#define EKI_PARALLEL_MIN_WORK 32768

/* The team size of every parallel loop: ek_set_num_threads's count for the whole process (OpenMP's
 * own setting is per calling thread, and Swift tasks hop between threads), else the runtime default.
 * Loops use static schedules only: with dynamic ones the Swift toolchain's clang emits
 * __kmpc_dispatch_deinit, which Debian's libomp 14 lacks. */
int eki_num_threads(void);
/* Sets OpenBLAS to one thread, once per process (threads.c explains why). */
void eki_blas_single_threaded(void);

/* ---- parallel loops: no OpenMP region at all below a kernel's threshold ----
 * A parallel region costs its entry even when its `if` clause is false (libgomp sets up a team,
 * libomp serialises: 300-500 ns a region on a loaded Zen 5, most of a tiny call; Benchmarks/README.md,
 * "Call overhead (W0)").
 * So no kernel writes `omp parallel ... if (...)`; every parallel loop is written
 *
 *     EKI_PARALLEL_FOR(n * dim >= EKI_PARALLEL_MIN_WORK, (static, 64),
 *     for (int64_t i = 0; i < n; i++) {
 *         ...
 *     });
 *
 * which runs the loop under `omp parallel for schedule(static, 64)` on eki_num_threads() threads
 * when the condition holds and more than one thread is set, and otherwise as the plain loop on the
 * calling thread, entering no region (clang still asks the runtime for the thread's id at function
 * entry: a few ns). The iterations of a parallel for are independent, so both
 * give the same bits. A macro, not a function taking a callback: the loop stays where it was, with
 * its locals in scope (the macro expands it twice, once per branch).
 *
 * A loop that needs something per thread (a scratch row, its own share of the input, a fence after
 * non-temporal stores) runs over slots instead: T = (above the threshold) ? eki_num_threads() : 1
 * slots, EKI_PARALLEL_FOR(T > 1, (static, 1), for (int t = 0; t < T; t++) ...), slot t using
 * scratch row t and share t of T (eki_share). It must index by t, never by
 * omp_get_thread_num(): outside a region of ours that is the caller's thread number (a program that
 * calls us from its own parallel region), and an orphaned `omp for` would split our loop across the
 * caller's team. Only scatter.c keeps a team region (its phases need barriers); it is entered only
 * when it has more than one chunk. */
#define EKI_PRAGMA(text) _Pragma(#text)
#define EKI_PARALLEL_FOR(eki_cond_, eki_sched_, ...)                                                   \
    do {                                                                                               \
        int eki_threads_ = (eki_cond_) ? eki_num_threads() : 1;                                        \
        if (eki_threads_ > 1) {                                                                        \
            EKI_PRAGMA(omp parallel for schedule eki_sched_ num_threads(eki_threads_))                 \
            __VA_ARGS__;                                                                               \
        } else {                                                                                       \
            __VA_ARGS__;                                                                               \
        }                                                                                              \
    } while (0)

/* Slot t of T's share of n items is [eki_share(n, t, T), eki_share(n, t + 1, T)): balanced, and
 * without the overflow of n * t / T. */
static inline int64_t eki_share(int64_t n, int t, int T) {
    int64_t rest = n % T;
    return n / T * t + (t < rest ? t : rest);
}

#ifdef _OPENMP
/* The toolchain clang cannot see omp.h; these are the runtime calls the kernels use. */
int omp_get_max_threads(void);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
void omp_set_num_threads(int);
#endif

/* The thread's number and the team's size: meaningful only inside a team region of ours (scatter.c);
 * elsewhere they describe the caller's own region, if any (see EKI_PARALLEL_FOR's slots). */
static inline int eki_thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
static inline int eki_team_size(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

#endif
