/* fuzz_coo.c — COO coalesce and scatter-add (embeddingkit.h section 4): rows in any order, sorted,
 * strictly increasing (the scatter-add's no-grouping path), duplicated, out of range; any alpha.
 *
 * Input: [flags] [num_rows] [dim] [nnz] [rows order] [alpha] [nulls], then the rows, the values and
 *        the initial table. */
#include "fuzz_common.h"

enum { S_ROWS, S_VALUES, S_OUT_ROWS, S_OUT_VALUES, S_OUT_NNZ, S_TABLE, S_COUNT };

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in f = fz_begin(data, size);
    int wild = 0;
    int64_t num = fz_size(&f, 64, &wild), dim = fz_size(&f, 16, &wild), nnz = fz_size(&f, 255, &wild);
    uint8_t order = fz_u8(&f);
    float alpha = fz_float(&f);
    fz_nulls z = fz_decode_nulls(&f, S_COUNT);

    int64_t table_elems = wild ? FZ_DUMMY : num * dim, value_elems = wild ? FZ_DUMMY : nnz * dim;
    int64_t row_elems = wild ? FZ_DUMMY : nnz;
    fz_bufs R = {0};
    int64_t *rows = fz_alloc(&R, "rows", 8 * (size_t)row_elems, 1);
    float *values = fz_alloc(&R, "values", 4 * (size_t)value_elems, 1);
    int64_t *out_rows = fz_alloc(&R, "out_rows", 8 * (size_t)row_elems, 0);
    float *out_values = fz_alloc(&R, "out_values", 4 * (size_t)value_elems, 0);
    int64_t *out_nnz = fz_alloc(&R, "out_nnz", 8, 0);
    float *table = fz_alloc(&R, "table", 4 * (size_t)table_elems, 0);
    if (!wild) {
        for (int64_t i = 0; i < nnz; i++) rows[i] = fz_index(&f, num);
        if (order % 4 == 1 || order % 4 == 2) qsort(rows, (size_t)nnz, 8, cmp_i64); /* sorted, maybe repeating */
        if (order % 4 == 2 && nnz > 0) { /* strictly increasing: drop repeats by bumping */
            for (int64_t i = 1; i < nnz; i++)
                if (rows[i] <= rows[i - 1] && rows[i - 1] < INT64_MAX) rows[i] = rows[i - 1] + 1;
        }
        fz_floats(&f, values, nnz * dim);
        fz_floats(&f, table, num * dim);
    }
    fz_freeze(&R);

    fz_mask base = 0;
    fz_need_size(&base, num, 0), fz_need_size(&base, dim, 1), fz_need_size(&base, nnz, 0);
    fz_need_bytes(&base, num, dim, 4), fz_need_bytes(&base, nnz, dim, 4), fz_need_int_bytes(&base, nnz, 1, 8);
    int size_bad = base != 0;
    const int64_t *p_rows = fz_ptr(&z, S_ROWS, rows, nnz);
    const float *p_values = fz_ptr(&z, S_VALUES, values, fz_elems(nnz, dim));
    fz_need_ptr(&base, p_rows, nnz, 1), fz_need_ptr(&base, p_values, nnz, dim);
    if (!wild && p_rows)
        for (int64_t i = 0; i < nnz; i++)
            if (rows[i] < 0 || rows[i] >= num) base |= FZ_BIT(EK_ERR_INDEX_OUT_OF_RANGE);
    int64_t *ref_rows = malloc(8 * (size_t)row_elems + 8);
    float *ref_values = malloc(4 * (size_t)value_elems + 4), *ref_table = malloc(4 * (size_t)table_elems + 4);

    if (!wild || size_bad) {
        /* coalesce */
        int64_t *p_out_rows = fz_ptr(&z, S_OUT_ROWS, out_rows, nnz);
        float *p_out_values = fz_ptr(&z, S_OUT_VALUES, out_values, fz_elems(nnz, dim));
        int64_t *p_out_nnz = fz_ptr(&z, S_OUT_NNZ, out_nnz, 1);
        fz_mask m = base;
        fz_need_ptr(&m, p_out_rows, nnz, 1), fz_need_ptr(&m, p_out_values, nnz, dim), fz_need_ptr(&m, p_out_nnz, 1, 1);
        if (wild) m = FZ_ANY_ERROR;
        fz_ctx_set("ek_coo_coalesce_f32(num_rows=%lld, dim=%lld, nnz=%lld)", (long long)num, (long long)dim, (long long)nnz);
        if (!wild) fz_ctx_i64s("rows", rows, nnz), fz_ctx_f32s("values", values, nnz * dim);
        fz_reset(&R);
        ek_status s = ek_coo_coalesce_f32(num, dim, nnz, p_rows, p_values, p_out_rows, p_out_values, p_out_nnz);
        fz_check_status(s, m);
        fz_check_buffers(&R, s);
        if (s == EK_OK) {
            int64_t k = ekref_coo_coalesce(num, dim, nnz, rows, values, ref_rows, ref_values);
            if (*out_nnz != k) fz_fail("*out_nnz = %lld, the reference gives %lld", (long long)*out_nnz, (long long)k);
            fz_same_i64("out_rows", out_rows, ref_rows, k);
            if (!f.any_special) fz_close("out_values", out_values, ref_values, k * dim, NULL);
        }

        /* scatter-add */
        float *p_table = fz_ptr(&z, S_TABLE, table, fz_elems(num, dim));
        m = base;
        fz_need_ptr(&m, p_table, num, dim);
        if (wild) m = FZ_ANY_ERROR;
        fz_ctx_set("ek_coo_scatter_add_f32(num_rows=%lld, dim=%lld, nnz=%lld, alpha=%.9g)", (long long)num, (long long)dim,
                   (long long)nnz, (double)alpha);
        if (!wild) fz_ctx_i64s("rows", rows, nnz), fz_ctx_f32s("values", values, nnz * dim);
        fz_reset(&R);
        s = ek_coo_scatter_add_f32(num, dim, nnz, p_rows, p_values, alpha, p_table);
        fz_check_status(s, m);
        fz_check_buffers(&R, s);
        if (s == EK_OK && !f.any_special) {
            memcpy(ref_table, fz_initial(&R, table), 4 * (size_t)(num * dim));
            ekref_coo_scatter_add(num, dim, nnz, rows, values, alpha, ref_table);
            fz_close("table", table, ref_table, num * dim, NULL);
        }
    }
    free(ref_rows), free(ref_values), free(ref_table);
    fz_free_all(&R);
    return 0;
}
