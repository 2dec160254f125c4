/* forward.c — the sharded EmbeddingBag forward.
 *
 * Per table: (1) every rank sends each owner the entries of its bags that the owner needs (padding
 * dropped at the source): table-wise all to the one owner, column-wise all to every owner, row-wise
 * each to the owner of its row (as a local row number). Bag lengths, ids and weights travel in three
 * MPI_Alltoallv. (2) Each owner runs ek_bag_forward on its shard over the global batch (the sources'
 * bags in rank order). (3) The pooled results go back in one MPI_Alltoallv and the source combines
 * them: table-wise copies, column-wise places the column slices, row-wise adds the owners' partial
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

typedef struct {
    ekd_region *reg;    /* P regions of the table */
    int64_t *nsend, *nrecv, *lsend, *lrecv, *psend, *precv;  /* per rank: ids, lengths, pooled floats */
    int64_t *usend, *urecv, *wsend, *wrecv;  /* per rank: distinct ids (0: plain) and words of the id message */
    int64_t *cs, *cr;                         /* exchanged per rank: ids, distinct ids, status */
    int64_t *msend, *mrecv;                   /* per rank: words of the lengths + ids message */
    int64_t *slens, *sids, *rlens, *rids, *smsg, *sbuf, *rbuf;
    float *sw, *rw, *partial, *pooled;
    int64_t *pidx, *ridx;
} fwd_buffers;

static void free_buffers(fwd_buffers *f) {
    /* slens, sids, smsg, sbuf, rbuf, partial, pooled, ridx are the collection's scratch */
    free(f->rlens); free(f->rids); free(f->sw); free(f->rw); free(f->pidx);
}

static ek_status forward_table(ekd_collection *c, int64_t t, const ek_bag_input *in, float *out, int64_t col) {
    ekd_table *tb = &c->tables[t];
    const ekd_table_config *cfg = &tb->cfg;
    const int P = c->size, me = c->rank, weighted = tb->weighted;
    const int64_t Br = c->batch[me], D = cfg->dim, Dt = c->total_dim;
    const int64_t pad = !in->has_padding ? -1 : in->padding_idx < 0 ? cfg->rows + in->padding_idx : in->padding_idx;
    const int rowwise = cfg->scheme == EKD_ROW_WISE;
    const ekd_region mine = tb->shard;
    const int iown = !region_empty(mine);
    ek_status st = EK_OK;
    fwd_buffers f;
    memset(&f, 0, sizeof f);
    f.reg = c->regs; /* the fixed-size buffers are the collection's (allocated by ekd_create) */
    f.nsend = c->work;
    memset(f.nsend, 0, sizeof(int64_t) * EKD_WORK_PER_RANK * (size_t)P);
    f.nrecv = f.nsend + P; f.lsend = f.nsend + 2 * P; f.lrecv = f.nsend + 3 * P; f.psend = f.nsend + 4 * P; f.precv = f.nsend + 5 * P;
    f.usend = f.nsend + 6 * P; f.urecv = f.nsend + 7 * P; f.wsend = f.nsend + 8 * P; f.wrecv = f.nsend + 9 * P;
    f.msend = f.nsend + 10 * P; f.mrecv = f.nsend + 11 * P; f.cs = f.nsend + 12 * P; f.cr = f.nsend + 15 * P;
    for (int o = 0; o < P; o++) f.reg[o] = ekd_plan(cfg, t, o, P);

    /* (1) count, then pack, the entries for each owner (row-wise: the owner of row v is v / blk) */
    const int64_t blk = rowwise ? (cfg->rows + P - 1) / P : 1;
    const double inv = 1.0 / (double)blk;
    for (int64_t b = 0; b < Br; b++) {
        int64_t begin, end;
        ekd_bag_bounds(in, b, &begin, &end);
        for (int64_t j = begin; j < end; j++) {
            int64_t v = ekd_read_index(in->indices, in->index_type, j);
            if (v == pad) continue;
            if (rowwise) f.nsend[block_of(v, blk, inv)]++;
            else for (int o = 0; o < P; o++) f.nsend[o] += !region_empty(f.reg[o]);
        }
    }
    int64_t nsum = 0, lsum = 0;
    for (int o = 0; o < P; o++) {
        f.lsend[o] = region_empty(f.reg[o]) ? 0 : Br;
        nsum += f.nsend[o];
        lsum += f.lsend[o];
    }
    f.slens = ekd_scratch(c, EKD_S_SLENS, sizeof(int64_t) * (size_t)lsum, &st);
    f.sids = ekd_scratch(c, EKD_S_SIDS, sizeof(int64_t) * (size_t)nsum, &st);
    if (weighted) f.sw = ekd_alloc(sizeof(float) * (size_t)nsum, &st);
    int64_t *cur = ekd_alloc(sizeof(int64_t) * 3 * (size_t)P, &st), *lcur = cur ? cur + P : NULL, *before = cur ? cur + 2 * P : NULL;
    if (st != EK_OK) { free(cur); goto packed; }
    for (int64_t o = 0, so = 0, lo = 0; o < P; o++) { cur[o] = so; lcur[o] = lo; so += f.nsend[o]; lo += f.lsend[o]; }
    for (int64_t b = 0; b < Br; b++) {
        int64_t begin, end;
        ekd_bag_bounds(in, b, &begin, &end);
        memcpy(before, cur, sizeof(int64_t) * (size_t)P);
        for (int64_t j = begin; j < end; j++) {
            int64_t v = ekd_read_index(in->indices, in->index_type, j);
            if (v == pad) continue;
            if (rowwise) {
                int64_t o = block_of(v, blk, inv);
                f.sids[cur[o]] = v - f.reg[o].r0;
                if (weighted) f.sw[cur[o]] = in->per_sample_weights[j];
                cur[o]++;
                continue;
            }
            for (int o = 0; o < P; o++) {
                if (region_empty(f.reg[o])) continue;
                f.sids[cur[o]] = v - f.reg[o].r0;
                if (weighted) f.sw[cur[o]] = in->per_sample_weights[j];
                cur[o]++;
            }
        }
        for (int o = 0; o < P; o++)
            if (!region_empty(f.reg[o])) f.slens[lcur[o]++] = cur[o] - before[o];
    }
    free(cur);

    /* the id message per owner: plain, or deduplicated where that is smaller (never to itself: that
     * part does not leave the process) */
    f.smsg = f.sids;
    for (int o = 0; o < P; o++) f.wsend[o] = f.nsend[o];
    if (c->dedup && nsum > 0) {
        ekd_dedup_scratch *scratch = &c->dedup_scratch;
        f.smsg = ekd_scratch(c, EKD_S_SMSG, sizeof(int64_t) * (size_t)nsum, &st);
        for (int64_t o = 0, off = 0, woff = 0; o < P && st == EK_OK; off += f.nsend[o], woff += f.wsend[o], o++) {
            int64_t u = 0;
            if (o != me) st = ekd_dedup_encode(f.sids + off, f.nsend[o], f.smsg + woff, &u, scratch);
            if (u == 0) memcpy(f.smsg + woff, f.sids + off, sizeof(int64_t) * (size_t)f.nsend[o]);
            f.usend[o] = u;
            f.wsend[o] = u ? ekd_dedup_words(f.nsend[o], u) : f.nsend[o];
        }
    }

packed: /* every rank passes here: its status travels with the counts, so a failure on one rank
         * (an allocation) is known to all before any data moves */
    for (int o = 0; o < P; o++) { f.cs[3 * o] = f.nsend[o]; f.cs[3 * o + 1] = f.usend[o]; f.cs[3 * o + 2] = st; }
    ekd_meter_add(EKD_T_CONTROL, (int64_t)sizeof(int64_t) * 3 * (P - 1), P - 1);
    ek_status mst = ekd_mpi(MPI_Alltoall(f.cs, 3, MPI_INT64_T, f.cr, 3, MPI_INT64_T, c->comm), "MPI_Alltoall (id counts)");
    if (mst != EK_OK) { st = mst; goto done; }
    int first = P;
    for (int s = P - 1; s >= 0; s--) if (f.cr[3 * s + 2] != EK_OK) first = s;
    if ((st = ekd_share_error(c->comm, first, st)) != EK_OK) goto done;
    int64_t Bt = 0, Nt = 0, Mt = 0, Ms = 0;
    for (int s = 0; s < P; s++) {
        f.nrecv[s] = f.cr[3 * s];
        f.urecv[s] = f.cr[3 * s + 1];
        f.wrecv[s] = f.urecv[s] ? ekd_dedup_words(f.nrecv[s], f.urecv[s]) : f.nrecv[s];
        f.lrecv[s] = iown ? c->batch[s] : 0;
        f.mrecv[s] = f.lrecv[s] + f.wrecv[s];
        f.msend[s] = f.lsend[s] + f.wsend[s];
        Bt += f.lrecv[s];
        Nt += f.nrecv[s];
        Mt += f.mrecv[s];
        Ms += f.msend[s];
    }
    const int64_t w = mine.c1 - mine.c0;
    const int owner_max = cfg->mode == EK_BAG_MAX;
    int64_t psum = 0;
    for (int o = 0; o < P; o++) {
        f.psend[o] = iown ? c->batch[o] * w : 0;
        f.precv[o] = region_empty(f.reg[o]) ? 0 : Br * (f.reg[o].c1 - f.reg[o].c0);
        psum += f.precv[o];
    }
    /* everything the rest of the forward needs, allocated now: one agreement covers it all */
    f.sbuf = ekd_scratch(c, EKD_S_SBUF, sizeof(int64_t) * (size_t)Ms, &st);
    f.rbuf = ekd_scratch(c, EKD_S_RBUF, sizeof(int64_t) * (size_t)Mt, &st);
    f.rlens = ekd_alloc(sizeof(int64_t) * (size_t)Bt, &st);
    f.rids = ekd_alloc(sizeof(int64_t) * (size_t)Nt, &st);
    if (weighted) f.rw = ekd_alloc(sizeof(float) * (size_t)Nt, &st);
    tb->own.offsets = ekd_alloc(sizeof(int64_t) * (size_t)(Bt + 1), &st);
    f.partial = ekd_scratch(c, EKD_S_PARTIAL, sizeof(float) * (size_t)(Bt * w), &st);
    if (owner_max) f.pidx = ekd_alloc(sizeof(int64_t) * (size_t)(Bt * w), &st);
    f.pooled = ekd_scratch(c, EKD_S_POOLED, sizeof(float) * (size_t)psum, &st);
    if (owner_max && rowwise) f.ridx = ekd_scratch(c, EKD_S_RIDX, sizeof(int64_t) * (size_t)psum, &st);
    if (rowwise && cfg->mode == EK_BAG_MEAN) tb->src.scale = ekd_alloc(sizeof(float) * (size_t)Br, &st);
    if (rowwise && owner_max) tb->src.winner = ekd_alloc(sizeof(int32_t) * (size_t)(Br * D), &st);
    if ((st = ekd_agree(c->comm, st)) != EK_OK) goto done;

    /* one message per owner: the bag lengths, then the id message (plain or deduplicated) */
    for (int64_t o = 0, lo = 0, wo = 0, mo = 0; o < P; lo += f.lsend[o], wo += f.wsend[o], mo += f.msend[o], o++) {
        memcpy(f.sbuf + mo, f.slens + lo, sizeof(int64_t) * (size_t)f.lsend[o]);
        memcpy(f.sbuf + mo + f.lsend[o], f.smsg + wo, sizeof(int64_t) * (size_t)f.wsend[o]);
    }
    if ((st = ekd_alltoallv(c->comm, P, f.sbuf, f.msend, f.rbuf, f.mrecv, MPI_INT64_T, EKD_T_IDS, "MPI_Alltoallv (bag lengths + ids)")) != EK_OK) goto done;
    int64_t lbytes = 0;
    for (int o = 0; o < P; o++) if (o != me) lbytes += (int64_t)sizeof(int64_t) * f.lsend[o];
    ekd_meter_shift(EKD_T_IDS, EKD_T_LENGTHS, lbytes);
    if (weighted && (st = ekd_alltoallv(c->comm, P, f.sw, f.nsend, f.rw, f.nrecv, MPI_FLOAT, EKD_T_IDS, "MPI_Alltoallv (weights)")) != EK_OK) goto done;
    /* split; deduplicated parts expand to the plain path's ids, entry for entry */
    for (int64_t s = 0, lo = 0, no = 0, mo = 0; s < P; lo += f.lrecv[s], no += f.nrecv[s], mo += f.mrecv[s], s++) {
        memcpy(f.rlens + lo, f.rbuf + mo, sizeof(int64_t) * (size_t)f.lrecv[s]);
        ekd_dedup_decode(f.rbuf + mo + f.lrecv[s], f.nrecv[s], f.urecv[s], f.rids + no);
    }

    /* (2) the owner pools its shard over the global batch. Row-wise sum and mean pool sums (the
     * source divides once it has every owner's part); max stays max. */
    ekd_owner_ctx *own = &tb->own;
    own->num_bags = Bt;
    own->num_ids = Nt;
    for (int64_t k = 0; k < Bt; k++) own->offsets[k + 1] = own->offsets[k] + f.rlens[k];
    own->ids = f.rids; f.rids = NULL;
    own->weights = f.rw; f.rw = NULL;
    ek_status local = EK_OK;
    if (iown && Bt > 0) {
        ek_table tab = {.struct_size = sizeof(ek_table), .rows = mine.r1 - mine.r0, .dim = w, .data = tb->weight};
        ek_bag_input oin = {.struct_size = sizeof(ek_bag_input), .index_type = EK_INDEX_I64, .indices = own->ids,
                            .num_indices = Nt, .offsets = own->offsets, .num_bags = Bt, .include_last_offset = 1,
                            .per_sample_weights = own->weights, .num_weights = own->weights ? Nt : 0};
        ek_bag_options opts = {.struct_size = sizeof(ek_bag_options),
                               .mode = rowwise && cfg->mode == EK_BAG_MEAN ? EK_BAG_SUM : cfg->mode};
        local = ek_bag_forward(&tab, &oin, &opts, f.partial, NULL, f.pidx);
        if (local != EK_OK) local = ekd_fail(local, "rank %d: table %lld: ek_bag_forward: %s", me, (long long)t, ek_last_error());
    }
    own->max_indices = f.pidx; f.pidx = NULL;
    if ((st = ekd_agree(c->comm, local)) != EK_OK) goto done;

    /* (3) pooled rows back to their sources */
    if ((st = ekd_alltoallv(c->comm, P, f.partial, f.psend, f.pooled, f.precv, MPI_FLOAT, EKD_T_POOLED, "MPI_Alltoallv (pooled)")) != EK_OK) goto done;
    if (owner_max && rowwise &&
        (st = ekd_alltoallv(c->comm, P, own->max_indices, f.psend, f.ridx, f.precv, MPI_INT64_T, EKD_T_POOLED, "MPI_Alltoallv (argmax)")) != EK_OK)
        goto done;

    /* combine, block of owner o at offset po[o] */
    int64_t po = 0;
    if (!rowwise) {
        for (int o = 0; o < P; o++) {
            if (region_empty(f.reg[o])) continue;
            int64_t wo = f.reg[o].c1 - f.reg[o].c0;
            for (int64_t b = 0; b < Br; b++)
                memcpy(out + b * Dt + col + f.reg[o].c0, f.pooled + po + b * wo, sizeof(float) * (size_t)wo);
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
            for (int64_t d = 0; d < D; d++) {
                float acc = 0.0f;
                int64_t off = 0;
                for (int o = 0; o < P; o++) {
                    if (region_empty(f.reg[o])) continue;
                    acc += f.pooled[off + b * D + d];
                    off += Br * D;
                }
                if (cfg->mode == EK_BAG_MEAN) acc = denom != 0.0f ? acc / denom : 0.0f;
                out[b * Dt + col + d] = acc;
            }
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
                    if (region_empty(f.reg[o])) continue;
                    int64_t r = f.ridx[off + b * D + d];
                    float v = f.pooled[off + b * D + d];
                    off += Br * D;
                    if (r < 0) continue;
                    int64_t pos = first_pos(in, begin, end, r + f.reg[o].r0);
                    int take = best < 0 || (isnan(v) && !isnan(bv)) || (isnan(v) && isnan(bv) && pos < bpos) ||
                               (!isnan(v) && !isnan(bv) && (v > bv || (v == bv && pos < bpos)));
                    if (take) { best = o; bv = v; bpos = pos; }
                }
                out[b * Dt + col + d] = best < 0 ? 0.0f : bv;
                tb->src.winner[b * D + d] = best;
            }
        }
    }
done:
    free_buffers(&f);
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
    int64_t col = 0;
    for (int64_t t = 0; t < T && st == EK_OK; t++) {
        st = forward_table(c, t, &inputs[t], out, col);
        col += c->tables[t].cfg.dim;
    }
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
