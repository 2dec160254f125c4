/* traffic.c — counting what each collective of a forward or backward addresses to other ranks
 * (ekd_get_traffic): the figures of W13 and of docs/DISTRIBUTED.md's byte model. */
#include "internal.h"

#include <string.h>

static _Thread_local ekd_traffic *meter;

void ekd_meter_start(ekd_collection *c) { meter = &c->traffic; }
void ekd_meter_stop(void) { meter = NULL; }

void ekd_meter_add(ekd_traffic_kind kind, int64_t bytes, int64_t messages) {
    if (meter == NULL) return;
    meter->calls++;
    meter->messages += messages;
    meter->bytes += bytes;
    int64_t *field[] = {&meter->control_bytes, &meter->length_bytes, &meter->id_bytes, &meter->pooled_bytes,
                        &meter->gradient_bytes};
    *field[kind] += bytes;
}

void ekd_meter_shift(ekd_traffic_kind from, ekd_traffic_kind to, int64_t bytes) {
    if (meter == NULL) return;
    int64_t *field[] = {&meter->control_bytes, &meter->length_bytes, &meter->id_bytes, &meter->pooled_bytes,
                        &meter->gradient_bytes};
    *field[from] -= bytes;
    *field[to] += bytes;
}

ek_status ekd_get_traffic(const ekd_collection *c, ekd_traffic *out) {
    if (c == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "collection is NULL");
    if (out == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "out is NULL");
    *out = c->traffic;
    return EK_OK;
}

ek_status ekd_reset_traffic(ekd_collection *c) {
    if (c == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "collection is NULL");
    memset(&c->traffic, 0, sizeof c->traffic);
    return EK_OK;
}
