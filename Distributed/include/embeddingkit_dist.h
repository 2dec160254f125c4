/*
 * embeddingkit_dist.h — sharded EmbeddingBag collections over MPI (libembeddingkit_dist).
 *
 * An opt-in library on top of libembeddingkit (embeddingkit.h): the core library and the Swift
 * package build and run without MPI; this one needs an MPI implementation (Open MPI) and is built
 * with mpicc. docs/DISTRIBUTED.md describes the design and the bytes each scheme exchanges.
 *
 * Model. A collection holds T tables (EmbeddingBags). Every rank of the communicator holds a shard of
 * each table (possibly empty) and its optimizer state. Every rank brings its own batch of B_r samples
 * (data parallel; B_r may differ between ranks): for each table an ek_bag_input of B_r bags. The
 * forward returns, on each rank, the pooled rows of its own samples: out is B_r x D_total, the tables'
 * outputs side by side in table order (D_total = Σ dim_t). The result is the same as one process
 * running ek_bag_forward on the GLOBAL batch: the ranks' bags concatenated in rank order.
 *
 * Schemes (per table):
 *   EKD_TABLE_WISE   the whole table on rank t % P.                    result: exactly the core's
 *   EKD_ROW_WISE     rows in P contiguous blocks of ceil(rows / P).     result: within fp32 rounding
 *                    (sum / mean add per-owner partial sums in rank order; max is exact)
 *   EKD_COLUMN_WISE  dim in P slices (the first dim % P ranks one column wider). result: exactly the
 *                    core's (every mode works column by column)
 * Every result is bit-identical run to run for a given number of ranks.
 *
 * Conventions (as embeddingkit.h):
 *   - Functions return an ek_status; on failure ekd_last_error() names the rank, the table, the
 *     argument, the position and the value, and NOTHING was changed (no table, no state).
 *   - Every function taking a collection is COLLECTIVE: all ranks of its communicator call it, in
 *     the same order. Inputs are validated on every rank and the verdict is agreed (MPI_Allreduce)
 *     before any data moves, so a bad index on one rank is an error on EVERY rank (same status, same
 *     message), never a rank left waiting in a collective.
 *   - MPI failures: the collection's communicator is a duplicate of the caller's and keeps its error
 *     handler (MPI_ERRORS_ARE_FATAL by default: a failed MPI call or a dead rank aborts the job; see
 *     docs/DISTRIBUTED.md). With MPI_ERRORS_RETURN, a failed MPI call returns EKD_ERR_MPI.
 */
#ifndef EMBEDDINGKIT_DIST_H
#define EMBEDDINGKIT_DIST_H

#include <mpi.h>
#include <stdint.h>

#include <embeddingkit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A failed MPI call (only seen with an error handler that returns). Not in ek_status's list; an int
 * value of the same type so that every function keeps one return type. */
#define EKD_ERR_MPI ((ek_status)100)

typedef enum ekd_scheme { EKD_TABLE_WISE = 0, EKD_ROW_WISE = 1, EKD_COLUMN_WISE = 2 } ekd_scheme;

/* One table of a collection. */
typedef struct ekd_table_config {
    int64_t rows;               /* >= 1 */
    int64_t dim;                /* >= 1 */
    ekd_scheme scheme;
    ek_bag_mode mode;           /* EK_BAG_SUM, EK_BAG_MEAN, EK_BAG_MAX */
    int32_t scale_grad_by_freq; /* 0 or 1; not with max (counts run over the global batch) */
} ekd_table_config;

typedef struct ekd_collection ekd_collection;

/* The message of the last failed ekd_* call on this thread ("" if none). */
const char *ekd_last_error(void);

/* Creates a collection (collective). Every rank passes the same tables and optimizer (checked:
 * a difference is EK_ERR_INVALID_ARGUMENT on every rank). optimizer: kind and hyperparameters as
 * for ek_bag_backward_update; its state pointers and step are ignored: the collection allocates the
 * state of its shards (zeros) and counts the steps (Adam's step is the number of updates so far + 1).
 * Column-wise tables take SGD, Adagrad or Adam (row-wise Adagrad's state needs whole rows).
 * Weights start at 0: set them with ekd_init_uniform or ekd_set_table, or ekd_load. */
ek_status ekd_create(MPI_Comm comm, int64_t num_tables, const ekd_table_config *tables,
                     const ek_optimizer *optimizer, ekd_collection **out);
/* Frees a collection (collective: it frees the duplicated communicator). NULL does nothing. */
void ekd_free(ekd_collection *c);

/* The shard of table t this rank holds: rows [row_begin, row_end) x columns [col_begin, col_end)
 * (any pointer nullable). Local, not collective. */
ek_status ekd_shard(const ekd_collection *c, int64_t t, int64_t *row_begin, int64_t *row_end,
                    int64_t *col_begin, int64_t *col_end);

/* Sum of the tables' dims: the width of a forward's output. */
int64_t ekd_total_dim(const ekd_collection *c);

/* Weights from a counter-based generator: W_t[r, d] = uniform in [-scale, scale) from (seed, t, r, d)
 * alone, so every sharding (and one process) gets the same table. scale >= 0 and finite. */
ek_status ekd_init_uniform(ekd_collection *c, uint64_t seed, float scale);
/* Sets table t from `full` (rows x dim, given on every rank; each rank copies its shard). */
ek_status ekd_set_table(ekd_collection *c, int64_t t, const float *full);
/* Gathers table t into `full` (rows x dim) on every rank. */
ek_status ekd_get_table(ekd_collection *c, int64_t t, float *full);

/* Forward (collective). inputs: num_tables ek_bag_input, as for ek_bag_forward, of this rank's
 * batch: every table the same num_bags B_r (ranks may differ); per_sample_weights given for a table
 * on all ranks or on none; padding_idx per rank. out: B_r x ekd_total_dim(c). The collection keeps
 * what the backward needs (the ids on the owners, max's argmax, the bag sizes); a later forward
 * replaces it. */
ek_status ekd_forward(ekd_collection *c, const ek_bag_input *inputs, float *out);

/* Backward fused with the optimizer step (collective), for the last forward: grad_out is this rank's
 * B_r x ekd_total_dim(c) gradient of the output. The gradients go to the owners, and each rank
 * applies ek_bag_backward_update to its own rows only. Equal to one process running
 * ek_bag_backward_update on the global batch: exactly for table-wise and column-wise (and row-wise sum
 * or max without weights), within fp32 rounding for row-wise mean or weighted sum. */
ek_status ekd_backward_update(ekd_collection *c, const float *grad_out);

/* Deduplication of ids before sending (off by default; local, not collective: ranks may differ).
 * On: in each forward, for each owner, this rank sends each distinct id once plus a 16- or 32-bit
 * position per entry (the inverse map), whenever that is smaller than the plain ids; the owner
 * expands them back, so results are bit-identical to the plain path. Saves id bytes when ids repeat
 * (skewed distributions), at the cost of a hash pass on the source. */
ek_status ekd_set_dedup(ekd_collection *c, int on);

/* What this rank handed MPI for other ranks in ekd_forward and ekd_backward_update since the
 * collection was created or the counters reset: all-to-all parts exactly (the part a rank sends
 * itself is not counted); an allreduce, allgather or broadcast as its payload once per other rank
 * (the logical volume: MPI's algorithm may route it differently). Local, not collective. */
typedef struct ekd_traffic {
    int64_t calls;          /* MPI collective calls */
    int64_t messages;       /* non-empty parts addressed to another rank */
    int64_t bytes;          /* bytes addressed to other ranks: the sum of the five below */
    int64_t control_bytes;  /* verdicts, batch sizes, id counts */
    int64_t length_bytes;   /* bag lengths */
    int64_t id_bytes;       /* ids (plain or deduplicated) and per-sample weights */
    int64_t pooled_bytes;   /* pooled rows, partial sums and argmax back to the sources */
    int64_t gradient_bytes; /* gradient rows to the owners */
} ekd_traffic;
ek_status ekd_get_traffic(const ekd_collection *c, ekd_traffic *out);
ek_status ekd_reset_traffic(ekd_collection *c);

/* Dense data-parallel parameters: replaces buf (n floats) by the mean over the ranks of comm, the
 * same bits on every rank (a reduction to rank 0 in MPI's order, then a broadcast). Collective. */
ek_status ekd_allreduce_mean(MPI_Comm comm, float *buf, int64_t n);

/* Checkpoints (collective). Save: each rank writes its shard (weights and optimizer state) to
 * dir/shard-<G>-<rank>.safetensors (a temporary file, fsync, rename), then rank 0 writes
 * dir/manifest.safetensors (the tables, schemes, rank count, generation G, step) the same way: the
 * manifest names a complete checkpoint, so a job that dies mid-save leaves the previous one. Older
 * generations' shards are removed after the manifest. dir must exist and be visible to every rank.
 * Load: reads the manifest, and each rank reads its new shard's rows and columns from whichever old
 * shards hold them: a checkpoint saved on P ranks loads on any number of ranks and any schemes, as
 * long as the tables' rows and dims match. Nothing changes unless every rank loaded. */
ek_status ekd_save(ekd_collection *c, const char *dir);
ek_status ekd_load(ekd_collection *c, const char *dir);

#ifdef __cplusplus
}
#endif

#endif /* EMBEDDINGKIT_DIST_H */
