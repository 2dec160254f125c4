/* scatter.c — the parallel scatter-add of rows, dst[rows[i]] += a * src[i] (internal.h): the dense
 * embedding backward and the COO scatter-add. A partition pass buckets the entries by row range once,
 * so that each thread reads only the entries and source rows of its own buckets; having every thread
 * scan all entries for its rows instead made 2 threads slower than 1 (each core streamed every
 * source row). */
#include <stdlib.h>

#include "internal.h"

/* Buckets per thread, dealt round-robin: evens out skewed (e.g. Zipf) row frequencies. */
#define BUCKETS_PER_THREAD 4

typedef struct {
    int64_t count;  /* number of buckets */
    int64_t *start; /* count + 1 entries: bucket b is pos[start[b] .. start[b + 1]) */
    uint32_t *pos;  /* input positions, input order inside a bucket */
} row_buckets;

static void row_buckets_free(row_buckets *b) {
    free(b->start), free(b->pos);
    b->start = NULL, b->pos = NULL;
}

/* Bucket of a row: contiguous row ranges of about num_rows / buckets rows. A function of the row
 * alone (the same double arithmetic every time), monotone in the row. */
static inline int64_t bucket_of(int64_t row, double scale, int64_t buckets) {
    int64_t b = (int64_t)((double)row * scale);
    return b < buckets ? b : buckets - 1;
}

/* Lists positions 0..<n (rows equal to `skip` left out) by bucket, with `threads` threads. */
static ek_status row_buckets_build(const char *op, eki_index rows, int64_t n, int64_t num_rows, int64_t skip,
                                   int threads, row_buckets *out) {
    int64_t buckets = (int64_t)threads * BUCKETS_PER_THREAD, chunks = threads;
    out->count = buckets;
    out->start = malloc(sizeof(int64_t) * (size_t)(buckets + 1));
    out->pos = malloc(sizeof(uint32_t) * (size_t)(n > 0 ? n : 1));
    int64_t *counts = calloc((size_t)(chunks * buckets), sizeof(int64_t)); /* [chunk][bucket] */
    if (!out->start || !out->pos || !counts) {
        free(counts), row_buckets_free(out);
        return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate the partition of %lld entries", op, (long long)n);
    }
    double scale = (double)buckets / (double)(num_rows > 0 ? num_rows : 1);

    /* Chunk c of the input counts its entries per bucket, then (after every chunk has counted and the
     * offsets are known) writes their positions: bucket-major, chunk order inside a bucket, input
     * order inside a chunk, so each bucket lists its entries in input order. */
#pragma omp parallel num_threads(threads)
    {
        int t = eki_thread_id(), team = eki_team_size();
        for (int64_t c = t; c < chunks; c += team) {
            int64_t *cnt = counts + c * buckets;
            for (int64_t i = n * c / chunks, e = n * (c + 1) / chunks; i < e; i++) {
                int64_t r = eki_at(rows, i);
                if (r != skip) cnt[bucket_of(r, scale, buckets)]++;
            }
        }
#pragma omp barrier
        if (t == 0) { /* exclusive prefix sum, bucket-major: counts becomes each chunk's write offset */
            int64_t next = 0;
            for (int64_t b = 0; b < buckets; b++) {
                out->start[b] = next;
                for (int64_t c = 0; c < chunks; c++) {
                    int64_t k = counts[c * buckets + b];
                    counts[c * buckets + b] = next;
                    next += k;
                }
            }
            out->start[buckets] = next;
        }
#pragma omp barrier
        for (int64_t c = t; c < chunks; c += team) {
            int64_t *at = counts + c * buckets;
            for (int64_t i = n * c / chunks, e = n * (c + 1) / chunks; i < e; i++) {
                int64_t r = eki_at(rows, i);
                if (r != skip) out->pos[at[bucket_of(r, scale, buckets)]++] = (uint32_t)i;
            }
        }
    }
    free(counts);
    return EK_OK;
}

static void scatter_serial(eki_index rows, int64_t n, int64_t skip, int64_t dim, float a, const float *src,
                           float *dst, eki_row_fn axpy) {
    size_t row_bytes = sizeof(float) * (size_t)dim;
    for (int64_t i = 0; i < n; i++) {
        if (i + EKI_PREFETCH_ROWS < n) EKI_PREFETCH_SPAN(dst + eki_at(rows, i + EKI_PREFETCH_ROWS) * dim, row_bytes, 1);
        int64_t r = eki_at(rows, i);
        if (r != skip) axpy(dim, a, src + i * dim, dst + r * dim);
    }
}

ek_status eki_scatter_add_rows(const char *op, eki_index rows, int64_t n, int64_t num_rows, int64_t skip,
                               int64_t dim, float a, const float *src, float *dst) {
    eki_row_fn axpy = eki_row_axpy();
    int threads = eki_num_threads();
    if (threads == 1 || n * dim < EKI_PARALLEL_MIN_WORK || n > (int64_t)UINT32_MAX) {
        scatter_serial(rows, n, skip, dim, a, src, dst, axpy);
        return EK_OK;
    }
    row_buckets bk;
    ek_status s = row_buckets_build(op, rows, n, num_rows, skip, threads, &bk);
    if (s) return s;
    size_t row_bytes = sizeof(float) * (size_t)dim;
#pragma omp parallel for schedule(static, 1) num_threads(threads)
    for (int64_t b = 0; b < bk.count; b++) {
        const uint32_t *p = bk.pos + bk.start[b], *end = bk.pos + bk.start[b + 1];
        for (; p < end; p++) {
            if (p + EKI_PREFETCH_ROWS < end) {
                int64_t ahead = p[EKI_PREFETCH_ROWS];
                EKI_PREFETCH_SPAN(src + ahead * dim, row_bytes, 0);
                EKI_PREFETCH_SPAN(dst + eki_at(rows, ahead) * dim, row_bytes, 1);
            }
            axpy(dim, a, src + (int64_t)*p * dim, dst + eki_at(rows, *p) * dim);
        }
    }
    row_buckets_free(&bk);
    return EK_OK;
}
