/* renorm.c — max_norm renormalisation of the unique rows an index list touches (what a max_norm
 * lookup does before its gather), in place, parallel over rows. */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

/* ||row||_p in double: p = 0 counts non-zeros, p = inf takes the largest magnitude. */
static double row_norm(const float *row, int64_t dim, double p) {
    double acc = 0.0;
    if (p == 2.0) {
        for (int64_t d = 0; d < dim; d++) acc += (double)row[d] * row[d];
        return sqrt(acc);
    }
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

    /* Unique rows in first-seen order; a bitmap is cheap even for huge tables (untouched pages
     * of a calloc'd block are never materialised). */
    unsigned char *seen = calloc((size_t)num_embeddings / 8 + 1, 1);
    int64_t *unique = malloc(sizeof(int64_t) * (size_t)n);
    if (!seen || !unique) {
        free(seen), free(unique);
        return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for %lld indices", op, (long long)n);
    }
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = eki_at(indices, i);
        unsigned char bit = (unsigned char)(1u << (r & 7));
        if (seen[r >> 3] & bit) continue;
        seen[r >> 3] |= bit;
        unique[count++] = r;
    }
#pragma omp parallel for schedule(static) num_threads(eki_num_threads()) if (count * dim >= EKI_PARALLEL_MIN_WORK)
    for (int64_t k = 0; k < count; k++) {
        float *row = weight + unique[k] * dim;
        double norm = row_norm(row, dim, norm_type);
        if (norm > max_norm) {
            float scale = (float)(max_norm / (norm + 1e-7));
            for (int64_t d = 0; d < dim; d++) row[d] *= scale;
        }
    }
    free(seen), free(unique);
    return EK_OK;
}

ek_status ek_embedding_renorm_f32_i64(int64_t num_embeddings, int64_t dim, int64_t num_indices, const int64_t *indices,
                                      double max_norm, double norm_type, float *weight) {
    return embedding_renorm(num_embeddings, dim, num_indices, eki_i64(indices), max_norm, norm_type, weight);
}
ek_status ek_embedding_renorm_f32_i32(int64_t num_embeddings, int64_t dim, int64_t num_indices, const int32_t *indices,
                                      double max_norm, double norm_type, float *weight) {
    return embedding_renorm(num_embeddings, dim, num_indices, eki_i32(indices), max_norm, norm_type, weight);
}
