/* scratch.c — the kernels' temporary memory: one arena per calling thread, kept between calls.
 *
 * A backward or an update needs O(n) scratch (the plan's per-position arrays, the grouping's keys,
 * the output slots): a few MB for a training step. Taken from malloc and freed each call, glibc
 * gives the top of the heap (or a block it mapped) back to the kernel, and the next call faults
 * every page in again: that cost more than the kernel's own work on W5-coo. The arena keeps its
 * memory, so a steady training loop touches no new page.
 *
 * Use is LIFO: m = eki_scratch_mark(); p = eki_scratch_alloc(bytes) ...; eki_scratch_release(m).
 * A request that does not fit the current block gets a new block chained on top (earlier pointers
 * stay valid); when the thread's arena is empty again it is rebuilt as one block of the peak size,
 * so the next call of the same shape fits. At most EKI_SCRATCH_KEEP bytes are kept per thread:
 * larger scratch is given back at the end of the call. A thread's arena is freed when it exits;
 * ek_release_scratch() frees the calling thread's at once. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

#define EKI_SCRATCH_KEEP ((size_t)64 << 20)
#define ALIGN ((size_t)64) /* a cache line: rows of scratch start on one, as malloc'd rows of 256 B do */
#define MIN_BLOCK ((size_t)64 << 10)

typedef struct block {
    struct block *below;
    size_t size, used; /* of the data part */
} block;

/* the data part starts ALIGN bytes after the (ALIGN-aligned) block */
static char *data_of(block *b) { return (char *)b + ALIGN; }

typedef struct {
    block *top;
    size_t live; /* bytes handed out and not released, over all blocks */
    size_t peak; /* the most live bytes since the arena was last empty */
} arena;

static _Thread_local arena scratch;

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void free_blocks(arena *a) {
    while (a->top) {
        block *b = a->top;
        a->top = b->below;
        free(b);
    }
    a->live = a->peak = 0;
}

/* pthread calls this at thread exit with the value set below (the thread's arena) */
static void on_thread_exit(void *a) { free_blocks(a); }
static void make_exit_key(void) { pthread_key_create(&exit_key, on_thread_exit); }

static block *new_block(size_t size, block *below) {
    void *p = NULL;
    if (size > SIZE_MAX - ALIGN || posix_memalign(&p, ALIGN, ALIGN + size)) return NULL;
    block *b = p;
    b->below = below, b->size = size, b->used = 0;
    return b;
}

void *eki_scratch_alloc(size_t bytes) {
    arena *a = &scratch;
    if (bytes > SIZE_MAX - ALIGN) return NULL;
    bytes = (bytes + ALIGN - 1) & ~(ALIGN - 1);
    if (!a->top || a->top->size - a->top->used < bytes) {
        if (!a->top) {
            pthread_once(&exit_key_once, make_exit_key);
            pthread_setspecific(exit_key, a);
        }
        size_t size = bytes > MIN_BLOCK ? bytes : MIN_BLOCK;
        block *b = new_block(size, a->top);
        if (!b) return NULL;
        a->top = b;
    }
    char *p = data_of(a->top) + a->top->used;
    a->top->used += bytes;
    a->live += bytes;
    if (a->live > a->peak) a->peak = a->live;
    return p;
}

size_t eki_scratch_mark(void) { return scratch.live; }

void eki_scratch_release(size_t mark) {
    arena *a = &scratch;
    /* whole blocks above the mark go; the block holding the mark is cut back to it */
    while (a->top && a->top->below && a->live - a->top->used >= mark) {
        block *b = a->top;
        a->live -= b->used;
        a->top = b->below;
        free(b);
    }
    if (a->top) {
        a->top->used -= a->live - mark;
        a->live = mark;
    }
    if (a->live != 0) return;
    /* empty: keep one block that fits the peak of the call just ended, unless that is too large */
    size_t want = a->peak;
    a->peak = 0;
    if (a->top && a->top->size >= want && a->top->size <= EKI_SCRATCH_KEEP) return;
    free_blocks(a);
    if (want <= EKI_SCRATCH_KEEP) a->top = new_block(want > MIN_BLOCK ? want : MIN_BLOCK, NULL);
}

void ek_release_scratch(void) { free_blocks(&scratch); }
