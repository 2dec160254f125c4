/* error.c — the thread's last message, and the agreement step that makes one rank's error every
 * rank's error before any data collective. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char ekd_message[EKD_MSG];

const char *ekd_last_error(void) { return ekd_message; }

void ekd_set_error(const char *msg) { snprintf(ekd_message, sizeof ekd_message, "%s", msg); }

ek_status ekd_fail(ek_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ekd_message, sizeof ekd_message, fmt, ap);
    va_end(ap);
    return status;
}

ek_status ekd_mpi(int rc, const char *what) {
    if (rc == MPI_SUCCESS) return EK_OK;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    return ekd_fail(EKD_ERR_MPI, "%s failed: %s", what, text);
}

/* The lowest failing rank wins: its status and message travel to every rank in one broadcast of a
 * fixed-size record, so every rank reports the same words. */
ek_status ekd_agree(MPI_Comm comm, ek_status local) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = local == EK_OK ? size : rank, first = size;
    ekd_meter_add(EKD_T_CONTROL, (int64_t)sizeof(int) * (size - 1), size - 1);
    ek_status st = ekd_mpi(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce (verdict)");
    if (st != EK_OK) return st;
    return ekd_share_error(comm, first, local);
}

ek_status ekd_share_error(MPI_Comm comm, int first, ek_status local) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (first == size) return EK_OK;
    ek_status st;
    struct { int32_t status; char msg[EKD_MSG]; } rec;
    memset(&rec, 0, sizeof rec);
    ekd_meter_add(EKD_T_CONTROL, rank == first ? (int64_t)sizeof rec * (size - 1) : 0, rank == first ? size - 1 : 0);
    if (rank == first) {
        rec.status = (int32_t)local;
        snprintf(rec.msg, sizeof rec.msg, "%s", ekd_message);
    }
    st = ekd_mpi(MPI_Bcast(&rec, (int)sizeof rec, MPI_BYTE, first, comm), "MPI_Bcast (error message)");
    if (st != EK_OK) return st;
    rec.msg[EKD_MSG - 1] = '\0';
    ekd_set_error(rec.msg);
    return (ek_status)rec.status;
}
