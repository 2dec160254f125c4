/* scratch.c — the collection's reusable buffers for what lives only inside one exchange (send and
 * receive buffers, partial sums). Kept from step to step, they are not freshly mapped pages each
 * time: the page faults of new buffers cost W13 more than its copies did. */
#include "internal.h"

#include <stdlib.h>

void *ekd_scratch(ekd_collection *c, ekd_scratch_slot slot, size_t bytes, ek_status *st) {
    if (bytes == 0) bytes = 1;
    if (c->scratch_size[slot] < bytes) {
        free(c->scratch[slot]);
        c->scratch_size[slot] = 0;
        c->scratch[slot] = ekd_alloc(bytes, st);
        if (c->scratch[slot] == NULL) return NULL;
        c->scratch_size[slot] = bytes;
    }
    return c->scratch[slot];
}

void ekd_scratch_free(ekd_collection *c) {
    for (int i = 0; i < EKD_S_COUNT; i++) {
        free(c->scratch[i]);
        c->scratch[i] = NULL;
        c->scratch_size[i] = 0;
    }
    ekd_dedup_free(&c->dedup_scratch);
}
