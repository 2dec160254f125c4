/* isa.c — run-time choice of the kernels' instruction set (ek_set_isa / ek_get_isa, EK_ISA).
 *
 * The library is built without -march: the AVX2 and AVX-512 kernels are functions compiled with
 * __attribute__((target(...))) (EKI_TARGET_AVX2 / EKI_TARGET_AVX512 in internal.h) and each kernel
 * picks its variant once per call from eki_isa(), before any parallel region. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static atomic_int current_isa = -1; /* -1: not chosen yet */

/* The best ISA this CPU (and OS: the compilers' CPU checks include XCR0) supports. */
static int cpu_best(void) {
#if EKI_X86
    __builtin_cpu_init();
    int fma = __builtin_cpu_supports("fma");
    if (fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return EK_ISA_AVX512;
    if (fma && __builtin_cpu_supports("avx2")) return EK_ISA_AVX2;
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

const char *ek_isa_name(ek_isa isa) {
    switch (isa) {
    case EK_ISA_SCALAR: return "scalar";
    case EK_ISA_AVX2: return "avx2";
    case EK_ISA_AVX512: return "avx512";
    }
    return "unknown";
}
