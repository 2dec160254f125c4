/* internal.h — the collection's layout and the helpers shared by the files of libembeddingkit_dist. */
#ifndef EKD_INTERNAL_H
#define EKD_INTERNAL_H

#include "embeddingkit_dist.h"

#include <stdarg.h>
#include <stddef.h>

#define EKD_MSG 512

/* A rectangle of a table: rows [r0, r1) x columns [c0, c1). */
typedef struct ekd_region {
    int64_t r0, r1, c0, c1;
} ekd_region;

/* What one owner keeps between a forward and its backward, for one table. */
typedef struct ekd_owner_ctx {
    int64_t num_bags;      /* the global batch: Σ_s B_s (0 on a rank that owns nothing of the table) */
    int64_t num_ids;
    int64_t *offsets;      /* num_bags + 1 (include_last_offset form) */
    int64_t *ids;          /* local row numbers */
    float *weights;        /* NULL when the table's call is unweighted */
    int64_t *max_indices;  /* num_bags x width, max mode only */
} ekd_owner_ctx;

/* What a source (every rank, for its own samples) keeps between a forward and its backward. */
typedef struct ekd_source_ctx {
    float *scale;          /* row-wise mean: 1 / |J(b)| or 1 / Σw per bag (0 for an empty bag) */
    int32_t *winner;       /* row-wise max: the owner of the winning row of each (b, d), -1 if none */
} ekd_source_ctx;

typedef struct ekd_table {
    ekd_table_config cfg;
    ekd_region shard;      /* this rank's */
    float *weight;         /* (r1 - r0) x (c1 - c0) */
    float *momentum;       /* SGD with momentum: same shape */
    float *state_sum;      /* Adagrad: same shape; row-wise Adagrad: r1 - r0 */
    float *exp_avg, *exp_avg_sq; /* Adam */
    ekd_owner_ctx own;
    ekd_source_ctx src;
    int32_t weighted;      /* of the last forward */
} ekd_table;

struct ekd_collection {
    MPI_Comm comm;
    int rank, size;
    int64_t num_tables;
    int64_t total_dim;
    ek_optimizer opt;      /* hyperparameters; state pointers set per table at each update */
    int64_t step;          /* updates done */
    int has_forward;       /* a forward since the last backward */
    int64_t *batch;        /* size entries: B_s of the last forward */
    ekd_table *tables;
};

/* ---- error.c ---- */
/* Sets the thread's message (printf format) and returns status. */
ek_status ekd_fail(ek_status status, const char *fmt, ...);
/* Sets the message to the string as it is. */
void ekd_set_error(const char *msg);
/* The agreement step: every rank brings its local status (the message in ekd_last_error() when it is
 * not EK_OK); all ranks return the status of the lowest failing rank with its message, or EK_OK. One
 * MPI_Allreduce, plus one MPI_Bcast when some rank failed. */
ek_status ekd_agree(MPI_Comm comm, ek_status local);
/* Checks an MPI return code (only non-success with MPI_ERRORS_RETURN). */
ek_status ekd_mpi(int rc, const char *what);

/* ---- plan.c ---- */
/* The region rank `rank` of `size` holds of a table. */
ekd_region ekd_plan(const ekd_table_config *cfg, int64_t t, int rank, int size);
/* The owner of row `row` of a row-wise table. */
int ekd_row_owner(const ekd_table_config *cfg, int size, int64_t row);
/* The state tensors an optimizer keeps: names and whether each is per row (1 column). */
int ekd_state_count(const ek_optimizer *opt);
const char *ekd_state_name(const ek_optimizer *opt, int i);
int ekd_state_rowwise(const ek_optimizer *opt, int i);
float **ekd_state_ptr(ekd_table *tb, const ek_optimizer *opt, int i);

/* ---- validate.c ---- */
/* Checks a table config (the message names table t). */
ek_status ekd_check_config(const ekd_table_config *cfg, int64_t t, const ek_optimizer *opt);
/* Checks this rank's input for table t (rank, table, argument, position, value in the message). */
ek_status ekd_check_input(const ekd_collection *c, int64_t t, const ek_bag_input *in, int64_t num_bags);

/* ---- util ---- */
static inline int64_t ekd_read_index(const void *p, ek_index_type type, int64_t i) {
    return type == EK_INDEX_I32 ? (int64_t)((const int32_t *)p)[i] : ((const int64_t *)p)[i];
}
/* Allocation that reports EK_ERR_ALLOC through *st (never returns NULL for n == 0). */
void *ekd_alloc(size_t n, ek_status *st);
/* The bag boundaries of an input: start of bag b and its end. */
void ekd_bag_bounds(const ek_bag_input *in, int64_t b, int64_t *begin, int64_t *end);
/* Frees the forward contexts of every table. */
void ekd_clear_ctx(ekd_collection *c);

#endif
