/*
 * embeddingkit.h — the C ABI of EmbeddingKit's kernel library (libembeddingkit).
 *
 * Conventions (see docs/ARCHITECTURE.md):
 *   - Every function returns an ek_status. EK_OK is 0. On any other code, ek_last_error() holds a
 *     thread-local message naming the argument, the position and the value, and NOTHING was written:
 *     every output buffer and every table is exactly as it was before the call.
 *   - Tables are row-major: row r of a table with `dim` columns starts at table + r * dim, or at
 *     data + r * row_stride for an ek_table with a row stride (section 1). Sizes are int64_t.
 *     Lookups and bags take descriptors (ek_table, ek_bag_input, ek_bag_options, ek_optimizer;
 *     section 1) whose fields name the index width (int64 or int32; offsets have the same type as
 *     the indices they cut) and the element type; other functions take int64_t index arrays, or
 *     _i64 / _i32 variants.
 *   - Argument order: sizes, then inputs, then nullable options, then outputs.
 *   - Results are deterministic: bit-identical for any thread count (no float atomics; scatter-adds
 *     group by destination row and add in input order).
 *   - Outputs must not overlap inputs unless a function says otherwise.
 *   - A pointer may be NULL only where its size is 0 or the documentation says "nullable".
 *   - Domains checked everywhere: dim, cols and classes >= 1; other sizes >= 0; the byte count of
 *     every array a call may touch must fit in ptrdiff_t (else EK_ERR_OVERFLOW, before any read);
 *     optimizer lr, momentum, weight_decay, eps >= 0 (Adam: eps > 0, betas in [0, 1)).
 *     The byte counts are checked whatever the other sizes are (rows == 0 does not excuse a cols-sized
 *     array); limits beyond that (BLAS's 32-bit sizes) apply only to work that is done.
 *   - Boolean flags (int32_t trans_a, trans_b, include_last_offset, scale_grad_by_freq, nesterov,
 *     approximate) are 0 or 1; any other value is EK_ERR_INVALID_ARGUMENT, not "true".
 *
 * Pseudocode below uses W for a weight table (W[r, d]: element d of row r, wherever the table's row
 * stride puts it; W[r]: the row's D elements), N for the number of indices, D for dim, B for bags.
 */
#ifndef EMBEDDINGKIT_H
#define EMBEDDINGKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EK_VERSION_MAJOR 0
#define EK_VERSION_MINOR 3
#define EK_VERSION_PATCH 0
/* ek_version() returns this value: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define EK_VERSION (EK_VERSION_MAJOR * 10000 + EK_VERSION_MINOR * 100 + EK_VERSION_PATCH)

/* ------------------------------------------------------------------------------------------------
 * Status, errors, version, threads
 * ---------------------------------------------------------------------------------------------- */

typedef enum ek_status {
    EK_OK = 0,
    EK_ERR_INVALID_ARGUMENT = 1,   /* a value outside its documented domain (mode, p, lr, ...) */
    EK_ERR_INDEX_OUT_OF_RANGE = 2, /* an index, padding_idx or target outside [0, count) */
    EK_ERR_SHAPE = 3,              /* sizes that do not fit together (offsets, lengths, dims) */
    EK_ERR_NULL_POINTER = 4,       /* NULL where data is required */
    EK_ERR_OVERFLOW = 5,           /* a size whose element or byte count overflows */
    EK_ERR_ALLOC = 6               /* scratch memory could not be allocated */
} ek_status;

/* The name of a status code, e.g. "EK_ERR_INDEX_OUT_OF_RANGE". Never NULL. */
const char *ek_status_string(ek_status status);

/* The message of the last failed call on this thread, e.g.
 *   "embedding: indices[0]=10 is out of range for 10 embeddings".
 * Empty string if no call has failed on this thread. Valid until the next failing call. */
const char *ek_last_error(void);

/* EK_VERSION of the library that is linked (compare with the header's EK_VERSION). */
int32_t ek_version(void);

/* "MAJOR.MINOR.PATCH" of the library that is linked. */
const char *ek_version_string(void);

/* The most threads a kernel uses. OpenMP runtimes fail to start teams far larger than a machine
 * (libgomp: a crash at 100000, "Thread creation failed" and exit(1) at 60000), and no CPU today
 * gains past this many threads in one kernel. */
#define EK_MAX_THREADS 1024

/* Threads used by the kernels (OpenMP; OpenBLAS is kept at one thread, see threads.c).
 *   1 <= num_threads <= EK_MAX_THREADS, else EK_ERR_INVALID_ARGUMENT and nothing changes.
 * Without a call, the OpenMP runtime's default (OMP_NUM_THREADS, else the CPU count), capped at
 * EK_MAX_THREADS. Small inputs stay serial whatever this says. Results do not depend on it.
 *
 * fork(): OpenMP thread pools do not survive fork (a libgomp child hangs in its first parallel
 * region once the parent has run one). In a child forked from a process that has loaded the library,
 * every kernel runs on the calling thread alone and completes, with the same results (they do not
 * depend on the thread count); ek_get_num_threads() returns 1 there, and ek_set_num_threads is
 * accepted but kernels stay serial. exec() gives a fresh process with its full thread count. */
ek_status ek_set_num_threads(int32_t num_threads);
int32_t ek_get_num_threads(void);

/* Instruction set of the kernels (x86-64), chosen at run time: the best the CPU supports, unless
 * the environment variable EK_ISA=scalar|avx2|avx512 (read once, at the first kernel call) or
 * ek_set_isa asks for less. EK_ISA_AVX2 needs AVX2 + FMA; EK_ISA_AVX512 needs AVX-512 F/BW/VL/DQ.
 *   ek_set_isa: an ISA the CPU lacks (or an unknown value) gives EK_ERR_INVALID_ARGUMENT and
 *   changes nothing. Other CPUs always run EK_ISA_SCALAR.
 * Results are bit-identical for any thread count under one ISA. Across ISAs, gathers, bag sum /
 * mean / max and scatters are bit-identical too; softmax, cross-entropy and max_norm may differ in
 * the last bits (a vectorised exp, sums in another order; Tests/c/test_isa.c states the bounds). */
typedef enum ek_isa { EK_ISA_SCALAR = 0, EK_ISA_AVX2 = 1, EK_ISA_AVX512 = 2 } ek_isa;
ek_status ek_set_isa(ek_isa isa);
ek_isa ek_get_isa(void);
/* "scalar", "avx2" or "avx512". Never NULL ("unknown" for other values). */
const char *ek_isa_name(ek_isa isa);

/* Machine-dependent constants of the kernels, chosen once per process for the CPU at hand (from what
 * cpuid reports: vendor, family, cache sizes; docs/TUNING.md states each rule). None changes any
 * result: outputs are bit-identical whatever the values. Each is, by the first that applies:
 * ek_set_tuning's value; its environment variable (read once; a value that is not a decimal number
 * in range is ignored); the CPU's rule.
 *   EK_TUNE_BAG_PREFETCH_ROWS (EK_BAG_PREFETCH_ROWS): how many indices ahead the bag forward
 *     prefetches a row, 0..1024, counted in 256-byte rows (4 cache lines): a bag over other rows
 *     (fp16 / bf16, quantized, other D) goes as many cache lines ahead.
 *   EK_TUNE_STREAM_MIN_BYTES (EK_STREAM_MIN_BYTES): outputs of at least this many bytes are written
 *     with non-temporal stores where a kernel offers them (gathers, large element-wise outputs), >= 0.
 *   EK_TUNE_SCATTER_MIN_WORK (EK_SCATTER_MIN_WORK): below this many entries x dim the scatter-adds
 *     (dense lookup / bag backward, COO scatter-add, the fused SGD step) stay on one thread, >= 0.
 * ek_set_tuning: value -1 returns to the automatic choice; a value outside the range or an unknown
 * `what` gives EK_ERR_INVALID_ARGUMENT and changes nothing. ek_get_tuning writes the value in effect
 * now (NULL value: EK_ERR_NULL_POINTER). Process-wide, like ek_set_num_threads. */
typedef enum ek_tuning {
    EK_TUNE_BAG_PREFETCH_ROWS = 0,
    EK_TUNE_STREAM_MIN_BYTES = 1,
    EK_TUNE_SCATTER_MIN_WORK = 2
} ek_tuning;
ek_status ek_set_tuning(ek_tuning what, int64_t value);
ek_status ek_get_tuning(ek_tuning what, int64_t *value);
/* One line naming the CPU and each value in effect with where it comes from, e.g. "cpu AuthenticAMD
 * family 0x1a model 0x2, L3 32768 KiB; bag_prefetch_rows=48 (AMD family 0x1a+ (Zen 5) rule); ...".
 * Never NULL; valid until the next call on this thread. */
const char *ek_tuning_summary(void);

/* Memory for tables (and any large array), with the policy EmbeddingKit's Swift tensors have:
 * count * elem_size bytes, zero-filled, 64-byte aligned; from 4 MiB up a mapping of its own with
 * transparent huge pages asked for (madvise(MADV_HUGEPAGE); where THP is off, ordinary pages). A table
 * read at random rows then costs far fewer TLB misses than a malloc'd one.
 *   ek_alloc: count >= 0 and elem_size >= 1 (else EK_ERR_INVALID_ARGUMENT), out non-NULL (else
 *   EK_ERR_NULL_POINTER); a byte count that overflows gives EK_ERR_OVERFLOW, memory the system will
 *   not give EK_ERR_ALLOC; on any error *out is unchanged. count == 0 sets *out = NULL and returns
 *   EK_OK (a table of 0 rows needs no data).
 *   ek_free: releases what ek_alloc returned; NULL is EK_OK. A pointer whose block header is not
 *   ek_alloc's (e.g. a pointer into a malloc'd block) gives EK_ERR_INVALID_ARGUMENT and frees
 *   nothing (a best-effort check); as with free(), freeing twice or a pointer to unmapped memory is
 *   undefined. */
ek_status ek_alloc(int64_t count, int64_t elem_size, void **out);
ek_status ek_free(void *p);

/* Scratch kept between calls. A backward or an update needs temporary memory proportional to its
 * input (a training step of 40k indices: a few MB). Each calling thread keeps what its largest recent
 * call needed (at most 64 MiB; more is given back when that call returns), so a training loop does
 * not fault fresh pages in on every step. A thread's scratch is freed when it exits;
 * ek_release_scratch frees the calling thread's now (e.g. after a one-off large call). */
void ek_release_scratch(void);

/* ------------------------------------------------------------------------------------------------
 * 1. Tables, index lists and bags: the descriptors
 *
 * Every lookup and bag function takes its table and its input as structs, not as positional
 * arguments. Index width and table element type are fields: a new type adds no function.
 *
 * Growing structs (the struct_size rule). Each descriptor starts with `int64_t struct_size`, which
 * the caller sets to sizeof(the struct) of the header it compiles against:
 *     ek_bag_input in = {.struct_size = sizeof(ek_bag_input), ...};
 * A later version may append fields; it then accepts every size from the 0.2 size up to its own and
 * reads fields past the caller's struct_size as zero (which is always their default). A size
 * outside that range (0 from a forgotten field, garbage, a newer header than the library) is
 * EK_ERR_INVALID_ARGUMENT naming the struct. Fields are only ever appended, never reordered.
 * Designated initialisers leave every unnamed field 0: the defaults are chosen so that 0 is right
 * (no padding, sum mode, no scaling, 64-bit indices, fp32 rows, contiguous rows).
 * ---------------------------------------------------------------------------------------------- */

/* The element type of a table. EK_DTYPE_F32 everywhere. EK_DTYPE_F16 (IEEE half) and EK_DTYPE_BF16
 * (bfloat16: the top 16 bits of a float32), 2-byte elements (row_stride still in elements):
 *   forward verbs (ek_lookup_forward, ek_bag_forward, every mode and option): output float32, each
 *     element converted exactly to float32 and reduced in the fp32 order, so the result equals the
 *     fp32 forward on the dequantised table bit for bit, on every ISA and thread count;
 *   backward to a gradient (lookup and bag, dense and sparse): the gradient is float32 as for an
 *     f32 table (only the shape is read);
 *   updates (ek_bag_backward_update, ek_optimizer_update): float32 arithmetic on the widened row,
 *     written back with the optimizer's rounding (nearest or stochastic; section 4, ek_rounding).
 * EK_DTYPE_Q8 / Q4 / Q2: row-wise quantized rows (section 12: the packed layout, FBGEMM's and
 * PyTorch's), in the forward verbs only, with the same rule (the fp32 forward of the table
 * ek_dequantize gives, bit for bit); their row_stride is in BYTES: 0 or >= the packed row size.
 * Any other verb or value is EK_ERR_INVALID_ARGUMENT naming table->dtype (ek_renorm and
 * ek_bag_per_sample_weights_backward take f32 tables only). */
typedef enum ek_dtype {
    EK_DTYPE_F32 = 0, EK_DTYPE_F16 = 1, EK_DTYPE_BF16 = 2,
    EK_DTYPE_Q8 = 3, /* 8-bit row-wise: D uint8, float32 scale, float32 bias */
    EK_DTYPE_Q4 = 4, /* 4-bit row-wise: ceil(D / 2) bytes, fp16 scale, fp16 bias */
    EK_DTYPE_Q2 = 5  /* 2-bit row-wise: ceil(D / 4) bytes, fp16 scale, fp16 bias */
} ek_dtype;

/* Whole arrays between float32 and the 2-byte table types (EK_DTYPE_F16 or EK_DTYPE_BF16): what a
 * caller needs to make a half table from float32 values (a fresh table, a float32 checkpoint) and
 * to read one back.
 *   ek_half_from_f32: dst[i] = src[i] rounded to the nearest half, ties to even (PyTorch's
 *     tensor.to(torch.float16 / torch.bfloat16); the EK_ROUND_NEAREST write of section 4). Past the
 *     largest finite half: infinity; NaN stays NaN (quiet, sign kept).
 *   ek_half_to_f32: dst[i] = src[i] widened to float32, exactly (as the forward verbs read it).
 * n >= 0; src and dst non-NULL unless n == 0; every check before any write; any thread count gives
 * the same bits. */
ek_status ek_half_from_f32(ek_dtype dtype, int64_t n, const float *src, uint16_t *dst);
ek_status ek_half_to_f32(ek_dtype dtype, int64_t n, const uint16_t *src, float *dst);

/* The integer type of indices and offsets (both have the same type). */
typedef enum ek_index_type { EK_INDEX_I64 = 0, EK_INDEX_I32 = 1 } ek_index_type;

/* A table of `rows` x `dim` elements. Row r starts at element r * S of data, S = row_stride, or dim
 * when row_stride is 0:
 *   W[r, d] = data[r * S + d]        for 0 <= d < dim
 * S > dim describes rows padded for alignment or a column slice of a wider matrix (PyTorch's
 * weight[:, c0:c0 + dim]: data = base + c0, row_stride = the full width). Elements r * S + d with
 * dim <= d < S are never read or written, by any verb. row_stride < 0, 0 < row_stride < dim and
 * rows * S elements past PTRDIFF_MAX bytes are errors naming table->row_stride (INVALID_ARGUMENT,
 * OVERFLOW), before anything is read or written. Quantized dtypes: S in bytes (see ek_dtype).
 *   data: rows rows of dtype at that stride; NULL only when rows == 0. Functions that only need the
 *   shape (the backward to a gradient) do not read data and accept NULL there; they also take any
 *   valid row_stride (their gradients are dense rows x dim). */
typedef struct ek_table {
    int64_t struct_size; /* sizeof(ek_table) */
    int64_t rows;        /* >= 0 (PyTorch's num_embeddings) */
    int64_t dim;         /* >= 1 */
    ek_dtype dtype;      /* EK_DTYPE_F32; F16 / BF16 / Q8 / Q4 / Q2 where the note above says */
    int64_t row_stride;  /* elements, 0 (dim) or >= dim; Q8 / Q4 / Q2: bytes, 0 or >= the packed row */
    void *data;          /* written only by the functions whose name says so (update, renorm) */
} ek_table;

/* The input of a lookup or a bag.
 *   indices: num_indices entries of index_type, each in [0, table.rows).
 *   Bags (bag functions only; a plain lookup requires offsets == NULL, num_bags == 0,
 *   include_last_offset == 0, per_sample_weights == NULL, else INVALID_ARGUMENT naming the field):
 *     offsets (of index_type) with num_bags entries, or num_bags + 1 with include_last_offset:
 *       bag b holds indices[offsets[b] ..< end(b)], end(b) = offsets[b+1], or N for the last bag;
 *       offsets[0] == 0, non-decreasing, every offset <= N; include_last_offset: offsets[B] == N (CSR)
 *     offsets NULL: fixed-length bags, N == B * L, bag b holds indices[b*L ..< (b+1)*L];
 *       include_last_offset must be 0.
 *     lengths (of index_type, nullable) with num_bags entries, in place of offsets (TorchRec's and
 *       FBGEMM's jagged form): bag b holds the next lengths[b] indices, i.e. offsets[b] = lengths[0]
 *       + ... + lengths[b-1]; every lengths[b] >= 0 and their sum == N (else EK_ERR_SHAPE naming b and
 *       the value); not with offsets, not with include_last_offset (INVALID_ARGUMENT).
 *   per_sample_weights (nullable, bags only): num_weights entries, 0 when it is NULL, else exactly N.
 *   padding_idx: has_padding == 0: no padding row. has_padding == 1: entries equal to padding_idx
 *     are skipped (bags) or get no gradient (lookups); a negative padding_idx p wraps to
 *     table.rows + p, as in PyTorch, and must then lie in [0, table.rows). */
typedef struct ek_bag_input {
    int64_t struct_size;        /* sizeof(ek_bag_input) */
    ek_index_type index_type;   /* of indices and offsets */
    const void *indices;        /* num_indices entries */
    int64_t num_indices;        /* N >= 0 */
    const void *offsets;        /* nullable, see above */
    int64_t num_bags;           /* B >= 0 */
    int32_t include_last_offset;/* 0 or 1 */
    const float *per_sample_weights; /* nullable */
    int64_t num_weights;        /* entries of per_sample_weights: 0 or N */
    int32_t has_padding;        /* 0 or 1 */
    int64_t padding_idx;        /* read only when has_padding == 1 */
    const void *lengths;        /* nullable, see above (0.4; a 0.3 caller's smaller struct_size means NULL) */
} ek_bag_input;

typedef enum ek_bag_mode { EK_BAG_SUM = 0, EK_BAG_MEAN = 1, EK_BAG_MAX = 2 } ek_bag_mode;

/* How a bag is reduced and how its gradient is scaled. NULL options mean all defaults (sum, no
 * scaling). Lookups read only scale_grad_by_freq and require mode == EK_BAG_SUM (the default). */
typedef struct ek_bag_options {
    int64_t struct_size;        /* sizeof(ek_bag_options) */
    ek_bag_mode mode;           /* EK_BAG_SUM (0), EK_BAG_MEAN, EK_BAG_MAX */
    int32_t scale_grad_by_freq; /* 0 or 1; backward only; not with max */
} ek_bag_options;

/* ------------------------------------------------------------------------------------------------
 * 2. Lookup (embedding): forward, backward to a dense or a sparse gradient, max_norm renorm.
 *    input: indices only (see above); p = the padding row (wrapped), none without has_padding.
 *
 * Forward (gather):
 *   for i in 0..<N:  check 0 <= indices[i] < table.rows
 *   for i in 0..<N:  out[i, :] = W[indices[i], :]                         out: N x D
 * padding does not change the forward (PyTorch parity): use the table's own padding row.
 *
 * Backward to a dense gradient (table: its shape only; data is not read):
 *   count[r] = number of i with indices[i] == r            (only if options->scale_grad_by_freq)
 *   for i in 0..<N in input order:
 *       r = indices[i]; if r == p: continue
 *       s = scale_grad_by_freq ? (float)(1.0 / count[r]) : 1
 *       grad_weight[r, :] += s * grad_out[i, :]
 *   grad_weight (rows x D) is ACCUMULATED into: zero it first for a fresh gradient. Additions into
 *   one row happen in input order, so the result is the same for any thread count.
 *
 * Backward to a sparse gradient: the uncoalesced COO gradient (PyTorch's sparse=True layout).
 *   nnz = 0
 *   for i in 0..<N in input order:
 *       r = indices[i]; if r == p: continue              (padding entries are dropped)
 *       out_rows[nnz] = r; out_values[nnz, :] = s * grad_out[i, :]; nnz += 1
 *   *out_nnz = nnz
 *   out_rows needs room for N entries and out_values for N x D; only the first *out_nnz are written.
 *
 * Renorm (max_norm), in place in table->data, of the UNIQUE rows the indices touch (a bag input's
 * indices alone are read: offsets, weights and padding are ignored):
 *   check every index first; then for each distinct r in indices (padding rows included):
 *       n = ||W[r]||_p        (p = norm_type > 0, or INFINITY; p == 0 counts non-zeros; in double)
 *       if n > max_norm:  W[r, :] *= (float)(max_norm / (n + 1e-7))
 *   max_norm > 0 and finite; norm_type >= 0 (or INFINITY). Rows are independent, so the result is
 *   the same for any thread count. This is what a max_norm lookup (or bag) does before its gather.
 * ---------------------------------------------------------------------------------------------- */
ek_status ek_lookup_forward(const ek_table *table, const ek_bag_input *input, float *out);
ek_status ek_lookup_backward_dense(const ek_table *table, const ek_bag_input *input,
                                   const ek_bag_options *options, const float *grad_out, float *grad_weight);
ek_status ek_lookup_backward_sparse(const ek_table *table, const ek_bag_input *input,
                                    const ek_bag_options *options, const float *grad_out,
                                    int64_t *out_rows, float *out_values, int64_t *out_nnz);
ek_status ek_renorm(const ek_table *table, const ek_bag_input *input, double max_norm, double norm_type);

/* ------------------------------------------------------------------------------------------------
 * 3. Sparse COO: coalesce and scatter-add. A COO gradient is nnz (row, value-row) pairs for a table
 *    of num_rows x D; rows may repeat and come in any order.
 *
 * Coalesce: sorted unique rows, values summed in input order.
 *   for each distinct r in rows, ascending:
 *       out_rows[k] = r; out_values[k, :] = sum over i with rows[i] == r, in input order, of values[i, :]
 *   *out_nnz = number of distinct rows
 * out_rows / out_values need room for nnz entries.
 * ---------------------------------------------------------------------------------------------- */
ek_status ek_coo_coalesce_f32(int64_t num_rows, int64_t dim, int64_t nnz,
                              const int64_t *rows, const float *values,
                              int64_t *out_rows, float *out_values, int64_t *out_nnz);

/* Scatter-add, the primitive of every sparse optimizer step:
 *   for i in 0..<nnz in input order:  table[rows[i], :] += alpha * values[i, :]
 * Duplicate rows are added in input order (deterministic). */
ek_status ek_coo_scatter_add_f32(int64_t num_rows, int64_t dim, int64_t nnz,
                                 const int64_t *rows, const float *values, float alpha, float *table);

/* ------------------------------------------------------------------------------------------------
 * 4. Bags (EmbeddingBag): forward, backward to a dense or sparse gradient, backward fused with an
 *    optimizer update, gradient of the per-sample weights.
 *
 * Forward. Entries equal to the padding row are skipped. Let J(b) be bag b's non-padding positions.
 *   sum:  out[b] = Σ_{j∈J(b)} w_j * W[indices[j]]          (w_j = per_sample_weights[j], or 1)
 *         in input order, one rounding per term: fma(w_j, W[indices[j], d], sum) where weighted
 *   mean: unweighted: out[b] = Σ W[indices[j]] / |J(b)|     (0 if J(b) is empty)
 *         weighted:   out[b] = Σ w_j W[indices[j]] / Σ w_j  (0 if Σ w_j == 0)
 *   max:  out[b, d] = max_{j∈J(b)} W[indices[j], d]         (0 if J(b) is empty)
 *         ties: the first j wins; a NaN anywhere in the bag gives NaN (the first NaN wins, and
 *         max_indices names its row); per_sample_weights must be NULL.
 * Outputs: out (B x D); nullable bag_size (B): |J(b)|; nullable max_indices (B x D, max mode
 * only, NULL otherwise; the max backward needs it): the row that won each element, -1 for an
 * empty bag.
 * ---------------------------------------------------------------------------------------------- */
ek_status ek_bag_forward(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                         float *out, int64_t *bag_size, int64_t *max_indices);

/* Backward. grad_out is B x D; max_indices (B x D, from the forward) is required in max mode and
 * ignored otherwise. The gradient of entry j (in bag b, not padding) is the row
 *   sum:  g_j = w_j * grad_out[b]
 *   mean: g_j = grad_out[b] / |J(b)|            or, weighted,  w_j * grad_out[b] / Σ w_k (0 if Σ w == 0)
 *   max:  g_j[d] = grad_out[b, d] if j is the first position in bag b whose row is max_indices[b, d]
 *         else 0
 *   if scale_grad_by_freq (not with max): g_j *= 1 / count(indices[j]) over all N indices
 *
 * Dense:  for j in input order: grad_weight[indices[j]] += g_j    (accumulates; zero it first;
 *         table: its shape only, data is not read)
 * Sparse: the entries in input order, padding dropped: out_rows[k] = indices[j], out_values[k] = g_j;
 *         *out_nnz = k. out_rows / out_values need room for N entries.
 * ---------------------------------------------------------------------------------------------- */
ek_status ek_bag_backward_dense(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                const int64_t *max_indices, const float *grad_out, float *grad_weight);
ek_status ek_bag_backward_sparse(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                 const int64_t *max_indices, const float *grad_out,
                                 int64_t *out_rows, float *out_values, int64_t *out_nnz);

/* The optimizer of a fused update (and of ek_optimizer_update below). kind picks the update; the
 * fields it does not use are ignored (leave them 0). State tables have the table's shape
 * (rows x dim), except row-wise Adagrad's state_sum (rows entries). */
typedef enum ek_optimizer_kind {
    EK_OPT_SGD = 0,              /* lr, momentum, dampening, weight_decay, nesterov, momentum_buffer */
    EK_OPT_ADAGRAD = 1,          /* lr, eps, weight_decay, state_sum (rows x dim) */
    EK_OPT_ROWWISE_ADAGRAD = 2,  /* lr, eps, weight_decay, state_sum (rows) */
    EK_OPT_ADAM = 3              /* lr, beta1, beta2, eps, weight_decay (decoupled: AdamW), step,
                                    exp_avg, exp_avg_sq; lazy: touched rows only */
} ek_optimizer_kind;

/* Half-precision training (fp16 / bf16 tables, in ek_bag_backward_update and ek_optimizer_update).
 * The update runs in float32 on the row widened exactly (row r, column d: w = (float)W[r, d]) with
 * float32 state, the same code as for an f32 table; then each element is written back rounded:
 *   EK_ROUND_NEAREST:    to the nearest half, ties to even (IEEE)
 *   EK_ROUND_STOCHASTIC: to one of the two halves around w, lo toward zero and hi away from it,
 *                        hi with probability p = (|w| - |lo|) / (|hi| - |lo|), so E[W'] = w.
 *       The coin: hi iff u < p, u = ek_round_bits(seed, step, r, d) / 2^32 (see below): a function of
 *       (seed, step, row, column) only, so the result is the same for any thread count and ISA.
 *       optimizer->step (>= 1, the caller's step counter) must change every step, else the same
 *       rows round the same way every time: it is required for every kind with this rounding.
 * Past the largest finite half, hi is infinity (counted as the next power of two). NaN stays NaN.
 * Plain SGD on a half table is coalesced first (one rounding per row and step), unlike the f32
 * fast path that adds entry by entry. */
typedef enum ek_rounding { EK_ROUND_NEAREST = 0, EK_ROUND_STOCHASTIC = 1 } ek_rounding;

/* The stochastic rounding bits: SplitMix64's finaliser m(z) = the xor-shift-multiply chain
 * z ^= z >> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >> 27; z *= 0x94d049bb133111eb; z ^= z >> 31 keys the row,
 *   k = m(m(m(seed ^ 0x9e3779b97f4a7c15) ^ step) ^ row)
 * and MurmurHash3's 32-bit finaliser f(x) = x ^= x >> 16; x *= 0x85ebca6b; x ^= x >> 13; x *= 0xc2b2ae35;
 * x ^= x >> 16 (all mod 2^32) makes the column's bits from it:
 *   bits = f(low32(k) + column * 0x9e3779b9) ^ high32(k)
 * (step, row and column as 64-bit two's complement; column truncated to 32 bits). Changed in 0.4
 * (0.3: bits = m(k ^ column) >> 32): 32-bit multiplies, 8 or 16 columns per vector instruction.
 * Exported so other runtimes can reproduce it. */
uint32_t ek_round_bits(uint64_t seed, int64_t step, int64_t row, int64_t column);

typedef struct ek_optimizer {
    int64_t struct_size;         /* sizeof(ek_optimizer) */
    ek_optimizer_kind kind;
    float lr;
    float eps;
    float weight_decay;
    float momentum, dampening;   /* SGD */
    int32_t nesterov;            /* SGD: 0 or 1 */
    float beta1, beta2;          /* Adam */
    int64_t step;                /* Adam: the optimizer's global step, >= 1 */
    float *momentum_buffer;      /* SGD, required iff momentum != 0 */
    float *state_sum;            /* Adagrad (rows x dim), row-wise Adagrad (rows) */
    float *exp_avg, *exp_avg_sq; /* Adam */
    /* appended in 0.3: how an fp16 / bf16 table's updated rows are written (ignored for f32) */
    ek_rounding rounding;        /* EK_ROUND_NEAREST (0) or EK_ROUND_STOCHASTIC */
    uint64_t seed;               /* the stochastic rounding stream's seed */
} ek_optimizer;

/* Backward fused with an optimizer step (FBGEMM's "fused optimizer"): updates table->data (and the
 * optimizer's state) from the bag gradient without writing and re-reading the N x D gradient.
 * Bit-identical, for any thread count and ISA, to
 *   ek_bag_backward_sparse(...)  -> rows, values (uncoalesced), then
 *   SGD with momentum == 0 and weight_decay == 0:
 *       ek_coo_scatter_add_f32(rows, values, alpha = -lr)      (each entry added in input order)
 *   every other optimizer (SGD with momentum or weight decay included):
 *       ek_coo_coalesce_f32(rows, values) -> the coalesced gradient, then
 *       ek_sgd_update_f32 / ek_adagrad_update_f32 / ek_rowwise_adagrad_update_f32 / ek_adam_update_f32
 *       with the descriptor's fields (ek_optimizer_update with the same descriptor).
 * Everything is checked (the bag, the optimizer's hyperparameters and state pointers) before the
 * first write: a failed call leaves the table and the state as they were. */
ek_status ek_bag_backward_update(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                 const int64_t *max_indices, const float *grad_out, const ek_optimizer *optimizer);

/* Gradient of the per-sample weights (sum or mean mode; max is rejected):
 *   sum:  grad_weights[j] = dot(grad_out[b], W[indices[j]])
 *   mean: grad_weights[j] = dot(grad_out[b], W[indices[j]] - out[b]) / Σ_{k∈J(b)} w_k
 *         (0 if Σ w == 0; out[b] is the weighted mean, recomputed here)
 *   padding entries get 0. grad_weights (N) is overwritten, not accumulated. */
ek_status ek_bag_per_sample_weights_backward(const ek_table *table, const ek_bag_input *input,
                                             const ek_bag_options *options, const float *grad_out,
                                             float *grad_weights);
/* ------------------------------------------------------------------------------------------------
 * 5. Row-wise softmax / log-softmax over the last dimension of a rows x cols matrix (cols >= 1).
 *
 *   softmax:      y[i, c] = exp(x[i, c] - m_i) / Σ_k exp(x[i, k] - m_i),  m_i = max_k x[i, k]
 *   log_softmax:  y[i, c] = x[i, c] - m_i - log Σ_k exp(x[i, k] - m_i)
 *   softmax backward:      gx[i, c] = y[i, c] * (gy[i, c] - Σ_k gy[i, k] * y[i, k])
 *   log_softmax backward:  gx[i, c] = gy[i, c] - exp(y[i, c]) * Σ_k gy[i, k]
 * (y is the forward's output.) y may alias x; grad_x may alias grad_y.
 * ---------------------------------------------------------------------------------------------- */
ek_status ek_softmax_forward_f32(int64_t rows, int64_t cols, const float *x, float *y);
ek_status ek_log_softmax_forward_f32(int64_t rows, int64_t cols, const float *x, float *y);
ek_status ek_softmax_backward_f32(int64_t rows, int64_t cols, const float *y, const float *grad_y,
                                  float *grad_x);
ek_status ek_log_softmax_backward_f32(int64_t rows, int64_t cols, const float *y, const float *grad_y,
                                      float *grad_x);

/* Fused cross-entropy over logits (rows x classes) and integer targets, PyTorch's
 * F.cross_entropy(logits, targets, ignore_index=..., label_smoothing=eps, reduction=...):
 *
 *   valid(i) = targets[i] != ignore_index      (others must lie in [0, classes))
 *   lp = log_softmax(logits[i])
 *   loss_i = valid(i) ? -(1 - eps) * lp[t_i] - (eps / C) * Σ_c lp[c] : 0
 *   none: loss[i] = loss_i (rows entries) ; sum: loss[0] = Σ loss_i ;
 *   mean: loss[0] = Σ loss_i / #valid       (NaN when nothing is valid, as PyTorch)
 *   grad_logits (nullable, rows x classes), computed in the same pass:
 *       valid(i): (softmax(logits[i])[c] - (1 - eps) [c == t_i] - eps / C) * r;  else 0
 *       r = 1 / #valid for mean, 1 for sum and none (none: each row's gradient of its own loss)
 *   0 <= label_smoothing <= 1.
 * ---------------------------------------------------------------------------------------------- */
typedef enum ek_reduction { EK_REDUCTION_NONE = 0, EK_REDUCTION_MEAN = 1, EK_REDUCTION_SUM = 2 } ek_reduction;

ek_status ek_cross_entropy_f32_i64(int64_t rows, int64_t classes, const float *logits,
                                   const int64_t *targets, int64_t ignore_index, float label_smoothing,
                                   ek_reduction reduction, float *loss, float *grad_logits);
ek_status ek_cross_entropy_f32_i32(int64_t rows, int64_t classes, const float *logits,
                                   const int32_t *targets, int64_t ignore_index, float label_smoothing,
                                   ek_reduction reduction, float *loss, float *grad_logits);

/* ------------------------------------------------------------------------------------------------
 * 6. Optimizer row updates over a COALESCED COO gradient (rows strictly increasing, in range).
 *    rows == NULL means rows 0..<nnz, i.e. a dense update of the first nnz rows.
 *    Only the rows present are read or written, in the table and in every state table
 *    (lazy semantics: absent rows keep their values and their state).
 *
 * SGD:   for each present row r with gradient g:
 *            g = g + weight_decay * W[r]
 *            if momentum != 0:  buf[r] = momentum * buf[r] + (1 - dampening) * g   (buf starts at 0;
 *                               torch.optim.SGD starts it at g, which differs only if dampening != 0)
 *                               g = nesterov ? g + momentum * buf[r] : buf[r]
 *            W[r] -= lr * g
 *        momentum_buffer (num_rows x D) is required iff momentum != 0.
 * ---------------------------------------------------------------------------------------------- */
ek_status ek_sgd_update_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows,
                            const float *values, float lr, float momentum, float dampening,
                            float weight_decay, int32_t nesterov, float *weight, float *momentum_buffer);

/* Adagrad (PyTorch's, with the learning rate already decayed by the caller):
 *            g = g + weight_decay * W[r]
 *            state_sum[r] += g * g
 *            W[r] -= lr * g / (sqrt(state_sum[r]) + eps) */
ek_status ek_adagrad_update_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows,
                                const float *values, float lr, float eps, float weight_decay,
                                float *weight, float *state_sum);

/* Adam / lazy AdamW in torch.optim.Adam's form. step >= 1 is the optimizer's global step count.
 *            W[r] *= 1 - lr * weight_decay                       (decoupled, AdamW; 0 for Adam)
 *            m[r] = beta1 * m[r] + (1 - beta1) * g
 *            v[r] = beta2 * v[r] + (1 - beta2) * g * g
 *            W[r] -= lr / (1 - beta1^step) * m[r] / (sqrt(v[r]) / sqrt(1 - beta2^step) + eps)
 *        0 <= beta1, beta2 < 1, eps > 0.
 *        torch.optim.SparseAdam puts eps outside the bias correction; it is this update with
 *        eps / sqrt(1 - beta2^step) in place of eps. */
ek_status ek_adam_update_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows,
                             const float *values, float lr, float beta1, float beta2, float eps,
                             float weight_decay, int64_t step, float *weight, float *exp_avg,
                             float *exp_avg_sq);

/* Row-wise Adagrad (FBGEMM's EXACT_ROWWISE_ADAGRAD): one state value per row, the mean of g^2.
 *            g = g + weight_decay * W[r]
 *            state_sum[r] += (float)(Σ_d g[d]^2 / D)          (the sum in double, d in order)
 *            m = lr / (sqrtf(state_sum[r]) + eps)
 *            W[r] -= m * g
 *        state_sum has num_rows entries (not num_rows x D); lr, eps, weight_decay >= 0 and finite. */
ek_status ek_rowwise_adagrad_update_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows,
                                        const float *values, float lr, float eps, float weight_decay,
                                        float *weight, float *state_sum);

/* The update above that optimizer->kind names, with the descriptor's fields, on table->data (f32 at
 * any valid row stride; the state tables stay dense rows x dim): ek_sgd_update_f32,
 * ek_adagrad_update_f32, ek_rowwise_adagrad_update_f32 or ek_adam_update_f32, bit for bit.
 * rows / values / nnz as for those (coalesced; rows nullable). */
ek_status ek_optimizer_update(const ek_table *table, int64_t nnz, const int64_t *rows, const float *values,
                              const ek_optimizer *optimizer);

/* ------------------------------------------------------------------------------------------------
 * 7. Dense matrix product through OpenBLAS (the Linear / attention workhorse).
 *
 *   C (m x n) = alpha * op(A) * op(B) + beta * C,  op(X) = trans ? X^T : X, all row-major, contiguous:
 *   A is m x k (or k x m if trans_a), B is k x n (or n x k if trans_b). trans_a, trans_b: 0 or 1.
 *   BLAS takes 32-bit sizes: m, n or k above INT32_MAX is EK_ERR_OVERFLOW, unless the product is
 *   empty (m or n == 0: nothing to do; k == 0: C = beta * C), which any size allows.
 * ---------------------------------------------------------------------------------------------- */
ek_status ek_matmul_f32(int64_t m, int64_t n, int64_t k, const float *a, int32_t trans_a,
                        const float *b, int32_t trans_b, float alpha, float beta, float *c);

/* ------------------------------------------------------------------------------------------------
 * 8. Layers: layer norm, activations, dropout. Element-wise functions take n >= 0 elements;
 *     y may alias x and grad_x may alias grad_y unless noted.
 *
 * Layer norm over the last dimension of a rows x cols matrix (PyTorch's F.layer_norm):
 *   mean_i = Σ_c x[i,c] / cols ;  rstd_i = 1 / sqrt(Σ_c (x[i,c] - mean_i)^2 / cols + eps)
 *   y[i,c] = (x[i,c] - mean_i) * rstd_i * weight[c] + bias[c]    (weight, bias nullable: 1 and 0)
 *   mean, rstd (rows each) are saved for the backward; eps >= 0 and finite, cols >= 1. weight, bias and the
 *   gradients below are cols floats: their byte count must fit in ptrdiff_t even when rows == 0.
 * Backward, with xhat = (x - mean) * rstd and gw = grad_y * weight:
 *   grad_x[i,c]     = rstd_i * (gw[i,c] - Σ_k gw[i,k] / cols - xhat[i,c] * Σ_k gw[i,k] xhat[i,k] / cols)
 *   grad_weight[c] += Σ_i grad_y[i,c] * xhat[i,c]      grad_bias[c] += Σ_i grad_y[i,c]   (both nullable;
 *   they ACCUMULATE; sums run over i in order, so results do not depend on the thread count)
 *   grad_x must not alias x.
 * ---------------------------------------------------------------------------------------------- */
ek_status ek_layer_norm_forward_f32(int64_t rows, int64_t cols, const float *x, const float *weight,
                                    const float *bias, double eps, float *y, float *mean, float *rstd);
ek_status ek_layer_norm_backward_f32(int64_t rows, int64_t cols, const float *x, const float *mean,
                                     const float *rstd, const float *weight, const float *grad_y,
                                     float *grad_x, float *grad_weight, float *grad_bias);

/* ReLU: y = max(x, 0) (NaN stays NaN);  backward: grad_x = x <= 0 ? 0 : grad_y, so a NaN input passes
 * its gradient (PyTorch's threshold_backward masks by the output, and relu(NaN) = NaN is not <= 0). */
ek_status ek_relu_forward_f32(int64_t n, const float *x, float *y);
ek_status ek_relu_backward_f32(int64_t n, const float *x, const float *grad_y, float *grad_x);

/* GELU (PyTorch's F.gelu). approximate = 0: y = x * Φ(x) = x/2 * (1 + erf(x / √2));
 * approximate = 1 ("tanh"): y = x/2 * (1 + tanh(√(2/π) * (x + 0.044715 x^3))).
 * Backward: grad_x = grad_y * dy/dx at x. */
ek_status ek_gelu_forward_f32(int64_t n, const float *x, int32_t approximate, float *y);
ek_status ek_gelu_backward_f32(int64_t n, const float *x, int32_t approximate, const float *grad_y,
                               float *grad_x);

/* Dropout with a counter-based generator: element i is kept iff u_i >= p, where u_i in [0, 1) comes
 * from a hash of (seed, i) alone, so the mask does not depend on the thread count.
 *   y[i] = keep ? x[i] / (1 - p) : 0 ;  mask[i] = keep (nullable)          0 <= p < 1
 *   (p == 1 is allowed and zeroes everything, as PyTorch does.)
 * Backward: grad_x[i] = mask[i] ? grad_y[i] / (1 - p) : 0. */
ek_status ek_dropout_forward_f32(int64_t n, const float *x, double p, uint64_t seed, float *y, uint8_t *mask);
ek_status ek_dropout_backward_f32(int64_t n, const uint8_t *mask, double p, const float *grad_y, float *grad_x);

/* ------------------------------------------------------------------------------------------------
 * 9. Losses, fused with their gradients (same conventions as ek_cross_entropy_*: loss holds rows
 *     entries for none, one for mean/sum; grad is nullable and is, for none, each entry's gradient of
 *     its own loss).
 *
 * Negative log-likelihood over log-probabilities (rows x classes), PyTorch's F.nll_loss:
 *   loss_i = valid(i) ? -log_probs[i, t_i] : 0 ;  mean divides by #valid (NaN when none is valid)
 *   grad[i, c] = valid(i) && c == t_i ? -r : 0      (r as for cross-entropy)
 * Mean squared error over n elements, PyTorch's F.mse_loss:
 *   loss_i = (input[i] - target[i])^2 ;  mean divides by n (NaN for n == 0, as PyTorch)
 *   grad[i] = 2 (input[i] - target[i]) * (mean ? 1/n : 1)
 * ---------------------------------------------------------------------------------------------- */
ek_status ek_nll_loss_f32_i64(int64_t rows, int64_t classes, const float *log_probs, const int64_t *targets,
                              int64_t ignore_index, ek_reduction reduction, float *loss, float *grad);
ek_status ek_mse_loss_f32(int64_t n, const float *input, const float *target, ek_reduction reduction,
                          float *loss, float *grad);

/* ------------------------------------------------------------------------------------------------
 * 10. safetensors: a checkpoint file (the format of Hugging Face's `safetensors`, which
 *     `safetensors.torch.save_file` writes), parsed from bytes in memory.
 *
 * Layout of a file of S bytes:
 *   bytes [0, 8)        H, a little-endian uint64: the length of the header
 *   bytes [8, 8 + H)    the header: a UTF-8 JSON object, optionally padded with trailing spaces
 *                         { "__metadata__": { "key": "value", ... },            (optional)
 *                           "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [b, e] }, ... }
 *   bytes [8 + H, S)    the data: tensor t's bytes are [8 + H + b, 8 + H + e), little-endian, row-major
 *
 * ek_safetensors_parse(data, size, &st) checks, before returning EK_OK:
 *   size >= 8; H <= size - 8 and H <= 100,000,000 (a header is never larger);  ........ else SHAPE
 *   at most EK_SAFETENSORS_MAX_TENSORS tensors and EK_SAFETENSORS_MAX_METADATA metadata entries
 *   (refused as soon as the header lists one more, before it is read further);  ......... else SHAPE
 *   the header is valid UTF-8 JSON (strings with every escape, \u surrogate pairs paired); the top
 *   level an object; every tensor object has exactly the keys dtype (a known name, below), shape (an
 *   array of integers >= 0) and data_offsets (two integers b, e); no key repeats in any object;
 *   names are unique and not "__metadata__"; "__metadata__" maps strings to strings; no name, key
 *   or value contains "\u0000" (C strings); nothing but JSON whitespace after the object;  else INVALID_ARGUMENT
 *   product(shape) * size(dtype) fits in int64 (as do the integers themselves); ........ else OVERFLOW
 *   b <= e, and e - b == product(shape) * size(dtype) (shape [] is a scalar: 1 element);  else SHAPE
 *   sorted by (b, e), the tensors tile the data exactly: the first starts at 0, each starts where
 *   the previous ended (no gap, no overlap), the last ends at S - 8 - H;  ................ else SHAPE
 * and the message names the tensor, the field, the value and, for JSON errors, the byte position:
 *   "safetensors: tensor \"w\": shape [2, 3] of F32 is 24 bytes but data_offsets [0, 20] hold 20"
 *
 * The handle points INTO `data` (no tensor bytes are copied): `data` must outlive it and must not
 * change while it is used. Tensors are numbered 0..<count in the order of their data (b, then e),
 * which is also the order safetensors writes; metadata entries in the order of the header.
 * Tensor bytes are little-endian (as the format says) and need not be aligned: copy them out
 * (memcpy, or ek_safetensors_copy_* below) rather than casting the pointer.
 *
 * A file need not be in memory: ek_safetensors_parse_header checks everything above from the header
 * alone and the file's size, and ek_safetensors_convert_* convert a tensor's bytes read from the file
 * by the caller (all at once or a run of whole elements at a time):
 *   1. read the first 8 bytes (fewer if the file is shorter); ek_safetensors_header_size gives H
 *      after the first checks above (file size, H against the file size and the limit);
 *   2. read bytes [0, 8 + H) (at most 100,000,008); ek_safetensors_parse_header(head, 8 + H, S, &st);
 *   3. for tensor i, read num_bytes bytes at offset (ek_safetensors_get) and convert them.
 * Nothing is allocated from the sizes the file claims but the header's, which the limit bounds.
 * ---------------------------------------------------------------------------------------------- */

/* The limits of a header (a file that exceeds one is refused with EK_ERR_SHAPE): its length (the
 * safetensors library's own limit), the number of tensors and the number of "__metadata__" entries
 * (each costs a tensor object or a string pair in the program that loads the file; real checkpoints
 * have a few thousand tensors at most). */
#define EK_SAFETENSORS_MAX_HEADER 100000000
#define EK_SAFETENSORS_MAX_TENSORS 100000
#define EK_SAFETENSORS_MAX_METADATA 100000

typedef enum ek_safetensors_dtype {
    EK_ST_BOOL = 0, EK_ST_U8 = 1, EK_ST_I8 = 2, EK_ST_F8_E5M2 = 3, EK_ST_F8_E4M3 = 4,
    EK_ST_I16 = 5, EK_ST_U16 = 6, EK_ST_F16 = 7, EK_ST_BF16 = 8,
    EK_ST_I32 = 9, EK_ST_U32 = 10, EK_ST_F32 = 11,
    EK_ST_F64 = 12, EK_ST_I64 = 13, EK_ST_U64 = 14
} ek_safetensors_dtype;

/* The format's name of a dtype ("F32", "BF16", ...), or "?" for a value outside the enum. */
const char *ek_safetensors_dtype_name(ek_safetensors_dtype dtype);
/* Bytes per element (1, 2, 4 or 8), or 0 for a value outside the enum. */
int64_t ek_safetensors_dtype_size(ek_safetensors_dtype dtype);

/* A parsed file (opaque). */
typedef struct ek_safetensors ek_safetensors;

/* One tensor of a parsed file. Every pointer is owned by the handle (valid until ek_safetensors_free)
 * or points into the caller's buffer (data). */
typedef struct ek_safetensors_tensor {
    const char *name;        /* NUL-terminated UTF-8 */
    ek_safetensors_dtype dtype;
    int64_t rank;            /* number of dimensions; 0 for a scalar */
    const int64_t *shape;    /* rank entries (NULL when rank == 0) */
    int64_t num_elements;    /* product(shape) */
    int64_t offset;          /* of the first byte, from the start of the file: 8 + H + b */
    int64_t num_bytes;       /* e - b == num_elements * ek_safetensors_dtype_size(dtype) */
    const void *data;        /* the caller's data + offset; unaligned in general; NULL for a handle
                                from ek_safetensors_parse_header */
} ek_safetensors_tensor;

/* Parses and validates the whole file (above) and allocates a handle into *out.
 *   data: size bytes (may be NULL when size == 0, which then fails as truncated); out != NULL.
 * On failure *out is left unchanged and nothing is allocated. EK_ERR_ALLOC if memory runs out. */
ek_status ek_safetensors_parse(const void *data, int64_t size, ek_safetensors **out);

/* H, the header's length, from `first`, the first 8 bytes of a file of file_size bytes, after the
 * first checks of ek_safetensors_parse (file_size >= 8, H <= file_size - 8, H <= the limit; else
 * EK_ERR_SHAPE with ek_safetensors_parse's messages). `first` may be NULL when file_size < 8. */
ek_status ek_safetensors_header_size(const void *first, int64_t file_size, int64_t *out_header_size);

/* ek_safetensors_parse without the tensors' bytes: `head` holds the first head_size bytes of a file
 * of file_size bytes, head_size >= 8 + H (else EK_ERR_INVALID_ARGUMENT); every check of
 * ek_safetensors_parse is made, the data's length taken as file_size - 8 - H. The handle keeps no
 * pointer into `head`. Its tensors have data == NULL: ek_safetensors_copy_* refuse it
 * (EK_ERR_INVALID_ARGUMENT); use ek_safetensors_convert_*. */
ek_status ek_safetensors_parse_header(const void *head, int64_t head_size, int64_t file_size, ek_safetensors **out);

/* Frees a handle (NULL is allowed and does nothing). The caller's buffer is not touched. */
void ek_safetensors_free(ek_safetensors *st);

/* The number of tensors (0 for NULL). */
int64_t ek_safetensors_count(const ek_safetensors *st);

/* Tensor `index` (0 <= index < count, else EK_ERR_INDEX_OUT_OF_RANGE) into *out. */
ek_status ek_safetensors_get(const ek_safetensors *st, int64_t index, ek_safetensors_tensor *out);

/* The number of the tensor called `name` into *out_index, or -1 when there is none (still EK_OK:
 * absence is an answer, not an error). */
ek_status ek_safetensors_find(const ek_safetensors *st, const char *name, int64_t *out_index);

/* The number of "__metadata__" entries (0 for NULL or when the header has none). */
int64_t ek_safetensors_metadata_count(const ek_safetensors *st);

/* Metadata entry `index` (0 <= index < metadata_count, else EK_ERR_INDEX_OUT_OF_RANGE): NUL-terminated
 * UTF-8 key and value, owned by the handle. */
ek_status ek_safetensors_metadata(const ek_safetensors *st, int64_t index, const char **out_key,
                                  const char **out_value);

/* Copies tensor `index` into `out` (count elements), converting exactly:
 *   _f32: F32 as is; F16 and BF16 widened (every value, subnormals, Inf and NaN, is exact in float);
 *         any other dtype is EK_ERR_INVALID_ARGUMENT (F64 would round: convert it yourself).
 *   _i64: I64 as is; I32, I16, I8, U32, U16, U8 and BOOL widened; U64 values above INT64_MAX are
 *         EK_ERR_OVERFLOW (naming the position); float dtypes are EK_ERR_INVALID_ARGUMENT.
 *   count must equal the tensor's num_elements (else EK_ERR_SHAPE). Nothing is written on error. */
ek_status ek_safetensors_copy_f32(const ek_safetensors *st, int64_t index, int64_t count, float *out);
ek_status ek_safetensors_copy_i64(const ek_safetensors *st, int64_t index, int64_t count, int64_t *out);

/* Converts elements [first, first + count) of tensor `index` as ek_safetensors_copy_* do, from
 * `bytes`, which hold exactly those elements' bytes (count * dtype size, read by the caller from
 * offset + first * dtype size). For any handle, also one from ek_safetensors_parse_header. The run must
 * lie within the tensor (else EK_ERR_INDEX_OUT_OF_RANGE); a U64 overflow names the position from
 * the tensor's first element. Nothing is written on error. */
ek_status ek_safetensors_convert_f32(const ek_safetensors *st, int64_t index, int64_t first, int64_t count,
                                     const void *bytes, float *out);
ek_status ek_safetensors_convert_i64(const ek_safetensors *st, int64_t index, int64_t first, int64_t count,
                                     const void *bytes, int64_t *out);

/* ------------------------------------------------------------------------------------------------
 * 11. Tensor arithmetic, reductions and strided copies: the element loops of the Swift Tensor layer
 *     (broadcasting, sum / max over a dimension, permute / cat / narrow), so that no loop over data
 *     runs in Swift.
 *
 * Layouts. A call works over one `shape` of `rank` dims (0 <= rank <= EK_MAX_RANK; rank 0 is one
 * element) in row-major order. Each operand is a buffer of `*_len` elements read or written at
 *   offset(i_0, ..., i_{rank-1}) = Σ_d i_d * strides[d]     (element strides, every one >= 0)
 * so a broadcast dimension has stride 0, a contiguous tensor has strides[d] = Π_{e>d} shape[e], and a
 * permutation permutes the strides. Every offset must lie below *_len (else EK_ERR_INDEX_OUT_OF_RANGE
 * naming the operand and the dimension); an output's strides must not reach one element twice (else
 * EK_ERR_INVALID_ARGUMENT). Validation precedes any write. Arrays of sizes and strides are read,
 * never kept. Results do not depend on the thread count: each output element is computed by one
 * thread, in the order the pseudocode gives.
 * ---------------------------------------------------------------------------------------------- */
#define EK_MAX_RANK 16

typedef enum ek_binary_op {
    EK_BINARY_ADD = 0,          /* a + b */
    EK_BINARY_SUB = 1,          /* a - b */
    EK_BINARY_MUL = 2,          /* a * b */
    EK_BINARY_DIV = 3,          /* a / b */
    EK_BINARY_NEG_DIV_SQ = 4,   /* -a / (b * b)        (d(x/y)/dy, with a = grad * x) */
    EK_BINARY_DIV_TWICE = 5,    /* a / (2 * b)         (d sqrt(x), with b = sqrt(x)) */
    EK_BINARY_POW_GRAD = 6,     /* a * p * (float)pow((double)b, (double)(p - 1))   (d x^p, a = grad) */
    EK_BINARY_SIGN_MUL = 7,     /* b < 0 ? -a : b > 0 ? a : 0     (d |x|, a = grad; NaN b gives 0) */
    EK_BINARY_EQ = 8,           /* a == b ? 1 : 0 */
    EK_BINARY_LT = 9,           /* a < b ? 1 : 0 */
    EK_BINARY_GT = 10           /* a > b ? 1 : 0 */
} ek_binary_op;

/* Element-wise binary operation with broadcasting (every operation is single-precision, IEEE, no
 * fused multiply-add: the results are those of the scalar expression in the comment):
 *   for each index i of shape (row-major): out[off_out(i)] = op(a[off_a(i)], b[off_b(i)])
 * p is read by EK_BINARY_POW_GRAD only. out may be the same buffer as a (or b) when it is read with
 * the same strides as out is written (in-place: y += bias is a = out = y, b = bias with stride 0 on
 * rows); no other overlap is allowed. A scalar operand (all strides 0) and operands of one contiguous
 * layout take flat loops. */
ek_status ek_binary_f32(ek_binary_op op, int64_t rank, const int64_t *shape, const float *a, int64_t a_len,
                        const int64_t *a_strides, const float *b, int64_t b_len, const int64_t *b_strides, float p,
                        float *out, int64_t out_len, const int64_t *out_strides);

typedef enum ek_unary_op {
    EK_UNARY_NEG = 0,           /* -x */
    EK_UNARY_ABS = 1,           /* |x| (the sign bit cleared) */
    EK_UNARY_SQRT = 2,          /* sqrtf(x) */
    EK_UNARY_POW = 3,           /* (float)pow((double)x, (double)p) */
    EK_UNARY_FILL_NONZERO = 4   /* x != 0 ? p : 0      (NaN counts as non-zero) */
} ek_unary_op;

/* y[i] = op(x[i]) for i in [0, n); y may be x. p is read by POW and FILL_NONZERO only. */
ek_status ek_unary_f32(ek_unary_op op, int64_t n, const float *x, float p, float *y);

/* y[i] = (float)x[i] for i in [0, n) (round to nearest even, as a C or Swift conversion). */
ek_status ek_i64_to_f32(int64_t n, const int64_t *x, float *y);

/* Sum over the middle dimension of x viewed as [outer, n, inner] (contiguous), in order of k:
 *   y[o, i] = ((0 + x[o, 0, i]) + x[o, 1, i]) + ... + x[o, n-1, i]         (y: outer x inner)
 * The sum of all elements is outer = inner = 1. n may be 0 (y = 0). The additions are single
 * precision, in this order whatever the thread count (outputs are split among threads, never one
 * output's terms), so results match a sequential loop bit for bit. y must not overlap x. */
ek_status ek_sum_dim_f32(int64_t outer, int64_t n, int64_t inner, const float *x, float *y);

/* The reverse of a broadcast: sums x (contiguous, of `shape`) into y through y_strides (0 along the
 * dimensions that are summed away):
 *   y[j] = 0 for every j reached;  for each index i of shape in row-major order: y[off_y(i)] += x[i]
 * Each y element gets its terms in x's order, from 0 (what a sequential loop gives, bit for bit).
 * y_strides may repeat offsets (that is the point); y must not overlap x. An empty shape (a 0 in it)
 * writes nothing. */
ek_status ek_sum_to_f32(int64_t rank, const int64_t *shape, const float *x, float *y, int64_t y_len,
                        const int64_t *y_strides);

/* The largest element over the middle dimension of x [outer, n, inner] and its index (the first of
 * ties; a NaN wins over any number and the first NaN is kept, as PyTorch's max(dim)):
 *   m = x[o,0,i], at = 0;  for k in 1..<n: if x[o,k,i] > m or (isnan(x[o,k,i]) and !isnan(m)): m, at = x[o,k,i], k
 *   values[o,i] = m;  indices[o,i] = at
 * n >= 1 unless outer * inner == 0 (else EK_ERR_SHAPE). */
ek_status ek_max_dim_f32(int64_t outer, int64_t n, int64_t inner, const float *x, float *values, int64_t *indices);

/* Continues the p-norm of float elements in double precision, in the order of x (one thread, so the
 * result is that of the sequential loop, bit for bit):
 *   p finite:   for i in 0..<n: *acc += pow(fabs((double)x[i]), (double)p)
 *   p = +inf:   for i in 0..<n: *acc = isnan(*acc) || isnan(x[i]) ? NAN : fmax(*acc, fabs((double)x[i]))
 * Start *acc at 0 and call once per buffer for the norm of several buffers together; the norm is then
 * pow(*acc, 1 / p), or *acc for p = inf (a NaN element makes it NaN, as PyTorch's norms). p must be
 * > 0 (else EK_ERR_INVALID_ARGUMENT). n may be 0 (nothing read). */
ek_status ek_norm_f32(int64_t n, const float *x, float p, double *acc);

/* Its backward: grad_x = 0, then grad_x[o, indices[o,i], i] = grad_values[o, i]. Every index must lie
 * in [0, n) (else EK_ERR_INDEX_OUT_OF_RANGE naming the position, nothing written). */
ek_status ek_max_dim_backward_f32(int64_t outer, int64_t n, int64_t inner, const int64_t *indices,
                                  const float *grad_values, float *grad_x);

/* Strided copy of elements of elem_size bytes (1, 2, 4 or 8; bits copied as they are):
 *   for each index i of shape: dst[off_dst(i)] = src[off_src(i)]
 * permute / transpose (src strides permuted, dst contiguous), expand (src strides 0), narrow and
 * select (src at an offset), cat (dst strides of the joined tensor, at an offset). Elements of dst
 * that no index reaches are left as they are. src and dst must not overlap. */
ek_status ek_strided_copy(int64_t elem_size, int64_t rank, const int64_t *shape, const void *src, int64_t src_len,
                          const int64_t *src_strides, void *dst, int64_t dst_len, const int64_t *dst_strides);

/* Rows of x [rows, cols] (contiguous) whose every element is -inf become 0 in y (other rows are not
 * touched): attention rows whose keys are all masked attend to nothing (scaled_dot_product_attention). */
ek_status ek_zero_masked_rows_f32(int64_t rows, int64_t cols, const float *x, float *y);


/* ------------------------------------------------------------------------------------------------
 * 12. Quantized tables: row-wise 8-, 4- and 2-bit rows, bit-compatible with FBGEMM and PyTorch
 *     (torch.ops.quantized.embedding_bag_byte_prepack / _4bit_prepack / _2bit_prepack produce them,
 *     embedding_bag_byte_rowwise_offsets / _4bit_ / _2bit_ read them). docs/QUANTIZATION.md.
 *
 * Packed row layout (row_bytes = ek_quant_row_bytes(dtype, D)), little-endian:
 *   EK_DTYPE_Q8:  q[0..D) one uint8 each, then float32 scale, float32 bias     (D + 8 bytes)
 *   EK_DTYPE_Q4:  ceil(D/2) bytes, element d in bits 4*(d%2) .. of byte d/2, then fp16 scale, fp16 bias
 *   EK_DTYPE_Q2:  ceil(D/4) bytes, element d in bits 2*(d%4) .. of byte d/4, then fp16 scale, fp16 bias
 *   (bits past element D-1 in the last byte are 0). A table of such rows is rows * row_bytes bytes;
 *   in an ek_table its row_stride is in bytes, 0 or >= row_bytes (padded rows; less: INVALID_ARGUMENT
 *   naming row_stride and the packed size).
 * Value of element d: v = fma(q[d], scale, bias) in float32 (one rounding; for Q4 / Q2 q * scale is
 * exact, so this is also q * scale + bias), what PyTorch's embedding_bag_*_unpack give bit for bit.
 * The forward verbs reduce these values in the fp32 order: the results equal ek_bag_forward /
 * ek_lookup_forward on the ek_dequantize table bit for bit (every mode, weights, padding, ISA and
 * thread count), and PyTorch's quantized bag ops (sum; they fuse the scale differently) within 1e-5
 * relative.
 *
 * Quantize (prepack), per row, with mn / mx the row's minimum and maximum (float32):
 *   Q8:  scale = (mx - mn) / 255.0f;  bias = mn;  inv = 255.0f / ((mx - mn) + 1e-8f)
 *        q[d] = clamp(round_half_even((x[d] - mn) * inv), 0, 255)
 *   Q4 / Q2 (n = 15 or 3):  bias16 = fp16(mn) (round to nearest even);  m = float(bias16)
 *        range = mx - m;  s = range == 0 ? 1 : range / n;  s = float(fp16(s));  if s == 0: s = 1
 *        inv = 1 / s;  if inv is infinite: s = inv = 1;  scale16 = fp16(s)
 *        q[d] = clamp(round_half_even((x[d] - m) * inv), 0, n)
 *   every operation in float32, no FMA: the bytes equal PyTorch's prepack (committed fixtures).
 * Checked before anything is written: every x finite (else INVALID_ARGUMENT naming row, column and
 * value); Q8: mx - mn finite; Q4 / Q2: the row's fp16 bias and scale finite, i.e. fp16(mn) finite
 * (|mn| < 65520) and range / n below 65520 (else INVALID_ARGUMENT naming the row: PyTorch would
 * store inf or NaN there).
 *
 * Scale and bias are checked when a table is made (ek_quantize) or loaded (ek_quant_validate: call it
 * on bytes from a file; Swift's QuantizedEmbedding* do), not by every forward: a table with a NaN
 * scale that skipped ek_quant_validate gives NaN outputs, never a crash or a read outside the table.
 * ---------------------------------------------------------------------------------------------- */

/* The packed row size of dtype (Q8 / Q4 / Q2) for dim >= 1 into *out_bytes. Other dtypes:
 * INVALID_ARGUMENT naming dtype; dim < 1 or a size past INT64_MAX: INVALID_ARGUMENT / OVERFLOW. */
ek_status ek_quant_row_bytes(ek_dtype dtype, int64_t dim, int64_t *out_bytes);

/* Prepack: src (rows x dim float32, contiguous) into dst (rows * row_bytes bytes). Parallel over
 * rows; the bytes do not depend on the thread count or ISA. */
ek_status ek_quantize(ek_dtype dtype, int64_t rows, int64_t dim, const float *src, uint8_t *dst);

/* dst (rows x dim float32) = the value of every element (above). No check of scale / bias: a NaN
 * scale gives NaN values (ek_quant_validate finds it). */
ek_status ek_dequantize(ek_dtype dtype, int64_t rows, int64_t dim, const uint8_t *src, float *dst);

/* Checks that every row's scale and bias are finite (Q8: float32; Q4 / Q2: fp16). The first bad row
 * is INVALID_ARGUMENT naming the row, the field and the value. Reads only. */
ek_status ek_quant_validate(ek_dtype dtype, int64_t rows, int64_t dim, const uint8_t *packed);

/* The quantization error of a table: e = dequantize(packed) - original, element-wise, in double. */
typedef struct ek_quant_error {
    double max_abs;        /* max |e| over the table (0 for an empty table) */
    double rms;            /* sqrt(mean e^2) over the table */
    int64_t worst_row;     /* the first row holding max_abs (-1 for an empty table) */
    double worst_row_rms;  /* that row's sqrt(mean e^2) */
    double max_abs_value;  /* max |original| (to put max_abs in proportion) */
} ek_quant_error;

/* The error report of packed (rows x row_bytes) against original (rows x dim float32). Sums in
 * double in row order (one thread): the same numbers for any thread count. */
ek_status ek_quant_error_report(ek_dtype dtype, int64_t rows, int64_t dim, const float *original,
                                const uint8_t *packed, ek_quant_error *out);

#ifdef __cplusplus
}
#endif

#endif /* EMBEDDINGKIT_H */
