/* backward.c — the sharded backward fused with the optimizer step.
 *
 * Each source sends each owner the gradient rows of its bags, every table in one MPI_Alltoallv:
 * table-wise the table's columns to its owner, column-wise each owner its slice, row-wise the whole
 * row to every owner: scaled by 1 / |J(b)| (or 1 / Σw) for mean, and for max zero except where the
 * owner's row won. The owner then calls ek_bag_backward_update on its shard with the ids the forward
 * left there (the global batch, sources in rank order, so each row's gradient terms are added in the
 * order one process adds them) and its own argmax: it updates its own rows only. Three collectives
 * per step whatever the number of tables — the verdict on the call and the allocations, the
 * gradients, the verdict on the updates — but for large gradient rows one exchange per table
 * (ekd_batch_rows). */
#include "exchange.h"

#include <stdlib.h>
#include <string.h>

static int region_empty(ekd_region r) { return r.r1 <= r.r0 || r.c1 <= r.c0; }

/* Table t's gradient rows for each owner, in owner order (the owner's columns of this rank's bags). */
static void fill_gradients(ekd_collection *c, int64_t t, const float *grad_out, int64_t col, float *p) {
    ekd_table *tb = &c->tables[t];
    const ekd_table_config *cfg = &tb->cfg;
    const int P = c->size, rowwise = cfg->scheme == EKD_ROW_WISE;
    const int64_t Br = c->batch[c->rank], D = cfg->dim, Dt = c->total_dim;
    for (int o = 0; o < P; o++) {
        ekd_region r = ekd_plan(cfg, t, o, P);
        if (region_empty(r)) continue;
        int64_t wo = r.c1 - r.c0;
        for (int64_t b = 0; b < Br; b++, p += wo) {
            const float *g = grad_out + b * Dt + col + r.c0;
            if (!rowwise || cfg->mode == EK_BAG_SUM) { memcpy(p, g, sizeof(float) * (size_t)wo); continue; }
            for (int64_t d = 0; d < wo; d++) {
                if (cfg->mode == EK_BAG_MEAN) {
                    float denom = tb->src.scale[b];
                    p[d] = denom != 0.0f ? g[d] / denom : 0.0f;
                } else {
                    p[d] = tb->src.winner[b * D + d] == o ? g[d] : 0.0f;
                }
            }
        }
    }
}

/* The owner's fused update of its shard of table t from the gradient rows it received. */
static ek_status update_table(ekd_collection *c, int64_t t, const float *recv) {
    ekd_table *tb = &c->tables[t];
    const ekd_table_config *cfg = &tb->cfg;
    const ekd_region mine = tb->shard;
    ekd_owner_ctx *own = &tb->own;
    if (region_empty(mine) || own->num_bags == 0) return EK_OK;
    ek_table tab = {.struct_size = sizeof(ek_table), .rows = mine.r1 - mine.r0, .dim = mine.c1 - mine.c0, .data = tb->weight};
    ek_bag_input in = {.struct_size = sizeof(ek_bag_input), .index_type = EK_INDEX_I64, .indices = own->ids,
                       .num_indices = own->num_ids, .offsets = own->offsets, .num_bags = own->num_bags,
                       .include_last_offset = 1, .per_sample_weights = own->weights,
                       .num_weights = own->weights ? own->num_ids : 0};
    ek_bag_options opts = {.struct_size = sizeof(ek_bag_options),
                           .mode = cfg->scheme == EKD_ROW_WISE && cfg->mode == EK_BAG_MEAN ? EK_BAG_SUM : cfg->mode,
                           .scale_grad_by_freq = cfg->scale_grad_by_freq};
    ek_optimizer opt = c->opt;
    opt.step = c->step + 1;
    opt.momentum_buffer = tb->momentum;
    opt.state_sum = tb->state_sum;
    opt.exp_avg = tb->exp_avg;
    opt.exp_avg_sq = tb->exp_avg_sq;
    ek_status st = ek_bag_backward_update(&tab, &in, &opts, own->max_indices, recv, &opt);
    if (st != EK_OK) st = ekd_fail(st, "rank %d: table %lld: ek_bag_backward_update: %s", c->rank, (long long)t, ek_last_error());
    return st;
}

static ek_status backward_tables(ekd_collection *c, const float *grad_out, ek_status pre, int *early) {
    const int P = c->size, me = c->rank;
    const int64_t T = c->num_tables;
    ek_status st = pre;
    /* per table: counts to / from each rank (the forward's count arrays are free again) */
    int64_t **sc = ekd_alloc(sizeof(int64_t *) * (size_t)T, &st), **rc = ekd_alloc(sizeof(int64_t *) * (size_t)T, &st);
    void **sb = ekd_alloc(sizeof(void *) * (size_t)T, &st), **rb = ekd_alloc(sizeof(void *) * (size_t)T, &st);
    for (int64_t t = 0; t < T && st == EK_OK; t++) {
        ekd_table *tb = &c->tables[t];
        const int64_t w = tb->shard.c1 - tb->shard.c0;
        sc[t] = c->work + t * EKD_WORK_PER_RANK * P;
        rc[t] = sc[t] + P;
        int64_t ssum = 0;
        for (int o = 0; o < P; o++) {
            ekd_region r = ekd_plan(&tb->cfg, t, o, P);
            sc[t][o] = region_empty(r) ? 0 : c->batch[me] * (r.c1 - r.c0);
            rc[t][o] = region_empty(tb->shard) ? 0 : c->batch[o] * w;
            ssum += sc[t][o];
        }
        sb[t] = ekd_scratch(c, t, EKD_S_GSEND, sizeof(float) * (size_t)ssum, &st);
        rb[t] = ekd_scratch(c, t, EKD_S_GRECV, sizeof(float) * (size_t)(tb->own.num_bags * w), &st);
    }
    const int batch = ekd_batch_rows(c);
    if (st == EK_OK && batch) ekd_reserve_parts(c, (int)T, sc, rc, sizeof(float), &st);
    if ((st = ekd_agree(c->comm, st)) != EK_OK) { *early = 1; goto done; }

    int64_t col = 0;
    for (int64_t t = 0; t < T; t++) {
        fill_gradients(c, t, grad_out, col, sb[t]);
        col += c->tables[t].cfg.dim;
    }
    if ((st = ekd_exchange_parts(c, (int)T, sb, sc, rb, rc, MPI_FLOAT, batch, EKD_T_GRADIENTS, "MPI_Alltoallv (gradients)")) != EK_OK)
        goto done;
    ek_status local = EK_OK;
    for (int64_t t = 0; t < T; t++) {
        ek_status ls = update_table(c, t, rb[t]);
        if (local == EK_OK) local = ls;
    }
    st = ekd_agree(c->comm, local);
done:
    free(sc); free(rc); free(sb); free(rb); /* their buffers: the collection's */
    return st;
}

ek_status ekd_backward_update(ekd_collection *c, const float *grad_out) {
    if (c == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "collection is NULL");
    ek_status st = EK_OK;
    if (!c->has_forward) st = ekd_fail(EK_ERR_INVALID_ARGUMENT, "rank %d: ekd_backward_update without a forward (one update per forward)", c->rank);
    else if (grad_out == NULL && c->batch[c->rank] > 0)
        st = ekd_fail(EK_ERR_NULL_POINTER, "rank %d: grad_out is NULL with %lld bags", c->rank, (long long)c->batch[c->rank]);
    ekd_meter_start(c);
    int early = 0;
    st = backward_tables(c, grad_out, st, &early);
    ekd_meter_stop();
    if (early) return st; /* a bad call or no memory: nothing changed, the forward's context is kept */
    c->step++;
    ekd_clear_ctx(c);
    return st;
}
