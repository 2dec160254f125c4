/* renorm.c — max_norm renormalisation of the unique rows an index list touches (what a max_norm
 * lookup does before its gather), in place.
 *
 * Parallel over the index list: a row is claimed by whichever thread first sets its bit in a shared
 * bitmap (an atomic fetch-or), and only that thread renormalises it. A row's new value depends on
 * the row alone, so the result is the same for any thread count and any claiming order. Rows are
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

static ek_status embedding_renorm(int64_t num_embeddings, int64_t dim, int64_t n, eki_index indices, double max_norm,
                                  double norm_type, float *weight) {
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

    /* One bit per row; untouched pages of a large calloc'd block are never materialised. */
    uint64_t *seen = calloc((size_t)num_embeddings / 64 + 1, sizeof(uint64_t));
    if (!seen) return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for %lld rows", op, (long long)num_embeddings);
    /* the 2-norm (the common case) through the ISA's table; other norms scalar */
    double (*norm2)(const float *, int64_t) = norm_type == 2.0 ? eki_dispatch()->norm2 : NULL;
    size_t row_bytes = sizeof(float) * (size_t)dim;
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (n * dim >= EKI_PARALLEL_MIN_WORK)
    for (int64_t i = 0; i < n; i++) {
        if (i + EKI_PREFETCH_ROWS < n) EKI_PREFETCH_SPAN(weight + eki_at(indices, i + EKI_PREFETCH_ROWS) * dim, row_bytes, 1);
        int64_t r = eki_at(indices, i);
        uint64_t bit = UINT64_C(1) << (r & 63);
        if (__atomic_load_n(&seen[r >> 6], __ATOMIC_RELAXED) & bit) continue;
        if (__atomic_fetch_or(&seen[r >> 6], bit, __ATOMIC_RELAXED) & bit) continue; /* another thread has it */
        float *row = weight + r * dim;
        double norm = norm2 ? norm2(row, dim) : row_norm(row, dim, norm_type);
        if (norm > max_norm) {
            float scale = (float)(max_norm / (norm + 1e-7));
            for (int64_t d = 0; d < dim; d++) row[d] *= scale;
        }
    }
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
        (s = eki_copy_struct(op, "input", "ek_bag_input", input, sizeof(ek_bag_input), sizeof(ek_bag_input), &in)))
        return s;
    if (in.index_type != EK_INDEX_I64 && in.index_type != EK_INDEX_I32)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: input->index_type=%d is not EK_INDEX_I64 (0) or EK_INDEX_I32 (1)", op,
                        (int)in.index_type);
    return embedding_renorm(a.rows, a.dim, in.num_indices, (eki_index){in.indices, in.index_type == EK_INDEX_I32}, max_norm,
                            norm_type, a.data);
}
