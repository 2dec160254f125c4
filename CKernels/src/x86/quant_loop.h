/* x86/quant_loop.h — what the AVX2 and AVX-512 quantized bag loops (x86/<isa>/quant_bag.c) share:
 * the call's fields as locals of the row loop, the index read and the prefetch of a row. No vector
 * code, so no target attribute: always-inline functions of the default target inline into the
 * per-ISA callers. */
#ifndef EK_X86_QUANT_LOOP_H
#define EK_X86_QUANT_LOOP_H

#include "quant.h"

#define EKI_QLOOP_INLINE static inline __attribute__((always_inline))

/* The call's fields as locals of the row loop (passed by value into always-inline code). */
typedef struct {
    const uint8_t *table;
    const void *indices;
    const float *psw;
    int64_t rb, stride, data, pad, pend; /* rb: packed row bytes; stride: between rows (>= rb); data: offset
                                          * of scale and bias in a row; pend: end of the range's indices */
    int64_t ahead;     /* prefetch distance in rows */
    int64_t mid, last; /* prefetch_row: whether a row may span 3 lines (then its byte 64 too), its last byte */
    int64_t block_first, block_last; /* prefetch_row pf 3: the current block's first and last code byte */
    int mean;
} qloop;

EKI_QLOOP_INLINE int64_t row_at(const qloop *L, int64_t j, const int is32) {
    return is32 ? (int64_t)((const int32_t *)L->indices)[j] : ((const int64_t *)L->indices)[j];
}

/* Row j's cache lines, straight-line code: pf 1 (rows of <= 129 bytes), its first and last bytes
 * and, where a row may span 3 lines, byte 64; pf 2, every line (longer rows); pf 3 (longer rows
 * walked in blocks of <= 64 code bytes), the current block's first and last code bytes, and in the
 * first block the row's last byte (scale and bias): each pass asks for what it reads, as the fp32
 * bag does (embedding_bag.h: prefetch_ahead). */
EKI_QLOOP_INLINE void prefetch_row(const qloop *L, int64_t j, const int is32, const int pf) {
    if (j >= L->pend) return;
    const char *p = (const char *)(L->table + row_at(L, j, is32) * L->stride);
    if (pf == 1) {
        __builtin_prefetch(p, 0, 3);
        if (L->mid) __builtin_prefetch(p + 64, 0, 3); /* loop-invariant: predicted */
        __builtin_prefetch(p + L->last, 0, 3);
    } else if (pf == 3) {
        __builtin_prefetch(p + L->block_first, 0, 3);
        __builtin_prefetch(p + L->block_last, 0, 3);
        if (L->block_first == 0) __builtin_prefetch(p + L->last, 0, 3); /* loop-invariant: predicted */
    } else {
        EKI_PREFETCH_SPAN(p, (size_t)L->rb, 0);
    }
}

/* The loop's fields for bags [.., b1) of call c. Prefetch (prefetch_row, pf 1): a row of <= 129
 * bytes is covered by its bytes 0, 64 and rb - 1 (no gap over 64); where every row starts at a
 * multiple of a (the table's and the row stride's alignment) and rb <= 64 + a, no row spans 3 lines and
 * the first and last bytes suffice (mid = 0): W10's 72-byte rows, W11's 36-byte ones. */
EKI_QLOOP_INLINE qloop make_qloop(const eki_qbag_call *c, int slot, int64_t b1) {
    qloop L = {c->table, c->indices, c->psw, c->rb, c->stride, eki_quant_data_bytes(slot, c->dim), c->pad,
               eki_bag_end(&c->bags, b1 - 1), c->ahead, 0, c->rb - 1, 0, 0, c->mode == EK_BAG_MEAN};
    uintptr_t a = ((uintptr_t)c->table | (uintptr_t)c->stride | 64u);
    a &= -a;
    L.mid = (uintptr_t)c->rb > 64 + a;
    return L;
}

#endif
