/* threads.c — one process-wide thread count for the OpenMP kernels.
 *
 * OpenBLAS (the pthread build) is kept single-threaded: its own threads split a product differently
 * for different thread counts, so results would change with the count (2,893 of 8,192 elements of a
 * 256x64 by 64x32 product differed between 1 and 2 threads). ek_matmul_f32 parallelises instead over
 * a grid of blocks fixed by the shape alone, with OpenMP (blas.c): bit-identical for any count, and
 * never two thread pools at once. */
#include <pthread.h>
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
    eki_blas_single_threaded();
    return EK_OK;
}

static void blas_to_one_thread(void) { openblas_set_num_threads(1); }

/* pthread_once, not a flag: every caller returns only after OpenBLAS has been set to one thread (a
 * second caller must not run an sgemm while the first is still inside openblas_set_num_threads). */
void eki_blas_single_threaded(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, blas_to_one_thread);
}

int32_t ek_get_num_threads(void) { return eki_num_threads(); }
