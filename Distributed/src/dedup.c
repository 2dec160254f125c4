/* dedup.c — ids deduplicated before sending (ekd_set_dedup).
 *
 * A source's message to one owner is either the plain ids or the distinct ids (in order of first
 * appearance) followed by each entry's position among them, 16-bit when there are at most 65,536
 * distinct ids, else 32-bit: 8u + 2n (or 4n) bytes instead of 8n. The source picks the smaller form
 * and tells the owner u with the id counts (u == 0: plain). The owner expands the message back into
 * the very same id array, so everything after the exchange — the pooling, the order of every sum,
 * the backward — is the plain path's: dedup changes bytes, never results. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int64_t ekd_dedup_words(int64_t n, int64_t u) {
    int64_t width = u <= 65536 ? 2 : 4;
    return u + (n * width + 7) / 8;
}

ek_status ekd_set_dedup(ekd_collection *c, int on) {
    if (c == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "collection is NULL");
    c->dedup = on != 0;
    return EK_OK;
}

void ekd_dedup_free(ekd_dedup_scratch *s) {
    free(s->keys); free(s->pos); free(s->inv);
    memset(s, 0, sizeof *s);
}

/* An open-addressing table of *cap >= 2n slots, the first *cap of the scratch's (a power of two; ids
 * are >= 0, -1 marks a free slot): only those are cleared and probed. */
static ek_status reserve(ekd_dedup_scratch *s, int64_t n, int64_t *cap_out) {
    int64_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    if (cap > s->cap) {
        ek_status st = EK_OK;
        ekd_dedup_free(s);
        s->keys = ekd_alloc(sizeof(int64_t) * (size_t)cap, &st);
        s->pos = ekd_alloc(sizeof(int32_t) * (size_t)cap, &st);
        s->inv = ekd_alloc(sizeof(int32_t) * (size_t)(cap / 2), &st);
        if (st != EK_OK) { ekd_dedup_free(s); return st; }
        s->cap = cap;
    }
    memset(s->keys, 0xff, sizeof(int64_t) * (size_t)cap);
    *cap_out = cap;
    return EK_OK;
}

ek_status ekd_dedup_encode(const int64_t *ids, int64_t n, int64_t *out, int64_t *u_out, ekd_dedup_scratch *s) {
    *u_out = 0;
    if (n == 0 || n > INT32_MAX) return EK_OK;
    int64_t cap = 0;
    ek_status st = reserve(s, n, &cap);
    if (st != EK_OK) return st;
    int bits = 0;
    while (((int64_t)1 << bits) < cap) bits++;
    const uint64_t mask = (uint64_t)cap - 1;
    int64_t u = 0;
    for (int64_t j = 0; j < n; j++) {
        uint64_t h = ((uint64_t)ids[j] * 0x9E3779B97F4A7C15ull) >> (64 - bits);
        while (s->keys[h] != -1 && s->keys[h] != ids[j]) h = (h + 1) & mask;
        if (s->keys[h] == -1) { s->keys[h] = ids[j]; s->pos[h] = (int32_t)u; out[u++] = ids[j]; }
        s->inv[j] = s->pos[h];
    }
    if (ekd_dedup_words(n, u) >= n) return EK_OK; /* the plain form is as small: send that */
    if (u <= 65536) {
        uint16_t *inv = (uint16_t *)(out + u);
        for (int64_t j = 0; j < n; j++) inv[j] = (uint16_t)s->inv[j];
    } else {
        memcpy(out + u, s->inv, sizeof(int32_t) * (size_t)n);
    }
    int64_t used = u * 8 + n * (u <= 65536 ? 2 : 4), words = ekd_dedup_words(n, u);
    memset((char *)out + used, 0, (size_t)(words * 8 - used)); /* the last word's padding */
    *u_out = u;
    return EK_OK;
}

void ekd_dedup_decode(const int64_t *msg, int64_t n, int64_t u, int64_t *ids) {
    if (u == 0) { memcpy(ids, msg, sizeof(int64_t) * (size_t)n); return; }
    if (u <= 65536) {
        const uint16_t *inv = (const uint16_t *)(msg + u);
        for (int64_t j = 0; j < n; j++) ids[j] = msg[inv[j]];
    } else {
        const int32_t *inv = (const int32_t *)(msg + u);
        for (int64_t j = 0; j < n; j++) ids[j] = msg[inv[j]];
    }
}
