/* dense.c — data-parallel dense parameters: the mean of a gradient buffer over the ranks.
 *
 * Why MPI_Reduce + MPI_Bcast rather than MPI_Allreduce: an allreduce may add in a different grouping
 * on different ranks (recursive doubling does), so replicas of a dense layer could drift apart by a
 * rounding at a time. A reduction to one rank then a broadcast gives every rank the same bits, and
 * the same bits run to run for a given rank count (Open MPI picks its algorithm from the sizes). */
#include "internal.h"

#include <stdlib.h>

ek_status ekd_allreduce_mean(MPI_Comm comm, float *buf, int64_t n) {
    ek_status st = EK_OK;
    if (n < 0) st = ekd_fail(EK_ERR_INVALID_ARGUMENT, "n=%lld must be >= 0", (long long)n);
    else if (n > 0 && buf == NULL) st = ekd_fail(EK_ERR_NULL_POINTER, "buf is NULL with n=%lld", (long long)n);
    float *sum = st == EK_OK ? ekd_alloc(sizeof(float) * (size_t)n, &st) : NULL;
    if ((st = ekd_agree(comm, st)) != EK_OK) { free(sum); return st; }
    int size, rank;
    MPI_Comm_size(comm, &size);
    MPI_Comm_rank(comm, &rank);
    /* chunks of at most INT_MAX elements (MPI's count) */
    for (int64_t at = 0; at < n && st == EK_OK; at += INT32_MAX) {
        int k = (int)(n - at < INT32_MAX ? n - at : INT32_MAX);
        st = ekd_mpi(MPI_Reduce(buf + at, sum + at, k, MPI_FLOAT, MPI_SUM, 0, comm), "MPI_Reduce (dense gradient)");
        if (st == EK_OK && rank == 0)
            for (int64_t i = at; i < at + k; i++) sum[i] /= (float)size;
        if (st == EK_OK) st = ekd_mpi(MPI_Bcast(sum + at, k, MPI_FLOAT, 0, comm), "MPI_Bcast (dense gradient)");
    }
    if (st == EK_OK)
        for (int64_t i = 0; i < n; i++) buf[i] = sum[i];
    free(sum);
    return st;
}
