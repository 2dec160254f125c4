/* half_ref.h — the tests' own fp16 / bf16 conversions, written from the formats' definitions and
 * independent of the library's (test_half.c, test_half_train.c). */
#ifndef EK_HALF_REF_H
#define EK_HALF_REF_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- the test's own conversions (independent of the library's) ---- */

static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* float -> IEEE half, round to nearest even (NaN -> quiet NaN with the sign). */
static inline uint16_t to_f16(float f) {
    uint32_t x = f32_bits(f), sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
    if (ax < 0x38800000u) { /* below 2^-14: subnormal half, value / 2^-24 rounded to even */
        float a = bits_f32(ax) * 0x1p24f;   /* exact (power-of-two scale) */
        float r = nearbyintf(a);            /* default rounding mode: to nearest even */
        return (uint16_t)(sign | (uint32_t)r);
    }
    uint32_t m = ax + 0xc8000000u;          /* rebias the exponent: -112 << 23 */
    uint32_t lsb = (m >> 13) & 1u;
    m += 0x0fffu + lsb;
    return (uint16_t)(sign | (m >> 13));
}

static inline float from_f16(uint16_t h) {
    int e = (h >> 10) & 0x1f, f = h & 0x3ff;
    double v;
    if (e == 0x1f) return f ? bits_f32(((uint32_t)(h & 0x8000u) << 16) | 0x7fc00000u | ((uint32_t)f << 13))
                            : ((h & 0x8000u) ? -INFINITY : INFINITY);
    v = e == 0 ? ldexp((double)f, -24) : ldexp(1024.0 + f, e - 25);
    return (float)((h & 0x8000u) ? -v : v);
}

/* bf16, round to nearest even (NaN kept quiet). */
static inline uint16_t to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}
static inline float from_bf16(uint16_t h) { return bits_f32((uint32_t)h << 16); }

#endif
