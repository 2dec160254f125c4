/* half_round.c — float32 to fp16 / bf16 with round-to-nearest-even or stochastic rounding: how the
 * training verbs write a half-precision row back after a float32 update (header, section 4).
 *
 * Both roundings work on the two half values around x: lo, x truncated toward zero, and hi, the next
 * half away from zero (past the largest finite half, hi is infinity and counts as the value one step
 * further, 2^16 for fp16 and 2^128 for bf16, as IEEE's overflow rule does). With p = (|x| - |lo|) /
 * (|hi| - |lo|), exact in double (the spacing is a power of two):
 *   nearest:    hi if p > 1/2, lo if p < 1/2, the one with an even last bit on a tie
 *   stochastic: hi if u < p, else lo, with u = bits / 2^32 from eki_round_bits, so E[result] = x
 * NaN stays NaN (quiet, sign kept), infinities and exact values stay as they are. */
#include "internal.h"

#include <string.h>

static inline uint32_t float_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* The chain up to the step (the first two links of eki_round_bits), the same for every row of a call. */
uint64_t eki_round_step_key(uint64_t seed, int64_t step) {
    return eki_mix64(eki_mix64(seed ^ 0x9e3779b97f4a7c15ull) ^ (uint64_t)step);
}


/* Column d's coin: MurmurHash3's 32-bit finaliser of the row key's low half plus d times the golden
 * ratio, xor the key's high half. 32-bit multiplies: 16 (AVX-512) or 8 (AVX2) columns per vector. */
static inline uint32_t column_bits(uint64_t key, int64_t col) {
    uint32_t x = (uint32_t)key + (uint32_t)(uint64_t)col * EKI_ROUND_COLUMN_STEP;
    x ^= x >> 16;
    x *= EKI_ROUND_FMIX_1;
    x ^= x >> 13;
    x *= EKI_ROUND_FMIX_2;
    x ^= x >> 16;
    return x ^ (uint32_t)(key >> 32);
}

uint32_t eki_round_bits(uint64_t seed, int64_t step, int64_t row, int64_t col) {
    return column_bits(eki_round_row_key(eki_round_step_key(seed, step), row), col);
}

/* |x| truncated toward zero, as a half's magnitude bits (|x| finite). 0x7c00 (fp16) / 0x7f80 (bf16)
 * when |x| is at least the value one step past the largest finite half. */
static inline uint16_t f16_truncate(uint32_t a) {
    if (a >= 0x47800000u) return 0x7c00u;                                 /* >= 2^16 */
    if (a >= 0x38800000u) return (uint16_t)(((a >> 23) - 112u) << 10 | ((a >> 13) & 0x3ffu)); /* normal */
    float m;
    memcpy(&m, &a, sizeof m);
    return (uint16_t)(m * 0x1p24f); /* subnormal: frac * 2^-24, exact scaling, truncating cast */
}

static inline double f16_magnitude(uint16_t h) { return h == 0x7c00u ? 0x1p16 : (double)eki_f16_to_f32(h); }

static inline uint16_t bf16_truncate(uint32_t a) { return (uint16_t)(a >> 16); }
static inline double bf16_magnitude(uint16_t h) { return h == 0x7f80u ? 0x1p128 : (double)eki_bf16_to_f32(h); }

/* lo, or lo + 1 (the next magnitude), for |x| = ax between them. */
static inline uint16_t choose(uint16_t lo, double ax, double vlo, double vhi, ek_rounding rounding, uint32_t bits) {
    double p = (ax - vlo) / (vhi - vlo);
    if (p == 0.0) return lo;
    if (rounding == EK_ROUND_STOCHASTIC) return (double)bits * 0x1p-32 < p ? (uint16_t)(lo + 1) : lo;
    if (p != 0.5) return p > 0.5 ? (uint16_t)(lo + 1) : lo;
    return (lo & 1u) ? (uint16_t)(lo + 1) : lo;
}

/* Both formats by one rule; they differ in the quiet NaN, the truncation and the value one step past
 * the largest finite half (`inf`). */
static inline uint16_t round_to_half(float x, ek_rounding rounding, uint32_t bits, const int bf16) {
    uint32_t u = float_bits(x), a = u & 0x7fffffffu;
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u), inf = bf16 ? 0x7f80u : 0x7c00u;
    if (a > 0x7f800000u) /* NaN, quiet */
        return (uint16_t)(sign | (bf16 ? 0x7fc0u | ((a >> 16) & 0x7fu) : 0x7e00u | ((a >> 13) & 0x3ffu)));
    uint16_t lo = bf16 ? bf16_truncate(a) : f16_truncate(a);
    if (lo == inf) return sign | inf;
    double ax = (double)(x < 0 ? -x : x);
    double (*magnitude)(uint16_t) = bf16 ? bf16_magnitude : f16_magnitude;
    return sign | choose(lo, ax, magnitude(lo), magnitude((uint16_t)(lo + 1)), rounding, bits);
}

uint16_t eki_f32_to_f16_rounded(float x, ek_rounding rounding, uint32_t bits) {
    return round_to_half(x, rounding, bits, 0);
}

uint16_t eki_f32_to_bf16_rounded(float x, ek_rounding rounding, uint32_t bits) {
    return round_to_half(x, rounding, bits, 1);
}

/* bf16 by integers: lo is the top half of the bits, the dropped 16 bits are p * 2^16 exactly. */
static inline uint16_t bf16_stochastic(float x, uint32_t bits) {
    uint32_t u = float_bits(x);
    if ((u & 0x7fffffffu) >= 0x7f800000u) return eki_f32_to_bf16_rounded(x, EK_ROUND_STOCHASTIC, bits);
    return (uint16_t)((u >> 16) + (bits < (u << 16)));
}
static inline uint16_t bf16_nearest(float x) {
    uint32_t u = float_bits(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return eki_f32_to_bf16_rounded(x, EK_ROUND_NEAREST, 0);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
/* fp16 by integers where |x| is a normal half below 65504 + (one step): 13 dropped bits. */
static inline uint16_t f16_stochastic(float x, uint32_t bits) {
    uint32_t u = float_bits(x), a = u & 0x7fffffffu;
    if (a < 0x38800000u || a >= 0x47800000u) return eki_f32_to_f16_rounded(x, EK_ROUND_STOCHASTIC, bits);
    uint32_t lo = ((a >> 23) - 112u) << 10 | ((a >> 13) & 0x3ffu);
    return (uint16_t)(((u >> 16) & 0x8000u) | (lo + (bits < (a << 19))));
}

void eki_bf16_stochastic_cols(int64_t d0, int64_t d1, const float *src, uint16_t *dst, uint64_t key) {
    for (int64_t d = d0; d < d1; d++) dst[d] = bf16_stochastic(src[d], column_bits(key, d));
}

void eki_f16_stochastic_cols(int64_t d0, int64_t d1, const float *src, uint16_t *dst, uint64_t key) {
    for (int64_t d = d0; d < d1; d++) dst[d] = f16_stochastic(src[d], column_bits(key, d));
}

void eki_bf16_stochastic_row_scalar(int64_t dim, const float *src, uint16_t *dst, uint64_t key) {
    eki_bf16_stochastic_cols(0, dim, src, dst, key);
}

void eki_f16_stochastic_row_scalar(int64_t dim, const float *src, uint16_t *dst, uint64_t key) {
    eki_f16_stochastic_cols(0, dim, src, dst, key);
}

/* Plain SGD on bf16 columns [d0, d1) with the gradient row c * g (c * g[d] rounded to float, as the
 * sparse gradient's entry is): widen, w - lr * (c * g + weight_decay * w) as ek_sgd_update_f32
 * computes it, round stochastically. */
void eki_bf16_sgd_cols(int64_t d0, int64_t d1, uint16_t *row, const float *g, float c, float lr, float weight_decay,
                       uint64_t key) {
    for (int64_t d = d0; d < d1; d++) {
        float w = eki_bf16_to_f32(row[d]), grad = c * g[d], step = grad + weight_decay * w;
        w -= lr * step;
        row[d] = bf16_stochastic(w, column_bits(key, d));
    }
}

void eki_bf16_sgd_row_scalar(int64_t dim, uint16_t *row, const float *g, float c, float lr, float weight_decay,
                             uint64_t key) {
    eki_bf16_sgd_cols(0, dim, row, g, c, lr, weight_decay, key);
}

void eki_round_row_half(ek_dtype dtype, int64_t dim, const float *src, uint16_t *dst, ek_rounding rounding,
                        uint64_t step_key, int64_t row) {
    if (rounding != EK_ROUND_STOCHASTIC) {
        if (dtype == EK_DTYPE_BF16)
            for (int64_t d = 0; d < dim; d++) dst[d] = bf16_nearest(src[d]);
        else
            for (int64_t d = 0; d < dim; d++) dst[d] = eki_f32_to_f16_rounded(src[d], EK_ROUND_NEAREST, 0);
        return;
    }
    const eki_kernels *k = eki_dispatch();
    eki_sround_fn round_row = dtype == EK_DTYPE_BF16 ? k->bf16_stochastic_row : k->f16_stochastic_row;
    round_row(dim, src, dst, eki_round_row_key(step_key, row));
}
