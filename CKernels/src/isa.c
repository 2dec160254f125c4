/* isa.c — run-time choice of the kernels' instruction set (ek_set_isa / ek_get_isa, EK_ISA) and the
 * one dispatch table per ISA (isa.h).
 *
 * Where ISA code lives. The library is built without -march. Each kernel family's file
 * (rowops.c, softmax.c, renorm.c, embedding_bag.c) holds its scalar code, the one-line semantics
 * above it; the AVX2 and AVX-512 variants live in x86/avx2/<family>.c and x86/avx512/<family>.c,
 * every function there compiled with EKI_TARGET_AVX2 / EKI_TARGET_AVX512 (isa.h:
 * __attribute__((target(...))), so neither SwiftPM nor the Makefile needs per-file flags), the whole
 * file inside #if EKI_X86. Types a family shares with its ISA files go in <family>.h
 * (embedding_bag.h). Kernels never test the ISA: they take `const eki_kernels *k = eki_dispatch();`
 * once per call, before any parallel region, and call its entries per row or per thread range,
 * whichever the loop had (a hot loop stays inlined inside the ISA's range function; a per-row
 * pointer is used only where the loop is in the family file).
 *
 * Adding a kernel for an ISA: declare eki_<kernel>_<isa> in isa.h (the scalar one by hand, the
 * vector ones in EKI_DECLARE_VECTOR_KERNELS), add its slot to eki_kernels, define the scalar
 * version in the family file and the vector ones in x86/<isa>/<family>.c, and fill the slot in each
 * table below. Every vector variant must equal the scalar one bit for bit (or within a bound the
 * tests state, like exp): Tests/c runs every test under every ISA the CPU has (test_isa.c,
 * test_vs_reference.c compare against the scalar reference kernels). Every file in x86/<isa>/
 * starts with `#pragma STDC FP_CONTRACT OFF`: clang would otherwise fuse a * b + c into an FMA
 * under an "fma" target, and the leftover elements would round differently from scalar (in the
 * clang build SwiftPM makes; gcc -std=c11 never contracts). A new ISA is a new table, a new folder
 * and a new ek_isa value. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "embedding_bag.h" /* the bag prefetch distances */
#include "quant.h"         /* the scalar quantized row kernels */

#if EKI_X86
#include <immintrin.h>
#endif

static atomic_int current_isa = -1; /* -1: not chosen yet */

/* The best ISA this CPU (and OS: the compilers' CPU checks include XCR0) supports. */
static int cpu_best(void) {
#if EKI_X86
    __builtin_cpu_init();
    int fma = __builtin_cpu_supports("fma");
    if (fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return EK_ISA_AVX512;
    /* F16C: the AVX2 fp16 conversion (every AVX2 CPU made has it) */
    if (fma && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c")) return EK_ISA_AVX2;
#endif
    return EK_ISA_SCALAR;
}

/* The CPU's best, lowered by EK_ISA=scalar|avx2|avx512 (an ISA above the CPU's, or another value,
 * is ignored: the variable can only ask for less). */
static int initial_isa(void) {
    int best = cpu_best();
    const char *env = getenv("EK_ISA");
    if (env) {
        int want = -1;
        if (!strcmp(env, "scalar")) want = EK_ISA_SCALAR;
        else if (!strcmp(env, "avx2")) want = EK_ISA_AVX2;
        else if (!strcmp(env, "avx512")) want = EK_ISA_AVX512;
        if (want >= 0 && want < best) best = want;
    }
    return best;
}

int eki_isa(void) {
    int v = atomic_load_explicit(&current_isa, memory_order_relaxed);
    if (v >= 0) return v;
    int expected = -1, chosen = initial_isa();
    /* a concurrent ek_set_isa wins over the lazy default */
    if (!atomic_compare_exchange_strong(&current_isa, &expected, chosen)) return expected;
    return chosen;
}

ek_status ek_set_isa(ek_isa isa) {
    int want = (int)isa;
    if (want < EK_ISA_SCALAR || want > EK_ISA_AVX512)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "set_isa: isa=%d is not scalar (0), avx2 (1) or avx512 (2)", want);
    int best = cpu_best();
    if (want > best)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "set_isa: this CPU does not support %s (best: %s)",
                        ek_isa_name(isa), ek_isa_name((ek_isa)best));
    atomic_store_explicit(&current_isa, want, memory_order_relaxed);
    return EK_OK;
}

ek_isa ek_get_isa(void) { return (ek_isa)eki_isa(); }

/* ---- the dispatch tables, indexed by ek_isa ---- */

/* A format's four bag ranges as q_bag_range[format] holds them: [is32][weighted]. */
#define EKI_QBAG_RANGES(fmt, isa)                                                                     \
    {{eki_##fmt##_bag_range_##isa##_i64, eki_##fmt##_bag_range_##isa##_i64w},                         \
     {eki_##fmt##_bag_range_##isa##_i32, eki_##fmt##_bag_range_##isa##_i32w}}

static const eki_kernels tables[] = {
    [EK_ISA_SCALAR] = {
        .axpy = eki_axpy_scalar, .scale = eki_scale_scalar, .scale_stream = eki_scale_scalar,
        .axpy_scaled = eki_axpy_scaled_scalar, .copy = eki_copy_scalar, .copy_stream = eki_copy_scalar,
        .row_max = eki_row_max_scalar, .row_exp_sum = eki_row_exp_sum_scalar, .row_affine = eki_row_affine_scalar,
        .vexp = eki_vexp_scalar,
        .norm2 = eki_norm2_scalar,
        .cvt_f16 = eki_cvt_f16_scalar, .cvt_bf16 = eki_cvt_bf16_scalar,
        .half_bag_sum = eki_half_bag_sum_scalar, .bf16_stochastic_row = eki_bf16_stochastic_row_scalar,
        .f16_stochastic_row = eki_f16_stochastic_row_scalar, .bf16_sgd_row = eki_bf16_sgd_row_scalar,
        .sgd_row = eki_sgd_row_scalar, .adagrad_row = eki_adagrad_row_scalar, .rowwise_apply = eki_rowwise_apply_scalar,
        .adam_row = eki_adam_row_scalar,
        .bag_range = {{eki_bag_range_scalar, eki_bag_range_scalar}, {eki_bag_range_scalar, eki_bag_range_scalar}},
        .bag_prefetch_rows = EKI_PREFETCH_ROWS,
        /* ---- quantized tables (issue 18) ---- */
        .q_dequant = {eki_q8_dequant_scalar, eki_q4_dequant_scalar, eki_q2_dequant_scalar},
        .q_axpy = {eki_q8_axpy_scalar, eki_q4_axpy_scalar, eki_q2_axpy_scalar},
        .q_bag_range = {{{eki_qbag_range_scalar, eki_qbag_range_scalar}, {eki_qbag_range_scalar, eki_qbag_range_scalar}},
                        {{eki_qbag_range_scalar, eki_qbag_range_scalar}, {eki_qbag_range_scalar, eki_qbag_range_scalar}},
                        {{eki_qbag_range_scalar, eki_qbag_range_scalar}, {eki_qbag_range_scalar, eki_qbag_range_scalar}}},
        /* ---- end of the quantized block ---- */
    },
#if EKI_X86
    [EK_ISA_AVX2] = {
        .axpy = eki_axpy_avx2, .scale = eki_scale_avx2, .scale_stream = eki_scale_stream_avx2,
        .axpy_scaled = eki_axpy_scaled_avx2, .copy = eki_copy_scalar, .copy_stream = eki_copy_stream_avx2,
        .row_max = eki_row_max_avx2, .row_exp_sum = eki_row_exp_sum_avx2, .row_affine = eki_row_affine_avx2,
        .vexp = eki_vexp_avx2,
        .norm2 = eki_norm2_avx2,
        .cvt_f16 = eki_cvt_f16_avx2, .cvt_bf16 = eki_cvt_bf16_avx2,
        .half_bag_sum = eki_half_bag_sum_avx2, .bf16_stochastic_row = eki_bf16_stochastic_row_avx2,
        .f16_stochastic_row = eki_f16_stochastic_row_avx2, .bf16_sgd_row = eki_bf16_sgd_row_avx2,
        .sgd_row = eki_sgd_row_avx2, .adagrad_row = eki_adagrad_row_avx2, .rowwise_apply = eki_rowwise_apply_avx2,
        .adam_row = eki_adam_row_avx2,
        .bag_range = {{eki_bag_range_avx2_i64, eki_bag_range_avx2_i64w}, {eki_bag_range_avx2_i32, eki_bag_range_avx2_i32w}},
        .bag_prefetch_rows = EKI_BAG_PREFETCH_ROWS_AVX2,
        .bag_block_elems = EKI_BAG_BLOCK_ELEMS_AVX2,
        /* ---- quantized tables (issue 18) ---- */
        .q_dequant = {eki_q8_dequant_avx2, eki_q4_dequant_avx2, eki_q2_dequant_avx2},
        .q_axpy = {eki_q8_axpy_avx2, eki_q4_axpy_avx2, eki_q2_axpy_avx2},
        .q_bag_range = {EKI_QBAG_RANGES(q8, avx2), EKI_QBAG_RANGES(q4, avx2), EKI_QBAG_RANGES(q2, avx2)},
        /* ---- end of the quantized block ---- */
    },
    [EK_ISA_AVX512] = {
        .axpy = eki_axpy_avx512, .scale = eki_scale_avx512, .scale_stream = eki_scale_stream_avx512,
        .axpy_scaled = eki_axpy_scaled_avx512, .copy = eki_copy_scalar, .copy_stream = eki_copy_stream_avx512,
        .row_max = eki_row_max_avx512, .row_exp_sum = eki_row_exp_sum_avx512, .row_affine = eki_row_affine_avx512,
        .vexp = eki_vexp_avx512,
        .norm2 = eki_norm2_avx512,
        .cvt_f16 = eki_cvt_f16_avx512, .cvt_bf16 = eki_cvt_bf16_avx512,
        .half_bag_sum = eki_half_bag_sum_avx512, .bf16_stochastic_row = eki_bf16_stochastic_row_avx512,
        .f16_stochastic_row = eki_f16_stochastic_row_avx512, .bf16_sgd_row = eki_bf16_sgd_row_avx512,
        .sgd_row = eki_sgd_row_avx512, .adagrad_row = eki_adagrad_row_avx512, .rowwise_apply = eki_rowwise_apply_avx512,
        .adam_row = eki_adam_row_avx512,
        .bag_range = {{eki_bag_range_avx512_i64, eki_bag_range_avx512_i64w},
                      {eki_bag_range_avx512_i32, eki_bag_range_avx512_i32w}},
        .bag_prefetch_rows = EKI_BAG_PREFETCH_ROWS_AVX512,
        .bag_block_elems = EKI_BAG_BLOCK_ELEMS_AVX512,
        /* ---- quantized tables (issue 18) ---- */
        .q_dequant = {eki_q8_dequant_avx512, eki_q4_dequant_avx512, eki_q2_dequant_avx512},
        .q_axpy = {eki_q8_axpy_avx512, eki_q4_axpy_avx512, eki_q2_axpy_avx512},
        .q_bag_range = {EKI_QBAG_RANGES(q8, avx512), EKI_QBAG_RANGES(q4, avx512), EKI_QBAG_RANGES(q2, avx512)},
        /* ---- end of the quantized block ---- */
    },
#endif
};

/* isa is an ek_isa the CPU supports (eki_isa(), or one ek_set_isa accepted): other builds than
 * x86-64 only ever choose scalar. */
const eki_kernels *eki_kernels_for(int isa) {
    return &tables[isa >= 0 && isa < (int)(sizeof tables / sizeof tables[0]) ? isa : EK_ISA_SCALAR];
}

void eki_vexp(int isa, int64_t n, const float *x, float *y) { eki_kernels_for(isa)->vexp(n, x, y); }

void eki_stream_fence(void) {
#if EKI_X86
    _mm_sfence();
#endif
}

const char *ek_isa_name(ek_isa isa) {
    switch (isa) {
    case EK_ISA_SCALAR: return "scalar";
    case EK_ISA_AVX2: return "avx2";
    case EK_ISA_AVX512: return "avx512";
    }
    return "unknown";
}
