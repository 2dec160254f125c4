/* tensor_ref.h — what the section-11 tests share: random broadcast layouts and the naive loops the
 * kernels must match bit for bit. */
#ifndef EK_TENSOR_REF_H
#define EK_TENSOR_REF_H

#include <stdlib.h>

#include "ek_test.h"

/* The row-major strides of shape; 0 where keep[d] is 0 (a broadcast dimension). */
static inline void tref_strides(int rank, const int64_t *shape, const int *keep, int64_t *strides) {
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = keep && !keep[d] ? 0 : s;
        if (!keep || keep[d]) s *= shape[d];
    }
}

/* The offset of row-major element i of shape through strides. */
static inline int64_t tref_offset(int rank, const int64_t *shape, const int64_t *strides, int64_t i) {
    int64_t off = 0;
    for (int d = rank - 1; d >= 0; d--) {
        off += (i % shape[d]) * strides[d];
        i /= shape[d];
    }
    return off;
}

static inline int64_t tref_count(int rank, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < rank; d++) n *= shape[d];
    return n;
}

static inline float *tref_random(ek_rng *rng, int64_t n) {
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = ek_rng_float(rng, -2.0f, 2.0f);
    return p;
}

#endif
