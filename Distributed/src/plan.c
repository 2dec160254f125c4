/* plan.c — which rank holds which rows and columns of a table (a pure function of the table, its
 * number and the rank count, so every rank, and a checkpoint loader, computes the same plan without
 * talking), and which optimizer state tensors a shard carries. */
#include "internal.h"

/* Row-wise blocks of ceil(rows / size): contiguous ranges keep each owner's rows one slab of memory
 * and make the owner of a row one division. The last ranks may hold fewer rows, or none. */
static int64_t row_block(const ekd_table_config *cfg, int size) { return (cfg->rows + size - 1) / size; }

int ekd_row_owner(const ekd_table_config *cfg, int size, int64_t row) {
    return (int)(row / row_block(cfg, size));
}

ekd_region ekd_plan(const ekd_table_config *cfg, int64_t t, int rank, int size) {
    ekd_region r = {0, 0, 0, 0};
    switch (cfg->scheme) {
    case EKD_TABLE_WISE: /* round robin: table t on rank t % size */
        if (t % size == rank) { r.r1 = cfg->rows; r.c1 = cfg->dim; }
        break;
    case EKD_ROW_WISE: {
        int64_t block = row_block(cfg, size);
        r.r0 = block * rank < cfg->rows ? block * rank : cfg->rows;
        r.r1 = r.r0 + block < cfg->rows ? r.r0 + block : cfg->rows;
        r.c1 = cfg->dim;
        break;
    }
    case EKD_COLUMN_WISE: { /* the first dim % size ranks take one column more */
        int64_t w = cfg->dim / size, extra = cfg->dim % size;
        r.c0 = rank * w + (rank < extra ? rank : extra);
        r.c1 = r.c0 + w + (rank < extra ? 1 : 0);
        r.r1 = cfg->rows;
        break;
    }
    }
    return r;
}

int ekd_state_count(const ek_optimizer *opt) {
    switch (opt->kind) {
    case EK_OPT_SGD: return opt->momentum != 0.0f ? 1 : 0;
    case EK_OPT_ADAGRAD: case EK_OPT_ROWWISE_ADAGRAD: return 1;
    case EK_OPT_ADAM: return 2;
    }
    return 0;
}

const char *ekd_state_name(const ek_optimizer *opt, int i) {
    switch (opt->kind) {
    case EK_OPT_SGD: return "momentum_buffer";
    case EK_OPT_ADAGRAD: case EK_OPT_ROWWISE_ADAGRAD: return "state_sum";
    case EK_OPT_ADAM: return i == 0 ? "exp_avg" : "exp_avg_sq";
    }
    return "?";
}

int ekd_state_rowwise(const ek_optimizer *opt, int i) {
    (void)i;
    return opt->kind == EK_OPT_ROWWISE_ADAGRAD;
}

float **ekd_state_ptr(ekd_table *tb, const ek_optimizer *opt, int i) {
    switch (opt->kind) {
    case EK_OPT_SGD: return &tb->momentum;
    case EK_OPT_ADAGRAD: case EK_OPT_ROWWISE_ADAGRAD: return &tb->state_sum;
    case EK_OPT_ADAM: return i == 0 ? &tb->exp_avg : &tb->exp_avg_sq;
    }
    return NULL;
}
