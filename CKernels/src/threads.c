/* threads.c — one process-wide thread count for the OpenMP kernels and for OpenBLAS.
 *
 * OpenBLAS is the pthread build: its pool and OpenMP's never run at the same time (a kernel and a
 * sgemm are called one after the other), so giving both the same count keeps the cores busy without
 * oversubscribing them. */
#include <stdatomic.h>

#include "internal.h"

void openblas_set_num_threads(int num_threads);

static atomic_int requested_threads; /* 0: not set, use the runtime default */

int eki_num_threads(void) {
    int n = atomic_load_explicit(&requested_threads, memory_order_relaxed);
#ifdef _OPENMP
    return n > 0 ? n : omp_get_max_threads();
#else
    return n > 0 ? n : 1;
#endif
}

ek_status ek_set_num_threads(int32_t num_threads) {
    if (num_threads < 1)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "set_num_threads: num_threads=%d must be >= 1", (int)num_threads);
    atomic_store_explicit(&requested_threads, num_threads, memory_order_relaxed);
    openblas_set_num_threads(num_threads);
    return EK_OK;
}

int32_t ek_get_num_threads(void) { return eki_num_threads(); }
