/* softmax.c — row-wise kernels over a 4,096 x 1,024 matrix of logits: W8 (softmax) and W8b
 * (cross-entropy, mean, with grad_logits: loss and gradient in one pass). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct {
    const bench_workload *w;
    float *x[NBATCH];     /* rows x dim logits, uniform in [-4, 4] */
    int64_t *tgt[NBATCH]; /* W8b: rows class indices */
    float *out;           /* rows x dim: probabilities or grad_logits */
    float loss;
} softmax_data;

static void xent_call(void *data, int b);

static void *softmax_setup(const bench_workload *w) {
    softmax_data *d = calloc(1, sizeof *d);
    int64_t R = w->rows, D = w->dim;
    d->w = w;
    for (int b = 0; b < NBATCH; b++) {
        d->x[b] = ALLOC(float, R * D);
        fill_uniform(d->x[b], R * D, BENCH_SEED + 100 + (uint64_t)b, -4.0f, 4.0f);
        if (w->call == xent_call) {
            d->tgt[b] = ALLOC(int64_t, R);
            fill_indices(d->tgt[b], R, BENCH_SEED + 200 + (uint64_t)b, D);
        }
    }
    d->out = ALLOC(float, R * D);
    return d;
}

static void softmax_release(void *data) {
    softmax_data *d = data;
    for (int b = 0; b < NBATCH; b++) free(d->x[b]), free(d->tgt[b]);
    free(d->out), free(d);
}

static void softmax_call(void *data, int b) {
    softmax_data *d = data;
    bench_ok(ek_softmax_forward_f32(d->w->rows, d->w->dim, d->x[b], d->out), "ek_softmax_forward_f32");
}

static void softmax_check(void *data, const int *threads, int nthreads) {
    softmax_data *d = data;
    int64_t R = d->w->rows, D = d->w->dim;
    float *ref = ALLOC(float, R * D);
    ekref_softmax(R, D, d->x[0], ref, 0);
    for (int k = 0; k < nthreads; k++) {
        ek_set_num_threads(threads[k]);
        memset(d->out, 0xff, sizeof(float) * (size_t)(R * D));
        softmax_call(d, 0);
        check_close(d->w->id, "softmax", threads[k], d->out, ref, R * D, 1e-5, 1e-5);
    }
    free(ref);
}

static void xent_call(void *data, int b) {
    softmax_data *d = data;
    bench_ok(ek_cross_entropy_f32_i64(d->w->rows, d->w->dim, d->x[b], d->tgt[b], -100, 0.0f, EK_REDUCTION_MEAN,
                                      &d->loss, d->out),
             "ek_cross_entropy_f32_i64");
}

static void xent_check(void *data, const int *threads, int nthreads) {
    softmax_data *d = data;
    int64_t R = d->w->rows, D = d->w->dim;
    float *ref = ALLOC(float, R * D), ref_loss = 0;
    ekref_cross_entropy(R, D, d->x[0], d->tgt[0], -100, 0.0f, EK_REDUCTION_MEAN, &ref_loss, ref);
    for (int k = 0; k < nthreads; k++) {
        ek_set_num_threads(threads[k]);
        memset(d->out, 0xff, sizeof(float) * (size_t)(R * D));
        xent_call(d, 0);
        check_close(d->w->id, "loss", threads[k], &d->loss, &ref_loss, 1, 1e-4, 1e-5);
        check_close(d->w->id, "grad_logits", threads[k], d->out, ref, R * D, 1e-6, 1e-4);
    }
    free(ref);
}

static const bench_workload softmax_workloads[] = {
    {.order = 80, .id = "W8", .name = "softmax", .params = "4,096 x 1,024", .peer_call = "torch.softmax(x, -1)",
     .rows = 4096, .dim = 1024, .unit = UNIT_ELEMS, .target_ratio = 2.0, .target_text = ">= 2x", .peer_id = "W8",
     .setup = softmax_setup, .call = softmax_call, .check = softmax_check, .release = softmax_release,
     .work = work_matrix_elems},
    {.order = 81, .id = "W8b", .name = "cross-entropy fwd + bwd", .params = "4,096 x 1,024 logits",
     .peer_call = "F.cross_entropy(...).backward()", .rows = 4096, .dim = 1024, .unit = UNIT_ELEMS,
     .target_ratio = 3.0, .target_text = ">= 3x", .peer_id = "W8b",
     .note = "EK: ek_cross_entropy_f32_i64 (mean), loss and grad_logits in one pass",
     .setup = softmax_setup, .call = xent_call, .check = xent_check, .release = softmax_release,
     .work = work_matrix_elems},
};
BENCH_FAMILY(softmax_workloads);
