/* exchange.h — MPI_Alltoallv with 64-bit element counts (checked to fit MPI's int before the
 * forward sends anything: see ekd_forward's global size check), counted by the traffic meter. */
#ifndef EKD_EXCHANGE_H
#define EKD_EXCHANGE_H

#include "internal.h"

#include <stdlib.h>
#include <string.h>

static inline ek_status ekd_alltoallv(MPI_Comm comm, int P, const void *send, const int64_t *scount, void *recv,
                                      const int64_t *rcount, MPI_Datatype type, ekd_traffic_kind kind,
                                      const char *what) {
    ek_status st = EK_OK;
    int *v = ekd_alloc(sizeof(int) * 4 * (size_t)P, &st);
    if (st != EK_OK) return st;
    int *sc = v, *sd = v + P, *rc = v + 2 * P, *rd = v + 3 * P;
    int64_t so = 0, ro = 0, bytes = 0, messages = 0;
    int me = 0, tsize = 0;
    MPI_Comm_rank(comm, &me);
    MPI_Type_size(type, &tsize);
    for (int i = 0; i < P; i++) {
        sc[i] = (int)scount[i]; sd[i] = (int)so; so += scount[i];
        rc[i] = (int)rcount[i]; rd[i] = (int)ro; ro += rcount[i];
        if (i != me && scount[i] > 0) { bytes += scount[i] * tsize; messages++; }
    }
    ekd_meter_add(kind, bytes, messages);
    st = ekd_mpi(MPI_Alltoallv(send, sc, sd, type, recv, rc, rd, type, comm), what);
    free(v);
    return st;
}

/* The element counts of an exchange of K parts (every table's, in table order): to rank o goes part
 * 0's scount[0][o] elements, then part 1's, and so on. Reserves the combined buffers the exchange will
 * need (before the agreement that covers allocations). */
static inline void ekd_reserve_parts(ekd_collection *c, int K, int64_t *const *scount, int64_t *const *rcount, size_t esz,
                                     ek_status *st) {
    if (K <= 1) return;
    int64_t s = 0, r = 0;
    for (int k = 0; k < K; k++)
        for (int o = 0; o < c->size; o++) { s += scount[k][o]; r += rcount[k][o]; }
    ekd_scratch(c, EKD_ALL_TABLES, EKD_S_CSEND, esz * (size_t)s, st);
    ekd_scratch(c, EKD_ALL_TABLES, EKD_S_CRECV, esz * (size_t)r, st);
}

/* Whether the pooled rows and gradients of a step travel in one exchange for all tables: when the
 * parts are small, where a collective's latency outweighs copying them into one buffer. Large parts
 * (W13's are 512 KiB) go one exchange per table, straight from and into the tables' buffers: on one
 * machine the copies cost more than the collectives they save. The same answer on every rank: it
 * depends on the batch sizes and dims only. */
#define EKD_BATCH_BELOW (64 * 1024)
static inline int ekd_batch_rows(const ekd_collection *c) {
    int64_t B = 0, D = 0;
    for (int s = 0; s < c->size; s++) B += c->batch[s];
    for (int64_t t = 0; t < c->num_tables; t++) D += c->tables[t].cfg.dim;
    return (int64_t)sizeof(float) * D * B / c->size < EKD_BATCH_BELOW; /* a source's rows for one owner */
}

/* An MPI_Alltoallv for K parts. Part k's elements for the ranks lie one after the other in send[k],
 * as for a plain exchange, and arrive the same way in recv[k]. With `batch`, one exchange: more than
 * one part is packed into the combined buffers that ekd_reserve_parts reserved (nothing is allocated
 * here); without, one exchange per part, no copies. */
static inline ek_status ekd_exchange_parts(ekd_collection *c, int K, void *const *send, int64_t *const *scount,
                                           void *const *recv, int64_t *const *rcount, MPI_Datatype type, int batch,
                                           ekd_traffic_kind kind, const char *what) {
    const int P = c->size;
    if (K == 1 || !batch) {
        ek_status st = EK_OK;
        for (int k = 0; k < K && st == EK_OK; k++)
            st = ekd_alltoallv(c->comm, P, send[k], scount[k], recv[k], rcount[k], type, kind, what);
        return st;
    }
    int tsize = 0;
    MPI_Type_size(type, &tsize);
    const size_t esz = (size_t)tsize;
    ek_status st = EK_OK;
    int64_t *ts = c->xwork, *tr = ts + P, *off = tr + P, s = 0, r = 0;
    for (int o = 0; o < P; o++) {
        ts[o] = tr[o] = 0;
        for (int k = 0; k < K; k++) { ts[o] += scount[k][o]; tr[o] += rcount[k][o]; }
        s += ts[o]; r += tr[o];
    }
    char *sb = ekd_scratch(c, EKD_ALL_TABLES, EKD_S_CSEND, esz * (size_t)s, &st);
    char *rb = ekd_scratch(c, EKD_ALL_TABLES, EKD_S_CRECV, esz * (size_t)r, &st);
    if (st != EK_OK) return st; /* not reached: reserved */
    for (int k = 0; k < K; k++) off[k] = 0;
    for (int o = 0; o < P; o++)
        for (int k = 0; k < K; k++) {
            size_t n = esz * (size_t)scount[k][o];
            if (n) memcpy(sb, (const char *)send[k] + esz * (size_t)off[k], n);
            sb += n; off[k] += scount[k][o];
        }
    sb -= esz * (size_t)s;
    if ((st = ekd_alltoallv(c->comm, P, sb, ts, rb, tr, type, kind, what)) != EK_OK) return st;
    for (int k = 0; k < K; k++) off[k] = 0;
    for (int o = 0; o < P; o++)
        for (int k = 0; k < K; k++) {
            size_t n = esz * (size_t)rcount[k][o];
            if (n) memcpy((char *)recv[k] + esz * (size_t)off[k], rb, n);
            rb += n; off[k] += rcount[k][o];
        }
    return EK_OK;
}

#endif
