/* ek_test.h — the tiny test harness of the plain-C ABI tests.
 *
 * Each TEST registers itself; the runner (main.c) runs them all and prints "N passed, N failed"
 * (a test passes when none of its checks failed). Checks report the file, line and values. */
#ifndef EK_TEST_H
#define EK_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "embeddingkit.h"
#include "../common/ek_positional.h"

typedef void (*ek_test_fn)(void);
void ek_test_register(const char *name, ek_test_fn fn);
/* Records one check; returns ok so callers can stop early. */
int ek_test_check(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define TEST(name)                                                                  \
    static void name(void);                                                         \
    __attribute__((constructor)) static void ek_register_##name(void) {             \
        ek_test_register(#name, name);                                              \
    }                                                                               \
    static void name(void)

#define CHECK(cond) ek_test_check(!!(cond), __FILE__, __LINE__, "CHECK(%s)", #cond)
#define CHECK_MSG(cond, ...) ek_test_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_EQ_I64(a, b)                                                          \
    do {                                                                            \
        long long ek_a_ = (long long)(a), ek_b_ = (long long)(b);                   \
        ek_test_check(ek_a_ == ek_b_, __FILE__, __LINE__, "%s == %s (%lld vs %lld)", #a, #b, ek_a_, ek_b_); \
    } while (0)
/* The call must fail with `code`, and ek_last_error() must contain `needle`. */
#define CHECK_ERROR(call, code, needle)                                             \
    do {                                                                            \
        ek_status ek_s_ = (call);                                                   \
        ek_test_check(ek_s_ == (code) && strstr(ek_last_error(), (needle)) != NULL, \
                      __FILE__, __LINE__, "%s -> %s \"%s\", want %s containing \"%s\"", #call, \
                      ek_status_string(ek_s_), ek_last_error(), ek_status_string(code), needle); \
    } while (0)
#define CHECK_OK(call)                                                              \
    do {                                                                            \
        ek_status ek_s_ = (call);                                                   \
        ek_test_check(ek_s_ == EK_OK, __FILE__, __LINE__, "%s -> %s \"%s\"", #call, \
                      ek_status_string(ek_s_), ek_last_error());                    \
    } while (0)

/* Element-wise |a - b| <= atol + rtol * |b| (NaN matches NaN); reports the first mismatch. */
int ek_test_close_f32(const float *a, const float *b, int64_t n, double atol, double rtol,
                      const char *what, const char *file, int line);
#define CHECK_CLOSE(a, b, n, atol, rtol) ek_test_close_f32((a), (b), (n), (atol), (rtol), #a " ~ " #b, __FILE__, __LINE__)
/* Bit-identical buffers. */
#define CHECK_SAME_BYTES(a, b, nbytes)                                              \
    ek_test_check(memcmp((a), (b), (nbytes)) == 0, __FILE__, __LINE__, "%s and %s differ", #a, #b)

/* Deterministic pseudo-random numbers for tests (splitmix64). */
typedef struct { uint64_t state; } ek_rng;
uint64_t ek_rng_next(ek_rng *rng);
int64_t ek_rng_int(ek_rng *rng, int64_t lo, int64_t hi); /* uniform in [lo, hi] */
float ek_rng_float(ek_rng *rng, float lo, float hi);

/* Where the committed PyTorch fixtures live (Tests/Fixtures). */
const char *ek_test_fixture_dir(void);

#endif
