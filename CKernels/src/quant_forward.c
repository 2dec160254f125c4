/* quant_forward.c — ek_lookup_forward and ek_bag_forward on a quantized table (EK_DTYPE_Q8 / Q4 / Q2;
 * embeddingkit.h, section 12). The same checks and messages as the fp32 verbs, all before any write;
 * then each row's values come from the ISA's q_dequant / q_axpy (isa.h) and are reduced in the fp32
 * order (as embedding_bag.c does for fp16 and bf16), so every result equals the fp32 forward on
 * the ek_dequantize table bit for bit, on every ISA and for any thread count (one thread per bag,
 * rows in input order). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"

/* rows x row_bytes bytes of table: the byte count, then the pointer (rows == 0 allows NULL). */
static ek_status check_table_bytes(const char *op, const eki_call *a, int64_t row_bytes) {
    ek_status s;
    if ((s = eki_check_bytes(op, "weight", a->rows, row_bytes, 1)) ||
        (s = eki_check_ptr(op, "weight", a->raw, a->rows * row_bytes)))
        return s;
    return EK_OK;
}

/* ---- lookup ---- */

ek_status eki_quant_lookup_forward(const eki_call *a, float *out) {
    static const char op[] = "embedding";
    int slot = eki_quant_slot(a->dtype);
    int64_t dim = a->dim, n = a->n;
    ek_status s;
    if ((s = eki_check_size(op, "num_embeddings", a->rows, 0)) || (s = eki_check_size(op, "dim", dim, 1)) ||
        (s = eki_check_size(op, "num_indices", n, 0)))
        return s;
    int64_t rb = eki_quant_row_size(slot, dim); /* dim < 2^60: eki_decode_forward checked row_stride */
    if ((s = check_table_bytes(op, a, rb)) || (s = eki_check_bytes(op, "out", n, dim, sizeof(float))) ||
        (s = eki_check_bytes(op, "indices", n, 1, sizeof(int64_t))) ||
        (s = eki_check_ptr(op, "indices", a->indices.data, n)) || (s = eki_check_ptr(op, "out", out, n * dim)) ||
        (s = eki_check_indices(op, a->indices, n, a->rows, "embeddings")))
        return s;
    const uint8_t *table = a->raw;
    eki_qrow_fn dq = eki_dispatch()->q_dequant[slot];
    EKI_PARALLEL_FOR(n * dim >= EKI_PARALLEL_MIN_WORK, (static),
    for (int64_t i = 0; i < n; i++) {
        if (i + EKI_PREFETCH_ROWS < n)
            EKI_PREFETCH_SPAN(table + eki_at(a->indices, i + EKI_PREFETCH_ROWS) * a->stride, (size_t)rb, 0);
        dq(dim, table + eki_at(a->indices, i) * a->stride, out + i * dim);
    });
    return EK_OK;
}

/* ---- bag ---- */

/* The bag checks of embedding_bag.c (check_bag_call_elem), with the packed table's byte count. */
static ek_status check_bag(const char *op, const eki_call *a, int64_t rb, eki_bags *bags, int64_t *pad) {
    ek_status s;
    int64_t dim = a->dim, n = a->n, B = a->num_bags;
    if ((s = eki_check_size(op, "num_embeddings", a->rows, 0)) || (s = eki_check_size(op, "dim", dim, 1)) ||
        (s = eki_check_size(op, "num_indices", n, 0)) || (s = eki_check_size(op, "num_bags", B, 0)) ||
        (s = eki_check_bytes(op, "weight", a->rows, rb, 1)) ||
        (s = eki_check_bytes(op, "out", B, dim, sizeof(float))) ||
        (s = eki_check_bytes(op, "max_indices", B, dim, sizeof(int64_t))) ||
        (s = eki_check_bytes(op, "offsets", B + (a->include_last_offset ? 1 : 0), 1, sizeof(int64_t))) ||
        (s = eki_check_bytes(op, "indices", n, 1, sizeof(int64_t))))
        return s;
    if (a->mode != EK_BAG_SUM && a->mode != EK_BAG_MEAN && a->mode != EK_BAG_MAX)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: mode=%d is not sum (0), mean (1) or max (2)", op, (int)a->mode);
    if ((s = eki_check_flag(op, "include_last_offset", a->include_last_offset))) return s;
    if (a->weights && a->mode == EK_BAG_MAX)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: per_sample_weights are not supported with mode max", op);
    if (!a->weights && a->num_weights != 0)
        return eki_fail(EK_ERR_NULL_POINTER, "%s: per_sample_weights is NULL but num_weights=%lld", op,
                        (long long)a->num_weights);
    if (a->weights && a->num_weights != n)
        return eki_fail(EK_ERR_SHAPE, "%s: per_sample_weights has %lld entries, input has %lld", op,
                        (long long)a->num_weights, (long long)n);
    if ((s = eki_check_ptr(op, "indices", a->indices.data, n)) ||
        (s = eki_check_bags(op, n, B, a->offsets, a->include_last_offset, bags)) ||
        (s = eki_check_indices(op, a->indices, n, a->rows, "embeddings")) ||
        (s = eki_resolve_padding(op, a->padding_idx, a->rows, pad)))
        return s;
    return EK_OK;
}

/* Bag b (the fp32 forward's order: skip padding, sum in input order, then the mean's division; max
 * keeps the first of ties and the first NaN). row: dim floats of this thread's scratch (max). */
static void one_bag(const eki_qbag_call *q, eki_index ix, int64_t b, float *out, int64_t *bag_size,
                    int64_t *max_indices, float *row) {
    int64_t dim = q->dim, begin = eki_bag_begin(&q->bags, b), end = eki_bag_end(&q->bags, b), count = 0;
    float weight_sum = 0.0f, *o = out + b * dim;
    int64_t *argmax = max_indices ? max_indices + b * dim : NULL;
    int is_max = q->mode == EK_BAG_MAX;
    if (!is_max) memset(o, 0, sizeof(float) * (size_t)dim);
    for (int64_t j = begin; j < end; j++) {
        if (j + EKI_PREFETCH_ROWS < q->n) /* across bag ends too: a bag's first rows were misses */
            EKI_PREFETCH_SPAN(q->table + eki_at(ix, j + EKI_PREFETCH_ROWS) * q->stride, (size_t)q->rb, 0);
        int64_t r = eki_at(ix, j);
        if (r == q->pad) continue;
        const uint8_t *packed = q->table + r * q->stride;
        if (!is_max) {
            float w = q->psw ? q->psw[j] : 1.0f; /* 1 * v == v: the unweighted sum, bit for bit */
            weight_sum += w;
            q->axpy(dim, w, packed, o);
            count++;
            continue;
        }
        if (count++ == 0) { /* the first row: straight into the output */
            q->dq(dim, packed, o);
            if (argmax) for (int64_t d = 0; d < dim; d++) argmax[d] = r;
            continue;
        }
        q->dq(dim, packed, row);
        for (int64_t d = 0; d < dim; d++) {
            float v = row[d];
            if (v > o[d] || (isnan(v) && !isnan(o[d]))) {
                o[d] = v;
                if (argmax) argmax[d] = r;
            }
        }
    }
    if (is_max && count == 0) {
        memset(o, 0, sizeof(float) * (size_t)dim);
        if (argmax) for (int64_t d = 0; d < dim; d++) argmax[d] = -1;
    }
    if (q->mode == EK_BAG_MEAN) {
        float denom = q->psw ? weight_sum : (float)count;
        if (denom == 0.0f) memset(o, 0, sizeof(float) * (size_t)dim);
        else for (int64_t d = 0; d < dim; d++) o[d] /= denom;
    }
    if (bag_size) bag_size[b] = count;
}

void eki_qbag_range_rows(const eki_qbag_call *c, int64_t b0, int64_t b1, float *out, int64_t *bag_size,
                         int64_t *max_indices, float *scratch) {
    eki_index ix = {c->indices, c->is32};
    for (int64_t b = b0; b < b1; b++) one_bag(c, ix, b, out, bag_size, max_indices, scratch);
}

void eki_qbag_range_scalar(const eki_qbag_call *c, int64_t b0, int64_t b1, float *out, int64_t *bag_size) {
    eki_qbag_range_rows(c, b0, b1, out, bag_size, NULL, NULL);
}

ek_status eki_quant_bag_forward(const eki_call *a, float *out, int64_t *bag_size, int64_t *max_indices) {
    static const char op[] = "embedding_bag";
    int slot = eki_quant_slot(a->dtype);
    eki_qbag_call q = {.table = a->raw, .indices = a->indices.data, .psw = a->weights, .n = a->n, .dim = a->dim,
                       .mode = a->mode, .stride = a->stride};
    ek_status s;
    if ((s = eki_check_size(op, "dim", a->dim, 1))) return s;
    q.rb = eki_quant_row_size(slot, a->dim);
    if ((s = check_bag(op, a, q.rb, &q.bags, &q.pad)) || (s = eki_check_ptr(op, "weight", a->raw, a->rows * q.rb)) ||
        (s = eki_check_ptr(op, "out", out, a->num_bags * a->dim)))
        return s;
    if (max_indices && a->mode != EK_BAG_MAX)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: max_indices is only written in mode max; pass NULL", op);
    /* slot t of T reduces bags [b0, b1) (internal.h: slots) */
    int T = (a->n + a->num_bags) * a->dim >= EKI_PARALLEL_MIN_WORK ? eki_num_threads() : 1, is32 = a->indices.is32 != 0;
    float *scratch = NULL;
    size_t mark = eki_scratch_mark();
    if (a->mode == EK_BAG_MAX && a->num_bags > 0) { /* one row per thread, before anything is written */
        scratch = eki_scratch_alloc(sizeof(float) * (size_t)a->dim * (size_t)T);
        if (!scratch) return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate a row of scratch for %d threads", op, T);
    }
    const eki_kernels *k = eki_dispatch();
    q.dq = k->q_dequant[slot], q.axpy = k->q_axpy[slot];
    q.is32 = is32;
    q.ahead = eki_bag_prefetch_rows_for(q.rb, 1, q.stride, q.table);
    eki_qbag_range_fn range = k->q_bag_range[slot][is32][a->weights != NULL];
    EKI_PARALLEL_FOR(T > 1, (static, 1),
    for (int t = 0; t < T; t++) {
        int64_t b0 = eki_bag_split(&q.bags, a->n, t, T), b1 = eki_bag_split(&q.bags, a->n, t + 1, T);
        if (b0 < b1) {
            if (scratch) eki_qbag_range_rows(&q, b0, b1, out, bag_size, max_indices, scratch + (size_t)t * (size_t)a->dim);
            else range(&q, b0, b1, out, bag_size);
        }
    });
    eki_scratch_release(mark);
    return EK_OK;
}
