/* The runner of the plain-C ABI tests: runs every registered TEST and prints "N passed, N failed".
 * An argument filters tests by substring; the whole run repeats for every ISA the CPU supports. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "ek_test.h"

typedef struct { const char *name; ek_test_fn fn; } ek_test_entry;
static ek_test_entry tests[1024];
static int test_count;
static int current_failures;

void ek_test_register(const char *name, ek_test_fn fn) {
    if (test_count < (int)(sizeof tests / sizeof tests[0])) tests[test_count++] = (ek_test_entry){name, fn};
}

int ek_test_check(int ok, const char *file, int line, const char *fmt, ...) {
    if (ok) return 1;
    if (current_failures++ < 10) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "    %s:%d: ", file, line);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    return 0;
}

int ek_test_close_f32(const float *a, const float *b, int64_t n, double atol, double rtol,
                      const char *what, const char *file, int line) {
    for (int64_t i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        if (isnan(x) && isnan(y)) continue;
        if (!(fabs(x - y) <= atol + rtol * fabs(y)))
            return ek_test_check(0, file, line, "%s: element %lld: %.9g vs %.9g", what, (long long)i, x, y);
    }
    return 1;
}

uint64_t ek_rng_next(ek_rng *rng) {
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int64_t ek_rng_int(ek_rng *rng, int64_t lo, int64_t hi) {
    return lo + (int64_t)(ek_rng_next(rng) % (uint64_t)(hi - lo + 1));
}

float ek_rng_float(ek_rng *rng, float lo, float hi) {
    return lo + (hi - lo) * (float)((ek_rng_next(rng) >> 40) * (1.0 / 16777216.0));
}

const char *ek_test_fixture_dir(void) {
    const char *dir = getenv("EK_FIXTURE_DIR");
#ifdef EK_DEFAULT_FIXTURE_DIR
    if (!dir) dir = EK_DEFAULT_FIXTURE_DIR;
#endif
    return dir ? dir : "Tests/Fixtures";
}

/* Every test runs once per instruction set this CPU supports (scalar, then AVX2, then AVX-512, as
 * ek_set_isa allows), so each kernel variant meets the reference kernels, the fixtures and the error
 * cases. EK_TEST_ISA=scalar|avx2|avx512 runs one of them only. */
int main(int argc, char **argv) {
    int passed = 0, failed = 0;
    const char *only = getenv("EK_TEST_ISA");
    for (int isa = EK_ISA_SCALAR; isa <= EK_ISA_AVX512; isa++) {
        if (only && strcmp(only, ek_isa_name((ek_isa)isa)) != 0) continue;
        if (ek_set_isa((ek_isa)isa) != EK_OK) continue; /* not on this CPU */
        int isa_passed = 0, isa_failed = 0;
        for (int i = 0; i < test_count; i++) {
            if (argc > 1 && !strstr(tests[i].name, argv[1])) continue;
            current_failures = 0;
            tests[i].fn();
            ek_set_isa((ek_isa)isa); /* a test may have switched it */
            if (current_failures == 0) {
                isa_passed++;
            } else {
                isa_failed++;
                fprintf(stderr, "FAIL %s [isa %s] (%d failed checks)\n", tests[i].name, ek_isa_name((ek_isa)isa),
                        current_failures);
            }
        }
        printf("isa %s: %d passed, %d failed\n", ek_isa_name((ek_isa)isa), isa_passed, isa_failed);
        passed += isa_passed, failed += isa_failed;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
