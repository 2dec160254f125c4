/* test_fork.c — kernels in a forked child complete (embeddingkit.h, "fork()"); the default thread
 * count (OMP_NUM_THREADS) is capped at EK_MAX_THREADS, checked in a child process too.
 *
 * libgomp's thread pool does not survive fork: a child forked after the parent ran one parallel
 * region used to wait forever in its own first one. The child here runs parallel-sized kernels under
 * an alarm (SIGALRM ends it if it hangs) and reports through its exit status whether the results
 * are right; the parent checks that it exited 0 in time. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ek_test.h"

enum { N = 1 << 17 }; /* well above the serial cut-off: the kernels fork a team */

static void fill(float *x) {
    for (int i = 0; i < N; i++) x[i] = (float)(i % 13) - 6.0f;
}

/* 0 when relu, a bag forward and a matmul all give the serial results; else which one failed. */
static int run_kernels(const float *x, const float *relu_want, const float *bag_want, const float *mm_want) {
    float *y = malloc(sizeof(float) * N);
    if (ek_relu_forward_f32(N, x, y) != EK_OK || memcmp(y, relu_want, sizeof(float) * N) != 0) return 2;
    /* 1024 bags of 128 indices over a 13 x 128 table (x viewed as rows) */
    static int64_t idx[N / 128 * 16];
    for (int i = 0; i < N / 128 * 16; i++) idx[i] = i % 13;
    if (pos_embedding_bag_forward_i64(13, 128, N / 128 * 16, N / 128, 0, x, idx, NULL, 0, NULL, EK_BAG_SUM,
                                         EK_NO_PADDING, y, NULL, NULL) != EK_OK ||
        memcmp(y, bag_want, sizeof(float) * (N / 128) * 128) != 0)
        return 3;
    if (ek_matmul_f32(256, 256, 256, x, 0, x + 65536, 1, 1, 0, y) != EK_OK || memcmp(y, mm_want, sizeof(float) * 65536) != 0)
        return 4;
    free(y);
    return 0;
}

TEST(forked_child_kernels_complete) {
    int32_t saved = ek_get_num_threads();
    float *x = malloc(sizeof(float) * N), *relu_want = malloc(sizeof(float) * N);
    float *bag_want = malloc(sizeof(float) * N), *mm_want = malloc(sizeof(float) * 65536);
    fill(x);
    /* the expected results, serially; then the same kernels in parallel, so the parent's pool exists */
    CHECK_OK(ek_set_num_threads(1));
    CHECK_OK(ek_relu_forward_f32(N, x, relu_want));
    static int64_t idx[N / 128 * 16];
    for (int i = 0; i < N / 128 * 16; i++) idx[i] = i % 13;
    CHECK_OK(pos_embedding_bag_forward_i64(13, 128, N / 128 * 16, N / 128, 0, x, idx, NULL, 0, NULL, EK_BAG_SUM,
                                              EK_NO_PADDING, bag_want, NULL, NULL));
    CHECK_OK(ek_matmul_f32(256, 256, 256, x, 0, x + 65536, 1, 1, 0, mm_want));
    CHECK_OK(ek_set_num_threads(2));
    CHECK_EQ_I64(run_kernels(x, relu_want, bag_want, mm_want), 0);

    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20); /* a hang ends the child with SIGALRM */
        int rc = run_kernels(x, relu_want, bag_want, mm_want);
        if (rc == 0 && ek_get_num_threads() != 1) rc = 5;
        _exit(rc);
    }
    CHECK_MSG(pid > 0, "fork failed");
    if (pid > 0) {
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child: %s %d (2 relu, 3 bag, 4 matmul wrong; 5 not serial; SIGALRM %d: it hung)",
                  WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                  SIGALRM);
    }
    /* the parent keeps its threads */
    CHECK_EQ_I64(ek_get_num_threads(), 2);
    CHECK_EQ_I64(run_kernels(x, relu_want, bag_want, mm_want), 0);
    CHECK_OK(ek_set_num_threads(saved));
    free(x), free(relu_want), free(bag_want), free(mm_want);
}

/* Without ek_set_num_threads the count is OpenMP's default, OMP_NUM_THREADS: 100000 must be capped at
 * EK_MAX_THREADS too. The runner is run again (exec) with that environment and this test alone, as the
 * default is read once per process and this one has already set a count. */
TEST(default_thread_count_is_capped) {
    if (getenv("EK_TEST_THREAD_PROBE")) { /* the exec'd runner: no count was ever set */
        CHECK_EQ_I64(ek_get_num_threads(), EK_MAX_THREADS);
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(126); /* its summary lines would mix with ours */
        setenv("OMP_NUM_THREADS", "100000", 1), setenv("EK_TEST_THREAD_PROBE", "1", 1), setenv("EK_TEST_ISA", "scalar", 1);
        execl("/proc/self/exe", "ek_tests", "default_thread_count_is_capped", (char *)NULL);
        _exit(127);
    }
    CHECK_MSG(pid > 0, "fork failed");
    if (pid > 0) {
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the runner with OMP_NUM_THREADS=100000: %s %d",
                  WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
}
