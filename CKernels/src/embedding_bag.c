/* embedding_bag.c — EmbeddingBag forward (sum / mean / max, offsets or fixed-length bags, per-sample
 * weights, padding), its dense and sparse backward in every mode, and the per-sample-weight gradient.
 * Forward and weight gradient are parallel over bags; the dense backward is parallel over rows
 * (grouped by eki_group_by_row), so every result is independent of the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embedding_bag.h"
#include "quant.h"

/* Sizes and byte counts first (every array the bag kernels may touch, outputs included), then
 * options, then the contents of offsets and indices: nothing is read before its size is known good. */
/* weight_elem: the bytes of one table element (4, or 2 for an fp16 / bf16 table: the forward). */
static ek_status check_bag_call_elem(const char *op, int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags,
                                     int64_t num_weights, eki_index indices, eki_index offsets,
                                     int32_t include_last_offset, const float *weights, ek_bag_mode mode,
                                     int64_t padding_idx, size_t weight_elem, eki_bag_call *c) {
    ek_status s;
    if ((s = eki_check_size(op, "num_embeddings", num_embeddings, 0)) || (s = eki_check_size(op, "dim", dim, 1)) ||
        (s = eki_check_size(op, "num_indices", n, 0)) || (s = eki_check_size(op, "num_bags", num_bags, 0)) ||
        (s = eki_check_bytes(op, "weight", num_embeddings, dim, weight_elem)) ||
        (s = eki_check_bytes(op, "out", num_bags, dim, sizeof(float))) ||
        (s = eki_check_bytes(op, "max_indices", num_bags, dim, sizeof(int64_t))) ||
        (s = eki_check_bytes(op, "offsets", num_bags + (include_last_offset ? 1 : 0), 1, sizeof(int64_t))) ||
        (s = eki_check_bytes(op, "indices", n, 1, sizeof(int64_t))) ||
        (s = eki_check_bytes(op, "out_values", n, dim, sizeof(float))))
        return s;
    if (mode != EK_BAG_SUM && mode != EK_BAG_MEAN && mode != EK_BAG_MAX)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: mode=%d is not sum (0), mean (1) or max (2)", op, (int)mode);
    if ((s = eki_check_flag(op, "include_last_offset", include_last_offset))) return s;
    if (weights && mode == EK_BAG_MAX)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: per_sample_weights are not supported with mode max", op);
    if (!weights && num_weights != 0)
        return eki_fail(EK_ERR_NULL_POINTER, "%s: per_sample_weights is NULL but num_weights=%lld", op, (long long)num_weights);
    if (weights && num_weights != n)
        return eki_fail(EK_ERR_SHAPE, "%s: per_sample_weights has %lld entries, input has %lld", op,
                        (long long)num_weights, (long long)n);
    if ((s = eki_check_ptr(op, "indices", indices.data, n)) ||
        (s = eki_check_bags(op, n, num_bags, offsets, include_last_offset, &c->bags)) ||
        (s = eki_check_indices(op, indices, n, num_embeddings, "embeddings")) ||
        (s = eki_resolve_padding(op, padding_idx, num_embeddings, &c->pad)))
        return s;
    c->num_embeddings = num_embeddings, c->dim = dim, c->n = n, c->stride = dim; /* a verb with a table sets its own */
    c->indices = indices, c->weights = weights, c->mode = mode;
    c->prefetch_rows = 0; /* the forward's: bag_forward sets it from the table's row size */
    return EK_OK;
}

/* The fp32 table's checks (every verb but the forward). */
static ek_status check_bag_call(const char *op, int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags,
                                int64_t num_weights, eki_index indices, eki_index offsets, int32_t include_last_offset,
                                const float *weights, ek_bag_mode mode, int64_t padding_idx, eki_bag_call *c) {
    return check_bag_call_elem(op, num_embeddings, dim, n, num_bags, num_weights, indices, offsets, include_last_offset,
                               weights, mode, padding_idx, sizeof(float), c);
}

/* ---- forward ----
 *
 * Each thread takes one contiguous range of bags, balanced by indices + bags (bag_range), and walks
 * it in order, prefetching the row c->prefetch_rows positions ahead (chosen at run time for the CPU
 * and the row's size: tuning.c; within its range). A bag is reduced by one thread, rows added in input order:
 * the same result for any thread count, and for any ISA (the vector paths do the scalar loop's
 * operations lane by lane in its order: o + x unweighted, fma(w, x, o) weighted, as FBGEMM does). The
 * columns go in blocks of up to 16 vectors held in registers (embedding_bag.h:
 * EKI_BAG_BLOCK_ELEMS_<ISA>); a wider row is walked once per block, each pass prefetching its own
 * columns of the rows ahead. */

static inline void prefetch_row(const eki_bag_call *c, const float *weight, int64_t j, int64_t pend) {
    if (j < pend) EKI_PREFETCH_SPAN(weight + eki_at(c->indices, j) * c->stride, sizeof(float) * (size_t)c->dim, 0);
}

static void sum_range_scalar(const eki_bag_call *c, const float *weight, int64_t b0, int64_t b1, float *out,
                             int64_t *bag_size, int64_t *max_indices) {
    (void)max_indices;
    int64_t dim = c->dim, pend = b1 > b0 ? eki_bag_end(&c->bags, b1 - 1) : 0;
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float weight_sum = 0.0f, *o = out + b * dim;
        memset(o, 0, sizeof(float) * (size_t)dim);
        for (int64_t j = begin; j < end; j++) {
            prefetch_row(c, weight, j + c->prefetch_rows, pend);
            int64_t r = eki_at(c->indices, j);
            if (r == c->pad) continue;
            count++;
            const float *row = weight + r * c->stride;
            if (c->weights) {
                float w = c->weights[j];
                weight_sum += w;
                for (int64_t d = 0; d < dim; d++) o[d] = fmaf(w, row[d], o[d]);
            } else {
                for (int64_t d = 0; d < dim; d++) o[d] += row[d];
            }
        }
        if (c->mode == EK_BAG_MEAN) {
            float denom = c->weights ? weight_sum : (float)count;
            if (denom == 0.0f) memset(o, 0, sizeof(float) * (size_t)dim);
            else for (int64_t d = 0; d < dim; d++) o[d] /= denom;
        }
        if (bag_size) bag_size[b] = count;
    }
}

/* Max, shared by the fp32 and the half ranges: the bag's first row r is copied (`row` already in
 * o when NULL), every later one merged element by element; an empty bag is zeros (argmax -1). */
static inline void max_first_row(const float *row, int64_t r, int64_t dim, float *o, int64_t *argmax) {
    if (row) memcpy(o, row, sizeof(float) * (size_t)dim);
    if (argmax) for (int64_t d = 0; d < dim; d++) argmax[d] = r;
}

static inline void max_merge_row(const float *row, int64_t r, int64_t dim, float *o, int64_t *argmax) {
    for (int64_t d = 0; d < dim; d++) {
        float v = row[d];
        /* strict > keeps the first of equal values; a NaN beats any number and stays */
        if (v > o[d] || (isnan(v) && !isnan(o[d]))) {
            o[d] = v;
            if (argmax) argmax[d] = r;
        }
    }
}

static inline void max_empty_bag(int64_t dim, float *o, int64_t *argmax) {
    memset(o, 0, sizeof(float) * (size_t)dim);
    if (argmax) for (int64_t d = 0; d < dim; d++) argmax[d] = -1;
}

static void max_range_scalar(const eki_bag_call *c, const float *weight, int64_t b0, int64_t b1, float *out,
                             int64_t *bag_size, int64_t *max_indices) {
    int64_t dim = c->dim, pend = b1 > b0 ? eki_bag_end(&c->bags, b1 - 1) : 0;
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float *o = out + b * dim;
        int64_t *argmax = max_indices ? max_indices + b * dim : NULL;
        for (int64_t j = begin; j < end; j++) {
            prefetch_row(c, weight, j + c->prefetch_rows, pend);
            int64_t r = eki_at(c->indices, j);
            if (r == c->pad) continue;
            const float *row = weight + r * c->stride;
            if (count++ == 0) max_first_row(row, r, dim, o, argmax);
            else max_merge_row(row, r, dim, o, argmax);
        }
        if (count == 0) max_empty_bag(dim, o, argmax);
        if (bag_size) bag_size[b] = count;
    }
}

/* The scalar range (every slot of the scalar table's bag_range): sum / mean or max. */
void eki_bag_range_scalar(const eki_bag_call *c, const float *weight, int64_t b0, int64_t b1, float *out,
                          int64_t *bag_size, int64_t *max_indices) {
    if (c->mode == EK_BAG_MAX) max_range_scalar(c, weight, b0, b1, out, bag_size, max_indices);
    else sum_range_scalar(c, weight, b0, b1, out, bag_size, max_indices);
}

/* Ranges of bags of an fp16 or bf16 table, reduced as sum_range_scalar / max_range_scalar do, in the
 * same order with the same operations, so the result equals the fp32 forward of the widened table
 * bit for bit. Sum and mean: each row's fma(w, row, o) as it is widened (w = 1 unweighted:
 * fma(1, x, o) == o + x); the ISA's half_bag_sum, this is its scalar form. */
void eki_half_bag_sum_scalar(const eki_bag_call *c, const uint16_t *weight, int bf16, int64_t b0, int64_t b1,
                             float *out, int64_t *bag_size) {
    int64_t dim = c->dim, pend = b1 > b0 ? eki_bag_end(&c->bags, b1 - 1) : 0;
    void (*axpy)(int64_t, float, const uint16_t *, float *) = bf16 ? eki_axpy_bf16_scalar : eki_axpy_f16_scalar;
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float weight_sum = 0.0f, *o = out + b * dim;
        memset(o, 0, sizeof(float) * (size_t)dim);
        for (int64_t j = begin; j < end; j++) {
            if (j + c->prefetch_rows < pend)
                EKI_PREFETCH_SPAN(weight + eki_at(c->indices, j + c->prefetch_rows) * c->stride, 2 * (size_t)dim, 0);
            int64_t r = eki_at(c->indices, j);
            if (r == c->pad) continue;
            count++;
            float w = c->weights ? c->weights[j] : 1.0f;
            weight_sum += w;
            axpy(dim, w, weight + r * c->stride, o);
        }
        if (c->mode == EK_BAG_MEAN) {
            float denom = c->weights ? weight_sum : (float)count;
            if (denom == 0.0f) memset(o, 0, sizeof(float) * (size_t)dim);
            else for (int64_t d = 0; d < dim; d++) o[d] /= denom;
        }
        if (bag_size) bag_size[b] = count;
    }
}

/* Max: each row converted exactly into `row` (dim floats of this thread's scratch), then compared. */
static void half_max_range(const eki_bag_call *c, const uint16_t *weight, eki_cvt_fn cvt, int64_t b0, int64_t b1,
                           float *out, int64_t *bag_size, int64_t *max_indices, float *row) {
    int64_t dim = c->dim, pend = b1 > b0 ? eki_bag_end(&c->bags, b1 - 1) : 0;
    for (int64_t b = b0; b < b1; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        float *o = out + b * dim;
        int64_t *argmax = max_indices ? max_indices + b * dim : NULL;
        for (int64_t j = begin; j < end; j++) {
            if (j + c->prefetch_rows < pend)
                EKI_PREFETCH_SPAN(weight + eki_at(c->indices, j + c->prefetch_rows) * c->stride, 2 * (size_t)dim, 0);
            int64_t r = eki_at(c->indices, j);
            if (r == c->pad) continue;
            if (count++ == 0) { /* the first row: converted straight into the output */
                cvt(dim, weight + r * c->stride, o);
                max_first_row(NULL, r, dim, o, argmax);
                continue;
            }
            cvt(dim, weight + r * c->stride, row);
            max_merge_row(row, r, dim, o, argmax);
        }
        if (count == 0) max_empty_bag(dim, o, argmax);
        if (bag_size) bag_size[b] = count;
    }
}

static ek_status bag_forward(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags, int64_t num_weights,
                             const void *table, int64_t stride, ek_dtype dtype, eki_index indices, eki_index offsets,
                             int32_t include_last_offset, const float *weights, ek_bag_mode mode, int64_t padding_idx,
                             float *out, int64_t *bag_size, int64_t *max_indices) {
    static const char op[] = "embedding_bag";
    eki_bag_call c;
    ek_status s = check_bag_call_elem(op, num_embeddings, dim, n, num_bags, num_weights, indices, offsets,
                                      include_last_offset, weights, mode, padding_idx, eki_dtype_size(dtype), &c);
    if (s || (s = eki_check_ptr(op, "weight", table, num_embeddings * dim)) ||
        (s = eki_check_ptr(op, "out", out, num_bags * dim)))
        return s;
    if (max_indices && mode != EK_BAG_MAX)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: max_indices is only written in mode max; pass NULL", op);
    c.stride = stride;
    /* the distance for the bytes one pass reads of a row (the ISA's block, or the whole row) */
    int64_t esize = (int64_t)eki_dtype_size(dtype), block = eki_dispatch()->bag_block_elems;
    c.prefetch_rows = eki_bag_prefetch_rows_for(block > 0 && block < dim ? block : dim, esize, stride, table);

    /* slot t of T sums bags [b0, b1), a share of the indices and bags (internal.h: slots) */
    int T = (n + num_bags) * dim >= EKI_PARALLEL_MIN_WORK ? eki_num_threads() : 1;
    if (dtype != EK_DTYPE_F32) {
        /* max: one converted row per slot, allocated before anything is written */
        int is_max = mode == EK_BAG_MAX;
        size_t mark = eki_scratch_mark();
        float *scratch = is_max ? eki_scratch_alloc(sizeof(float) * (size_t)dim * (size_t)T) : NULL;
        if (is_max && !scratch) return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate a row of scratch for %d threads", op, T);
        const eki_kernels *k = eki_dispatch();
        eki_cvt_fn cvt = dtype == EK_DTYPE_F16 ? k->cvt_f16 : k->cvt_bf16;
        eki_half_bag_fn sum = k->half_bag_sum;
        int bf16 = dtype == EK_DTYPE_BF16;
        EKI_PARALLEL_FOR(T > 1, (static, 1),
        for (int t = 0; t < T; t++) {
            int64_t b0 = eki_bag_split(&c.bags, n, t, T), b1 = eki_bag_split(&c.bags, n, t + 1, T);
            if (b0 >= b1) continue;
            if (is_max) half_max_range(&c, table, cvt, b0, b1, out, bag_size, max_indices, scratch + (size_t)t * (size_t)dim);
            else sum(&c, table, bf16, b0, b1, out, bag_size);
        });
        eki_scratch_release(mark);
        return EK_OK;
    }
    const float *weight = table;

    eki_bag_range_fn fn = eki_dispatch()->bag_range[c.indices.is32][c.weights != NULL];
    EKI_PARALLEL_FOR(T > 1, (static, 1),
    for (int t = 0; t < T; t++) {
        int64_t b0 = eki_bag_split(&c.bags, n, t, T), b1 = eki_bag_split(&c.bags, n, t + 1, T);
        if (b0 < b1) fn(&c, weight, b0, b1, out, bag_size, max_indices);
    });
    return EK_OK;
}

/* ---- backward ---- */

/* What the backward needs per input position j (in the calling thread's scratch: the caller
 * releases it):
 *   bag_of[j]  the bag holding j, or -1 (padding, or no bag at all);
 *   coef[j]    sum/mean: the factor applied to grad_out[bag_of[j]] (weights, 1/|bag|, 1/freq);
 *   first[j]   max: j is the first position of its bag holding its row (it alone takes the gradient);
 *   order/start/groups  the positions grouped by row (dense backward, freq scaling, max), and
 *   row_of_group[g] the row of group g. */
typedef struct {
    int64_t *bag_of;
    float *coef;
    unsigned char *first;
    int64_t *order, *start, *row_of_group, groups;
} bag_plan;

static ek_status make_plan(const char *op, const eki_bag_call *c, int32_t scale_grad_by_freq, int need_groups, bag_plan *p) {
    int64_t n = c->n;
    size_t cells = (size_t)n + 1;
    memset(p, 0, sizeof *p);
    int is_max = c->mode == EK_BAG_MAX;
    need_groups = need_groups || scale_grad_by_freq || is_max;
    p->bag_of = eki_scratch_alloc(sizeof(int64_t) * cells);
    if (is_max) p->first = eki_scratch_alloc(cells);
    else p->coef = eki_scratch_alloc(sizeof(float) * cells);
    if (need_groups) {
        p->order = eki_scratch_alloc(sizeof(int64_t) * cells);
        p->start = eki_scratch_alloc(sizeof(int64_t) * (cells + 1));
        p->row_of_group = eki_scratch_alloc(sizeof(int64_t) * cells);
    }
    if (!p->bag_of || (is_max ? !p->first : !p->coef) || (need_groups && (!p->order || !p->start || !p->row_of_group)))
        return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for %lld indices", op, (long long)n);
    ek_status s;
    if (need_groups && (s = eki_group_by_row(op, c->indices, n, c->num_embeddings, c->pad, p->order, p->start, p->row_of_group, &p->groups)))
        return s;
    for (int64_t j = 0; j < n; j++) p->bag_of[j] = -1;

    EKI_PARALLEL_FOR(n * 4 >= EKI_PARALLEL_MIN_WORK, (static, 16),
    for (int64_t b = 0; b < c->bags.num_bags; b++) {
        int64_t begin = eki_bag_begin(&c->bags, b), end = eki_bag_end(&c->bags, b), count = 0;
        double weight_sum = 0.0;
        for (int64_t j = begin; j < end; j++) {
            if (eki_at(c->indices, j) == c->pad) continue;
            p->bag_of[j] = b;
            count++;
            if (c->weights) weight_sum += c->weights[j];
        }
        if (is_max) continue;
        for (int64_t j = begin; j < end; j++) {
            if (p->bag_of[j] < 0) continue;
            double w = c->weights ? c->weights[j] : 1.0;
            double k = c->mode == EK_BAG_SUM ? w : c->weights ? (weight_sum == 0.0 ? 0.0 : w / weight_sum) : w / (double)count;
            p->coef[j] = (float)k;
        }
    });
    if (need_groups)
        for (int64_t g = 0; g < p->groups; g++) {
            int64_t size = p->start[g + 1] - p->start[g];
            for (int64_t k = p->start[g]; k < p->start[g + 1]; k++) {
                int64_t j = p->order[k];
                if (is_max)
                    p->first[j] = k == p->start[g] || p->bag_of[p->order[k - 1]] != p->bag_of[j];
                else if (scale_grad_by_freq)
                    p->coef[j] = (float)((double)p->coef[j] / (double)size);
            }
        }
    return EK_OK;
}

/* Backward checks beyond the forward's: grad_out, the freq/max combination, max_indices. */
static ek_status check_backward(const char *op, const eki_bag_call *c, int32_t scale_grad_by_freq, const int64_t *max_indices,
                                const float *grad_out) {
    ek_status s;
    int64_t cells = c->bags.num_bags * c->dim;
    if ((s = eki_check_flag(op, "scale_grad_by_freq", scale_grad_by_freq)) ||
        (s = eki_check_ptr(op, "grad_out", grad_out, cells)))
        return s;
    if (c->mode != EK_BAG_MAX) return EK_OK;
    if (scale_grad_by_freq)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: scale_grad_by_freq is not supported with mode max", op);
    if ((s = eki_check_ptr(op, "max_indices", max_indices, cells))) return s;
    for (int64_t i = 0; i < cells; i++)
        if (max_indices[i] < -1 || max_indices[i] >= c->num_embeddings)
            return eki_fail(EK_ERR_INDEX_OUT_OF_RANGE, "%s: max_indices[%lld]=%lld is out of range for %lld embeddings", op,
                            (long long)i, (long long)max_indices[i], (long long)c->num_embeddings);
    return EK_OK;
}

/* The gradient row of position j (not padding, in bag b) into dst (= for sparse, += for dense);
 * row: the ISA's row primitive for sum / mean (the table's scale or axpy). */
static inline void entry_gradient(const eki_bag_call *c, const bag_plan *p, const int64_t *max_indices,
                                  const float *grad_out, int64_t j, int accumulate, eki_row_fn row, float *dst) {
    int64_t b = p->bag_of[j], dim = c->dim;
    const float *g = grad_out + b * dim;
    if (c->mode == EK_BAG_MAX) {
        int64_t r = eki_at(c->indices, j);
        const int64_t *won = max_indices + b * dim;
        int mine = p->first[j];
        for (int64_t d = 0; d < dim; d++) {
            float v = mine && won[d] == r ? g[d] : 0.0f;
            if (accumulate) dst[d] += v;
            else dst[d] = v;
        }
    } else {
        row(dim, p->coef[j], g, dst);
    }
}

static ek_status bag_backward_dense(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags, int64_t num_weights,
                                    eki_index indices, eki_index offsets, int32_t include_last_offset,
                                    const float *weights, ek_bag_mode mode, int64_t padding_idx,
                                    int32_t scale_grad_by_freq, const int64_t *max_indices, const float *grad_out,
                                    float *grad_weight) {
    static const char op[] = "embedding_bag_backward";
    eki_bag_call c;
    bag_plan p;
    ek_status s = check_bag_call(op, num_embeddings, dim, n, num_bags, num_weights, indices, offsets,
                                 include_last_offset, weights, mode, padding_idx, &c);
    if (s || (s = check_backward(op, &c, scale_grad_by_freq, max_indices, grad_out)) ||
        (s = eki_check_ptr(op, "grad_weight", grad_weight, num_embeddings * dim)))
        return s;
    if (n == 0) return EK_OK;
    size_t mark = eki_scratch_mark();
    if ((s = make_plan(op, &c, scale_grad_by_freq, 1, &p))) {
        eki_scratch_release(mark);
        return s;
    }

    eki_row_fn axpy = eki_dispatch()->axpy;
    EKI_PARALLEL_FOR(n * dim >= EKI_PARALLEL_MIN_WORK, (static, 64),
    for (int64_t g = 0; g < p.groups; g++) {
        float *dst = grad_weight + p.row_of_group[g] * dim;
        for (int64_t k = p.start[g]; k < p.start[g + 1]; k++)
            if (p.bag_of[p.order[k]] >= 0) entry_gradient(&c, &p, max_indices, grad_out, p.order[k], 1, axpy, dst);
    });
    eki_scratch_release(mark);
    return EK_OK;
}

static ek_status bag_backward_sparse(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags, int64_t num_weights,
                                     eki_index indices, eki_index offsets, int32_t include_last_offset,
                                     const float *weights, ek_bag_mode mode, int64_t padding_idx,
                                     int32_t scale_grad_by_freq, const int64_t *max_indices, const float *grad_out,
                                     int64_t *out_rows, float *out_values, int64_t *out_nnz) {
    static const char op[] = "embedding_bag_backward_sparse";
    eki_bag_call c;
    bag_plan p;
    ek_status s = check_bag_call(op, num_embeddings, dim, n, num_bags, num_weights, indices, offsets,
                                 include_last_offset, weights, mode, padding_idx, &c);
    if (s || (s = check_backward(op, &c, scale_grad_by_freq, max_indices, grad_out)) ||
        (s = eki_check_ptr(op, "out_rows", out_rows, n)) || (s = eki_check_ptr(op, "out_values", out_values, n * dim)) ||
        (s = eki_check_ptr(op, "out_nnz", out_nnz, 1)))
        return s;
    size_t mark = eki_scratch_mark();
    if ((s = make_plan(op, &c, scale_grad_by_freq, 0, &p))) {
        eki_scratch_release(mark);
        return s;
    }

    /* Entry k of the output is the k-th position that is in a bag and not padding. */
    int64_t *dest = eki_scratch_alloc(sizeof(int64_t) * ((size_t)n + 1));
    if (!dest) {
        eki_scratch_release(mark);
        return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for %lld indices", op, (long long)n);
    }
    int64_t nnz = 0;
    for (int64_t j = 0; j < n; j++) dest[j] = p.bag_of[j] >= 0 ? nnz++ : -1;

    /* A large gradient is written with non-temporal stores: it does not fit in the cache anyway, and
     * streaming saves reading every destination line first. */
    const eki_kernels *k = eki_dispatch();
    eki_row_fn scale = sizeof(float) * (size_t)nnz * (size_t)dim >= EKI_STREAM_MIN_BYTES ? k->scale_stream : k->scale;
    /* a share of the entries per slot, which fences its own non-temporal stores (internal.h: slots) */
    int T = n * dim >= EKI_PARALLEL_MIN_WORK ? eki_num_threads() : 1;
    EKI_PARALLEL_FOR(T > 1, (static, 1),
    for (int t = 0; t < T; t++) {
        for (int64_t j = eki_share(n, t, T), e = eki_share(n, t + 1, T); j < e; j++) {
            if (dest[j] < 0) continue;
            out_rows[dest[j]] = eki_at(indices, j);
            entry_gradient(&c, &p, max_indices, grad_out, j, 0, scale, out_values + dest[j] * dim);
        }
        eki_stream_fence();
    });
    *out_nnz = nnz;
    eki_scratch_release(mark);
    return EK_OK;
}

/* The fused sparse backward + SGD step: entry j's gradient row is made where the scatter needs it,
 * so the N x D gradient never reaches memory. Sum and mean: coef[j] times grad_out's row of the bag,
 * inside the update (the table's axpy_scaled); max: made in the thread's scratch row by max_row. */
typedef struct {
    const eki_bag_call *c;
    const bag_plan *p;
    const int64_t *max_indices;
    const float *grad_out;
} max_source;

static const float *max_row(const void *ctx, int64_t j, float *scratch) {
    const max_source *f = ctx;
    if (f->p->bag_of[j] < 0) return NULL;
    entry_gradient(f->c, f->p, f->max_indices, f->grad_out, j, 0, NULL, scratch);
    return scratch;
}

static ek_status bag_backward_sgd(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags, int64_t num_weights,
                                  eki_index indices, eki_index offsets, int32_t include_last_offset, const float *weights,
                                  ek_bag_mode mode, int64_t padding_idx, int32_t scale_grad_by_freq,
                                  const int64_t *max_indices, const float *grad_out, float lr, float *weight,
                                  int64_t stride) {
    static const char op[] = "embedding_bag_backward_update";
    eki_bag_call c;
    bag_plan p;
    ek_status s = check_bag_call(op, num_embeddings, dim, n, num_bags, num_weights, indices, offsets,
                                 include_last_offset, weights, mode, padding_idx, &c);
    if (s || (s = check_backward(op, &c, scale_grad_by_freq, max_indices, grad_out)) ||
        (s = eki_check_ptr(op, "weight", weight, num_embeddings * dim)))
        return s;
    if (!isfinite(lr) || lr < 0)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: lr=%g must be finite and >= 0", op, (double)lr);
    if (n == 0) return EK_OK;
    size_t mark = eki_scratch_mark();
    if ((s = make_plan(op, &c, scale_grad_by_freq, 0, &p))) {
        eki_scratch_release(mark);
        return s;
    }
    max_source m = {&c, &p, max_indices, grad_out};
    eki_scatter_source source = mode == EK_BAG_MAX ? (eki_scatter_source){.row = max_row, .ctx = &m}
                                                   : (eki_scatter_source){.base = grad_out, .base_row = p.bag_of, .coef = p.coef};
    s = eki_scatter_add_from(op, indices, n, num_embeddings, -1, dim, -lr, &source, weight, stride);
    eki_scratch_release(mark);
    return s;
}

/* ---- gradient of the per-sample weights ---- */

static ek_status bag_weights_backward(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags,
                                      int64_t num_weights, const float *weight, int64_t stride, eki_index indices,
                                      eki_index offsets,
                                      int32_t include_last_offset, const float *weights, ek_bag_mode mode,
                                      int64_t padding_idx, const float *grad_out, float *grad_weights) {
    static const char op[] = "embedding_bag_per_sample_weights_backward";
    eki_bag_call c;
    ek_status s = check_bag_call(op, num_embeddings, dim, n, num_bags, num_weights, indices, offsets,
                                 include_last_offset, weights, mode, padding_idx, &c);
    if (s) return s;
    if (mode == EK_BAG_MAX)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: per_sample_weights are not supported with mode max", op);
    if (mode == EK_BAG_MEAN && !weights && n > 0)
        return eki_fail(EK_ERR_NULL_POINTER, "%s: mode mean needs per_sample_weights to differentiate the weighted mean", op);
    if ((s = eki_check_ptr(op, "weight", weight, num_embeddings * dim)) ||
        (s = eki_check_ptr(op, "grad_out", grad_out, num_bags * dim)) ||
        (s = eki_check_ptr(op, "grad_weights", grad_weights, n)))
        return s;

    for (int64_t j = 0; j < n; j++) grad_weights[j] = 0.0f; /* padding and bag-less positions */
    EKI_PARALLEL_FOR(n * dim >= EKI_PARALLEL_MIN_WORK, (static, 16),
    for (int64_t b = 0; b < num_bags; b++) {
        int64_t begin = eki_bag_begin(&c.bags, b), end = eki_bag_end(&c.bags, b);
        const float *g = grad_out + b * dim;
        double weighted_dot = 0.0, weight_sum = 0.0;
        for (int64_t j = begin; j < end; j++) {
            int64_t r = eki_at(indices, j);
            if (r == c.pad) continue;
            const float *row = weight + r * stride;
            float t = 0.0f;
            for (int64_t d = 0; d < dim; d++) t += g[d] * row[d];
            grad_weights[j] = t;
            if (mode == EK_BAG_MEAN) weighted_dot += (double)weights[j] * t, weight_sum += weights[j];
        }
        if (mode != EK_BAG_MEAN) continue;
        /* d/dw_j of Σ w W / Σ w, dotted with g:  (g·W_j - g·out_b) / Σ w,  g·out_b = Σ w_k g·W_k / Σ w */
        double mean_dot = weight_sum == 0.0 ? 0.0 : weighted_dot / weight_sum;
        for (int64_t j = begin; j < end; j++) {
            if (eki_at(indices, j) == c.pad) continue;
            grad_weights[j] = weight_sum == 0.0 ? 0.0f : (float)(((double)grad_weights[j] - mean_dot) / weight_sum);
        }
    });
    return EK_OK;
}

/* The first group starting at or after `position` (groups if none): start is ascending. */
static int64_t first_group_at(const int64_t *start, int64_t groups, int64_t position) {
    int64_t lo = 0, hi = groups;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (start[mid] < position) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The rows loop's prefetches for position k (of `kept`, in row order): positions come in row order,
 * so their plan entries and their bags' gradient rows are scattered: fetch the entries 2 distances
 * ahead, then the rows. */
static inline void prefetch_positions(const bag_plan *p, int64_t k, int64_t kept, const float *grad_out, int64_t dim) {
    if (k + 2 * EKI_PREFETCH_ROWS < kept) {
        int64_t ahead = p->order[k + 2 * EKI_PREFETCH_ROWS];
        __builtin_prefetch(p->bag_of + ahead, 0, 3);
        if (p->coef) __builtin_prefetch(p->coef + ahead, 0, 3);
    }
    if (k + EKI_PREFETCH_ROWS < kept) {
        int64_t bag = p->bag_of[p->order[k + EKI_PREFETCH_ROWS]];
        if (bag >= 0) EKI_PREFETCH_SPAN(grad_out + bag * dim, sizeof(float) * (size_t)dim, 0);
    }
}

/* ---- the backward fused with an optimizer step other than plain SGD ----
 *
 * Each row's coalesced gradient is made in the thread's scratch row exactly as ek_coo_coalesce_f32
 * makes it from ek_bag_backward_sparse's entries (the first entry's row as written, then += each
 * later one in input order), and the optimizer's row update runs on it (eki_optimizer_row, the
 * code of the ek_*_update_f32 loops). Rows are independent: parallel over rows, exact. */
static ek_status bag_backward_update_rows(const char *op, const eki_bag_call *c, int32_t scale_grad_by_freq,
                                         const int64_t *max_indices, const float *grad_out, const eki_opt *o,
                                         void *weight) {
    bag_plan p;
    ek_status s;
    int64_t dim = c->dim;
    size_t mark = eki_scratch_mark();
    int T = c->n * dim >= EKI_PARALLEL_MIN_WORK ? eki_num_threads() : 1;
    float *scratch = NULL;
    if ((s = make_plan(op, c, scale_grad_by_freq, 1, &p)) ||
        (!(scratch = eki_scratch_alloc(sizeof(float) * 3 * (size_t)dim * (size_t)T)) &&
         (s = eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch rows for %d threads", op, T)))) {
        eki_scratch_release(mark);
        return s;
    }
    const eki_kernels *k = eki_dispatch();
    eki_row_fn scale = k->scale, axpy = k->axpy;
    eki_row_scaled_fn axpy_scaled = k->axpy_scaled;
    int is_max = c->mode == EK_BAG_MAX;
    /* slot t (internal.h: slots) takes one run of consecutive groups holding about kept / T positions,
     * with its own 3 scratch rows: the rows each thread writes rise through its own part of the
     * table instead of interleaving with the other threads' */
    const int64_t kept = p.start[p.groups];
    EKI_PARALLEL_FOR(T > 1, (static, 1),
    for (int t = 0; t < T; t++) {
        float *acc = scratch + 3 * (size_t)dim * (size_t)t, *tmp = acc + dim, *row = tmp + dim;
        const int64_t g_end = t == T - 1 ? p.groups : first_group_at(p.start, p.groups, eki_share(kept, t + 1, T));
        for (int64_t g = first_group_at(p.start, p.groups, eki_share(kept, t, T)); g < g_end; g++) {
            /* the row (and its state) a few groups ahead */
            if (g + EKI_PREFETCH_ROWS < g_end) eki_optimizer_prefetch(o, p.row_of_group[g + EKI_PREFETCH_ROWS], dim, weight);
            if (o->fused_bf16_sgd && !is_max && p.start[g + 1] - p.start[g] == 1) {
                /* one position: its gradient row, scaled inside the one-pass row update */
                int64_t k = p.start[g], j = p.order[k];
                prefetch_positions(&p, k, kept, grad_out, dim);
                if (p.bag_of[j] >= 0)
                    eki_bf16_sgd_row(o, p.row_of_group[g], dim, p.coef[j], grad_out + p.bag_of[j] * dim, weight);
                continue;
            }
            int first = 1;
            for (int64_t k = p.start[g]; k < p.start[g + 1]; k++) {
                prefetch_positions(&p, k, kept, grad_out, dim);
                int64_t j = p.order[k];
                if (p.bag_of[j] < 0) continue;
                if (first) entry_gradient(c, &p, max_indices, grad_out, j, 0, scale, acc);
                else if (is_max) {
                    entry_gradient(c, &p, max_indices, grad_out, j, 0, NULL, tmp);
                    axpy(dim, 1.0f, tmp, acc);
                } else {
                    axpy_scaled(dim, 1.0f, p.coef[j], grad_out + p.bag_of[j] * dim, acc);
                }
                first = 0;
            }
            if (!first) eki_optimizer_row(o, p.row_of_group[g], dim, acc, weight, row);
        }
    });
    eki_scratch_release(mark);
    return EK_OK;
}

/* ---- the public entry points: descriptors in, the kernels above ----
 * Each releases the scratch its call took, the offsets decoded from input->lengths included. */

static ek_status forward(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options, float *out,
                         int64_t *bag_size, int64_t *max_indices) {
    eki_call a;
    ek_status s = eki_decode_forward("embedding_bag", table, input, options, 0, &a);
    if (!s && eki_quant_slot(a.dtype) >= 0) return eki_quant_bag_forward(&a, out, bag_size, max_indices); /* quant_forward.c */
    return s ? s : bag_forward(a.rows, a.dim, a.n, a.num_bags, a.num_weights, a.raw, a.stride, a.dtype, a.indices,
                               a.offsets, a.include_last_offset, a.weights, a.mode, a.padding_idx, out, bag_size,
                               max_indices);
}

ek_status ek_bag_forward(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options, float *out,
                         int64_t *bag_size, int64_t *max_indices) {
    size_t mark = eki_scratch_mark();
    ek_status s = forward(table, input, options, out, bag_size, max_indices);
    eki_scratch_release(mark);
    return s;
}

static ek_status backward_dense(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                const int64_t *max_indices, const float *grad_out, float *grad_weight) {
    eki_call a;
    ek_status s = eki_decode_training("embedding_bag_backward", table, input, options, 0, &a);
    return s ? s : bag_backward_dense(a.rows, a.dim, a.n, a.num_bags, a.num_weights, a.indices, a.offsets,
                                      a.include_last_offset, a.weights, a.mode, a.padding_idx, a.scale_grad_by_freq,
                                      max_indices, grad_out, grad_weight);
}

ek_status ek_bag_backward_dense(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                const int64_t *max_indices, const float *grad_out, float *grad_weight) {
    size_t mark = eki_scratch_mark();
    ek_status s = backward_dense(table, input, options, max_indices, grad_out, grad_weight);
    eki_scratch_release(mark);
    return s;
}

static ek_status backward_sparse(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                 const int64_t *max_indices, const float *grad_out, int64_t *out_rows, float *out_values,
                                 int64_t *out_nnz) {
    eki_call a;
    ek_status s = eki_decode_training("embedding_bag_backward_sparse", table, input, options, 0, &a);
    return s ? s : bag_backward_sparse(a.rows, a.dim, a.n, a.num_bags, a.num_weights, a.indices, a.offsets,
                                       a.include_last_offset, a.weights, a.mode, a.padding_idx, a.scale_grad_by_freq,
                                       max_indices, grad_out, out_rows, out_values, out_nnz);
}

ek_status ek_bag_backward_sparse(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                 const int64_t *max_indices, const float *grad_out, int64_t *out_rows, float *out_values,
                                 int64_t *out_nnz) {
    size_t mark = eki_scratch_mark();
    ek_status s = backward_sparse(table, input, options, max_indices, grad_out, out_rows, out_values, out_nnz);
    eki_scratch_release(mark);
    return s;
}

static ek_status weights_backward(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                  const float *grad_out, float *grad_weights) {
    eki_call a;
    ek_status s = eki_decode("embedding_bag_per_sample_weights_backward", table, input, options, 0, &a);
    return s ? s : bag_weights_backward(a.rows, a.dim, a.n, a.num_bags, a.num_weights, a.data, a.stride, a.indices,
                                        a.offsets, a.include_last_offset, a.weights, a.mode, a.padding_idx, grad_out,
                                        grad_weights);
}

ek_status ek_bag_per_sample_weights_backward(const ek_table *table, const ek_bag_input *input,
                                             const ek_bag_options *options, const float *grad_out, float *grad_weights) {
    size_t mark = eki_scratch_mark();
    ek_status s = weights_backward(table, input, options, grad_out, grad_weights);
    eki_scratch_release(mark);
    return s;
}

static ek_status backward_update(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                 const int64_t *max_indices, const float *grad_out, const ek_optimizer *optimizer) {
    static const char op[] = "embedding_bag_backward_update";
    eki_call a;
    eki_opt o;
    ek_status s = eki_decode_training(op, table, input, options, 0, &a);
    if (s || (s = eki_prepare_optimizer(op, optimizer, a.rows, a.dim, a.dtype, &o))) return s;
    o.stride = a.stride;
    /* plain SGD on f32 rows: entry by entry; half rows are coalesced first (one rounding per row) */
    if (o.o.kind == EK_OPT_SGD && o.o.momentum == 0.0f && o.o.weight_decay == 0.0f && a.dtype == EK_DTYPE_F32)
        return bag_backward_sgd(a.rows, a.dim, a.n, a.num_bags, a.num_weights, a.indices, a.offsets,
                                a.include_last_offset, a.weights, a.mode, a.padding_idx, a.scale_grad_by_freq,
                                max_indices, grad_out, o.o.lr, a.data, a.stride);
    eki_bag_call c;
    if ((s = check_bag_call(op, a.rows, a.dim, a.n, a.num_bags, a.num_weights, a.indices, a.offsets,
                            a.include_last_offset, a.weights, a.mode, a.padding_idx, &c)) ||
        (s = check_backward(op, &c, a.scale_grad_by_freq, max_indices, grad_out)) ||
        (s = eki_check_ptr(op, "weight", a.raw, a.rows * a.dim)))
        return s;
    if (a.n == 0) return EK_OK;
    return bag_backward_update_rows(op, &c, a.scale_grad_by_freq, max_indices, grad_out, &o, a.raw);
}

ek_status ek_bag_backward_update(const ek_table *table, const ek_bag_input *input, const ek_bag_options *options,
                                 const int64_t *max_indices, const float *grad_out, const ek_optimizer *optimizer) {
    size_t mark = eki_scratch_mark();
    ek_status s = backward_update(table, input, options, max_indices, grad_out, optimizer);
    eki_scratch_release(mark);
    return s;
}
