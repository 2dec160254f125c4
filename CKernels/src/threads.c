/* threads.c — one thread count for the OpenMP kernels and for OpenBLAS.
 *
 * OpenBLAS is the pthread build: its pool and OpenMP's never run at the same time (a kernel and a
 * sgemm are called one after the other), so giving both the same count keeps 2 cores busy without
 * oversubscribing them. */
#include "internal.h"

void openblas_set_num_threads(int num_threads);

static int32_t requested_threads; /* 0: not set, use the runtime default */

ek_status ek_set_num_threads(int32_t num_threads) {
    if (num_threads < 1)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "set_num_threads: num_threads=%d must be >= 1", (int)num_threads);
    requested_threads = num_threads;
#ifdef _OPENMP
    omp_set_num_threads(num_threads);
#endif
    openblas_set_num_threads(num_threads);
    return EK_OK;
}

int32_t ek_get_num_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return requested_threads > 0 ? requested_threads : 1;
#endif
}
