/* test_alloc.c — ek_alloc / ek_free: alignment, zero fill, huge pages asked for from 4 MiB, size 0,
 * sizes that overflow or that the system refuses (an error, not a crash), pointers ek_alloc did not make. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "ek_test.h"

static int all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* The THPeligible line of /proc/self/smaps for the mapping holding p: 1 or 0, -1 when the kernel
 * does not report it (older kernels) or the mapping is not found. */
static int thp_eligible(const void *p) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int in = 0, v = -1;
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = a >= lo && a < hi;
            continue;
        }
        if (in && sscanf(line, "THPeligible: %d", &v) == 1) break;
    }
    fclose(f);
    return in ? v : -1;
}

static int thp_enabled(void) { /* "never" selected: the advice cannot be honoured */
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return 0;
    char buf[128] = {0};
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return got > 0 && !strstr(buf, "[never]");
}

TEST(alloc_aligned_zeroed_writable) {
    const int64_t sizes[] = {1, 3, 63, 64, 65, 4096, 100000, (4 << 20) - 64, (4 << 20) - 63, 4 << 20, (5 << 20) + 7};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        void *p = NULL;
        CHECK_OK(ek_alloc(sizes[k], 1, &p));
        if (!CHECK_MSG(p != NULL, "ek_alloc(%lld) gave NULL", (long long)sizes[k])) continue;
        CHECK_MSG((uintptr_t)p % 64 == 0, "ek_alloc(%lld) = %p is not 64-byte aligned", (long long)sizes[k], p);
        CHECK_MSG(all_zero(p, (size_t)sizes[k]), "ek_alloc(%lld) is not zero-filled", (long long)sizes[k]);
        memset(p, 0xab, (size_t)sizes[k]); /* every byte is ours (ASan / valgrind would see an overrun) */
        CHECK_OK(ek_free(p));
    }
    /* count x elem_size: a float table */
    float *t = NULL;
    CHECK_OK(ek_alloc(1000 * 64, sizeof(float), (void **)&t));
    CHECK(t != NULL && (uintptr_t)t % 64 == 0 && all_zero((const unsigned char *)t, sizeof(float) * 64000));
    CHECK_OK(ek_free(t));
}

TEST(alloc_huge_pages_from_4_mib) {
    void *big = NULL, *small = NULL;
    CHECK_OK(ek_alloc(8 << 20, 1, &big));
    CHECK_OK(ek_alloc(1 << 20, 1, &small));
    int e = thp_eligible(big);
    if (e >= 0 && thp_enabled()) {
        CHECK_MSG(e == 1, "an 8 MiB ek_alloc block is not eligible for huge pages (THPeligible %d)", e);
        /* the block is a mapping of its own: the 1 MiB one is not forced into huge pages */
    }
    CHECK_OK(ek_free(big));
    CHECK_OK(ek_free(small));
}

TEST(alloc_size_zero_and_null) {
    void *p = (void *)0x1;
    CHECK_OK(ek_alloc(0, 4, &p));
    CHECK(p == NULL);
    CHECK_OK(ek_free(NULL));
    CHECK_ERROR(ek_alloc(4, 4, NULL), EK_ERR_NULL_POINTER, "out is NULL");
}

TEST(alloc_bad_sizes_are_errors_not_crashes) {
    void *p = (void *)0x1;
    CHECK_ERROR(ek_alloc(-1, 4, &p), EK_ERR_INVALID_ARGUMENT, "count=-1 must not be negative");
    CHECK_ERROR(ek_alloc(4, 0, &p), EK_ERR_INVALID_ARGUMENT, "elem_size=0 must be positive");
    CHECK_ERROR(ek_alloc(INT64_MAX, 4, &p), EK_ERR_OVERFLOW, "overflows");
    CHECK_ERROR(ek_alloc((int64_t)1 << 40, (int64_t)1 << 30, &p), EK_ERR_OVERFLOW, "overflows");
    CHECK_ERROR(ek_alloc(PTRDIFF_MAX, 1, &p), EK_ERR_OVERFLOW, "count=9223372036854775807");
    /* fits in the address space, but no machine has 2^61 bytes: refused, not a crash */
    CHECK_ERROR(ek_alloc((int64_t)1 << 61, 1, &p), EK_ERR_ALLOC, "cannot map 2305843009213693952 bytes");
    CHECK(p == (void *)0x1); /* untouched on every error */
}

TEST(alloc_free_refuses_foreign_pointers) {
    char *m = malloc(4096);
    memset(m, 0, 4096);
    CHECK_ERROR(ek_free(m + 128), EK_ERR_INVALID_ARGUMENT, "was not returned by ek_alloc");
    free(m);
    /* (a second ek_free of a freed block is not tested: reading freed memory is what the sanitizer
     * builds of these tests report, and it is undefined, as with free()) */
}
