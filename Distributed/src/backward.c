/* backward.c — the sharded backward fused with the optimizer step.
 *
 * Per table, each source sends each owner the gradient rows of its bags (one MPI_Alltoallv):
 * table-wise the table's columns to its owner, column-wise each owner its slice, row-wise the whole
 * row to every owner: scaled by 1 / |J(b)| (or 1 / Σw) for mean, and for max zero except where the
 * owner's row won. The owner then calls ek_bag_backward_update on its shard with the ids the forward
 * left there (the global batch, sources in rank order, so each row's gradient terms are added in the
 * order one process adds them) and its own argmax: it updates its own rows only. */
#include "exchange.h"

#include <stdlib.h>
#include <string.h>

static int region_empty(ekd_region r) { return r.r1 <= r.r0 || r.c1 <= r.c0; }

/* pre: the caller's checks of the call (table 0 only), agreed in one step with the allocations here;
 * *early says the call failed there, before anything changed. */
static ek_status backward_table(ekd_collection *c, int64_t t, const float *grad_out, int64_t col, ek_status pre, int *early) {
    ekd_table *tb = &c->tables[t];
    const ekd_table_config *cfg = &tb->cfg;
    const int P = c->size, me = c->rank, rowwise = cfg->scheme == EKD_ROW_WISE;
    const int64_t Br = c->batch[me], D = cfg->dim, Dt = c->total_dim;
    const ekd_region mine = tb->shard;
    const int64_t w = mine.c1 - mine.c0;
    ek_status st = pre;
    int64_t *cnt = ekd_alloc(sizeof(int64_t) * 2 * (size_t)P, &st);
    ekd_region *reg = ekd_alloc(sizeof(ekd_region) * (size_t)P, &st);
    float *send = NULL, *recv = NULL;
    if (st == EK_OK) {
        int64_t ssum = 0;
        for (int o = 0; o < P; o++) {
            reg[o] = ekd_plan(cfg, t, o, P);
            cnt[o] = region_empty(reg[o]) ? 0 : Br * (reg[o].c1 - reg[o].c0);
            cnt[P + o] = region_empty(mine) ? 0 : c->batch[o] * w;
            ssum += cnt[o];
        }
        send = ekd_scratch(c, EKD_S_GSEND, sizeof(float) * (size_t)ssum, &st);
        recv = ekd_scratch(c, EKD_S_GRECV, sizeof(float) * (size_t)(tb->own.num_bags * w), &st);
    }
    if ((st = ekd_agree(c->comm, st)) != EK_OK) { *early = 1; goto done; }

    float *p = send;
    for (int o = 0; o < P; o++) {
        if (region_empty(reg[o])) continue;
        int64_t wo = reg[o].c1 - reg[o].c0;
        for (int64_t b = 0; b < Br; b++, p += wo) {
            const float *g = grad_out + b * Dt + col + reg[o].c0;
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
    if ((st = ekd_alltoallv(c->comm, P, send, cnt, recv, cnt + P, MPI_FLOAT, EKD_T_GRADIENTS, "MPI_Alltoallv (gradients)")) != EK_OK) goto done;

    ek_status local = EK_OK;
    ekd_owner_ctx *own = &tb->own;
    if (!region_empty(mine) && own->num_bags > 0) {
        ek_table tab = {.struct_size = sizeof(ek_table), .rows = mine.r1 - mine.r0, .dim = w, .data = tb->weight};
        ek_bag_input in = {.struct_size = sizeof(ek_bag_input), .index_type = EK_INDEX_I64, .indices = own->ids,
                           .num_indices = own->num_ids, .offsets = own->offsets, .num_bags = own->num_bags,
                           .include_last_offset = 1, .per_sample_weights = own->weights,
                           .num_weights = own->weights ? own->num_ids : 0};
        ek_bag_options opts = {.struct_size = sizeof(ek_bag_options),
                               .mode = rowwise && cfg->mode == EK_BAG_MEAN ? EK_BAG_SUM : cfg->mode,
                               .scale_grad_by_freq = cfg->scale_grad_by_freq};
        ek_optimizer opt = c->opt;
        opt.step = c->step + 1;
        opt.momentum_buffer = tb->momentum;
        opt.state_sum = tb->state_sum;
        opt.exp_avg = tb->exp_avg;
        opt.exp_avg_sq = tb->exp_avg_sq;
        local = ek_bag_backward_update(&tab, &in, &opts, own->max_indices, recv, &opt);
        if (local != EK_OK)
            local = ekd_fail(local, "rank %d: table %lld: ek_bag_backward_update: %s", me, (long long)t, ek_last_error());
    }
    st = ekd_agree(c->comm, local);
done:
    free(cnt); free(reg); /* send, recv: the collection's scratch */
    return st;
}

ek_status ekd_backward_update(ekd_collection *c, const float *grad_out) {
    if (c == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "collection is NULL");
    ek_status st = EK_OK;
    if (!c->has_forward) st = ekd_fail(EK_ERR_INVALID_ARGUMENT, "rank %d: ekd_backward_update without a forward (one update per forward)", c->rank);
    else if (grad_out == NULL && c->batch[c->rank] > 0)
        st = ekd_fail(EK_ERR_NULL_POINTER, "rank %d: grad_out is NULL with %lld bags", c->rank, (long long)c->batch[c->rank]);
    ekd_meter_start(c);
    int64_t col = 0;
    int early = 0;
    ek_status pre = st;
    for (int64_t t = 0; t < c->num_tables && (t == 0 || st == EK_OK); t++) {
        st = backward_table(c, t, grad_out, col, t == 0 ? pre : EK_OK, &early);
        col += c->tables[t].cfg.dim;
        if (t == 0 && early) break;
    }
    ekd_meter_stop();
    if (early) return st; /* a bad call or no memory: nothing changed, the forward's context is kept */
    c->step++;
    ekd_clear_ctx(c);
    return st;
}
