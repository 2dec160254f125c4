/* quant.h — what quant.c (the packed row format, scalar row kernels) shares with its ISA files
 * (x86/<isa>/quant.c) and with quant_forward.c. Internal. The layout: embeddingkit.h, section 12. */
#ifndef EK_QUANT_H
#define EK_QUANT_H

#include <math.h>
#include <string.h>

#include "internal.h"

/* A quantized dtype's slot in the dispatch table's q_* arrays: Q8 0, Q4 1, Q2 2 (-1: not quantized). */
static inline int eki_quant_slot(ek_dtype dtype) {
    return dtype == EK_DTYPE_Q8 ? 0 : dtype == EK_DTYPE_Q4 ? 1 : dtype == EK_DTYPE_Q2 ? 2 : -1;
}
static inline int eki_quant_bits(int slot) { return slot == 0 ? 8 : slot == 1 ? 4 : 2; }

/* Bytes of the quantized values of a row (before scale and bias): ceil(dim * bits / 8). */
static inline int64_t eki_quant_data_bytes(int slot, int64_t dim) {
    int per_byte = 8 / eki_quant_bits(slot);
    return dim / per_byte + (dim % per_byte != 0);
}
/* The whole packed row: the values, then 2 x float32 (Q8) or 2 x fp16 (Q4, Q2). dim below 2^60. */
static inline int64_t eki_quant_row_size(int slot, int64_t dim) {
    return eki_quant_data_bytes(slot, dim) + (slot == 0 ? 8 : 4);
}

/* A row's scale and bias as float32 (unaligned little-endian reads). */
static inline void eki_quant_scale_bias(int slot, int64_t dim, const uint8_t *row, float *scale, float *bias) {
    const uint8_t *p = row + eki_quant_data_bytes(slot, dim);
    if (slot == 0) {
        memcpy(scale, p, 4), memcpy(bias, p + 4, 4);
    } else {
        uint16_t s, b;
        memcpy(&s, p, 2), memcpy(&b, p + 2, 2);
        *scale = eki_f16_to_f32(s), *bias = eki_f16_to_f32(b);
    }
}

/* The integer q of element d. */
static inline unsigned eki_quant_q(int slot, const uint8_t *row, int64_t d) {
    if (slot == 0) return row[d];
    int bits = eki_quant_bits(slot), per_byte = 8 / bits;
    return (row[d / per_byte] >> (bits * (int)(d % per_byte))) & ((1u << bits) - 1);
}

/* The value of element d: fma(q, scale, bias), one rounding (PyTorch's unpack). Inlined into the
 * vector files' tails too, where fmaf is the FMA instruction. */
static inline float eki_quant_value(unsigned q, float scale, float bias) { return fmaf((float)q, scale, bias); }

/* ---- the scalar row kernels (isa.h's q_dequant / q_axpy for the scalar table, and the reference) ----
 *   dequant: dst[d] = value(d)             axpy: acc[d] += w * value(d)   (multiply, then add) */
void eki_q8_dequant_scalar(int64_t dim, const uint8_t *row, float *dst);
void eki_q4_dequant_scalar(int64_t dim, const uint8_t *row, float *dst);
void eki_q2_dequant_scalar(int64_t dim, const uint8_t *row, float *dst);
void eki_q8_axpy_scalar(int64_t dim, float w, const uint8_t *row, float *acc);
void eki_q4_axpy_scalar(int64_t dim, float w, const uint8_t *row, float *acc);
void eki_q2_axpy_scalar(int64_t dim, float w, const uint8_t *row, float *acc);

/* ---- the bag forward over a thread's range of bags (sum and mean; quant_forward.c) ----
 * What every range function reads; isa.h's q_bag_range[format][is32][weighted] holds them. The
 * vector ones (x86/<isa>/quant_bag.c) keep a bag's D <= 128 (AVX-512) or 64 (AVX2) sums in
 * registers and call nothing per row; the scalar slot (and mode max on every ISA) is quant_forward.c's
 * row-at-a-time loop through q_axpy / q_dequant. Same order as the fp32 bag either way. */
typedef struct eki_qbag_call {
    const uint8_t *table;
    const void *indices; /* int32_t or int64_t: is32 (the vector variants have it built in) */
    int is32;
    eki_bags bags;
    const float *psw;    /* per-sample weights or NULL */
    int64_t n, dim, rb, pad; /* rb: packed row bytes; pad: padding row or -1 */
    int64_t stride;      /* row r at byte r * stride of table (>= rb: the table's row_stride) */
    ek_bag_mode mode;
    eki_qrow_fn dq;      /* the ISA's row kernels (the row-at-a-time loop) */
    eki_qaxpy_fn axpy;
    int64_t ahead;       /* the vector range functions' prefetch distance in rows (eki_bag_prefetch_rows_for) */
} eki_qbag_call;

/* The row-at-a-time range (every slot of the scalar table; mode max on every ISA). scratch: dim floats
 * of this thread's (mode max). */
void eki_qbag_range_rows(const eki_qbag_call *c, int64_t b0, int64_t b1, float *out, int64_t *bag_size,
                         int64_t *max_indices, float *scratch);

/* The forward verbs on a quantized table (quant_forward.c), called by ek_lookup_forward and
 * ek_bag_forward after eki_decode_forward. */
ek_status eki_quant_lookup_forward(const eki_call *a, float *out);
ek_status eki_quant_bag_forward(const eki_call *a, float *out, int64_t *bag_size, int64_t *max_indices);

#endif
