/* ref.h — the scalar reference kernels: the test oracle. Naive, serial, no validation (inputs
 * must be valid), int64 indices only, bags as CSR offsets (num_bags + 1 entries), padding as a
 * resolved row or -1. Each follows the pseudocode of embeddingkit.h as literally as possible. */
#ifndef EK_REF_H
#define EK_REF_H

#include <stdint.h>

#include "embeddingkit.h"

void ekref_embedding_forward(int64_t num_embeddings, int64_t dim, int64_t n, const float *weight,
                             const int64_t *indices, float *out);
void ekref_embedding_backward_dense(int64_t num_embeddings, int64_t dim, int64_t n, const int64_t *indices,
                                    const float *grad_out, int64_t pad, int scale_grad_by_freq, float *grad_weight);
int64_t ekref_embedding_backward_sparse(int64_t num_embeddings, int64_t dim, int64_t n, const int64_t *indices,
                                        const float *grad_out, int64_t pad, int scale_grad_by_freq, int64_t *out_rows,
                                        float *out_values);
void ekref_bag_forward(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags, const float *weight,
                       const int64_t *indices, const int64_t *csr, const float *psw, ek_bag_mode mode, int64_t pad,
                       float *out, int64_t *bag_size, int64_t *max_indices);
void ekref_bag_backward_dense(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags, const int64_t *indices,
                              const int64_t *csr, const float *psw, ek_bag_mode mode, int64_t pad,
                              int scale_grad_by_freq, const int64_t *max_indices, const float *grad_out,
                              float *grad_weight);
int64_t ekref_bag_backward_sparse(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags,
                                  const int64_t *indices, const int64_t *csr, const float *psw, ek_bag_mode mode,
                                  int64_t pad, int scale_grad_by_freq, const int64_t *max_indices,
                                  const float *grad_out, int64_t *out_rows, float *out_values);
void ekref_bag_weights_backward(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags, const float *weight,
                                const int64_t *indices, const int64_t *csr, const float *psw, ek_bag_mode mode,
                                int64_t pad, const float *grad_out, float *grad_weights);
void ekref_renorm(int64_t num_embeddings, int64_t dim, int64_t n, const int64_t *indices, double max_norm,
                  double norm_type, float *weight);
void ekref_softmax(int64_t rows, int64_t cols, const float *x, float *y, int log_space);
void ekref_softmax_backward(int64_t rows, int64_t cols, const float *y, const float *grad_y, float *grad_x,
                            int log_space);
void ekref_cross_entropy(int64_t rows, int64_t classes, const float *logits, const int64_t *targets,
                         int64_t ignore_index, float label_smoothing, ek_reduction reduction, float *loss,
                         float *grad_logits);
int64_t ekref_coo_coalesce(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                           int64_t *out_rows, float *out_values);
void ekref_coo_scatter_add(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                           float alpha, float *table);
void ekref_sgd(int64_t dim, int64_t nnz, const int64_t *rows, const float *values, float lr, float momentum,
               float dampening, float weight_decay, int nesterov, float *weight, float *momentum_buffer);
void ekref_adagrad(int64_t dim, int64_t nnz, const int64_t *rows, const float *values, float lr, float eps,
                   float weight_decay, float *weight, float *state_sum);
/* Row-wise Adagrad: state_sum has one entry per row (the mean of g^2 over the row). */
void ekref_rowwise_adagrad(int64_t dim, int64_t nnz, const int64_t *rows, const float *values, float lr, float eps,
                           float weight_decay, float *weight, float *state_sum);
void ekref_adam(int64_t dim, int64_t nnz, const int64_t *rows, const float *values, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t step, float *weight, float *exp_avg, float *exp_avg_sq);

#endif
