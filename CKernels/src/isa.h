/* isa.h — the kernels' instruction sets and their one dispatch table (isa.c explains the layout:
 * where each ISA's code lives and how to add a kernel). Internal (eki_*). */
#ifndef EK_ISA_H
#define EK_ISA_H

#include <stdint.h>

#include "tuning.h"

/* x86-64 builds carry AVX2 and AVX-512 variants of the hot loops, compiled per function with these
 * attributes (never with global -m flags: the library runs on any x86-64, and SwiftPM needs no
 * per-file flags). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EKI_X86 1
#define EKI_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define EKI_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
/* the AVX2 fp16 conversion (x86/avx2/half.c); the AVX2 table is chosen only where F16C is present */
#define EKI_TARGET_AVX2_F16C __attribute__((target("avx2,fma,f16c")))
#else
#define EKI_X86 0
#endif

/* The ISA the kernels use now (an ek_isa value): ek_set_isa's, else EK_ISA (read once) capped by the
 * CPU, else the CPU's best. */
int eki_isa(void);

/* Row primitives, bit-identical to the scalar loops on every ISA (multiply, then add: no FMA):
 *   axpy:         dst[d] += a * src[d]
 *   axpy_scaled:  dst[d] += a * (c * src[d]), both products rounded: bit for bit scale with c into a
 *                 row, then axpy with a of that row, without the row
 *   scale:        dst[d]  = a * src[d]
 *   scale_stream: the same with non-temporal stores where dst is aligned (outputs larger than the
 *                 cache): call eki_stream_fence() before another thread reads the results
 *   copy:         dst[d]  = src[d] bit for bit (memcpy); copy_stream: non-temporal, fence as above */
typedef void (*eki_row_fn)(int64_t dim, float a, const float *src, float *dst);
typedef void (*eki_row_scaled_fn)(int64_t dim, float a, float c, const float *src, float *dst);
typedef void (*eki_copy_fn)(int64_t dim, const float *src, float *dst);
/* n fp16 or bf16 elements to float32, exactly (half.c): every ISA gives the same bits. */
typedef void (*eki_cvt_fn)(int64_t n, const uint16_t *src, float *dst);
/* A row of float32 to bf16 / fp16 with stochastic rounding, the coins of row key `key` (half_round.c). */
typedef void (*eki_sround_fn)(int64_t dim, const float *src, uint16_t *dst, uint64_t key);
/* Plain SGD (no momentum) on a bf16 row in one pass from the gradient row c * g (c = 1: g itself):
 * widen, the f32 SGD row's arithmetic, stochastic rounding with row key `key` (half_round.c:
 * eki_bf16_sgd_cols is the rule). */
typedef void (*eki_bf16_sgd_fn)(int64_t dim, uint16_t *row, const float *g, float c, float lr, float weight_decay,
                                uint64_t key);

/* A packed quantized row (quant.h): its values, or acc += w * its values. */
typedef void (*eki_qrow_fn)(int64_t dim, const uint8_t *row, float *dst);
typedef void (*eki_qaxpy_fn)(int64_t dim, float w, const uint8_t *row, float *acc);
/* A thread's range [b0, b1) of bags of the quantized bag forward, sum or mean (quant.h). */
struct eki_qbag_call;
typedef void (*eki_qbag_range_fn)(const struct eki_qbag_call *c, int64_t b0, int64_t b1, float *out, int64_t *bag_size);

/* One optimizer row update (optim.c has the scalar rows and their formulas). */
typedef void (*eki_sgd_row_fn)(float *w, float *buf, const float *g, int64_t dim, float lr, float momentum,
                               float dampening, float weight_decay, int32_t nesterov);
typedef void (*eki_adagrad_row_fn)(float *restrict w, float *restrict acc, const float *restrict g, int64_t dim,
                                   float lr, float eps, float weight_decay);
typedef void (*eki_rowwise_apply_fn)(float *restrict w, const float *restrict g, int64_t dim, float m,
                                     float weight_decay);
typedef void (*eki_adam_row_fn)(float *w, float *m, float *v, const float *g, int64_t dim, float beta1, float beta2,
                                float eps, float weight_decay, float step_size, float bias2_sqrt, float decay);

/* A thread's range [b0, b1) of bags of the bag forward (embedding_bag.h). */
struct eki_bag_call;
typedef void (*eki_bag_range_fn)(const struct eki_bag_call *c, const float *weight, int64_t b0, int64_t b1, float *out,
                                 int64_t *bag_size, int64_t *max_indices);
/* The same for sum and mean on an fp16 (bf16 = 0) or bf16 (bf16 = 1) table. */
typedef void (*eki_half_bag_fn)(const struct eki_bag_call *c, const uint16_t *weight, int bf16, int64_t b0, int64_t b1,
                                float *out, int64_t *bag_size);

/* The dispatch table: one per ISA, every entry filled. Kernels read it once per call, before any
 * parallel region (`const eki_kernels *k = eki_dispatch();`), and call through it per row or per
 * thread range as their loops need. */
typedef struct {
    /* rowops.c */
    eki_row_fn axpy, scale, scale_stream;
    eki_row_scaled_fn axpy_scaled;
    eki_copy_fn copy, copy_stream;
    /* softmax.c: a row's maximum (NaN ignored); Σ exp(x[c] - m), storing each term in e unless e is
     * NULL and prefetching the row `next` (cols floats, or NULL) the caller reads after it;
     * y[c] = (y[c] * a - b) * s; y[i] = exp(x[i]) with this ISA's exp (for the tests) */
    float (*row_max)(const float *x, int64_t cols);
    float (*row_exp_sum)(const float *x, int64_t cols, float m, float *e, const float *next);
    void (*row_affine)(float *y, int64_t cols, float a, float b, float s);
    void (*vexp)(int64_t n, const float *x, float *y);
    /* renorm.c: the 2-norm of a row, in double */
    double (*norm2)(const float *row, int64_t dim);
    /* embedding_bag.c: the forward over a range of bags, by [int32 indices][per-sample weights] */
    eki_bag_range_fn bag_range[2][2];
    /* half.c: fp16 / bf16 rows to float32 (the forward verbs on fp16 and bf16 tables) */
    eki_cvt_fn cvt_f16, cvt_bf16;
    /* embedding_bag.c: the sum / mean bag forward over a range of bags of an fp16 / bf16 table */
    eki_half_bag_fn half_bag_sum;
    /* half_round.c: stochastic rounding of a row to bf16 / fp16 (the half-precision updates) */
    eki_sround_fn bf16_stochastic_row, f16_stochastic_row;
    eki_bf16_sgd_fn bf16_sgd_row;
    /* optim.c: the optimizer row updates (the sparse updates and the fused bag updates) */
    eki_sgd_row_fn sgd_row;
    eki_adagrad_row_fn adagrad_row;
    eki_rowwise_apply_fn rowwise_apply;
    eki_adam_row_fn adam_row;
    /* the bag prefetch distance in rows for CPUs without a rule of their own (tuning.c chooses the
     * distance at run time; embedding_bag.h: EKI_BAG_PREFETCH_ROWS_<ISA>; scalar: EKI_PREFETCH_ROWS) */
    int bag_prefetch_rows;
    /* columns per pass of bag_range and half_bag_sum (embedding_bag.h: EKI_BAG_BLOCK_ELEMS_<ISA>; 0: the
     * whole row) */
    int bag_block_elems;
    /* ---- quantized tables (issue 18, quant.c; x86/<isa>/quant.c), by format: [0] Q8, [1] Q4, [2] Q2 ----
     * q_dequant: a packed row's dim values (fma(q, scale, bias)); q_axpy: acc[d] += w * value(d) */
    eki_qrow_fn q_dequant[3];
    eki_qaxpy_fn q_axpy[3];
    /* q_bag_range[format][int32 indices][per-sample weights]: the bag forward, sum / mean */
    eki_qbag_range_fn q_bag_range[3][2][2];
    /* ---- end of the quantized block ---- */
} eki_kernels;

/* The table of the current ISA (eki_isa()), and of a given one (the tests). */
const eki_kernels *eki_kernels_for(int isa);
static inline const eki_kernels *eki_dispatch(void) { return eki_kernels_for(eki_isa()); }

/* Orders the non-temporal stores of scale_stream / copy_stream before later loads and stores. */
void eki_stream_fence(void);
/* Outputs of at least this many bytes are written with non-temporal stores where a kernel offers
 * it: chosen at run time for the CPU (tuning.c: half its L3, 16 MiB on the Zen 3 / Zen 5 EPYCs;
 * ek_set_tuning / EK_STREAM_MIN_BYTES pin it). */
#define EKI_STREAM_MIN_BYTES (eki_stream_min_bytes())

/* For the tests (test_isa.c declares it): y[i] = exp(x[i]) with the exp of `isa` (scalar: libm expf). */
void eki_vexp(int isa, int64_t n, const float *x, float *y);

/* ---- the variants the tables hold: eki_<kernel>_<isa>, defined in the family file (scalar) or in
 * x86/<isa>/<family>.c ---- */
void eki_axpy_scalar(int64_t dim, float a, const float *src, float *dst);
void eki_axpy_scaled_scalar(int64_t dim, float a, float c, const float *src, float *dst);
void eki_scale_scalar(int64_t dim, float a, const float *src, float *dst); /* also scale_stream */
void eki_copy_scalar(int64_t dim, const float *src, float *dst);          /* every ISA's copy; scalar copy_stream */
float eki_row_max_scalar(const float *x, int64_t cols);
float eki_row_exp_sum_scalar(const float *x, int64_t cols, float m, float *e, const float *next);
void eki_row_affine_scalar(float *y, int64_t cols, float a, float b, float s);
void eki_vexp_scalar(int64_t n, const float *x, float *y);
double eki_norm2_scalar(const float *row, int64_t dim);
float eki_f16_to_f32(uint16_t h);  /* one element (also the vector variants' tails) */
float eki_bf16_to_f32(uint16_t h);
void eki_cvt_f16_scalar(int64_t n, const uint16_t *src, float *dst);
void eki_cvt_bf16_scalar(int64_t n, const uint16_t *src, float *dst);
void eki_axpy_f16_scalar(int64_t n, float w, const uint16_t *src, float *acc);
void eki_axpy_bf16_scalar(int64_t n, float w, const uint16_t *src, float *acc);
void eki_half_bag_sum_scalar(const struct eki_bag_call *c, const uint16_t *weight, int bf16, int64_t b0, int64_t b1,
                             float *out, int64_t *bag_size);
void eki_bf16_stochastic_row_scalar(int64_t dim, const float *src, uint16_t *dst, uint64_t key);
void eki_f16_stochastic_row_scalar(int64_t dim, const float *src, uint16_t *dst, uint64_t key);
void eki_bf16_sgd_row_scalar(int64_t dim, uint16_t *row, const float *g, float c, float lr, float weight_decay,
                             uint64_t key);
void eki_sgd_row_scalar(float *w, float *buf, const float *g, int64_t dim, float lr, float momentum, float dampening,
                        float weight_decay, int32_t nesterov);
void eki_adagrad_row_scalar(float *restrict w, float *restrict acc, const float *restrict g, int64_t dim, float lr,
                            float eps, float weight_decay);
void eki_rowwise_apply_scalar(float *restrict w, const float *restrict g, int64_t dim, float m, float weight_decay);
void eki_adam_row_scalar(float *w, float *m, float *v, const float *g, int64_t dim, float beta1, float beta2, float eps,
                         float weight_decay, float step_size, float bias2_sqrt, float decay);
/* every bag_range slot: the index width and weights are tested once per range */
void eki_bag_range_scalar(const struct eki_bag_call *c, const float *weight, int64_t b0, int64_t b1, float *out,
                          int64_t *bag_size, int64_t *max_indices);

#if EKI_X86
/* The vector ISAs: each has every kernel, and a bag range per (index width, weighted) with both
 * compile-time constants (EKI_BAG_RANGE_VARIANTS, embedding_bag.h). */
#define EKI_DECLARE_VECTOR_KERNELS(isa)                                                               \
    void eki_axpy_##isa(int64_t dim, float a, const float *src, float *dst);                          \
    void eki_axpy_scaled_##isa(int64_t dim, float a, float c, const float *src, float *dst);          \
    void eki_scale_##isa(int64_t dim, float a, const float *src, float *dst);                         \
    void eki_scale_stream_##isa(int64_t dim, float a, const float *src, float *dst);                  \
    void eki_copy_stream_##isa(int64_t dim, const float *src, float *dst);                            \
    float eki_row_max_##isa(const float *x, int64_t cols);                                            \
    float eki_row_exp_sum_##isa(const float *x, int64_t cols, float m, float *e, const float *next);  \
    void eki_row_affine_##isa(float *y, int64_t cols, float a, float b, float s);                     \
    void eki_vexp_##isa(int64_t n, const float *x, float *y);                                         \
    double eki_norm2_##isa(const float *row, int64_t dim);                                            \
    void eki_cvt_f16_##isa(int64_t n, const uint16_t *src, float *dst);                               \
    void eki_cvt_bf16_##isa(int64_t n, const uint16_t *src, float *dst);                              \
    void eki_half_bag_sum_##isa(const struct eki_bag_call *c, const uint16_t *weight, int bf16,       \
                                int64_t b0, int64_t b1, float *out, int64_t *bag_size);               \
    void eki_bf16_stochastic_row_##isa(int64_t dim, const float *src, uint16_t *dst, uint64_t key);   \
    void eki_f16_stochastic_row_##isa(int64_t dim, const float *src, uint16_t *dst, uint64_t key);    \
    void eki_bf16_sgd_row_##isa(int64_t dim, uint16_t *row, const float *g, float c, float lr, float weight_decay, \
                                uint64_t key);                                                        \
    void eki_sgd_row_##isa(float *w, float *buf, const float *g, int64_t dim, float lr, float momentum,\
                           float dampening, float weight_decay, int32_t nesterov);                    \
    void eki_adagrad_row_##isa(float *restrict w, float *restrict acc, const float *restrict g,       \
                               int64_t dim, float lr, float eps, float weight_decay);                 \
    void eki_rowwise_apply_##isa(float *restrict w, const float *restrict g, int64_t dim, float m,    \
                                 float weight_decay);                                                 \
    void eki_adam_row_##isa(float *w, float *m, float *v, const float *g, int64_t dim, float beta1,   \
                            float beta2, float eps, float weight_decay, float step_size,              \
                            float bias2_sqrt, float decay);                                           \
    void eki_bag_range_##isa##_i64(const struct eki_bag_call *c, const float *weight, int64_t b0,     \
                                   int64_t b1, float *out, int64_t *bag_size, int64_t *max_indices);  \
    void eki_bag_range_##isa##_i64w(const struct eki_bag_call *c, const float *weight, int64_t b0,    \
                                    int64_t b1, float *out, int64_t *bag_size, int64_t *max_indices); \
    void eki_bag_range_##isa##_i32(const struct eki_bag_call *c, const float *weight, int64_t b0,     \
                                   int64_t b1, float *out, int64_t *bag_size, int64_t *max_indices);  \
    void eki_bag_range_##isa##_i32w(const struct eki_bag_call *c, const float *weight, int64_t b0,    \
                                    int64_t b1, float *out, int64_t *bag_size, int64_t *max_indices);
EKI_DECLARE_VECTOR_KERNELS(avx2)
EKI_DECLARE_VECTOR_KERNELS(avx512)
/* ---- quantized tables (issue 18): the scalar ones are declared in quant.h ---- */
#define EKI_DECLARE_QUANT_KERNELS(isa)                                                                \
    void eki_q8_dequant_##isa(int64_t dim, const uint8_t *row, float *dst);                           \
    void eki_q4_dequant_##isa(int64_t dim, const uint8_t *row, float *dst);                           \
    void eki_q2_dequant_##isa(int64_t dim, const uint8_t *row, float *dst);                           \
    void eki_q8_axpy_##isa(int64_t dim, float w, const uint8_t *row, float *acc);                     \
    void eki_q4_axpy_##isa(int64_t dim, float w, const uint8_t *row, float *acc);                     \
    void eki_q2_axpy_##isa(int64_t dim, float w, const uint8_t *row, float *acc);                     \
    EKI_DECLARE_QBAG_RANGES(isa, q8) EKI_DECLARE_QBAG_RANGES(isa, q4) EKI_DECLARE_QBAG_RANGES(isa, q2)
/* eki_<format>_bag_range_<isa>_i64, _i64w, _i32, _i32w (x86/<isa>/quant_bag.c) */
#define EKI_DECLARE_QBAG_RANGES(isa, fmt)                                                             \
    void eki_##fmt##_bag_range_##isa##_i64(const struct eki_qbag_call *, int64_t, int64_t, float *, int64_t *); \
    void eki_##fmt##_bag_range_##isa##_i64w(const struct eki_qbag_call *, int64_t, int64_t, float *, int64_t *); \
    void eki_##fmt##_bag_range_##isa##_i32(const struct eki_qbag_call *, int64_t, int64_t, float *, int64_t *); \
    void eki_##fmt##_bag_range_##isa##_i32w(const struct eki_qbag_call *, int64_t, int64_t, float *, int64_t *);
EKI_DECLARE_QUANT_KERNELS(avx2)
EKI_DECLARE_QUANT_KERNELS(avx512)
/* ---- end of the quantized block ---- */
#endif
/* the scalar table's q_bag_range (quant_forward.c): the row-at-a-time loop */
void eki_qbag_range_scalar(const struct eki_qbag_call *c, int64_t b0, int64_t b1, float *out, int64_t *bag_size);

#endif
