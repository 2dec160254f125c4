/* renorm.c — max_norm renormalisation of the unique rows an index list touches (what a max_norm
 * lookup does before its gather), in place.
 *
 * Parallel over the index list, in one contiguous chunk per thread: the thread whose chunk holds a
 * row's first position renormalises the row, once (see embedding_renorm). A row's new value depends on the row
 * alone, so the result is the same for any thread count. Rows are
 * prefetched EKI_PREFETCH_ROWS positions ahead; the 2-norm (the common case) is vectorised, in
 * double, with lane-wise partial sums (another summation order than the scalar path's). */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

/* sqrt(Σ row[d]^2), in double, in order (isa.h's norm2; x86/<isa>/renorm.c vectorise it) */
double eki_norm2_scalar(const float *row, int64_t dim) {
    double acc = 0.0;
    for (int64_t d = 0; d < dim; d++) acc += (double)row[d] * row[d];
    return sqrt(acc);
}

/* ||row||_p in double: p = 0 counts non-zeros, p = inf takes the largest magnitude. */
static double row_norm(const float *row, int64_t dim, double p) {
    double acc = 0.0;
    if (p == 2.0) return eki_norm2_scalar(row, dim);
    if (p == 1.0) {
        for (int64_t d = 0; d < dim; d++) acc += fabs((double)row[d]);
        return acc;
    }
    if (isinf(p)) {
        for (int64_t d = 0; d < dim; d++) {
            double a = fabs((double)row[d]);
            if (a > acc || isnan(a)) acc = a;
        }
        return acc;
    }
    if (p == 0.0) {
        for (int64_t d = 0; d < dim; d++) acc += row[d] != 0.0f;
        return acc;
    }
    for (int64_t d = 0; d < dim; d++) acc += pow(fabs((double)row[d]), p);
    return pow(acc, 1.0 / p);
}

/* Row r of weight at element r * stride (>= dim); the elements past dim are never touched. */
static ek_status embedding_renorm(int64_t num_embeddings, int64_t dim, int64_t n, eki_index indices, double max_norm,
                                  double norm_type, float *weight, int64_t stride) {
    static const char op[] = "embedding_renorm";
    ek_status s;
    if ((s = eki_check_size(op, "num_embeddings", num_embeddings, 0)) || (s = eki_check_size(op, "dim", dim, 1)) ||
        (s = eki_check_size(op, "num_indices", n, 0)) ||
        (s = eki_check_bytes(op, "weight", num_embeddings, dim, sizeof(float))) ||
        (s = eki_check_bytes(op, "indices", n, 1, sizeof(int64_t))) ||
        (s = eki_check_ptr(op, "indices", indices.data, n)) ||
        (s = eki_check_ptr(op, "weight", weight, num_embeddings * dim)))
        return s;
    if (!(max_norm > 0.0) || isinf(max_norm))
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: max_norm=%g must be positive and finite", op, max_norm);
    if (!(norm_type >= 0.0))
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: norm_type=%g must be >= 0 (or INFINITY)", op, norm_type);
    if ((s = eki_check_indices(op, indices, n, num_embeddings, "embeddings"))) return s;
    if (n == 0) return EK_OK;

    /* Each row is renormalised once, at its first position: chunk c of the input (one per thread)
     * marks its rows in a bitmap of its own (one bit per row; untouched pages of a large calloc'd
     * block are never materialised), a position is first when its row is new to its chunk and to
     * no earlier chunk's bitmap, and the chunk's thread renormalises the rows at its first positions.
     * No atomics: the claim bitmap this replaced did a locked fetch-or per row, a full barrier that
     * keeps the loop from running ahead of its loads (issue 16: W7 at 1 thread took 4x as long as at
     * 2 on the AVX2 Zen 3). The bitmaps stay within the larger of 16 MiB and the index list's size:
     * fewer chunks for a huge table. */
    int64_t words = num_embeddings / 64 + 1;
    int chunks = n * dim >= EKI_PARALLEL_MIN_WORK ? eki_num_threads() : 1;
    size_t budget = sizeof(int64_t) * (size_t)n;
    if (budget < ((size_t)16 << 20)) budget = (size_t)16 << 20;
    while (chunks > 1 && (size_t)chunks * (size_t)words * sizeof(uint64_t) > budget) chunks--;
    uint64_t *seen = calloc((size_t)chunks * (size_t)words, sizeof(uint64_t));
    unsigned char *first = malloc((size_t)n);
    if (!seen || !first) {
        free(seen), free(first);
        return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for %lld rows", op, (long long)num_embeddings);
    }
    /* the 2-norm (the common case) through the ISA's table; other norms scalar */
    double (*norm2)(const float *, int64_t) = norm_type == 2.0 ? eki_dispatch()->norm2 : NULL;
    size_t row_bytes = sizeof(float) * (size_t)dim;
    /* two loops over the chunks (internal.h: slots): every chunk's bitmap is complete before any
     * chunk reads the earlier ones */
    EKI_PARALLEL_FOR(chunks > 1, (static, 1),
    for (int c = 0; c < chunks; c++) {
        uint64_t *mine = seen + (size_t)c * (size_t)words;
        for (int64_t i = n * c / chunks, e = n * (c + 1) / chunks; i < e; i++) {
            int64_t r = eki_at(indices, i);
            uint64_t bit = UINT64_C(1) << (r & 63), had = mine[r >> 6] & bit;
            mine[r >> 6] |= bit;
            first[i] = !had;
        }
    });
    EKI_PARALLEL_FOR(chunks > 1, (static, 1),
    for (int c = 0; c < chunks; c++) {
        int64_t lo = n * c / chunks, e = n * (c + 1) / chunks;
        for (int64_t i = lo; i < e && c > 0; i++) {
            if (!first[i]) continue;
            int64_t r = eki_at(indices, i);
            for (int b = 0; b < c; b++)
                if ((seen[(size_t)b * (size_t)words + (size_t)(r >> 6)] >> (r & 63)) & 1) {
                    first[i] = 0;
                    break;
                }
        }
        for (int64_t i = lo; i < e; i++) {
            if (i + EKI_PREFETCH_ROWS < e) EKI_PREFETCH_SPAN(weight + eki_at(indices, i + EKI_PREFETCH_ROWS) * stride, row_bytes, 1);
            if (!first[i]) continue;
            float *row = weight + eki_at(indices, i) * stride;
            double norm = norm2 ? norm2(row, dim) : row_norm(row, dim, norm_type);
            if (norm > max_norm) {
                float scale = (float)(max_norm / (norm + 1e-7));
                for (int64_t d = 0; d < dim; d++) row[d] *= scale;
            }
        }
    });
    free(first);
    free(seen);
    return EK_OK;
}

ek_status ek_renorm(const ek_table *table, const ek_bag_input *input, double max_norm, double norm_type) {
    static const char op[] = "embedding_renorm";
    eki_call a;
    ek_bag_input in;
    ek_status s;
    /* only the index fields are read: decode the input without its bag rules */
    if ((s = eki_decode_table(op, table, &a)) ||
        (s = eki_copy_struct(op, "input", "ek_bag_input", input, EKI_BAG_INPUT_SIZE_0_3, sizeof(ek_bag_input), &in)))
        return s;
    if (in.index_type != EK_INDEX_I64 && in.index_type != EK_INDEX_I32)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: input->index_type=%d is not EK_INDEX_I64 (0) or EK_INDEX_I32 (1)", op,
                        (int)in.index_type);
    return embedding_renorm(a.rows, a.dim, in.num_indices, (eki_index){in.indices, in.index_type == EK_INDEX_I32}, max_norm,
                            norm_type, a.data, a.stride);
}
