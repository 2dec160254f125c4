/* exchange.h — MPI_Alltoallv with 64-bit element counts (checked to fit MPI's int before the
 * forward sends anything: see ekd_forward's global size check), counted by the traffic meter. */
#ifndef EKD_EXCHANGE_H
#define EKD_EXCHANGE_H

#include "internal.h"

#include <stdlib.h>

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

#endif
