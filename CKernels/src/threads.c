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

/* Set in a forked child. OpenMP thread pools do not survive fork: libgomp's child still believes its
 * parent's pool exists and waits forever in its first parallel region (LLVM's libomp re-initialises
 * itself, at the cost of a new pool). Kernels in a child run serially instead: a team of one starts
 * no thread and waits on no pool, under either runtime, and results do not depend on the count. */
static atomic_int forked_child;

static void on_fork_child(void) { atomic_store_explicit(&forked_child, 1, memory_order_relaxed); }

/* At load time, so that a child forked after any parallel region (ours or the program's own)
 * is covered, not only one forked after our first kernel. */
__attribute__((constructor)) static void register_fork_handler(void) { pthread_atfork(NULL, NULL, on_fork_child); }

int eki_num_threads(void) {
    if (atomic_load_explicit(&forked_child, memory_order_relaxed)) return 1;
    int n = atomic_load_explicit(&requested_threads, memory_order_relaxed);
    if (n > 0) return n;
#ifdef _OPENMP
    n = omp_get_max_threads(); /* OMP_NUM_THREADS=100000 must not start 100000 threads either */
    return n < 1 ? 1 : n > EK_MAX_THREADS ? EK_MAX_THREADS : n;
#else
    return 1;
#endif
}

ek_status ek_set_num_threads(int32_t num_threads) {
    if (num_threads < 1)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "set_num_threads: num_threads=%d must be >= 1", (int)num_threads);
    if (num_threads > EK_MAX_THREADS)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "set_num_threads: num_threads=%d exceeds EK_MAX_THREADS=%d", (int)num_threads,
                        EK_MAX_THREADS);
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
