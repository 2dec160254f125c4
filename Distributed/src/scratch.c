/* scratch.c — the collection's reusable buffers for what lives only inside one exchange (send and
 * receive buffers, partial sums), per table and for the exchanges of all tables at once. Kept from
 * step to step, they are not freshly mapped pages each time: the page faults of new buffers cost W13
 * more than its copies did. */
#include "internal.h"

#include <stdlib.h>

void *ekd_scratch(ekd_collection *c, int64_t t, ekd_scratch_slot slot, size_t bytes, ek_status *st) {
    size_t i = (size_t)(t == EKD_ALL_TABLES ? c->num_tables : t) * EKD_S_COUNT + slot;
    if (bytes == 0) bytes = 1;
    if (c->scratch_size[i] < bytes) {
        free(c->scratch[i]);
        c->scratch_size[i] = 0;
        c->scratch[i] = ekd_alloc(bytes, st);
        if (c->scratch[i] == NULL) return NULL;
        c->scratch_size[i] = bytes;
    }
    return c->scratch[i];
}

void ekd_scratch_free(ekd_collection *c) {
    if (c->scratch)
        for (int64_t i = 0; i < (c->num_tables + 1) * EKD_S_COUNT; i++) free(c->scratch[i]);
    free(c->scratch);
    free(c->scratch_size);
    c->scratch = NULL;
    c->scratch_size = NULL;
    ekd_dedup_free(&c->dedup_scratch);
}
