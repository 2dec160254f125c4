/* collection.c — creating and freeing a collection, its shards and their optimizer state, and the
 * whole-table helpers (set, gather, deterministic init). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void *ekd_alloc(size_t n, ek_status *st) {
    void *p = calloc(n ? n : 1, 1);
    if (p == NULL && *st == EK_OK) *st = ekd_fail(EK_ERR_ALLOC, "out of memory allocating %zu bytes", n);
    return p;
}

static int64_t region_elems(ekd_region r) { return (r.r1 - r.r0) * (r.c1 - r.c0); }

void ekd_clear_ctx(ekd_collection *c) {
    for (int64_t t = 0; t < c->num_tables; t++) {
        ekd_table *tb = &c->tables[t];
        free(tb->own.offsets); free(tb->own.ids); free(tb->own.weights); free(tb->own.max_indices);
        free(tb->src.scale); free(tb->src.winner);
        memset(&tb->own, 0, sizeof tb->own);
        memset(&tb->src, 0, sizeof tb->src);
    }
    c->has_forward = 0;
}

/* FNV-1a over the fields every rank must agree on. */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static uint64_t config_hash(int64_t T, const ekd_table_config *tables, const ek_optimizer *o) {
    uint64_t h = fnv(14695981039346656037ULL, &T, sizeof T);
    for (int64_t t = 0; t < T; t++) {
        int64_t f[5] = {tables[t].rows, tables[t].dim, tables[t].scheme, tables[t].mode, tables[t].scale_grad_by_freq};
        h = fnv(h, f, sizeof f);
    }
    float hp[7] = {o->lr, o->eps, o->weight_decay, o->momentum, o->dampening, o->beta1, o->beta2};
    int64_t k[2] = {o->kind, o->nesterov};
    h = fnv(h, hp, sizeof hp);
    return fnv(h, k, sizeof k);
}

/* The core checks the optimizer's hyperparameters; an update of nothing on a 1 x 1 table asks it now,
 * so that a bad one fails here on every rank rather than later on the owners only. */
static ek_status check_optimizer(const ek_optimizer *opt) {
    if (opt == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "optimizer is NULL");
    float w = 0, s1 = 0, s2 = 0;
    ek_optimizer o = *opt;
    o.step = 1;
    o.momentum_buffer = &s1; o.state_sum = &s1; o.exp_avg = &s1; o.exp_avg_sq = &s2;
    ek_table tb = {.struct_size = sizeof(ek_table), .rows = 1, .dim = 1, .data = &w};
    int64_t row = 0;
    float g = 0;
    ek_status st = ek_optimizer_update(&tb, 0, &row, &g, &o);
    if (st != EK_OK) return ekd_fail(st, "optimizer: %s", ek_last_error());
    return EK_OK;
}

ek_status ekd_create(MPI_Comm comm, int64_t num_tables, const ekd_table_config *tables,
                     const ek_optimizer *optimizer, ekd_collection **out) {
    ek_status st = EK_OK;
    if (out == NULL) st = ekd_fail(EK_ERR_NULL_POINTER, "out is NULL");
    else if (num_tables < 1) st = ekd_fail(EK_ERR_INVALID_ARGUMENT, "num_tables=%lld must be >= 1", (long long)num_tables);
    else if (tables == NULL) st = ekd_fail(EK_ERR_NULL_POINTER, "tables is NULL");
    else st = check_optimizer(optimizer);
    for (int64_t t = 0; st == EK_OK && t < num_tables; t++) st = ekd_check_config(&tables[t], t, optimizer);
    st = ekd_agree(comm, st);
    if (st != EK_OK) return st;

    /* every rank must describe the same collection: compare a hash of it */
    uint64_t h = config_hash(num_tables, tables, optimizer), lo = 0, hi = 0;
    if ((st = ekd_mpi(MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, comm), "MPI_Allreduce (config)")) != EK_OK) return st;
    if ((st = ekd_mpi(MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, comm), "MPI_Allreduce (config)")) != EK_OK) return st;
    if (lo != hi) return ekd_fail(EK_ERR_INVALID_ARGUMENT, "ekd_create: the ranks passed different tables or optimizers");

    ekd_collection *c = ekd_alloc(sizeof *c, &st);
    if (c) {
        MPI_Comm_rank(comm, &c->rank);
        MPI_Comm_size(comm, &c->size);
        c->num_tables = num_tables;
        c->opt = *optimizer;
        c->opt.momentum_buffer = c->opt.state_sum = c->opt.exp_avg = c->opt.exp_avg_sq = NULL;
        c->tables = ekd_alloc(sizeof(ekd_table) * (size_t)num_tables, &st);
        c->batch = ekd_alloc(sizeof(int64_t) * (size_t)c->size, &st);
        /* the forward's fixed-size buffers, allocated once: a forward's first collectives then cannot
         * be preceded by an allocation failure, and carry every rank's status themselves */
        c->meta = ekd_alloc(sizeof(int64_t) * (size_t)((2 + 2 * num_tables) * (c->size + 1)), &st);
        c->work = ekd_alloc(sizeof(int64_t) * EKD_WORK_PER_RANK * (size_t)(c->size * num_tables), &st);
        c->regs = ekd_alloc(sizeof(ekd_region) * (size_t)(c->size * num_tables), &st);
        c->counts = ekd_alloc(sizeof(int64_t) * (size_t)(2 * c->size * (2 * num_tables + 1)), &st);
        c->xwork = ekd_alloc(sizeof(int64_t) * (size_t)(2 * c->size + 2 * num_tables + 2), &st);
        c->scratch = ekd_alloc(sizeof(void *) * (size_t)((num_tables + 1) * EKD_S_COUNT), &st);
        c->scratch_size = ekd_alloc(sizeof(size_t) * (size_t)((num_tables + 1) * EKD_S_COUNT), &st);
        c->comm = MPI_COMM_NULL;
    }
    for (int64_t t = 0; c && c->tables && t < num_tables; t++) {
        ekd_table *tb = &c->tables[t];
        tb->cfg = tables[t];
        tb->shard = ekd_plan(&tables[t], t, c->rank, c->size);
        c->total_dim += tables[t].dim;
        int64_t n = region_elems(tb->shard);
        tb->weight = ekd_alloc(sizeof(float) * (size_t)n, &st);
        for (int i = 0; i < ekd_state_count(&c->opt); i++) {
            int64_t m = ekd_state_rowwise(&c->opt, i) ? tb->shard.r1 - tb->shard.r0 : n;
            *ekd_state_ptr(tb, &c->opt, i) = ekd_alloc(sizeof(float) * (size_t)m, &st);
        }
    }
    st = ekd_agree(comm, st);
    if (st == EK_OK) st = ekd_mpi(MPI_Comm_dup(comm, &c->comm), "MPI_Comm_dup");
    if (st != EK_OK) {
        ekd_free(c);
        return st;
    }
    *out = c;
    return EK_OK;
}

void ekd_free(ekd_collection *c) {
    if (c == NULL) return;
    if (c->tables) {
        ekd_clear_ctx(c);
        for (int64_t t = 0; t < c->num_tables; t++) {
            ekd_table *tb = &c->tables[t];
            free(tb->weight); free(tb->momentum); free(tb->state_sum); free(tb->exp_avg); free(tb->exp_avg_sq);
        }
    }
    if (c->comm != MPI_COMM_NULL) MPI_Comm_free(&c->comm);
    free(c->tables);
    free(c->batch);
    free(c->meta); free(c->work); free(c->regs); free(c->xwork); free(c->counts);
    ekd_scratch_free(c);
    free(c);
}

ek_status ekd_shard(const ekd_collection *c, int64_t t, int64_t *row_begin, int64_t *row_end,
                    int64_t *col_begin, int64_t *col_end) {
    if (c == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "collection is NULL");
    if (t < 0 || t >= c->num_tables)
        return ekd_fail(EK_ERR_INDEX_OUT_OF_RANGE, "table %lld is out of range for %lld tables", (long long)t, (long long)c->num_tables);
    ekd_region r = c->tables[t].shard;
    if (row_begin) *row_begin = r.r0;
    if (row_end) *row_end = r.r1;
    if (col_begin) *col_begin = r.c0;
    if (col_end) *col_end = r.c1;
    return EK_OK;
}

int64_t ekd_total_dim(const ekd_collection *c) { return c ? c->total_dim : 0; }

/* splitmix64: a counter-based generator, so a value depends on its coordinates only */
static uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

ek_status ekd_init_uniform(ekd_collection *c, uint64_t seed, float scale) {
    if (c == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "collection is NULL");
    if (!(scale >= 0.0f) || scale > 3.4e38f) return ekd_fail(EK_ERR_INVALID_ARGUMENT, "scale=%g must be >= 0 and finite", (double)scale);
    for (int64_t t = 0; t < c->num_tables; t++) {
        ekd_table *tb = &c->tables[t];
        ekd_region r = tb->shard;
        int64_t w = r.c1 - r.c0;
        for (int64_t i = r.r0; i < r.r1; i++)
            for (int64_t d = r.c0; d < r.c1; d++) {
                uint64_t h = mix(mix(mix(seed ^ (uint64_t)t) ^ (uint64_t)i) ^ (uint64_t)d);
                /* 24 random bits -> [0, 2) exactly, - 1 exactly, then one rounding by scale */
                tb->weight[(i - r.r0) * w + (d - r.c0)] = scale * ((float)(h >> 40) * 0x1p-23f - 1.0f);
            }
    }
    return EK_OK;
}

ek_status ekd_set_table(ekd_collection *c, int64_t t, const float *full) {
    ek_status st = ekd_shard(c, t, NULL, NULL, NULL, NULL);
    if (st != EK_OK) return st;
    if (full == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "full is NULL");
    ekd_table *tb = &c->tables[t];
    ekd_region r = tb->shard;
    int64_t w = r.c1 - r.c0;
    for (int64_t i = r.r0; i < r.r1; i++)
        memcpy(tb->weight + (i - r.r0) * w, full + i * tb->cfg.dim + r.c0, sizeof(float) * (size_t)w);
    return EK_OK;
}

ek_status ekd_get_table(ekd_collection *c, int64_t t, float *full) {
    ek_status st = ekd_shard(c, t, NULL, NULL, NULL, NULL);
    if (st == EK_OK && full == NULL) st = ekd_fail(EK_ERR_NULL_POINTER, "full is NULL");
    if (st == EK_OK && c->tables[t].cfg.rows * c->tables[t].cfg.dim > INT32_MAX)
        st = ekd_fail(EK_ERR_OVERFLOW, "table %lld: %lld x %lld is too large to gather", (long long)t,
                      (long long)c->tables[t].cfg.rows, (long long)c->tables[t].cfg.dim);
    if (c == NULL) return st;
    if ((st = ekd_agree(c->comm, st)) != EK_OK) return st;
    ekd_table *tb = &c->tables[t];
    int P = c->size;
    int *counts = ekd_alloc(sizeof(int) * (size_t)P, &st), *displs = ekd_alloc(sizeof(int) * (size_t)P, &st);
    float *all = ekd_alloc(sizeof(float) * (size_t)(tb->cfg.rows * tb->cfg.dim), &st);
    if ((st = ekd_agree(c->comm, st)) == EK_OK) {
        int64_t off = 0;
        for (int s = 0; s < P; s++) {
            counts[s] = (int)region_elems(ekd_plan(&tb->cfg, t, s, P));
            displs[s] = (int)off;
            off += counts[s];
        }
        st = ekd_mpi(MPI_Allgatherv(tb->weight, counts[c->rank], MPI_FLOAT, all, counts, displs, MPI_FLOAT, c->comm),
                     "MPI_Allgatherv (table)");
    }
    if (st == EK_OK)
        for (int s = 0; s < P; s++) {
            ekd_region r = ekd_plan(&tb->cfg, t, s, P);
            int64_t w = r.c1 - r.c0;
            for (int64_t i = r.r0; i < r.r1; i++)
                memcpy(full + i * tb->cfg.dim + r.c0, all + displs[s] + (i - r.r0) * w, sizeof(float) * (size_t)w);
        }
    free(counts); free(displs); free(all);
    return st;
}
