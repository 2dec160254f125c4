/* tuning.c — the machine-dependent constants of the kernels, chosen once per process for the CPU at
 * hand (ek_set_tuning / ek_get_tuning, EK_BAG_PREFETCH_ROWS, EK_STREAM_MIN_BYTES, EK_SCATTER_MIN_WORK;
 * docs/TUNING.md has
 * the rules and the measurements behind them).
 *
 * None of them changes any arithmetic: a prefetch distance only moves when a row is asked for, and
 * streaming stores write the same bits as ordinary ones. Results are bit-identical whatever the
 * values (Tests/c/test_tuning.c). Each value is, by the first that applies:
 *   1. ek_set_tuning's (tests, experiments);
 *   2. its environment variable, read once, if it holds a number in the accepted range (anything
 *      else is ignored, as EK_ISA's unknown values are: a variable can only ask, never break);
 *   3. the rule for this CPU, from what cpuid reports (vendor, family, cache sizes). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h" /* isa.h, tuning.h */
#include "embedding_bag.h" /* the per-ISA default distances */

#if EKI_X86
#include <cpuid.h>
#endif

/* What cpuid says about this CPU (zeros where it says nothing, or off x86). */
typedef struct {
    char vendor[13];
    unsigned family, model; /* display family / model (base + extended) */
    int64_t l3_bytes;       /* one L3 as a core sees it (not the machine's total), 0: unknown */
} cpu_info;

static cpu_info read_cpu(void) {
    cpu_info ci;
    memset(&ci, 0, sizeof ci);
#if EKI_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return ci;
    unsigned max_leaf = a;
    memcpy(ci.vendor, &b, 4), memcpy(ci.vendor + 4, &d, 4), memcpy(ci.vendor + 8, &c, 4);
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        ci.family = (a >> 8) & 0xf, ci.model = (a >> 4) & 0xf;
        if (ci.family == 0xf) ci.family += (a >> 20) & 0xff;
        if (ci.family == 0xf || ci.family == 6 || ci.family > 0xf) ci.model |= ((a >> 16) & 0xf) << 4;
    }
    /* The cache leaves: AMD 0x8000001D (with topoext), Intel 4; the same layout. glibc's sysconf
     * multiplies the L3 by the CPUs sharing it in some VMs (384 MiB on a 32 MiB Zen 5 guest). */
    unsigned leaf = 0;
    if (!strcmp(ci.vendor, "AuthenticAMD") || !strcmp(ci.vendor, "HygonGenuine")) {
        unsigned ext = __get_cpuid_max(0x80000000u, NULL);
        if (ext >= 0x8000001Du && __get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & (1u << 22))) leaf = 0x8000001Du;
    } else if (max_leaf >= 4) {
        leaf = 4;
    }
    for (unsigned sub = 0; leaf && sub < 16; sub++) {
        __cpuid_count(leaf, sub, a, b, c, d);
        unsigned type = a & 31, level = (a >> 5) & 7;
        if (type == 0) break;
        if (level == 3 && (type == 1 || type == 3))
            ci.l3_bytes = (int64_t)(((b >> 22) & 0x3ff) + 1) * (((b >> 12) & 0x3ff) + 1) * ((b & 0xfff) + 1) *
                          ((int64_t)c + 1);
    }
#endif
    return ci;
}

/* ---- the rules ---- */

/* Bag forward prefetch distance, in rows, by CPU (measured on W2-like bags of 256-byte rows):
 *   AMD family 0x1A (Zen 5) and later: 48 — the best of 0..96 at 1 thread on a Zen 5 EPYC, with the
 *     AVX-512 and the AVX2 kernels alike (Benchmarks/README.md, issue 16);
 *   AMD family 0x19 (Zen 3, Zen 4): 24 — on a Zen 3 EPYC 8–32 rows read 9.1–9.9 GB/s and 48 only
 *     7.8 (issue 16); 24 is inside that range, two steps away from the drop;
 *   any other CPU: the ISA's default (AVX-512 48, AVX2 32, scalar 16: the values before this rule).
 * The distance depends on the memory system (latency x the misses a core keeps in flight), not on
 * the ISA, which is why the CPU decides first. */
static int64_t bag_prefetch_rule(const cpu_info *ci, int isa, const char **why) {
    int amd = !strcmp(ci->vendor, "AuthenticAMD");
    if (amd && ci->family >= 0x1a) return *why = "AMD family 0x1a+ (Zen 5) rule", 48;
    if (amd && ci->family == 0x19) return *why = "AMD family 0x19 (Zen 3/4) rule", 24;
    *why = "the ISA's default (CPU without a rule)";
    return eki_kernels_for(isa)->bag_prefetch_rows;
}

/* Outputs at least this large are written with non-temporal stores: half of one L3 (an output that
 * size would push the inputs out of it), between 4 and 32 MiB; 16 MiB when the CPU does not say.
 * On the Zen 3 and Zen 5 EPYCs (32 MiB L3) this is the 16 MiB measured before (W1, W6). */
static int64_t stream_rule(const cpu_info *ci, const char **why) {
    if (ci->l3_bytes <= 0) return *why = "L3 size unknown: default", (int64_t)16 << 20;
    int64_t v = ci->l3_bytes / 2;
    if (v < ((int64_t)4 << 20)) v = (int64_t)4 << 20;
    if (v > ((int64_t)32 << 20)) v = (int64_t)32 << 20;
    *why = "half the L3 the CPU reports";
    return v;
}

/* ---- the parameters ---- */

typedef struct {
    const char *name, *env;
    int64_t min, max;
    _Atomic int64_t pinned; /* ek_set_tuning's value, -1: none */
    _Atomic int64_t from_env; /* -2: not read yet, -1: unset or ignored */
} param;

static param params[] = {
    [EK_TUNE_BAG_PREFETCH_ROWS] = {"bag_prefetch_rows", "EK_BAG_PREFETCH_ROWS", 0, 1024, -1, -2},
    [EK_TUNE_STREAM_MIN_BYTES] = {"stream_min_bytes", "EK_STREAM_MIN_BYTES", 0, INT64_MAX, -1, -2},
    [EK_TUNE_SCATTER_MIN_WORK] = {"scatter_min_work", "EK_SCATTER_MIN_WORK", 0, INT64_MAX, -1, -2},
};
#define NPARAMS ((int)(sizeof params / sizeof params[0]))

int64_t eki_parse_tuning_value(const char *s, int64_t min, int64_t max) {
    if (!s || !*s) return -1;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        if (v > (INT64_MAX - (*p - '0')) / 10) return -1;
        v = v * 10 + (*p - '0');
    }
    return v < min || v > max ? -1 : v;
}

static int64_t env_value(param *p) {
    int64_t v = atomic_load_explicit(&p->from_env, memory_order_relaxed);
    if (v == -2) {
        v = eki_parse_tuning_value(getenv(p->env), p->min, p->max);
        atomic_store_explicit(&p->from_env, v, memory_order_relaxed); /* every thread computes the same */
    }
    return v;
}

static cpu_info the_cpu;
static void read_the_cpu(void) { the_cpu = read_cpu(); }

static const cpu_info *cpu(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_the_cpu);
    return &the_cpu;
}

/* The value now and where it comes from. */
static int64_t value_of(int what, const char **why) {
    param *p = &params[what];
    int64_t v = atomic_load_explicit(&p->pinned, memory_order_relaxed);
    if (v >= 0) return *why = "ek_set_tuning", v;
    if ((v = env_value(p)) >= 0) return *why = p->env, v;
    if (what == EK_TUNE_BAG_PREFETCH_ROWS) return bag_prefetch_rule(cpu(), eki_isa(), why);
    if (what == EK_TUNE_SCATTER_MIN_WORK) return *why = "the kernels' serial threshold", EKI_PARALLEL_MIN_WORK;
    return stream_rule(cpu(), why);
}

int64_t eki_bag_prefetch_rows(void) {
    const char *why;
    return value_of(EK_TUNE_BAG_PREFETCH_ROWS, &why);
}

/* What a prefetch keeps in flight is cache lines, not rows: a row of 256 bytes, the rules' unit, is 4
 * lines; a 36-byte 4-bit row 1.5 on average, a 72-byte 8-bit row 2, a 512-byte one 8. The same lines
 * ahead was the best for each on the Zen 5 (1 thread, W2-sized calls; Benchmarks/README.md, session
 * 11): fp32 D = 32 (2 lines) 0.78 ms at 48 rows, 0.58 at 96, 0.60 at 192; W11 (1.5 lines) 0.54 ms at
 * 96, 0.48-0.50 at 128; W10 (2 lines) best at 96-128; D = 128 (8 lines, one pass) 2.15 ms at 12
 * rows, 2.21 at 24, 2.25 at 48. */
int64_t eki_bag_prefetch_rows_for(int64_t row_elems, int64_t elem_bytes, int64_t row_stride_elems, const void *table) {
    int64_t rows = eki_bag_prefetch_rows(), row_bytes;
    if (row_elems <= 0 || rows == 0) return rows;
    /* a row past 1 GiB gets 1 row whatever its exact size (and no product here can overflow: a table
     * of no rows may have any dim) */
    if (__builtin_mul_overflow(row_elems, elem_bytes, &row_bytes) || row_bytes > ((int64_t)1 << 30))
        row_bytes = (int64_t)1 << 30;
    uint64_t row_stride_bytes = (uint64_t)row_stride_elems * (uint64_t)elem_bytes; /* only its low bits count */
    /* row r starts at table + r * stride: within a line, at the table's offset modulo g (the largest
     * power of two dividing the stride, at most 64) plus multiples of g; average the lines over those */
    uintptr_t g = (uintptr_t)(row_stride_bytes | 64u);
    g &= -g;
    int64_t starts = 0, lines = 0;
    for (int64_t o = (int64_t)((uintptr_t)table % g); o < 64; o += (int64_t)g, starts++)
        lines += (o + row_bytes - 1) / 64 + 1;
    int64_t scaled = (rows * 4 * starts + lines / 2) / lines;
    return scaled > 0 ? scaled : 1;
}

int64_t eki_scatter_min_work(void) {
    const char *why;
    return value_of(EK_TUNE_SCATTER_MIN_WORK, &why);
}

size_t eki_stream_min_bytes(void) {
    const char *why;
    return (size_t)value_of(EK_TUNE_STREAM_MIN_BYTES, &why);
}

ek_status ek_set_tuning(ek_tuning what, int64_t value) {
    if ((int)what < 0 || (int)what >= NPARAMS)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "set_tuning: what=%d is not an ek_tuning value (0..%d)", (int)what,
                        NPARAMS - 1);
    param *p = &params[what];
    if (value != -1 && (value < p->min || value > p->max))
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "set_tuning: %s value=%lld is outside [%lld, %lld] (-1: automatic)",
                        p->name, (long long)value, (long long)p->min, (long long)p->max);
    atomic_store_explicit(&p->pinned, value, memory_order_relaxed);
    return EK_OK;
}

ek_status ek_get_tuning(ek_tuning what, int64_t *value) {
    if ((int)what < 0 || (int)what >= NPARAMS)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "get_tuning: what=%d is not an ek_tuning value (0..%d)", (int)what,
                        NPARAMS - 1);
    if (!value) return eki_fail(EK_ERR_NULL_POINTER, "get_tuning: value is NULL");
    const char *why;
    *value = value_of(what, &why);
    return EK_OK;
}

const char *ek_tuning_summary(void) {
    static _Thread_local char buf[512];
    const cpu_info *ci = cpu();
    const char *why_pf, *why_st, *why_sc;
    int64_t pf = value_of(EK_TUNE_BAG_PREFETCH_ROWS, &why_pf), st = value_of(EK_TUNE_STREAM_MIN_BYTES, &why_st);
    int64_t sc = value_of(EK_TUNE_SCATTER_MIN_WORK, &why_sc);
    snprintf(buf, sizeof buf,
             "cpu %s family 0x%x model 0x%x, L3 %lld KiB; bag_prefetch_rows=%lld (%s); stream_min_bytes=%lld (%s); "
             "scatter_min_work=%lld (%s)",
             ci->vendor[0] ? ci->vendor : "unknown", ci->family, ci->model, (long long)(ci->l3_bytes >> 10),
             (long long)pf, why_pf, (long long)st, why_st, (long long)sc, why_sc);
    return buf;
}
