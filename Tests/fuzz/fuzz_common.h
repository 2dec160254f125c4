/* fuzz_common.h — what the libFuzzer harnesses of the C ABI share (see Tests/fuzz/README.md).
 *
 * Each harness decodes the fuzzer's bytes into one call's worth of arguments (sizes, indices, offsets,
 * options, float data), works out INDEPENDENTLY from the header's rules whether the call is valid and,
 * if not, which error codes may name the problem, calls the kernel (both index widths where both
 * exist) and checks:
 *   - the status: EK_OK exactly when the header makes the call valid, else one of the expected codes,
 *     with a non-empty ek_last_error();
 *   - on an error: every buffer, input, output and table alike, is byte-identical to before the call
 *     (outputs are poisoned with 0xA5 bytes first, so a stray write shows);
 *   - on success: the const inputs are unchanged and the result agrees with the scalar reference
 *     kernels ekref_* (|got - ref| <= 1e-5 + 1e-4 * max(|ref|, scale), NaN == NaN; scale is 0 except
 *     where noted, where it is the magnitude of the terms a float sum cancels). When an input holds
 *     NaN, Inf, or a huge or tiny value, arithmetic results are not compared (only no crash, the
 *     status, the untouched buffers, and results that are copies: rows, counts, gathers, max).
 * Any disagreement prints what was called, with which arguments, and __builtin_trap()s.
 *
 * Sizes are small (tables <= 64 rows, dim <= 16, <= 255 indices) except the "wild" ones: negative
 * values and values whose byte counts overflow. A call with a wild size is made only when the header
 * makes it invalid because of a size (the harness cannot hand over 2^60-element buffers); it must then
 * fail, with any code, before touching the (small, dummy) buffers. */
#ifndef EK_FUZZ_COMMON_H
#define EK_FUZZ_COMMON_H

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embeddingkit.h"
#include "../common/ek_positional.h"
#include "ref.h"

/* ---- the input ---------------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t n, i;
    int specials;    /* this input may decode NaN / Inf / huge floats */
    int any_special; /* it did */
} fz_in;

static inline uint8_t fz_u8(fz_in *f) { return f->i < f->n ? f->p[f->i++] : 0; }

/* The first byte: bit 0 allows special floats. */
static inline fz_in fz_begin(const uint8_t *data, size_t size) {
    fz_in f = {data, size, 0, 0, 0};
    f.specials = fz_u8(&f) & 1;
    return f;
}

#define FZ_DUMMY 64 /* elements of every buffer of a call made with a wild size */

/* A size: usually byte % (max + 1); bytes >= 0xF0 give wild values (negative, or large enough that a
 * byte count overflows once multiplied). *wild is set for those. */
static inline int64_t fz_size(fz_in *f, int64_t max, int *wild) {
    static const int64_t wild_values[16] = {
        -1, -2, INT32_MIN, INT64_MIN, INT64_MAX, INT64_C(1) << 59, INT64_C(1) << 60, (INT64_C(1) << 60) + 1,
        INT64_C(1) << 61, (INT64_C(1) << 60) - 1, INT64_C(1) << 62, INT64_C(3) << 61, INT64_C(1) << 31,
        INT64_C(1) << 32, INT64_C(1) << 40, -(INT64_C(1) << 62)};
    uint8_t b = fz_u8(f);
    if (b < 0xF0) return b % (max + 1);
    *wild = 1;
    return wild_values[b & 15];
}

/* An index for a table of `count` rows: mostly in range; 1 in 8 a corner value (negative, count,
 * past int32, a value that becomes valid only when narrowed to int32, ...). */
static inline int64_t fz_index(fz_in *f, int64_t count) {
    uint8_t b = fz_u8(f);
    int64_t in_range = count > 0 ? b % count : 0;
    if (b < 0xE0) return count > 0 ? in_range : b % 3;
    switch (b & 15) {
    case 0: return -1;
    case 1: return count;
    case 2: return count + 1;
    case 3: return -count;
    case 4: return -count - 1;
    case 5: return INT64_MIN;
    case 6: return INT64_MAX;
    case 7: return INT32_MIN;
    case 8: return INT32_MAX;
    case 9: return INT64_C(1) << 32;                 /* narrows to 0 */
    case 10: return (INT64_C(1) << 32) + in_range;   /* narrows to a valid index */
    case 11: return -(INT64_C(1) << 32) + in_range;  /* narrows to a valid index */
    case 12: return INT64_C(1) << 31;                /* narrows to INT32_MIN */
    case 13: return count > 0 ? count - 1 : 0;
    case 14: return 0;
    default: return in_range;
    }
}

/* A float: k / 16 for k in [-128, 127] (sums and products of these are exact in float for the sizes
 * used), or, when the input allows it, 1 in 16 a special value (NaN, Inf, huge, tiny, subnormal, -0).
 * Any of these but -0 marks the input special: float and double formulas part ways there (overflow,
 * underflow), so arithmetic results are then not compared with the reference. */
static inline float fz_float(fz_in *f) {
    static const float specials[16] = {NAN, -NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, 1e30f, -1e30f,
                                       1e-40f, -1e-40f, FLT_MIN, 3e38f, 1e20f, -0.0f, 65504.0f, 1e-30f};
    uint8_t b = fz_u8(f);
    if (f->specials && b >= 0xF0) {
        float v = specials[b & 15];
        if (!isfinite(v) || fabsf(v) > 1e6f || (v != 0.0f && fabsf(v) < 1e-6f)) f->any_special = 1; /* -0 is not */
        return v;
    }
    return (float)(int8_t)b / 16.0f;
}

static inline void fz_floats(fz_in *f, float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = fz_float(f);
}

/* A padding_idx for a table of `num` rows: mostly EK_NO_PADDING, else valid, wrapped or out of range. */
static inline int64_t fz_padding(fz_in *f, int64_t num) {
    uint8_t b = fz_u8(f);
    int64_t r = num > 0 ? b % num : 0;
    if (b < 0x80) return EK_NO_PADDING;
    switch (b % 12) {
    case 0: case 1: case 2: return r;
    case 3: case 4: return -r - 1; /* wraps to num - r - 1 */
    case 5: return num;
    case 6: return (int64_t)(0 - (uint64_t)num - 1); /* -num - 1, wrapping for wild sizes */
    case 7: return (int64_t)(0 - (uint64_t)num);
    case 8: return INT64_MIN + 1;
    case 9: return INT64_MAX;
    case 10: return INT32_MIN;
    default: return -1;
    }
}

/* An int32 flag: mostly 0 or 1, sometimes another non-zero value (which the header refuses). */
static inline int32_t fz_flag(fz_in *f) {
    uint8_t b = fz_u8(f);
    switch (b % 8) {
    case 5: case 6: return 1;
    case 7: return b >= 0x80 ? -1 : 2;
    default: return 0;
    }
}

/* ---- reporting ---------------------------------------------------------------------------------- */

static char fz_ctx[4096]; /* the call being checked and its arguments, printed on a failure */

static inline void fz_ctx_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void fz_ctx_set(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fz_ctx, sizeof fz_ctx, fmt, ap);
    va_end(ap);
}
static inline void fz_ctx_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void fz_ctx_add(const char *fmt, ...) {
    size_t used = strlen(fz_ctx);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fz_ctx + used, sizeof fz_ctx - used, fmt, ap);
    va_end(ap);
}
static inline void fz_ctx_i64s(const char *name, const int64_t *p, int64_t n) {
    fz_ctx_add(" %s=[", name);
    if (!p) {
        fz_ctx_add("NULL]");
        return;
    }
    for (int64_t i = 0; i < n && i < 64; i++) fz_ctx_add(i ? ",%lld" : "%lld", (long long)p[i]);
    fz_ctx_add(n > 64 ? ",...]" : "]");
}
static inline void fz_ctx_f32s(const char *name, const float *p, int64_t n) {
    fz_ctx_add(" %s=[", name);
    if (!p) {
        fz_ctx_add("NULL]");
        return;
    }
    for (int64_t i = 0; i < n && i < 32; i++) fz_ctx_add(i ? ",%g" : "%g", (double)p[i]);
    fz_ctx_add(n > 32 ? ",...]" : "]");
}

static inline void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fz_fail(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "\n==== EmbeddingKit fuzz check failed ====\ncall: %s\n", fz_ctx);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    __builtin_trap();
}

/* ---- the expected status ------------------------------------------------------------------------ */

/* A set of ek_status codes (bit s for code s); 0 means "the call is valid". */
typedef unsigned fz_mask;
#define FZ_BIT(code) (1u << (code))
#define FZ_ANY_ERROR                                                                                   \
    (FZ_BIT(EK_ERR_INVALID_ARGUMENT) | FZ_BIT(EK_ERR_INDEX_OUT_OF_RANGE) | FZ_BIT(EK_ERR_SHAPE) |       \
     FZ_BIT(EK_ERR_NULL_POINTER) | FZ_BIT(EK_ERR_OVERFLOW) | FZ_BIT(EK_ERR_ALLOC))

/* A count must be >= 0 (>= 1 when `positive`). Returns whether it is. */
static inline int fz_need_size(fz_mask *m, int64_t v, int positive) {
    if (v < 0 || (positive && v < 1)) {
        *m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
        return 0;
    }
    return 1;
}

/* An array of a x b elements of elem bytes: its byte count must fit in ptrdiff_t. Negative counts
 * are left to fz_need_size. */
static inline void fz_need_bytes(fz_mask *m, int64_t a, int64_t b, int64_t elem) {
    if (a < 0 || b < 0) return;
    unsigned __int128 bytes = (unsigned __int128)(uint64_t)a * (uint64_t)b * (uint64_t)elem;
    if (bytes > (unsigned __int128)PTRDIFF_MAX) *m |= FZ_BIT(EK_ERR_OVERFLOW);
}

/* EK_FUZZ_ALLOW (environment) names known findings to step over while exploring, e.g.
 * EK_FUZZ_ALLOW=int-array-bytes,bag-out-values-bytes,softmax-cells-overflow,optim-values-overflow,
 * bag-offsets-count (README.md, findings F1-F5). Unset, every rule of the header is enforced. */
static inline int fz_allowed(const char *what) {
    static const char *allow = (const char *)1;
    if (allow == (const char *)1) allow = getenv("EK_FUZZ_ALLOW");
    return allow && strstr(allow, what);
}

/* Whether a * b overflows int64_t (a product a kernel must not compute before checking it). */
static inline int fz_mul_overflows(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r);
}

/* fz_need_bytes for an integer array. */
static inline void fz_need_int_bytes(fz_mask *m, int64_t a, int64_t b, int64_t elem) {
    if (!fz_allowed("int-array-bytes")) fz_need_bytes(m, a, b, elem);
}

/* A pointer may be NULL only when it has no elements (a x b <= 0). */
static inline void fz_need_ptr(fz_mask *m, const void *p, int64_t a, int64_t b) {
    if (p == NULL && a > 0 && b > 0) *m |= FZ_BIT(EK_ERR_NULL_POINTER);
}

/* A boolean int32 flag must be 0 or 1 (→ INVALID_ARGUMENT; 2 is not "true"). */
static inline void fz_need_flag(fz_mask *m, int32_t v) {
    if (v != 0 && v != 1) *m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
}

/* A padding_idx: EK_NO_PADDING, or after wrapping a negative one, a row in [0, num). *resolved is
 * the row, or -1 for none. */
static inline void fz_need_padding(fz_mask *m, int64_t padding_idx, int64_t num, int64_t *resolved) {
    *resolved = -1;
    if (padding_idx == EK_NO_PADDING) return;
    __int128 p = padding_idx < 0 ? (__int128)num + padding_idx : (__int128)padding_idx;
    if (p < 0 || p >= num) *m |= FZ_BIT(EK_ERR_INDEX_OUT_OF_RANGE);
    else *resolved = (int64_t)p;
}

static inline const char *fz_mask_string(fz_mask m) {
    static char s[256];
    s[0] = 0;
    for (int c = 1; c <= EK_ERR_ALLOC; c++)
        if (m & FZ_BIT(c)) strcat(strcat(s, s[0] ? "|" : ""), ek_status_string((ek_status)c));
    return s[0] ? s : "EK_OK";
}

/* The status must be EK_OK exactly when expected is 0, else one of the expected codes. */
/* EK_FUZZ_VERBOSE=1 prints every call before it is made and its status after (to replay an input). */
static inline int fz_verbose(void) {
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("EK_FUZZ_VERBOSE") != NULL;
    return verbose;
}

static inline void fz_check_status(ek_status s, fz_mask expected) {
    if (fz_verbose()) fprintf(stderr, "  -> %s (expected %s)\n", ek_status_string(s), fz_mask_string(expected));
    if ((int)s < 0 || (int)s > EK_ERR_ALLOC) fz_fail("returned an unknown status %d", (int)s);
    if (expected == 0 && s != EK_OK)
        fz_fail("returned %s (\"%s\") but the header makes this call valid", ek_status_string(s), ek_last_error());
    if (expected != 0 && s == EK_OK) fz_fail("returned EK_OK but the call is invalid: expected %s", fz_mask_string(expected));
    if (s != EK_OK && !(expected & FZ_BIT(s)))
        fz_fail("returned %s (\"%s\"), expected %s", ek_status_string(s), ek_last_error(), fz_mask_string(expected));
    if (s != EK_OK && ek_last_error()[0] == 0) fz_fail("returned %s with an empty ek_last_error()", ek_status_string(s));
}

/* ---- buffers ------------------------------------------------------------------------------------ */

/* Every buffer of a harness is registered here with a copy of its initial bytes: before each call the
 * harness resets them all, after it checks that nothing changed (an error) or only the outputs did. */
typedef struct {
    void *p;
    size_t bytes;
    unsigned char *init;
    int is_input; /* const argument: must never change */
    const char *name;
} fz_buf;

typedef struct {
    fz_buf b[32];
    int n;
} fz_bufs;

/* Exactly `bytes` bytes (ASan catches any access past them; malloc(0) gives a pointer that must not be
 * dereferenced at all). Inputs are zeroed for the decoder to fill, outputs poisoned with 0xA5. */
static inline void *fz_alloc(fz_bufs *R, const char *name, size_t bytes, int is_input) {
    if (R->n == (int)(sizeof R->b / sizeof R->b[0])) abort();
    void *p = malloc(bytes);
    if (!p && bytes) abort();
    if (bytes) memset(p, is_input ? 0 : 0xA5, bytes);
    R->b[R->n++] = (fz_buf){p, bytes, NULL, is_input, name};
    return p;
}

/* Records the initial bytes of every buffer (call once, after decoding). */
static inline void fz_freeze(fz_bufs *R) {
    for (int i = 0; i < R->n; i++) {
        R->b[i].init = malloc(R->b[i].bytes + 1);
        if (R->b[i].bytes) memcpy(R->b[i].init, R->b[i].p, R->b[i].bytes);
    }
}

/* The initial bytes of the buffer at p (an in/out table's values before the call). */
static inline const void *fz_initial(const fz_bufs *R, const void *p) {
    for (int i = 0; i < R->n; i++)
        if (R->b[i].p == p) return R->b[i].init;
    abort();
}

/* Restores every buffer to its initial bytes: called right before each kernel call (and so also the
 * place where EK_FUZZ_VERBOSE announces the call). */
static inline void fz_reset(fz_bufs *R) {
    if (fz_verbose()) fprintf(stderr, "%s\n", fz_ctx), fflush(stderr);
    for (int i = 0; i < R->n; i++)
        if (R->b[i].bytes) memcpy(R->b[i].p, R->b[i].init, R->b[i].bytes);
}

/* After an error (only_inputs 0): every buffer is as it was. After success (only_inputs 1): the
 * const inputs are. */
static inline void fz_check_unchanged(const fz_bufs *R, int only_inputs) {
    for (int i = 0; i < R->n; i++) {
        const fz_buf *b = &R->b[i];
        if (only_inputs && !b->is_input) continue;
        if (b->bytes && memcmp(b->p, b->init, b->bytes) != 0) {
            size_t at = 0;
            while (((const unsigned char *)b->p)[at] == b->init[at]) at++;
            fz_fail("%s: buffer '%s' changed (first differing byte %zu of %zu)%s", only_inputs ? "EK_OK" : "an error return",
                    b->name, at, b->bytes, only_inputs ? ": a const input was written" : ": nothing may be written on failure");
        }
    }
}

static inline void fz_free_all(fz_bufs *R) {
    for (int i = 0; i < R->n; i++) free(R->b[i].p), free(R->b[i].init);
    R->n = 0;
}

/* After the status check: an error must leave every buffer untouched; success the inputs. */
static inline void fz_check_buffers(const fz_bufs *R, ek_status s) { fz_check_unchanged(R, s == EK_OK); }

/* ---- comparing results -------------------------------------------------------------------------- */

static inline int fz_same_float(double x, double y) { return (isnan(x) && isnan(y)) || x == y; }

/* |got - ref| <= 1e-5 + 1e-4 * max(|ref|, scale[i]) (scale may be NULL), NaN == NaN, Inf == Inf. */
static inline void fz_close(const char *what, const float *got, const float *ref, int64_t n, const float *scale) {
    for (int64_t i = 0; i < n; i++) {
        double x = got[i], y = ref[i];
        if (fz_same_float(x, y)) continue;
        double mag = fabs(y);
        if (scale && scale[i] > mag) mag = scale[i];
        if (!(fabs(x - y) <= 1e-5 + 1e-4 * mag))
            fz_fail("%s[%lld] = %.9g, the reference gives %.9g (tolerance 1e-5 + 1e-4 * %.9g)", what, (long long)i, x, y,
                    mag);
    }
}

/* Bit-identical floats (gathers and copies), NaN == NaN. */
static inline void fz_same_f32(const char *what, const float *got, const float *ref, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!fz_same_float(got[i], ref[i]) || (got[i] == 0.0f && signbit(got[i]) != signbit(ref[i])))
            fz_fail("%s[%lld] = %.9g, the reference gives %.9g (must be identical)", what, (long long)i, (double)got[i],
                    (double)ref[i]);
}

static inline void fz_same_i64(const char *what, const int64_t *got, const int64_t *ref, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (got[i] != ref[i])
            fz_fail("%s[%lld] = %lld, the reference gives %lld", what, (long long)i, (long long)got[i], (long long)ref[i]);
}

/* Bytes [from, to) of a buffer still hold the 0xA5 poison (the header says they are not written). */
static inline void fz_still_poisoned(const char *what, const void *p, size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        if (((const unsigned char *)p)[i] != 0xA5)
            fz_fail("%s: byte %zu was written, but only the first *out_nnz entries may be", what, i);
}

/* a * b as a count for NULL / emptiness decisions, saturated instead of overflowing (wild sizes). */
static inline int64_t fz_elems(int64_t a, int64_t b) {
    __int128 e = (__int128)a * b;
    return e > INT64_MAX ? INT64_MAX : e < INT64_MIN ? INT64_MIN : (int64_t)e;
}

/* ---- index arrays ------------------------------------------------------------------------------- */

/* The int32 variant gets the int64 indices narrowed (values past int32 wrap); its expectation and
 * reference use the narrowed values, widened back. */
static inline void fz_narrow(const int64_t *src, int32_t *dst32, int64_t *widened, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        dst32[i] = (int32_t)(uint32_t)(uint64_t)src[i];
        widened[i] = dst32[i];
    }
}

/* NULL-pointer selection: one byte picks at most one pointer argument to pass as NULL (1 in 8 inputs);
 * empty arrays are passed as NULL when its low bit is set. */
typedef struct {
    int slot;       /* the argument passed as NULL, -1 for none */
    int null_empty; /* pass NULL for arrays with no elements */
} fz_nulls;

static inline fz_nulls fz_decode_nulls(fz_in *f, int slots) {
    uint8_t b = fz_u8(f);
    fz_nulls z = {-1, b & 1};
    if (b >= 0xE0) z.slot = (b >> 1) % slots;
    return z;
}

/* The pointer to pass for argument `slot` holding `count` elements. */
static inline void *fz_ptr(const fz_nulls *z, int slot, void *p, int64_t count) {
    if (z->slot == slot) return NULL;
    if (z->null_empty && count == 0) return NULL;
    return p;
}

#endif
