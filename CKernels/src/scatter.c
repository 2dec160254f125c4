/* scatter.c — the parallel scatter-add of rows, dst[rows[i]] += a * src[i] (internal.h): the dense
 * embedding backward, the COO scatter-add and the fused bag backward + SGD step. Threads take
 * contiguous chunks of the input, so each reads its source rows sequentially; rows shared between
 * chunks are settled by a marking pass.
 * (Partitioning by row range instead made each thread read every other source row scattered over
 * the whole input: the hardware prefetcher then streamed all of it into both cores, and 2 threads
 * were slower than 1 on W6 and W5.) */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* out += a * (source row i), by the first field the source sets (internal.h); `scratch`: dim floats
 * of the thread's. */
static inline void add_source_row(const eki_scatter_source *src, int64_t i, int64_t dim, float a, float *out,
                                  const eki_kernels *kern, float *scratch) {
    if (src->rows) {
        kern->axpy(dim, a, src->rows + i * dim, out);
    } else if (src->base_row) {
        int64_t b = src->base_row[i];
        if (b >= 0) kern->axpy_scaled(dim, a, src->coef[i], src->base + b * dim, out);
    } else {
        const float *v = src->row(src->ctx, i, scratch);
        if (v) kern->axpy(dim, a, v, out);
    }
}

static void scatter_serial(eki_index rows, int64_t n, int64_t skip, int64_t dim, float a, const eki_scatter_source *src,
                           float *dst, int64_t ds, const eki_kernels *kern, float *scratch, int64_t ahead) {
    size_t row_bytes = sizeof(float) * (size_t)dim;
    for (int64_t i = 0; i < n; i++) {
        if (i + ahead < n) EKI_PREFETCH_SPAN(dst + eki_at(rows, i + ahead) * ds, row_bytes, 1);
        int64_t r = eki_at(rows, i);
        if (r != skip) add_source_row(src, i, dim, a, dst + r * ds, kern, scratch);
    }
}

/* The chunked scatter: thread t applies input chunk t in order, reading its source rows
 * sequentially, except entries whose row an earlier chunk also touches (each chunk but the last first
 * marks its rows in a bit set of its own): those are deferred, and after a barrier applied chunk by
 * chunk, each thread taking the rows in its share of the table. Every row is so updated in input
 * order, each part by one thread: bit-identical to the serial loop. The deferred part is small when
 * the input touches a small share of the table (W5: 4 %; W6, 65,536 entries into 100k rows: 14 %). */
static inline int has_row(const uint64_t *set, int64_t r) { return (int)(set[r >> 6] >> (r & 63)) & 1; }

static ek_status scatter_chunked(const char *op, eki_index rows, int64_t n, int64_t num_rows, int64_t skip,
                                 int64_t dim, float a, const eki_scatter_source *src, float *dst, int64_t ds,
                                 const eki_kernels *kern, float *scratch, int chunks, int64_t ahead) {
    int64_t words = eki_ceil_div(num_rows, 64);
    /* seen + c * words: chunk c's rows; earlier + (c - 1) * words: the union of chunks 0..c-1 */
    size_t mark = eki_scratch_mark(), seen_bytes = sizeof(uint64_t) * (size_t)(2 * (chunks - 1) * words);
    uint64_t *seen = eki_scratch_alloc(seen_bytes), *earlier = seen + (chunks - 1) * words;
    uint32_t *deferred = eki_scratch_alloc(sizeof(uint32_t) * (size_t)n); /* chunk c's from index n * c / chunks */
    int64_t *num_deferred = eki_scratch_alloc(sizeof(int64_t) * (size_t)chunks);
    if (!seen || !deferred || !num_deferred) {
        eki_scratch_release(mark);
        return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate the partition of %lld entries", op, (long long)n);
    }
    memset(seen, 0, seen_bytes);
    size_t row_bytes = sizeof(float) * (size_t)dim;
#pragma omp parallel num_threads(chunks)
    {
        int t = eki_thread_id(), team = eki_team_size();
        float *mine_scratch = scratch ? scratch + t * dim : NULL; /* no offset on NULL (UB) */
        for (int c = t; c < chunks - 1; c += team) {
            uint64_t *mine = seen + c * words;
            for (int64_t i = n * c / chunks, e = n * (c + 1) / chunks; i < e; i++) {
                int64_t r = eki_at(rows, i);
                mine[r >> 6] |= UINT64_C(1) << (r & 63);
            }
        }
#pragma omp barrier
        for (int c = t; c < chunks; c += team) {
            int64_t lo = n * c / chunks, e = n * (c + 1) / chunks, k = 0;
            uint32_t *later = deferred + lo;
            /* the union, in this thread's own cache: probing the sets other cores wrote, row by row, was
             * slower than the scatter itself */
            uint64_t *before = c > 0 ? earlier + (c - 1) * words : NULL;
            for (int b = 0; b < c; b++)
                for (int64_t w = 0; w < words; w++) before[w] = b ? before[w] | seen[b * words + w] : seen[w];
            for (int64_t i = lo; i < e; i++) {
                if (i + ahead < e) EKI_PREFETCH_SPAN(dst + eki_at(rows, i + ahead) * ds, row_bytes, 1);
                int64_t r = eki_at(rows, i);
                if (r == skip) continue;
                if (before && has_row(before, r)) later[k++] = (uint32_t)i;
                else add_source_row(src, i, dim, a, dst + r * ds, kern, mine_scratch);
            }
            num_deferred[c] = k;
        }
#pragma omp barrier
        /* by row share, not by the chunk that owns the row: the first chunk owns most shared rows */
        int64_t row_lo = num_rows * t / team, row_hi = num_rows * (t + 1) / team;
        for (int c = 1; c < chunks; c++) {
            const uint32_t *later = deferred + n * c / chunks;
            for (int64_t k = 0; k < num_deferred[c]; k++) {
                if (k + ahead < num_deferred[c]) {
                    int64_t at = later[k + ahead], ahead_row = eki_at(rows, at);
                    if (ahead_row >= row_lo && ahead_row < row_hi) {
                        if (src->rows) EKI_PREFETCH_SPAN(src->rows + at * dim, row_bytes, 0);
                        EKI_PREFETCH_SPAN(dst + ahead_row * ds, row_bytes, 1);
                    }
                }
                int64_t i = later[k], r = eki_at(rows, i);
                if (r >= row_lo && r < row_hi) add_source_row(src, i, dim, a, dst + r * ds, kern, mine_scratch);
            }
        }
    }
    eki_scratch_release(mark);
    return EK_OK;
}

ek_status eki_scatter_add_from(const char *op, eki_index rows, int64_t n, int64_t num_rows, int64_t skip,
                               int64_t dim, float a, const eki_scatter_source *src, float *dst, int64_t dst_stride) {
    const eki_kernels *kern = eki_dispatch(); /* the ISA's row primitives, read once per call */
    /* serial below the threshold (ek_set_tuning / EK_SCATTER_MIN_WORK can pin it: issue 16's W6 was
     * slower at 2 threads than at 1 on a memory-bound Zen 3, see Benchmarks/README.md) */
    int chunks = n * dim < eki_scatter_min_work() || n > (int64_t)UINT32_MAX ? 1 : eki_num_threads();
    /* the bit sets (2 per chunk but one, num_rows / 8 bytes each) stay within the larger of 16 MiB and
     * the source's size: fewer chunks for a huge table touched lightly, serial if even 2 do not fit */
    size_t budget = sizeof(float) * (size_t)(n * dim), set_bytes = (size_t)eki_ceil_div(num_rows, 64) * sizeof(uint64_t);
    if (budget < ((size_t)16 << 20)) budget = (size_t)16 << 20;
    while (chunks > 1 && 2 * (size_t)(chunks - 1) * set_bytes > budget) chunks--;
    /* one row of scratch per thread, for sources that make their rows */
    int made = !src->rows && !src->base_row;
    size_t mark = eki_scratch_mark();
    float *scratch = made ? eki_scratch_alloc(sizeof(float) * (size_t)(chunks * dim)) : NULL;
    if (made && !scratch) return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch rows", op);
    /* the destination rows ahead: serial, as many cache lines as the bag forward keeps in flight
     * (tuning.c); chunked, half as many per thread, the cores' read-modify-writes sharing the memory.
     * On the Zen 5 (48 rows of 256 bytes) against FBGEMM's fixed 16 rows: W5 at 1 thread 3.7-3.8 ->
     * 3.35-3.6 ms, at 2 threads 2.38-2.41 -> 2.32-2.35 ms (the full 48 there: 2.86-2.93). */
    int64_t ahead = eki_bag_prefetch_rows_for(dim, sizeof(float), dst_stride, dst);
    ek_status s = EK_OK;
    if (chunks > 1)
        s = scatter_chunked(op, rows, n, num_rows, skip, dim, a, src, dst, dst_stride, kern, scratch, chunks, (ahead + 1) / 2);
    else scatter_serial(rows, n, skip, dim, a, src, dst, dst_stride, kern, scratch, ahead);
    eki_scratch_release(mark);
    return s;
}

ek_status eki_scatter_add_rows(const char *op, eki_index rows, int64_t n, int64_t num_rows, int64_t skip,
                               int64_t dim, float a, const float *src, float *dst) {
    eki_scatter_source source = {.rows = src};
    return eki_scatter_add_from(op, rows, n, num_rows, skip, dim, a, &source, dst, dim);
}
