/* validate.c — local checks of a table config and of one rank's bag input. They run before any
 * collective; ekd_agree then makes the first failing rank's verdict everyone's. */
#include "internal.h"

#include <math.h>

ek_status ekd_check_config(const ekd_table_config *cfg, int64_t t, const ek_optimizer *opt) {
    if (cfg->rows < 1) return ekd_fail(EK_ERR_INVALID_ARGUMENT, "tables[%lld].rows=%lld must be >= 1", (long long)t, (long long)cfg->rows);
    if (cfg->dim < 1) return ekd_fail(EK_ERR_INVALID_ARGUMENT, "tables[%lld].dim=%lld must be >= 1", (long long)t, (long long)cfg->dim);
    if (cfg->rows > INT64_MAX / cfg->dim / 4)
        return ekd_fail(EK_ERR_OVERFLOW, "tables[%lld]: rows=%lld x dim=%lld floats overflow", (long long)t,
                        (long long)cfg->rows, (long long)cfg->dim);
    if ((int)cfg->scheme < 0 || (int)cfg->scheme > 2)
        return ekd_fail(EK_ERR_INVALID_ARGUMENT, "tables[%lld].scheme=%d is not table-wise (0), row-wise (1) or column-wise (2)",
                        (long long)t, (int)cfg->scheme);
    if ((int)cfg->mode < 0 || (int)cfg->mode > 2)
        return ekd_fail(EK_ERR_INVALID_ARGUMENT, "tables[%lld].mode=%d is not sum (0), mean (1) or max (2)", (long long)t, (int)cfg->mode);
    if (cfg->scale_grad_by_freq != 0 && cfg->scale_grad_by_freq != 1)
        return ekd_fail(EK_ERR_INVALID_ARGUMENT, "tables[%lld].scale_grad_by_freq=%d must be 0 or 1", (long long)t, (int)cfg->scale_grad_by_freq);
    if (cfg->scale_grad_by_freq && cfg->mode == EK_BAG_MAX)
        return ekd_fail(EK_ERR_INVALID_ARGUMENT, "tables[%lld]: scale_grad_by_freq=1 is not allowed with max mode", (long long)t);
    if (cfg->scheme == EKD_COLUMN_WISE && opt->kind == EK_OPT_ROWWISE_ADAGRAD)
        return ekd_fail(EK_ERR_INVALID_ARGUMENT,
                        "tables[%lld]: a column-wise table cannot use row-wise Adagrad (its state needs whole rows)", (long long)t);
    return EK_OK;
}

ek_status ekd_check_input(const ekd_collection *c, int64_t t, const ek_bag_input *in, int64_t num_bags) {
    const ekd_table_config *cfg = &c->tables[t].cfg;
    long long T = (long long)t;
    int rank = c->rank;
    if (in->struct_size != (int64_t)sizeof(ek_bag_input))
        return ekd_fail(EK_ERR_INVALID_ARGUMENT, "rank %d: inputs[%lld].struct_size=%lld, want sizeof(ek_bag_input)=%lld", rank, T,
                        (long long)in->struct_size, (long long)sizeof(ek_bag_input));
    if (in->lengths)
        return ekd_fail(EK_ERR_INVALID_ARGUMENT, "rank %d: inputs[%lld].lengths is not read by the distributed collection yet; pass offsets",
                        rank, T);
    if ((int)in->index_type != EK_INDEX_I64 && (int)in->index_type != EK_INDEX_I32)
        return ekd_fail(EK_ERR_INVALID_ARGUMENT, "rank %d: inputs[%lld].index_type=%d is not I64 (0) or I32 (1)", rank, T, (int)in->index_type);
    int64_t n = in->num_indices, b = in->num_bags;
    if (n < 0) return ekd_fail(EK_ERR_INVALID_ARGUMENT, "rank %d: inputs[%lld].num_indices=%lld must be >= 0", rank, T, (long long)n);
    if (b != num_bags)
        return ekd_fail(EK_ERR_SHAPE, "rank %d: inputs[%lld].num_bags=%lld differs from inputs[0].num_bags=%lld (one batch for every table)",
                        rank, T, (long long)b, (long long)num_bags);
    if (b < 0) return ekd_fail(EK_ERR_INVALID_ARGUMENT, "rank %d: inputs[%lld].num_bags=%lld must be >= 0", rank, T, (long long)b);
    /* MPI counts are int: the bytes a rank sends or receives per table must fit */
    if (n > INT32_MAX / 8 || b > INT32_MAX / 8 / cfg->dim)
        return ekd_fail(EK_ERR_OVERFLOW, "rank %d: inputs[%lld]: %lld indices in %lld bags exceed MPI's int counts", rank, T, (long long)n, (long long)b);
    if (n > 0 && in->indices == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "rank %d: inputs[%lld].indices is NULL with num_indices=%lld", rank, T, (long long)n);
    if (in->include_last_offset != 0 && in->include_last_offset != 1)
        return ekd_fail(EK_ERR_INVALID_ARGUMENT, "rank %d: inputs[%lld].include_last_offset=%d must be 0 or 1", rank, T, (int)in->include_last_offset);
    if (in->has_padding != 0 && in->has_padding != 1)
        return ekd_fail(EK_ERR_INVALID_ARGUMENT, "rank %d: inputs[%lld].has_padding=%d must be 0 or 1", rank, T, (int)in->has_padding);
    if (in->has_padding) {
        int64_t p = in->padding_idx < 0 ? cfg->rows + in->padding_idx : in->padding_idx;
        if (p < 0 || p >= cfg->rows)
            return ekd_fail(EK_ERR_INDEX_OUT_OF_RANGE, "rank %d: inputs[%lld].padding_idx=%lld is out of range for %lld rows", rank, T,
                            (long long)in->padding_idx, (long long)cfg->rows);
    }
    if (in->offsets == NULL) {
        if (in->include_last_offset)
            return ekd_fail(EK_ERR_INVALID_ARGUMENT, "rank %d: inputs[%lld].include_last_offset=1 needs offsets", rank, T);
        if (b == 0 ? n != 0 : n % b != 0)
            return ekd_fail(EK_ERR_SHAPE, "rank %d: inputs[%lld]: num_indices=%lld is not a multiple of num_bags=%lld (fixed-length bags, offsets NULL)",
                            rank, T, (long long)n, (long long)b);
    } else {
        int64_t count = b + in->include_last_offset;
        for (int64_t i = 0; i < count; i++) {
            int64_t o = ekd_read_index(in->offsets, in->index_type, i);
            int64_t prev = i == 0 ? 0 : ekd_read_index(in->offsets, in->index_type, i - 1);
            if (i == 0 && o != 0)
                return ekd_fail(EK_ERR_SHAPE, "rank %d: inputs[%lld].offsets[0]=%lld must be 0", rank, T, (long long)o);
            if (o < prev || o > n)
                return ekd_fail(EK_ERR_SHAPE, "rank %d: inputs[%lld].offsets[%lld]=%lld must lie in [offsets[%lld]=%lld, num_indices=%lld]",
                                rank, T, (long long)i, (long long)o, (long long)(i ? i - 1 : 0), (long long)prev, (long long)n);
        }
        if (in->include_last_offset && count > 0 && ekd_read_index(in->offsets, in->index_type, b) != n)
            return ekd_fail(EK_ERR_SHAPE, "rank %d: inputs[%lld].offsets[%lld]=%lld must equal num_indices=%lld (include_last_offset)", rank, T,
                            (long long)b, (long long)ekd_read_index(in->offsets, in->index_type, b), (long long)n);
    }
    if (in->per_sample_weights == NULL ? in->num_weights != 0 : in->num_weights != n)
        return ekd_fail(EK_ERR_SHAPE, "rank %d: inputs[%lld].num_weights=%lld must be 0 with NULL per_sample_weights, else num_indices=%lld",
                        rank, T, (long long)in->num_weights, (long long)n);
    if (in->per_sample_weights != NULL && cfg->mode == EK_BAG_MAX)
        return ekd_fail(EK_ERR_INVALID_ARGUMENT, "rank %d: inputs[%lld].per_sample_weights must be NULL in max mode", rank, T);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = ekd_read_index(in->indices, in->index_type, i);
        if (v < 0 || v >= cfg->rows)
            return ekd_fail(EK_ERR_INDEX_OUT_OF_RANGE, "rank %d: inputs[%lld].indices[%lld]=%lld is out of range for %lld rows", rank, T,
                            (long long)i, (long long)v, (long long)cfg->rows);
    }
    return EK_OK;
}

void ekd_bag_bounds(const ek_bag_input *in, int64_t b, int64_t *begin, int64_t *end) {
    if (in->offsets == NULL) {
        int64_t len = in->num_bags ? in->num_indices / in->num_bags : 0;
        *begin = b * len;
        *end = *begin + len;
        return;
    }
    *begin = ekd_read_index(in->offsets, in->index_type, b);
    *end = b + 1 < in->num_bags || in->include_last_offset ? ekd_read_index(in->offsets, in->index_type, b + 1) : in->num_indices;
}
