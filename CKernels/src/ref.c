/* ref.c — scalar reference kernels (the test oracle). Written for obviousness, not speed:
 * quadratic loops where that is simplest, no shared helpers with the optimised kernels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

static int64_t occurrences(const int64_t *indices, int64_t n, int64_t row) {
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) count += indices[i] == row;
    return count;
}

void ekref_embedding_forward(int64_t num_embeddings, int64_t dim, int64_t n, const float *weight,
                             const int64_t *indices, float *out) {
    (void)num_embeddings;
    for (int64_t i = 0; i < n; i++)
        for (int64_t d = 0; d < dim; d++) out[i * dim + d] = weight[indices[i] * dim + d];
}

void ekref_embedding_backward_dense(int64_t num_embeddings, int64_t dim, int64_t n, const int64_t *indices,
                                    const float *grad_out, int64_t pad, int scale_grad_by_freq, float *grad_weight) {
    (void)num_embeddings;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = indices[i];
        if (r == pad) continue;
        float s = scale_grad_by_freq ? (float)(1.0 / (double)occurrences(indices, n, r)) : 1.0f;
        for (int64_t d = 0; d < dim; d++) grad_weight[r * dim + d] += s * grad_out[i * dim + d];
    }
}

int64_t ekref_embedding_backward_sparse(int64_t num_embeddings, int64_t dim, int64_t n, const int64_t *indices,
                                        const float *grad_out, int64_t pad, int scale_grad_by_freq, int64_t *out_rows,
                                        float *out_values) {
    (void)num_embeddings;
    int64_t nnz = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = indices[i];
        if (r == pad) continue;
        float s = scale_grad_by_freq ? (float)(1.0 / (double)occurrences(indices, n, r)) : 1.0f;
        out_rows[nnz] = r;
        for (int64_t d = 0; d < dim; d++) out_values[nnz * dim + d] = s * grad_out[i * dim + d];
        nnz++;
    }
    return nnz;
}

void ekref_bag_forward(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags, const float *weight,
                       const int64_t *indices, const int64_t *csr, const float *psw, ek_bag_mode mode, int64_t pad,
                       float *out, int64_t *bag_size, int64_t *max_indices) {
    (void)num_embeddings, (void)n;
    for (int64_t b = 0; b < num_bags; b++) {
        int64_t count = 0;
        float wsum = 0.0f;
        for (int64_t d = 0; d < dim; d++) {
            out[b * dim + d] = 0.0f;
            if (max_indices) max_indices[b * dim + d] = -1;
        }
        for (int64_t j = csr[b]; j < csr[b + 1]; j++) {
            int64_t r = indices[j];
            if (r == pad) continue;
            float w = psw ? psw[j] : 1.0f;
            wsum += w;
            for (int64_t d = 0; d < dim; d++) {
                float v = weight[r * dim + d];
                float *o = &out[b * dim + d];
                if (mode != EK_BAG_MAX) {
                    *o += psw ? w * v : v;
                } else if (count == 0 || v > *o || (isnan(v) && !isnan(*o))) {
                    *o = v;
                    if (max_indices) max_indices[b * dim + d] = r;
                }
            }
            count++;
        }
        if (mode == EK_BAG_MEAN) {
            float denom = psw ? wsum : (float)count;
            for (int64_t d = 0; d < dim; d++) out[b * dim + d] = denom == 0.0f ? 0.0f : out[b * dim + d] / denom;
        }
        if (bag_size) bag_size[b] = count;
    }
}

/* The gradient row of position j of bag b (see embeddingkit.h, section 6). */
static void ref_bag_entry(int64_t dim, int64_t n, const int64_t *indices, const int64_t *csr, const float *psw,
                          ek_bag_mode mode, int64_t pad, int scale_grad_by_freq, const int64_t *max_indices,
                          const float *grad_out, int64_t b, int64_t j, float *g) {
    int64_t r = indices[j];
    if (mode == EK_BAG_MAX) {
        int first = 1;
        for (int64_t k = csr[b]; k < j; k++) first &= indices[k] != r;
        for (int64_t d = 0; d < dim; d++) g[d] = first && max_indices[b * dim + d] == r ? grad_out[b * dim + d] : 0.0f;
        return;
    }
    double count = 0.0, wsum = 0.0;
    for (int64_t k = csr[b]; k < csr[b + 1]; k++)
        if (indices[k] != pad) count += 1.0, wsum += psw ? psw[k] : 1.0;
    double w = psw ? psw[j] : 1.0, c;
    if (mode == EK_BAG_SUM) c = w;
    else if (psw) c = wsum == 0.0 ? 0.0 : w / wsum;
    else c = w / count;
    if (scale_grad_by_freq) c = (double)(float)c / (double)occurrences(indices, n, r);
    for (int64_t d = 0; d < dim; d++) g[d] = (float)c * grad_out[b * dim + d];
}

void ekref_bag_backward_dense(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags, const int64_t *indices,
                              const int64_t *csr, const float *psw, ek_bag_mode mode, int64_t pad,
                              int scale_grad_by_freq, const int64_t *max_indices, const float *grad_out,
                              float *grad_weight) {
    (void)num_embeddings;
    float *g = malloc(sizeof(float) * (size_t)dim);
    for (int64_t b = 0; b < num_bags; b++)
        for (int64_t j = csr[b]; j < csr[b + 1]; j++) {
            if (indices[j] == pad) continue;
            ref_bag_entry(dim, n, indices, csr, psw, mode, pad, scale_grad_by_freq, max_indices, grad_out, b, j, g);
            for (int64_t d = 0; d < dim; d++) grad_weight[indices[j] * dim + d] += g[d];
        }
    free(g);
}

int64_t ekref_bag_backward_sparse(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags,
                                  const int64_t *indices, const int64_t *csr, const float *psw, ek_bag_mode mode,
                                  int64_t pad, int scale_grad_by_freq, const int64_t *max_indices,
                                  const float *grad_out, int64_t *out_rows, float *out_values) {
    (void)num_embeddings;
    int64_t nnz = 0;
    for (int64_t b = 0; b < num_bags; b++)
        for (int64_t j = csr[b]; j < csr[b + 1]; j++) {
            if (indices[j] == pad) continue;
            out_rows[nnz] = indices[j];
            ref_bag_entry(dim, n, indices, csr, psw, mode, pad, scale_grad_by_freq, max_indices, grad_out, b, j,
                          out_values + nnz * dim);
            nnz++;
        }
    return nnz;
}

void ekref_bag_weights_backward(int64_t num_embeddings, int64_t dim, int64_t n, int64_t num_bags, const float *weight,
                                const int64_t *indices, const int64_t *csr, const float *psw, ek_bag_mode mode,
                                int64_t pad, const float *grad_out, float *grad_weights) {
    float *mean = malloc(sizeof(float) * (size_t)dim);
    for (int64_t j = 0; j < n; j++) grad_weights[j] = 0.0f;
    for (int64_t b = 0; b < num_bags; b++) {
        const float *g = grad_out + b * dim;
        double wsum = 0.0;
        if (mode == EK_BAG_MEAN) {
            ekref_bag_forward(num_embeddings, dim, csr[b + 1] - csr[b], 1, weight, indices + csr[b],
                              (const int64_t[]){0, csr[b + 1] - csr[b]}, psw + csr[b], EK_BAG_MEAN, pad, mean, NULL,
                              NULL);
            for (int64_t k = csr[b]; k < csr[b + 1]; k++)
                if (indices[k] != pad) wsum += psw[k];
        }
        for (int64_t j = csr[b]; j < csr[b + 1]; j++) {
            if (indices[j] == pad) continue;
            double dot = 0.0;
            for (int64_t d = 0; d < dim; d++) {
                double v = weight[indices[j] * dim + d];
                if (mode == EK_BAG_MEAN) v -= mean[d];
                dot += (double)g[d] * v;
            }
            grad_weights[j] = mode == EK_BAG_MEAN ? (wsum == 0.0 ? 0.0f : (float)(dot / wsum)) : (float)dot;
        }
    }
    free(mean);
}

void ekref_renorm(int64_t num_embeddings, int64_t dim, int64_t n, const int64_t *indices, double max_norm,
                  double norm_type, float *weight) {
    (void)num_embeddings;
    for (int64_t i = 0; i < n; i++) {
        int seen_before = 0;
        for (int64_t k = 0; k < i; k++) seen_before |= indices[k] == indices[i];
        if (seen_before) continue;
        float *row = weight + indices[i] * dim;
        double norm = 0.0;
        for (int64_t d = 0; d < dim; d++) {
            double a = fabs((double)row[d]);
            if (isinf(norm_type)) norm = a > norm ? a : norm;
            else if (norm_type == 0.0) norm += a != 0.0;
            else norm += pow(a, norm_type);
        }
        if (!isinf(norm_type) && norm_type != 0.0) norm = pow(norm, 1.0 / norm_type);
        if (norm > max_norm)
            for (int64_t d = 0; d < dim; d++) row[d] *= (float)(max_norm / (norm + 1e-7));
    }
}

void ekref_softmax(int64_t rows, int64_t cols, const float *x, float *y, int log_space) {
    for (int64_t i = 0; i < rows; i++) {
        double m = -INFINITY, sum = 0.0;
        for (int64_t c = 0; c < cols; c++) m = x[i * cols + c] > m ? x[i * cols + c] : m;
        for (int64_t c = 0; c < cols; c++) sum += exp(x[i * cols + c] - m);
        for (int64_t c = 0; c < cols; c++)
            y[i * cols + c] = log_space ? (float)(x[i * cols + c] - m - log(sum)) : (float)(exp(x[i * cols + c] - m) / sum);
    }
}

void ekref_softmax_backward(int64_t rows, int64_t cols, const float *y, const float *grad_y, float *grad_x,
                            int log_space) {
    for (int64_t i = 0; i < rows; i++) {
        double dot = 0.0;
        for (int64_t c = 0; c < cols; c++) dot += log_space ? grad_y[i * cols + c] : grad_y[i * cols + c] * y[i * cols + c];
        for (int64_t c = 0; c < cols; c++) {
            double gy = grad_y[i * cols + c], yv = y[i * cols + c];
            grad_x[i * cols + c] = log_space ? (float)(gy - exp(yv) * dot) : (float)(yv * (gy - dot));
        }
    }
}

void ekref_cross_entropy(int64_t rows, int64_t classes, const float *logits, const int64_t *targets,
                         int64_t ignore_index, float label_smoothing, ek_reduction reduction, float *loss,
                         float *grad_logits) {
    float *lp = malloc(sizeof(float) * (size_t)classes);
    double total = 0.0, eps = label_smoothing;
    int64_t valid = 0;
    for (int64_t i = 0; i < rows; i++) valid += targets[i] != ignore_index;
    for (int64_t i = 0; i < rows; i++) {
        int64_t t = targets[i];
        double l = 0.0;
        if (t != ignore_index) {
            ekref_softmax(1, classes, logits + i * classes, lp, 1);
            l = -(1.0 - eps) * lp[t];
            for (int64_t c = 0; c < classes; c++) l -= eps / (double)classes * lp[c];
        }
        total += l;
        if (reduction == EK_REDUCTION_NONE) loss[i] = (float)l;
        if (!grad_logits) continue;
        double r = reduction == EK_REDUCTION_MEAN ? 1.0 / (double)valid : 1.0;
        for (int64_t c = 0; c < classes; c++) {
            double g = 0.0;
            if (t != ignore_index) g = (exp(lp[c]) - (c == t ? 1.0 - eps : 0.0) - eps / (double)classes) * r;
            grad_logits[i * classes + c] = (float)g;
        }
    }
    if (reduction == EK_REDUCTION_SUM) loss[0] = (float)total;
    if (reduction == EK_REDUCTION_MEAN) loss[0] = (float)(total / (double)valid);
    free(lp);
}

int64_t ekref_coo_coalesce(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                           int64_t *out_rows, float *out_values) {
    int64_t k = 0;
    for (int64_t r = 0; r < num_rows; r++) {
        int found = 0;
        for (int64_t i = 0; i < nnz; i++) {
            if (rows[i] != r) continue;
            if (!found) {
                out_rows[k] = r;
                memcpy(out_values + k * dim, values + i * dim, sizeof(float) * (size_t)dim);
                found = 1;
            } else {
                for (int64_t d = 0; d < dim; d++) out_values[k * dim + d] += values[i * dim + d];
            }
        }
        k += found;
    }
    return k;
}

void ekref_coo_scatter_add(int64_t num_rows, int64_t dim, int64_t nnz, const int64_t *rows, const float *values,
                           float alpha, float *table) {
    (void)num_rows;
    for (int64_t i = 0; i < nnz; i++)
        for (int64_t d = 0; d < dim; d++) table[rows[i] * dim + d] += alpha * values[i * dim + d];
}

void ekref_sgd(int64_t dim, int64_t nnz, const int64_t *rows, const float *values, float lr, float momentum,
               float dampening, float weight_decay, int nesterov, float *weight, float *momentum_buffer) {
    for (int64_t i = 0; i < nnz; i++) {
        int64_t r = rows ? rows[i] : i;
        for (int64_t d = 0; d < dim; d++) {
            float *w = &weight[r * dim + d];
            float g = values[i * dim + d] + weight_decay * *w;
            if (momentum != 0.0f) {
                float *buf = &momentum_buffer[r * dim + d];
                *buf = momentum * *buf + (1.0f - dampening) * g;
                g = nesterov ? g + momentum * *buf : *buf;
            }
            *w -= lr * g;
        }
    }
}

void ekref_adagrad(int64_t dim, int64_t nnz, const int64_t *rows, const float *values, float lr, float eps,
                   float weight_decay, float *weight, float *state_sum) {
    for (int64_t i = 0; i < nnz; i++) {
        int64_t r = rows ? rows[i] : i;
        for (int64_t d = 0; d < dim; d++) {
            float *w = &weight[r * dim + d], *acc = &state_sum[r * dim + d];
            float g = values[i * dim + d] + weight_decay * *w;
            *acc += g * g;
            *w -= lr * g / (sqrtf(*acc) + eps);
        }
    }
}

void ekref_rowwise_adagrad(int64_t dim, int64_t nnz, const int64_t *rows, const float *values, float lr, float eps,
                           float weight_decay, float *weight, float *state_sum) {
    for (int64_t i = 0; i < nnz; i++) {
        int64_t r = rows ? rows[i] : i;
        float *w = weight + r * dim;
        const float *v = values + i * dim;
        double sq = 0.0;
        for (int64_t d = 0; d < dim; d++) {
            float g = v[d] + weight_decay * w[d];
            sq += (double)g * g;
        }
        state_sum[r] += (float)(sq / (double)dim);
        float m = lr / (sqrtf(state_sum[r]) + eps);
        for (int64_t d = 0; d < dim; d++) w[d] -= m * (v[d] + weight_decay * w[d]);
    }
}

void ekref_adam(int64_t dim, int64_t nnz, const int64_t *rows, const float *values, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t step, float *weight, float *exp_avg, float *exp_avg_sq) {
    double bias1 = 1.0 - pow(beta1, (double)step), bias2 = 1.0 - pow(beta2, (double)step);
    for (int64_t i = 0; i < nnz; i++) {
        int64_t r = rows ? rows[i] : i;
        for (int64_t d = 0; d < dim; d++) {
            float *w = &weight[r * dim + d], *m = &exp_avg[r * dim + d], *v = &exp_avg_sq[r * dim + d];
            float g = values[i * dim + d];
            *w *= 1.0f - lr * weight_decay;
            *m = beta1 * *m + (1.0f - beta1) * g;
            *v = beta2 * *v + (1.0f - beta2) * g * g;
            *w -= (float)(lr / bias1) * *m / (float)(sqrt(*v) / sqrt(bias2) + eps);
        }
    }
}
