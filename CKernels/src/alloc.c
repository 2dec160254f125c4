/* alloc.c — ek_alloc / ek_free: memory for tables, with the policy the Swift tensors have
 * (Sources/EmbeddingKit/Tensor/FloatStorage.swift): 64-byte aligned (a 256-byte row spans 4 cache
 * lines, not 5, and streaming stores apply), zero-filled, and from 4 MiB up a mapping of its own on
 * a 2 MiB boundary with transparent huge pages asked for (madvise(MADV_HUGEPAGE): the default THP
 * mode of Debian and Ubuntu, "madvise", gives huge pages only to memory that asks). A table read at
 * random rows with 4 KiB pages costs a TLB miss on nearly every row; on the AVX2 Zen 3 of issue 16,
 * W5 took 11.8 ms through Swift (huge pages) and 20.4 ms through the C ABI with malloc'd tables.
 *
 * A 64-byte header right before the caller's memory says how it was made and how long the mapping
 * is (what ek_free needs). A mapping keeps one ordinary page for it in front of the caller's part,
 * which starts on a 2 MiB boundary: a table of 8 MiB takes 8 MiB of huge pages + 4 KiB. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define HEADER 64
#define HUGE_MIN_BYTES ((uint64_t)4 << 20)
#define HUGE_PAGE ((uint64_t)2 << 20)
#define MAGIC_MALLOC UINT64_C(0x454b616c6c6f6331) /* "EKalloc1" */
#define MAGIC_MAPPED UINT64_C(0x454b6d6d61703031) /* "EKmmap01" */

typedef struct {
    uint64_t magic;
    uint64_t length; /* of the mapping (MAGIC_MAPPED) */
    void *start;     /* of the mapping or of the malloc block */
} header;

/* A mapping whose caller part (`bytes`, rounded up to 2 MiB) starts on a 2 MiB boundary, with one
 * ordinary page before it for the header; huge pages advised. Returns the caller part, NULL if the
 * system refuses. (Mapped 2 huge pages larger, then the parts outside given back.) */
static char *map_huge(uint64_t bytes, void **start, uint64_t *length) {
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), size = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    if (page < HEADER || page > HUGE_PAGE) return NULL;
    char *raw = mmap(NULL, size + 2 * HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    char *aligned = raw + (HUGE_PAGE - ((uintptr_t)raw + page) % HUGE_PAGE) % HUGE_PAGE + page;
    char *first = aligned - page, *end = aligned + size;
    if (first > raw) munmap(raw, (size_t)(first - raw));
    munmap(end, (size_t)(raw + size + 2 * HUGE_PAGE - end));
#ifdef MADV_HUGEPAGE
    madvise(aligned, size, MADV_HUGEPAGE); /* advice only: where THP is off, ordinary pages */
#endif
    *start = first, *length = size + page;
    return aligned;
}

ek_status ek_alloc(int64_t count, int64_t elem_size, void **out) {
    static const char op[] = "alloc";
    ek_status s;
    if ((s = eki_check_size(op, "count", count, 0)) || (s = eki_check_size(op, "elem_size", elem_size, 1))) return s;
    if (!out) return eki_fail(EK_ERR_NULL_POINTER, "%s: out is NULL", op);
    /* the block (header + 2 MiB of rounding included) must fit in ptrdiff_t */
    const uint64_t limit = (uint64_t)PTRDIFF_MAX - HEADER - HUGE_PAGE;
    if ((uint64_t)count > limit / (uint64_t)elem_size)
        return eki_fail(EK_ERR_OVERFLOW, "%s: count=%lld x elem_size=%lld bytes overflows the address space", op,
                        (long long)count, (long long)elem_size);
    uint64_t bytes = (uint64_t)count * (uint64_t)elem_size;
    if (bytes == 0) {
        *out = NULL;
        return EK_OK;
    }
    uint64_t length = 0;
    void *start = NULL;
    char *p = NULL;
    header h;
    if (bytes >= HUGE_MIN_BYTES) { /* zero pages from the kernel */
        /* no malloc fallback: malloc maps blocks this large itself, and would be refused too */
        if (!(p = map_huge(bytes, &start, &length)))
            return eki_fail(EK_ERR_ALLOC, "%s: cannot map %llu bytes (count=%lld x elem_size=%lld)", op,
                            (unsigned long long)bytes, (long long)count, (long long)elem_size);
        h = (header){MAGIC_MAPPED, length, start};
    } else {
        if (posix_memalign(&start, 64, (size_t)(bytes + HEADER))) start = NULL;
        if (!start)
            return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate %llu bytes (count=%lld x elem_size=%lld)", op,
                            (unsigned long long)bytes, (long long)count, (long long)elem_size);
        memset(start, 0, (size_t)(bytes + HEADER));
        p = (char *)start + HEADER;
        h = (header){MAGIC_MALLOC, 0, start};
    }
    memcpy(p - HEADER, &h, sizeof h);
    *out = p;
    return EK_OK;
}

ek_status ek_free(void *p) {
    if (!p) return EK_OK;
    header h;
    char *at = (char *)p - HEADER;
    memcpy(&h, at, sizeof h);
    int ok = (h.magic == MAGIC_MALLOC && h.start == at) ||
             (h.magic == MAGIC_MAPPED && (char *)h.start < at && at < (char *)h.start + h.length);
    if (!ok) return eki_fail(EK_ERR_INVALID_ARGUMENT, "free: p=%p was not returned by ek_alloc", p);
    uint64_t none = 0;
    memcpy(at, &none, sizeof none); /* a stale pointer no longer carries the magic */
    if (h.magic == MAGIC_MAPPED) munmap(h.start, (size_t)h.length);
    else free(h.start);
    return EK_OK;
}
