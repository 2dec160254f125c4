/* ek_positional.h — the 0.1 positional call shapes, written over the 0.2 descriptors, for the C
 * tests and fuzz harnesses whose checks were written against them (every check kept, each call now
 * going through ek_table / ek_bag_input / ek_bag_options). Not part of the library: new code
 * should fill the descriptors itself (examples/c/lookup.c shows how).
 *
 *   pos_<verb>_i64 / _i32 take the old arguments in the old order; padding_idx == EK_NO_PADDING
 *   means has_padding = 0. */
#ifndef EK_POSITIONAL_H
#define EK_POSITIONAL_H

#include "embeddingkit.h"

#ifndef EK_NO_PADDING
#define EK_NO_PADDING INT64_MIN
#endif

static inline ek_table pos_table(int64_t rows, int64_t dim, const float *data) {
    return (ek_table){.struct_size = sizeof(ek_table), .rows = rows, .dim = dim, .dtype = EK_DTYPE_F32,
                      .data = (void *)(uintptr_t)data};
}
static inline ek_bag_input pos_input(ek_index_type type, int64_t n, const void *indices, int64_t num_bags,
                                     const void *offsets, int32_t include_last_offset, int64_t num_weights,
                                     const float *weights, int64_t padding_idx) {
    return (ek_bag_input){.struct_size = sizeof(ek_bag_input), .index_type = type, .indices = indices,
                          .num_indices = n, .offsets = offsets, .num_bags = num_bags,
                          .include_last_offset = include_last_offset, .per_sample_weights = weights,
                          .num_weights = num_weights, .has_padding = padding_idx != EK_NO_PADDING,
                          .padding_idx = padding_idx == EK_NO_PADDING ? 0 : padding_idx};
}
static inline ek_bag_options pos_options(ek_bag_mode mode, int32_t scale_grad_by_freq) {
    return (ek_bag_options){.struct_size = sizeof(ek_bag_options), .mode = mode,
                            .scale_grad_by_freq = scale_grad_by_freq};
}

#define EK_POSITIONAL_VARIANTS(sfx, T, TYPE)                                                                         \
    static inline ek_status pos_embedding_forward_##sfx(int64_t rows, int64_t dim, int64_t n, const float *weight,   \
                                                        const T *indices, float *out) {                              \
        ek_table t = pos_table(rows, dim, weight);                                                                   \
        ek_bag_input in = pos_input(TYPE, n, indices, 0, NULL, 0, 0, NULL, EK_NO_PADDING);                           \
        return ek_lookup_forward(&t, &in, out);                                                                      \
    }                                                                                                                \
    static inline ek_status pos_embedding_backward_dense_##sfx(int64_t rows, int64_t dim, int64_t n, const T *indices, \
                                                               const float *grad_out, int64_t padding_idx,           \
                                                               int32_t freq, float *grad_weight) {                   \
        ek_table t = pos_table(rows, dim, NULL);                                                                     \
        ek_bag_input in = pos_input(TYPE, n, indices, 0, NULL, 0, 0, NULL, padding_idx);                             \
        ek_bag_options o = pos_options(EK_BAG_SUM, freq);                                                            \
        return ek_lookup_backward_dense(&t, &in, &o, grad_out, grad_weight);                                         \
    }                                                                                                                \
    static inline ek_status pos_embedding_backward_sparse_##sfx(int64_t rows, int64_t dim, int64_t n, const T *indices, \
                                                                const float *grad_out, int64_t padding_idx,          \
                                                                int32_t freq, int64_t *out_rows, float *out_values,  \
                                                                int64_t *out_nnz) {                                  \
        ek_table t = pos_table(rows, dim, NULL);                                                                     \
        ek_bag_input in = pos_input(TYPE, n, indices, 0, NULL, 0, 0, NULL, padding_idx);                             \
        ek_bag_options o = pos_options(EK_BAG_SUM, freq);                                                            \
        return ek_lookup_backward_sparse(&t, &in, &o, grad_out, out_rows, out_values, out_nnz);                      \
    }                                                                                                                \
    static inline ek_status pos_embedding_bag_forward_##sfx(                                                         \
        int64_t rows, int64_t dim, int64_t n, int64_t num_bags, int64_t num_weights, const float *weight,            \
        const T *indices, const T *offsets, int32_t last, const float *psw, ek_bag_mode mode, int64_t padding_idx,   \
        float *out, int64_t *bag_size, int64_t *max_indices) {                                                       \
        ek_table t = pos_table(rows, dim, weight);                                                                   \
        ek_bag_input in = pos_input(TYPE, n, indices, num_bags, offsets, last, num_weights, psw, padding_idx);       \
        ek_bag_options o = pos_options(mode, 0);                                                                     \
        return ek_bag_forward(&t, &in, &o, out, bag_size, max_indices);                                              \
    }                                                                                                                \
    static inline ek_status pos_embedding_bag_backward_dense_##sfx(                                                  \
        int64_t rows, int64_t dim, int64_t n, int64_t num_bags, int64_t num_weights, const T *indices,               \
        const T *offsets, int32_t last, const float *psw, ek_bag_mode mode, int64_t padding_idx, int32_t freq,       \
        const int64_t *max_indices, const float *grad_out, float *grad_weight) {                                     \
        ek_table t = pos_table(rows, dim, NULL);                                                                     \
        ek_bag_input in = pos_input(TYPE, n, indices, num_bags, offsets, last, num_weights, psw, padding_idx);       \
        ek_bag_options o = pos_options(mode, freq);                                                                  \
        return ek_bag_backward_dense(&t, &in, &o, max_indices, grad_out, grad_weight);                               \
    }                                                                                                                \
    static inline ek_status pos_embedding_bag_backward_sparse_##sfx(                                                 \
        int64_t rows, int64_t dim, int64_t n, int64_t num_bags, int64_t num_weights, const T *indices,               \
        const T *offsets, int32_t last, const float *psw, ek_bag_mode mode, int64_t padding_idx, int32_t freq,       \
        const int64_t *max_indices, const float *grad_out, int64_t *out_rows, float *out_values, int64_t *out_nnz) { \
        ek_table t = pos_table(rows, dim, NULL);                                                                     \
        ek_bag_input in = pos_input(TYPE, n, indices, num_bags, offsets, last, num_weights, psw, padding_idx);       \
        ek_bag_options o = pos_options(mode, freq);                                                                  \
        return ek_bag_backward_sparse(&t, &in, &o, max_indices, grad_out, out_rows, out_values, out_nnz);            \
    }                                                                                                                \
    static inline ek_status pos_embedding_bag_backward_sgd_##sfx(                                                    \
        int64_t rows, int64_t dim, int64_t n, int64_t num_bags, int64_t num_weights, const T *indices,               \
        const T *offsets, int32_t last, const float *psw, ek_bag_mode mode, int64_t padding_idx, int32_t freq,       \
        const int64_t *max_indices, const float *grad_out, float lr, float *weight) {                                \
        ek_table t = pos_table(rows, dim, weight);                                                                   \
        ek_bag_input in = pos_input(TYPE, n, indices, num_bags, offsets, last, num_weights, psw, padding_idx);       \
        ek_bag_options o = pos_options(mode, freq);                                                                  \
        ek_optimizer opt = {.struct_size = sizeof(ek_optimizer), .kind = EK_OPT_SGD, .lr = lr};                      \
        return ek_bag_backward_update(&t, &in, &o, max_indices, grad_out, &opt);                                     \
    }                                                                                                                \
    static inline ek_status pos_embedding_bag_per_sample_weights_backward_##sfx(                                     \
        int64_t rows, int64_t dim, int64_t n, int64_t num_bags, int64_t num_weights, const float *weight,            \
        const T *indices, const T *offsets, int32_t last, const float *psw, ek_bag_mode mode, int64_t padding_idx,   \
        const float *grad_out, float *grad_weights) {                                                                \
        ek_table t = pos_table(rows, dim, weight);                                                                   \
        ek_bag_input in = pos_input(TYPE, n, indices, num_bags, offsets, last, num_weights, psw, padding_idx);       \
        ek_bag_options o = pos_options(mode, 0);                                                                     \
        return ek_bag_per_sample_weights_backward(&t, &in, &o, grad_out, grad_weights);                              \
    }                                                                                                                \
    static inline ek_status pos_embedding_renorm_##sfx(int64_t rows, int64_t dim, int64_t n, const T *indices,        \
                                                       double max_norm, double norm_type, float *weight) {           \
        ek_table t = pos_table(rows, dim, weight);                                                                   \
        ek_bag_input in = pos_input(TYPE, n, indices, 0, NULL, 0, 0, NULL, EK_NO_PADDING);                           \
        return ek_renorm(&t, &in, max_norm, norm_type);                                                              \
    }

EK_POSITIONAL_VARIANTS(i64, int64_t, EK_INDEX_I64)
EK_POSITIONAL_VARIANTS(i32, int32_t, EK_INDEX_I32)

#endif
