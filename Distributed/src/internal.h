/* internal.h — the collection's layout and the helpers shared by the files of libembeddingkit_dist. */
#ifndef EKD_INTERNAL_H
#define EKD_INTERNAL_H

#include "embeddingkit_dist.h"

#include <stdarg.h>
#include <stddef.h>

#define EKD_MSG 512
#define EKD_WORK_PER_RANK 14

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

/* The collection's reusable buffers (scratch.c): per table one per use inside an exchange, and the
 * combined send / receive buffers of the exchanges that carry every table at once (EKD_ALL_TABLES). */
typedef enum {
    EKD_S_SLENS, EKD_S_SIDS, EKD_S_SMSG, EKD_S_RMSG, EKD_S_PARTIAL, EKD_S_POOLED, EKD_S_RIDX,
    EKD_S_GSEND, EKD_S_GRECV, EKD_S_CSEND, EKD_S_CRECV, EKD_S_COUNT
} ekd_scratch_slot;
#define EKD_ALL_TABLES (-1)

typedef struct ekd_dedup_scratch { int64_t cap; int64_t *keys; int32_t *pos; int32_t *inv; } ekd_dedup_scratch;

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
    int dedup;             /* ekd_set_dedup: deduplicate ids before sending */
    int64_t *meta;         /* (2 + 2T) x (P + 1): what ekd_forward's Allgather carries */
    int64_t *work;         /* T x EKD_WORK_PER_RANK x P: each table's per-rank counts of a forward */
    ekd_region *regs;      /* T x P: each table's regions */
    int64_t *counts;       /* 2 x P x (2T + 1): the forward's counts and statuses, sent and received */
    ekd_traffic traffic;   /* what this rank sent (ekd_get_traffic) */
    void **scratch;        /* (T + 1) x EKD_S_COUNT: ekd_scratch */
    size_t *scratch_size;
    int64_t *xwork;        /* 2P + 2T + 2: ekd_exchange_parts' totals and offsets */
    ekd_dedup_scratch dedup_scratch;
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
/* The same after a collective that already carried every rank's status: `first` is the lowest failing
 * rank (size if none), which broadcasts its status and message (nothing to send when none failed). */
ek_status ekd_share_error(MPI_Comm comm, int first, ek_status local);
/* Checks an MPI return code (only non-success with MPI_ERRORS_RETURN). */
ek_status ekd_mpi(int rc, const char *what);

/* ---- traffic.c ---- */
/* What a byte count is for: one of ekd_traffic's *_bytes fields. */
typedef enum { EKD_T_CONTROL, EKD_T_LENGTHS, EKD_T_IDS, EKD_T_POOLED, EKD_T_GRADIENTS } ekd_traffic_kind;
/* ekd_forward / ekd_backward_update point the thread's meter at their collection's counters for
 * their duration (ekd_agree, called from everywhere, counts through it); NULL counts nothing. */
void ekd_meter_start(ekd_collection *c);
void ekd_meter_stop(void);
/* One collective: `bytes` addressed to other ranks in `messages` non-empty parts. */
void ekd_meter_add(ekd_traffic_kind kind, int64_t bytes, int64_t messages);
/* Moves `bytes` of one counted collective from one kind to another (a message carrying two kinds). */
void ekd_meter_shift(ekd_traffic_kind from, ekd_traffic_kind to, int64_t bytes);

/* ---- dedup.c ---- */
/* The id message for one owner: the plain ids (n int64 words) or, when smaller, the distinct ids in
 * order of first appearance then each entry's position among them (16-bit when there are at most
 * 65,536 distinct ids, else 32-bit), packed into int64 words: ekd_dedup_words(n, u) of them. */
int64_t ekd_dedup_words(int64_t n, int64_t u);
/* Finds the distinct ids of ids[0..n); sets *u to their number and writes the message into out
 * (room for n words), or sets *u = 0 (and writes nothing useful) when the plain form is as small. */
ek_status ekd_dedup_encode(const int64_t *ids, int64_t n, int64_t *out, int64_t *u, ekd_dedup_scratch *s);
void ekd_dedup_free(ekd_dedup_scratch *s);
/* Expands a message of n entries with u distinct ids (u == 0: plain) into ids[0..n). */
void ekd_dedup_decode(const int64_t *msg, int64_t n, int64_t u, int64_t *ids);

/* ---- scratch.c ---- */
/* Table t's (or EKD_ALL_TABLES') buffer for `slot`, grown to at least `bytes` (contents not kept when
 * it grows, not zeroed); NULL with *st set when it cannot grow. */
void *ekd_scratch(ekd_collection *c, int64_t t, ekd_scratch_slot slot, size_t bytes, ek_status *st);
void ekd_scratch_free(ekd_collection *c);

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
