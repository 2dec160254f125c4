/* sparse.c — COO gradients: coalesce (sorted unique rows, summed values) and scatter-add into a
 * dense table, the primitive of every sparse optimizer step. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static ek_status check_coo(const char *op, int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows,
                           const float *values) {
    ek_status s;
    if ((s = eki_check_size(op, "num_rows", num_rows, 0)) || (s = eki_check_size(op, "dim", dim, 1)) ||
        (s = eki_check_size(op, "nnz", nnz, 0)) || (s = eki_check_bytes(op, "table", num_rows, dim, sizeof(float))) ||
        (s = eki_check_bytes(op, "values", nnz, dim, sizeof(float))) || (s = eki_check_bytes(op, "rows", nnz, 1, sizeof(int64_t))) ||
        (s = eki_check_ptr(op, "rows", rows, nnz)) ||
        (s = eki_check_ptr(op, "values", values, nnz * dim)))
        return s;
    return eki_check_indices(op, eki_i64(rows), nnz, num_rows, "rows");
}

/* Groups COO entries by row into the calling thread's scratch (the caller releases it); group_row
 * (nullable) receives each group's row. */
static ek_status group_entries(const char *op, int64_t num_rows, int64_t nnz, const int64_t *rows, int64_t **order,
                               int64_t **start, int64_t *group_row, int64_t *groups) {
    *order = eki_scratch_alloc(sizeof(int64_t) * ((size_t)nnz + 1));
    *start = eki_scratch_alloc(sizeof(int64_t) * ((size_t)nnz + 2));
    if (!*order || !*start)
        return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for %lld entries", op, (long long)nnz);
    return eki_group_by_row(op, eki_i64(rows), nnz, num_rows, -1, *order, *start, group_row, groups);
}

ek_status ek_coo_coalesce_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                              int64_t *out_rows, float *out_values, int64_t *out_nnz) {
    static const char op[] = "coo_coalesce";
    int64_t *order, *start, groups;
    ek_status s = check_coo(op, num_rows, dim, nnz, rows, values);
    if (s || (s = eki_check_ptr(op, "out_rows", out_rows, nnz)) ||
        (s = eki_check_ptr(op, "out_values", out_values, nnz * dim)) || (s = eki_check_ptr(op, "out_nnz", out_nnz, 1)))
        return s;
    size_t mark = eki_scratch_mark();
    /* every check is done: the grouping writes the output rows (ascending) itself */
    if ((s = group_entries(op, num_rows, nnz, rows, &order, &start, out_rows, &groups))) {
        eki_scratch_release(mark);
        return s;
    }

    eki_row_fn axpy = eki_dispatch()->axpy; /* a = 1: dst += 1 * src is dst += src, bit for bit */
    EKI_PARALLEL_FOR(nnz * dim >= EKI_PARALLEL_MIN_WORK, (static, 64),
    for (int64_t g = 0; g < groups; g++) {
        float *dst = out_values + g * dim;
        if (g + 8 < groups) EKI_PREFETCH_SPAN(values + order[start[g + 8]] * dim, sizeof(float) * (size_t)dim, 0);
        memcpy(dst, values + order[start[g]] * dim, sizeof(float) * (size_t)dim);
        for (int64_t k = start[g] + 1; k < start[g + 1]; k++) axpy(dim, 1.0f, values + order[k] * dim, dst);
    });
    *out_nnz = groups;
    eki_scratch_release(mark);
    return EK_OK;
}

ek_status ek_coo_scatter_add_f32(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                                 float alpha, float *table) {
    static const char op[] = "coo_scatter_add";
    ek_status s = check_coo(op, num_rows, dim, nnz, rows, values);
    if (s || (s = eki_check_ptr(op, "table", table, num_rows * dim))) return s;

    /* coalesced input needs no special case: no row is shared between chunks, nothing is deferred */
    return eki_scatter_add_rows(op, eki_i64(rows), nnz, num_rows, -1, dim, alpha, values, table);
}
