/* forward.c — the sharded EmbeddingBag forward.
 *
 * (1) For every table, every rank sends each owner the entries of its bags that the owner needs
 * (padding dropped at the source): table-wise all to the one owner, column-wise all to every owner,
 * row-wise each to the owner of its row (as a local row number). All tables travel together: one
 * MPI_Alltoall of counts (and each rank's status), one MPI_Alltoallv of bag lengths + ids (plain or
 * deduplicated), one of weights. (2) Each owner runs ek_bag_forward on its shard over the global
 * batch (the sources' bags in rank order). (3) The pooled results of all tables go back in one
 * MPI_Alltoallv and the source combines them per table: table-wise copies, column-wise places the column slices, row-wise adds the owners' partial
 * sums in rank order (a fixed order: bit-identical run to run) and divides for mean, or, for max,
 * picks the owners' candidates as one process's scan would (larger value; NaN first; on a tie the
 * row that comes first in the bag) and remembers the winner for the backward. */
#include "exchange.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int region_empty(ekd_region r) { return r.r1 <= r.r0 || r.c1 <= r.c0; }

/* The first position of global row `row` in the bag [begin, end) of `in`, padding skipped. */
static int64_t first_pos(const ek_bag_input *in, int64_t begin, int64_t end, int64_t row) {
    for (int64_t j = begin; j < end; j++)
        if (ekd_read_index(in->indices, in->index_type, j) == row) return j;
    return end;
}

/* v / blk without a 64-bit division per id (the packing loops' cost): a floating-point estimate,
 * corrected to the exact quotient. */
static inline int64_t block_of(int64_t v, int64_t blk, double inv) {
    int64_t o = (int64_t)((double)v * inv);
    if (o * blk > v) o--;
    else if ((o + 1) * blk <= v) o++;
    return o;
}

/* One table's part of a forward, between the phases that all tables go through together. */
typedef struct {
    const ek_bag_input *in;
    ekd_region *reg;    /* P regions of the table */
    int64_t *nsend, *nrecv, *lsend, *lrecv, *psend, *precv;  /* per rank: ids, lengths, pooled floats */
    int64_t *usend, *urecv, *wsend, *wrecv;  /* per rank: distinct ids (0: plain) and words of the id message */
    int64_t *fsend, *frecv;                  /* per rank: weights (0 when unweighted) */
    int64_t *xsend, *xrecv;                  /* per rank: argmax entries (row-wise max only) */
    int64_t *slens, *sids, *smsg, *rlens, *rmsg;
    float *sw, *rw, *partial, *pooled;
    int64_t *rids, *pidx, *ridx;
    int64_t Br, pad, Bt, Nt, w;
    int rowwise, owner_max, iown, weighted;
} fwd_table;

static void free_table(fwd_table *f) {
    /* slens, sids, smsg, rmsg, partial, pooled, ridx are the collection's scratch */
    free(f->sw); free(f->rw); free(f->rlens); free(f->rids); free(f->pidx);
}

/* (1) count and pack this rank's entries of table t for each owner, then the id message per owner:
 * plain, or deduplicated where that is smaller (never to itself: that part does not leave the
 * process). */
static ek_status pack_table(ekd_collection *c, int64_t t, fwd_table *f) {
    const ekd_table_config *cfg = &c->tables[t].cfg;
    const ek_bag_input *in = f->in;
    const int P = c->size, me = c->rank, rowwise = f->rowwise, weighted = f->weighted;
    const int64_t Br = f->Br, pad = f->pad;
    ek_status st = EK_OK;
    /* the owner of row v is v / blk */
    const int64_t blk = rowwise ? (cfg->rows + P - 1) / P : 1;
    const double inv = 1.0 / (double)blk;
    for (int64_t b = 0; b < Br; b++) {
        int64_t begin, end;
        ekd_bag_bounds(in, b, &begin, &end);
        for (int64_t j = begin; j < end; j++) {
            int64_t v = ekd_read_index(in->indices, in->index_type, j);
            if (v == pad) continue;
            if (rowwise) f->nsend[block_of(v, blk, inv)]++;
            else for (int o = 0; o < P; o++) f->nsend[o] += !region_empty(f->reg[o]);
        }
    }
    int64_t nsum = 0, lsum = 0;
    for (int o = 0; o < P; o++) {
        f->lsend[o] = region_empty(f->reg[o]) ? 0 : Br;
        f->fsend[o] = weighted ? f->nsend[o] : 0;
        nsum += f->nsend[o];
        lsum += f->lsend[o];
    }
    f->slens = ekd_scratch(c, t, EKD_S_SLENS, sizeof(int64_t) * (size_t)lsum, &st);
    f->sids = ekd_scratch(c, t, EKD_S_SIDS, sizeof(int64_t) * (size_t)nsum, &st);
    if (weighted) f->sw = ekd_alloc(sizeof(float) * (size_t)nsum, &st);
    int64_t *cur = ekd_alloc(sizeof(int64_t) * 3 * (size_t)P, &st), *lcur = cur ? cur + P : NULL, *before = cur ? cur + 2 * P : NULL;
    if (st != EK_OK) { free(cur); return st; }
    for (int64_t o = 0, so = 0, lo = 0; o < P; o++) { cur[o] = so; lcur[o] = lo; so += f->nsend[o]; lo += f->lsend[o]; }
    for (int64_t b = 0; b < Br; b++) {
        int64_t begin, end;
        ekd_bag_bounds(in, b, &begin, &end);
        memcpy(before, cur, sizeof(int64_t) * (size_t)P);
        for (int64_t j = begin; j < end; j++) {
            int64_t v = ekd_read_index(in->indices, in->index_type, j);
            if (v == pad) continue;
            if (rowwise) {
                int64_t o = block_of(v, blk, inv);
                f->sids[cur[o]] = v - f->reg[o].r0;
                if (weighted) f->sw[cur[o]] = in->per_sample_weights[j];
                cur[o]++;
                continue;
            }
            for (int o = 0; o < P; o++) {
                if (region_empty(f->reg[o])) continue;
                f->sids[cur[o]] = v - f->reg[o].r0;
                if (weighted) f->sw[cur[o]] = in->per_sample_weights[j];
                cur[o]++;
            }
        }
        for (int o = 0; o < P; o++)
            if (!region_empty(f->reg[o])) f->slens[lcur[o]++] = cur[o] - before[o];
    }
    free(cur);

    f->smsg = f->sids;
    for (int o = 0; o < P; o++) f->wsend[o] = f->nsend[o];
    if (c->dedup && nsum > 0) {
        f->smsg = ekd_scratch(c, t, EKD_S_SMSG, sizeof(int64_t) * (size_t)nsum, &st);
        for (int64_t o = 0, off = 0, woff = 0; o < P && st == EK_OK; off += f->nsend[o], woff += f->wsend[o], o++) {
            int64_t u = 0;
            if (o != me) st = ekd_dedup_encode(f->sids + off, f->nsend[o], f->smsg + woff, &u, &c->dedup_scratch);
            if (u == 0) memcpy(f->smsg + woff, f->sids + off, sizeof(int64_t) * (size_t)f->nsend[o]);
            f->usend[o] = u;
            f->wsend[o] = u ? ekd_dedup_words(f->nsend[o], u) : f->nsend[o];
        }
    }
    return st;
}

/* After the counts: what table t receives, and every buffer the rest of its forward needs. */
static ek_status plan_table(ekd_collection *c, int64_t t, fwd_table *f, const int64_t *cr, int64_t K) {
    ekd_table *tb = &c->tables[t];
    const int P = c->size;
    ek_status st = EK_OK;
    int64_t Bt = 0, Nt = 0, Wt = 0, psum = 0;
    for (int s = 0; s < P; s++) {
        f->nrecv[s] = cr[s * K + 2 * t];
        f->urecv[s] = cr[s * K + 2 * t + 1];
        f->wrecv[s] = f->urecv[s] ? ekd_dedup_words(f->nrecv[s], f->urecv[s]) : f->nrecv[s];
        f->frecv[s] = f->weighted ? f->nrecv[s] : 0;
        f->lrecv[s] = f->iown ? c->batch[s] : 0;
        Bt += f->lrecv[s];
        Nt += f->nrecv[s];
        Wt += f->wrecv[s];
    }
    for (int o = 0; o < P; o++) {
        f->psend[o] = f->iown ? c->batch[o] * f->w : 0;
        f->precv[o] = region_empty(f->reg[o]) ? 0 : f->Br * (f->reg[o].c1 - f->reg[o].c0);
        f->xsend[o] = f->owner_max && f->rowwise ? f->psend[o] : 0;
        f->xrecv[o] = f->owner_max && f->rowwise ? f->precv[o] : 0;
        psum += f->precv[o];
    }
    f->Bt = Bt;
    f->Nt = Nt;
    f->rlens = ekd_alloc(sizeof(int64_t) * (size_t)Bt, &st);
    f->rmsg = ekd_scratch(c, t, EKD_S_RMSG, sizeof(int64_t) * (size_t)Wt, &st);
    f->rids = ekd_alloc(sizeof(int64_t) * (size_t)Nt, &st);
    if (f->weighted) f->rw = ekd_alloc(sizeof(float) * (size_t)Nt, &st);
    tb->own.offsets = ekd_alloc(sizeof(int64_t) * (size_t)(Bt + 1), &st);
    f->partial = ekd_scratch(c, t, EKD_S_PARTIAL, sizeof(float) * (size_t)(Bt * f->w), &st);
    if (f->owner_max) f->pidx = ekd_alloc(sizeof(int64_t) * (size_t)(Bt * f->w), &st);
    f->pooled = ekd_scratch(c, t, EKD_S_POOLED, sizeof(float) * (size_t)psum, &st);
    if (f->owner_max && f->rowwise) f->ridx = ekd_scratch(c, t, EKD_S_RIDX, sizeof(int64_t) * (size_t)psum, &st);
    if (f->rowwise && tb->cfg.mode == EK_BAG_MEAN) tb->src.scale = ekd_alloc(sizeof(float) * (size_t)f->Br, &st);
    if (f->rowwise && f->owner_max) tb->src.winner = ekd_alloc(sizeof(int32_t) * (size_t)(f->Br * tb->cfg.dim), &st);
    return st;
}

/* (2) the owner pools its shard over the global batch. Row-wise sum and mean pool sums (the source
 * divides once it has every owner's part); max stays max. */
static ek_status pool_table(ekd_collection *c, int64_t t, fwd_table *f) {
    ekd_table *tb = &c->tables[t];
    const ekd_table_config *cfg = &tb->cfg;
    const ekd_region mine = tb->shard;
    ekd_owner_ctx *own = &tb->own;
    for (int64_t s = 0, no = 0, wo = 0; s < c->size; no += f->nrecv[s], wo += f->wrecv[s], s++)
        ekd_dedup_decode(f->rmsg + wo, f->nrecv[s], f->urecv[s], f->rids + no); /* the plain path's ids */
    own->num_bags = f->Bt;
    own->num_ids = f->Nt;
    for (int64_t k = 0; k < f->Bt; k++) own->offsets[k + 1] = own->offsets[k] + f->rlens[k];
    own->ids = f->rids; f->rids = NULL;
    own->weights = f->rw; f->rw = NULL;
    ek_status local = EK_OK;
    if (f->iown && f->Bt > 0) {
        ek_table tab = {.struct_size = sizeof(ek_table), .rows = mine.r1 - mine.r0, .dim = f->w, .data = tb->weight};
        ek_bag_input oin = {.struct_size = sizeof(ek_bag_input), .index_type = EK_INDEX_I64, .indices = own->ids,
                            .num_indices = f->Nt, .offsets = own->offsets, .num_bags = f->Bt, .include_last_offset = 1,
                            .per_sample_weights = own->weights, .num_weights = own->weights ? f->Nt : 0};
        ek_bag_options opts = {.struct_size = sizeof(ek_bag_options),
                               .mode = f->rowwise && cfg->mode == EK_BAG_MEAN ? EK_BAG_SUM : cfg->mode};
        local = ek_bag_forward(&tab, &oin, &opts, f->partial, NULL, f->pidx);
        if (local != EK_OK)
            local = ekd_fail(local, "rank %d: table %lld: ek_bag_forward: %s", c->rank, (long long)t, ek_last_error());
    }
    own->max_indices = f->pidx; f->pidx = NULL;
    return local;
}

/* (3) the source's result for table t from the owners' pooled parts: its columns of out */
static void combine_table(ekd_collection *c, int64_t t, fwd_table *F, float *out, int64_t col) {
    ekd_table *tb = &c->tables[t];
    const ekd_table_config *cfg = &tb->cfg;
    const ek_bag_input *in = F->in;
    const int P = c->size, rowwise = F->rowwise, owner_max = F->owner_max, weighted = F->weighted;
    const int64_t Br = F->Br, D = cfg->dim, Dt = c->total_dim, pad = F->pad;
    /* combine, block of owner o at offset po[o] */
    int64_t po = 0;
    if (!rowwise) {
        for (int o = 0; o < P; o++) {
            if (region_empty(F->reg[o])) continue;
            int64_t wo = F->reg[o].c1 - F->reg[o].c0;
            for (int64_t b = 0; b < Br; b++)
                memcpy(out + b * Dt + col + F->reg[o].c0, F->pooled + po + b * wo, sizeof(float) * (size_t)wo);
            po += Br * wo;
        }
    } else if (!owner_max) {
        for (int64_t b = 0; b < Br; b++) {
            float denom = 1.0f;
            if (cfg->mode == EK_BAG_MEAN) { /* |J(b)| or Σ w over the non-padding entries, in bag order */
                int64_t begin, end;
                ekd_bag_bounds(in, b, &begin, &end);
                float sw = 0.0f;
                int64_t n = 0;
                for (int64_t j = begin; j < end; j++) {
                    if (ekd_read_index(in->indices, in->index_type, j) == pad) continue;
                    n++;
                    if (weighted) sw += in->per_sample_weights[j];
                }
                denom = weighted ? sw : (float)n;
                tb->src.scale[b] = denom;
            }
            /* each element: 0 + owner parts in rank order, then the division (owners outermost, so
             * the loop over d vectorizes; the same additions in the same order) */
            float *acc = out + b * Dt + col;
            for (int64_t d = 0; d < D; d++) acc[d] = 0.0f;
            int64_t off = 0;
            for (int o = 0; o < P; o++) {
                if (region_empty(F->reg[o])) continue;
                const float *part = F->pooled + off + b * D;
                for (int64_t d = 0; d < D; d++) acc[d] += part[d];
                off += Br * D;
            }
            if (cfg->mode == EK_BAG_MEAN)
                for (int64_t d = 0; d < D; d++) acc[d] = denom != 0.0f ? acc[d] / denom : 0.0f;
        }
    } else {
        for (int64_t b = 0; b < Br; b++) {
            int64_t begin, end;
            ekd_bag_bounds(in, b, &begin, &end);
            for (int64_t d = 0; d < D; d++) {
                int best = -1;
                float bv = 0.0f;
                int64_t bpos = 0, off = 0;
                for (int o = 0; o < P; o++) {
                    if (region_empty(F->reg[o])) continue;
                    int64_t r = F->ridx[off + b * D + d];
                    float v = F->pooled[off + b * D + d];
                    off += Br * D;
                    if (r < 0) continue;
                    int64_t pos = first_pos(in, begin, end, r + F->reg[o].r0);
                    int take = best < 0 || (isnan(v) && !isnan(bv)) || (isnan(v) && isnan(bv) && pos < bpos) ||
                               (!isnan(v) && !isnan(bv) && (v > bv || (v == bv && pos < bpos)));
                    if (take) { best = o; bv = v; bpos = pos; }
                }
                out[b * Dt + col + d] = best < 0 ? 0.0f : bv;
                tb->src.winner[b * D + d] = best;
            }
        }
    }
}

/* Every table together, phase by phase: 5 collectives per forward whatever the number of tables
 * (+ 1 with weights, + 1 with row-wise max), but for large pooled rows one exchange of them per
 * table (ekd_batch_rows). */
static ek_status forward_tables(ekd_collection *c, const ek_bag_input *inputs, float *out) {
    const int P = c->size, me = c->rank;
    const int64_t T = c->num_tables, K = 2 * T + 1;
    ek_status st = EK_OK;
    fwd_table *F = ekd_alloc(sizeof(fwd_table) * (size_t)T, &st);
    int64_t **sc = NULL, **rc = NULL;
    void **sb = NULL, **rb = NULL;
    for (int64_t t = 0; F && t < T && st == EK_OK; t++) {
        fwd_table *f = &F[t];
        const ekd_table_config *cfg = &c->tables[t].cfg;
        const ek_bag_input *in = &inputs[t];
        f->in = in;
        f->reg = c->regs + t * P;
        f->nsend = c->work + t * EKD_WORK_PER_RANK * P;
        memset(f->nsend, 0, sizeof(int64_t) * EKD_WORK_PER_RANK * (size_t)P);
        int64_t *q = f->nsend;
        f->nrecv = q + P; f->lsend = q + 2 * P; f->lrecv = q + 3 * P; f->psend = q + 4 * P; f->precv = q + 5 * P;
        f->usend = q + 6 * P; f->urecv = q + 7 * P; f->wsend = q + 8 * P; f->wrecv = q + 9 * P;
        f->fsend = q + 10 * P; f->frecv = q + 11 * P; f->xsend = q + 12 * P; f->xrecv = q + 13 * P;
        for (int o = 0; o < P; o++) f->reg[o] = ekd_plan(cfg, t, o, P);
        f->Br = c->batch[me];
        f->pad = !in->has_padding ? -1 : in->padding_idx < 0 ? cfg->rows + in->padding_idx : in->padding_idx;
        f->rowwise = cfg->scheme == EKD_ROW_WISE;
        f->owner_max = cfg->mode == EK_BAG_MAX;
        f->iown = !region_empty(c->tables[t].shard);
        f->weighted = c->tables[t].weighted;
        f->w = c->tables[t].shard.c1 - c->tables[t].shard.c0;
        st = pack_table(c, t, f);
    }

    /* the counts, and every rank's status with them (a failure on one rank, an allocation, is known
     * to all before any data moves): to rank o, per table (ids, distinct ids), then the status. The
     * buffers are the collection's, so every rank can take part. */
    int64_t *cs = c->counts, *cr = c->counts + P * K;
    for (int o = 0; o < P; o++) {
        for (int64_t t = 0; t < T; t++) {
            cs[o * K + 2 * t] = st == EK_OK ? F[t].nsend[o] : 0;
            cs[o * K + 2 * t + 1] = st == EK_OK ? F[t].usend[o] : 0;
        }
        cs[o * K + 2 * T] = st;
    }
    ekd_meter_add(EKD_T_CONTROL, (int64_t)sizeof(int64_t) * K * (P - 1), P - 1);
    ek_status mst = ekd_mpi(MPI_Alltoall(cs, (int)K, MPI_INT64_T, cr, (int)K, MPI_INT64_T, c->comm), "MPI_Alltoall (id counts)");
    if (mst != EK_OK) { st = mst; goto done; }
    int first = P;
    for (int s = P - 1; s >= 0; s--) if (cr[s * K + 2 * T] != EK_OK) first = s;
    if ((st = ekd_share_error(c->comm, first, st)) != EK_OK) goto done;

    /* what each table receives, its buffers, and the combined buffers of the exchanges: one
     * agreement covers them all */
    for (int64_t t = 0; t < T; t++) {
        ek_status ts = plan_table(c, t, &F[t], cr, K);
        if (st == EK_OK) st = ts;
    }
    sc = ekd_alloc(sizeof(int64_t *) * 2 * (size_t)T, &st);
    rc = ekd_alloc(sizeof(int64_t *) * 2 * (size_t)T, &st);
    sb = ekd_alloc(sizeof(void *) * 2 * (size_t)T, &st);
    rb = ekd_alloc(sizeof(void *) * 2 * (size_t)T, &st);
    int weighted = 0, argmax = 0, rows_batched = ekd_batch_rows(c);
    if (st == EK_OK) {
        for (int64_t t = 0; t < T; t++) {
            sc[2 * t] = F[t].lsend; sc[2 * t + 1] = F[t].wsend;
            rc[2 * t] = F[t].lrecv; rc[2 * t + 1] = F[t].wrecv;
            weighted |= F[t].weighted;
            argmax |= F[t].owner_max && F[t].rowwise;
        }
        ekd_reserve_parts(c, (int)(2 * T), sc, rc, sizeof(int64_t), &st);
        for (int64_t t = 0; t < T; t++) { sc[t] = F[t].fsend; rc[t] = F[t].frecv; }
        if (weighted) ekd_reserve_parts(c, (int)T, sc, rc, sizeof(float), &st);
        for (int64_t t = 0; t < T; t++) { sc[t] = F[t].psend; rc[t] = F[t].precv; }
        if (rows_batched) ekd_reserve_parts(c, (int)T, sc, rc, sizeof(float), &st);
        for (int64_t t = 0; t < T; t++) { sc[t] = F[t].xsend; rc[t] = F[t].xrecv; }
        if (argmax && rows_batched) ekd_reserve_parts(c, (int)T, sc, rc, sizeof(int64_t), &st);
    }
    if ((st = ekd_agree(c->comm, st)) != EK_OK) goto done;

    /* bag lengths + id messages of every table in one exchange, then the weights */
    int64_t lbytes = 0;
    for (int64_t t = 0; t < T; t++) {
        sc[2 * t] = F[t].lsend; sc[2 * t + 1] = F[t].wsend;
        rc[2 * t] = F[t].lrecv; rc[2 * t + 1] = F[t].wrecv;
        sb[2 * t] = F[t].slens; sb[2 * t + 1] = F[t].smsg;
        rb[2 * t] = F[t].rlens; rb[2 * t + 1] = F[t].rmsg;
        for (int o = 0; o < P; o++) if (o != me) lbytes += (int64_t)sizeof(int64_t) * F[t].lsend[o];
    }
    if ((st = ekd_exchange_parts(c, (int)(2 * T), sb, sc, rb, rc, MPI_INT64_T, 1, EKD_T_IDS, "MPI_Alltoallv (bag lengths + ids)")) != EK_OK)
        goto done;
    ekd_meter_shift(EKD_T_IDS, EKD_T_LENGTHS, lbytes);
    if (weighted) {
        for (int64_t t = 0; t < T; t++) { sc[t] = F[t].fsend; rc[t] = F[t].frecv; sb[t] = F[t].sw; rb[t] = F[t].rw; }
        if ((st = ekd_exchange_parts(c, (int)T, sb, sc, rb, rc, MPI_FLOAT, 1, EKD_T_IDS, "MPI_Alltoallv (weights)")) != EK_OK) goto done;
    }

    /* pool every table, agree, and the pooled rows (and row-wise max's argmax) back in one exchange */
    ek_status local = EK_OK;
    for (int64_t t = 0; t < T; t++) {
        ek_status ls = pool_table(c, t, &F[t]);
        if (local == EK_OK) local = ls;
    }
    if ((st = ekd_agree(c->comm, local)) != EK_OK) goto done;
    for (int64_t t = 0; t < T; t++) { sc[t] = F[t].psend; rc[t] = F[t].precv; sb[t] = F[t].partial; rb[t] = F[t].pooled; }
    if ((st = ekd_exchange_parts(c, (int)T, sb, sc, rb, rc, MPI_FLOAT, rows_batched, EKD_T_POOLED, "MPI_Alltoallv (pooled)")) != EK_OK) goto done;
    if (argmax) {
        for (int64_t t = 0; t < T; t++) {
            sc[t] = F[t].xsend; rc[t] = F[t].xrecv; sb[t] = c->tables[t].own.max_indices; rb[t] = F[t].ridx;
        }
        if ((st = ekd_exchange_parts(c, (int)T, sb, sc, rb, rc, MPI_INT64_T, rows_batched, EKD_T_POOLED, "MPI_Alltoallv (argmax)")) != EK_OK)
            goto done;
    }
    int64_t col = 0;
    for (int64_t t = 0; t < T; t++) {
        combine_table(c, t, &F[t], out, col);
        col += c->tables[t].cfg.dim;
    }
done:
    free(sc); free(rc); free(sb); free(rb);
    if (F) for (int64_t t = 0; t < T; t++) free_table(&F[t]);
    free(F);
    return st;
}

static ek_status forward_all(ekd_collection *c, const ek_bag_input *inputs, float *out) {
    ek_status st = EK_OK;
    int64_t B = 0;
    if (inputs == NULL) st = ekd_fail(EK_ERR_NULL_POINTER, "rank %d: inputs is NULL", c->rank);
    else {
        B = inputs[0].num_bags;
        for (int64_t t = 0; st == EK_OK && t < c->num_tables; t++) st = ekd_check_input(c, t, &inputs[t], B);
        if (st == EK_OK && out == NULL && B > 0) st = ekd_fail(EK_ERR_NULL_POINTER, "rank %d: out is NULL with %lld bags", c->rank, (long long)B);
    }

    /* what every rank needs to know of the others, in one Allgather that also carries each rank's
     * verdict on its own input: its status, batch size, and per table the index count and whether it
     * is weighted (which must agree: the owners pool weighted or not) */
    const int P = c->size;
    const int64_t T = c->num_tables, W = 2 + 2 * T;
    int64_t *meta = c->meta, *all = c->meta + W;
    meta[0] = st;
    meta[1] = B;
    for (int64_t t = 0; t < T; t++) {
        meta[2 + 2 * t] = st == EK_OK ? inputs[t].num_indices : 0;
        meta[3 + 2 * t] = st == EK_OK && inputs[t].per_sample_weights != NULL;
    }
    ekd_meter_add(EKD_T_CONTROL, (int64_t)sizeof(int64_t) * W * (P - 1), P - 1);
    ek_status mst = ekd_mpi(MPI_Allgather(meta, (int)W, MPI_INT64_T, all, (int)W, MPI_INT64_T, c->comm), "MPI_Allgather (batch sizes)");
    if (mst != EK_OK) return mst;
    int first = P;
    for (int s = P - 1; s >= 0; s--) if (all[s * W] != EK_OK) first = s;
    if ((st = ekd_share_error(c->comm, first, st)) != EK_OK) return st;
    int64_t Bsum = 0;
    for (int s = 0; s < P; s++) Bsum += all[s * W + 1];
    for (int64_t t = 0; st == EK_OK && t < T; t++) {
        int64_t Nsum = 0, wsum = 0;
        for (int s = 0; s < P; s++) { Nsum += all[s * W + 2 + 2 * t]; wsum += all[s * W + 3 + 2 * t]; }
        if (wsum != 0 && wsum != P)
            st = ekd_fail(EK_ERR_INVALID_ARGUMENT, "inputs[%lld].per_sample_weights: given on %lld of %d ranks (all or none)",
                          (long long)t, (long long)wsum, P);
        else if (Nsum + Bsum > INT32_MAX / P || Bsum > INT32_MAX / P / c->tables[t].cfg.dim)
            st = ekd_fail(EK_ERR_OVERFLOW, "inputs[%lld]: the global batch (%lld indices, %lld bags) x %d ranks exceeds MPI's int counts",
                          (long long)t, (long long)Nsum, (long long)Bsum, P);
        c->tables[t].weighted = wsum == P;
    }
    if (st != EK_OK) return st; /* the same verdict on every rank: computed from the same data */

    ekd_clear_ctx(c);
    for (int s = 0; s < P; s++) c->batch[s] = all[s * W + 1];
    st = forward_tables(c, inputs, out);
    if (st != EK_OK) { ekd_clear_ctx(c); return st; }
    c->has_forward = 1;
    return EK_OK;
}

ek_status ekd_forward(ekd_collection *c, const ek_bag_input *inputs, float *out) {
    if (c == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "collection is NULL");
    ekd_meter_start(c);
    ek_status st = forward_all(c, inputs, out);
    ekd_meter_stop();
    return st;
}
