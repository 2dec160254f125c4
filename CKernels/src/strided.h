/* strided.h — the layouts of the Tensor layer's kernels (elementwise.c, reduce.c, strided_copy.c):
 * a shape and, per operand, element strides; validated once, then coalesced so that most calls
 * become one or two flat loops. Internal (eki_*). */
#ifndef EK_STRIDED_H
#define EK_STRIDED_H

#include "internal.h"

/* Up to 3 operands (two inputs and an output) over one shape of at most EK_MAX_RANK dims. */
typedef struct {
    int rank;
    int operands;
    int64_t shape[EK_MAX_RANK];
    int64_t stride[3][EK_MAX_RANK];
} eki_layout;

/* 0 <= rank <= EK_MAX_RANK, shape != NULL when rank > 0, every shape[d] >= 0, and the element count
 * fits in ptrdiff_t bytes of `elem_size`: *count receives the number of elements. */
ek_status eki_check_shape(const char *op, int64_t rank, const int64_t *shape, size_t elem_size, int64_t *count);

/* An operand read or written through `strides` over `shape` (count elements, from eki_check_shape):
 * strides != NULL when rank > 0, every stride >= 0, data != NULL when count > 0, and the largest
 * offset, Σ (shape[d] - 1) * strides[d], lies below `length` (the operand's buffer, in elements). */
ek_status eki_check_operand(const char *op, const char *name, int64_t rank, const int64_t *shape, int64_t count,
                            const void *data, int64_t length, const int64_t *strides);

/* An output must not write one element twice: sorted by stride, each dimension's stride exceeds the
 * largest offset of the dimensions inside it (dimensions of size 1 aside). */
ek_status eki_check_distinct(const char *op, const char *name, int64_t rank, const int64_t *shape,
                             const int64_t *strides);

/* Fills *out with the shape and the operands' strides, dimensions of size 1 dropped and neighbours
 * merged where every operand steps evenly across them (d, d + 1 merge when stride[d] ==
 * stride[d + 1] * shape[d + 1] for every operand). The iteration order (row-major) is unchanged. */
void eki_coalesce(int64_t rank, const int64_t *shape, int operands, const int64_t *const *strides, eki_layout *out);

/* The offsets, per operand, of row `row` of the layout's leading rank - 1 dimensions. */
static inline void eki_row_offsets(const eki_layout *l, int64_t row, int64_t *off) {
    if (l->rank <= 2) { /* the common case: no division */
        for (int k = 0; k < l->operands; k++) off[k] = l->rank == 2 ? row * l->stride[k][0] : 0;
        return;
    }
    for (int k = 0; k < l->operands; k++) off[k] = 0;
    for (int d = l->rank - 2; d >= 0; d--) {
        int64_t i = row % l->shape[d];
        row /= l->shape[d];
        for (int k = 0; k < l->operands; k++) off[k] += i * l->stride[k][d];
    }
}

#endif
