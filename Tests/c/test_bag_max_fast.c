/* test_bag_max_fast.c — bag max without max_indices (an inference call: W4) takes a shorter vector
 * loop (vmaxps, NaN bags redone by the exact loop, x86/avx2/embedding_bag.c). It must give the
 * scalar kernel's bytes: the first of equal values (-0.0 before +0.0 and the reverse), NaN beating
 * every number, the first NaN's payload kept, infinities, padding, empty bags, every tail width. */
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"

static float nan_with(uint32_t payload) {
    uint32_t bits = 0x7fc00000u | (payload & 0x3fffffu);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static int cpu_has(ek_isa isa) {
    ek_isa was = ek_get_isa();
    int ok = ek_set_isa(isa) == EK_OK;
    ek_set_isa(was);
    return ok;
}

static void max_case(ek_rng *rng, int64_t dim, int nan_rate, int threads) {
    int64_t num = 40, B = 60, n = 0;
    int64_t *off = malloc(sizeof(int64_t) * (size_t)B);
    for (int64_t b = 0; b < B; b++) off[b] = n, n += ek_rng_int(rng, 0, 12); /* some bags empty */
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)(n + 1));
    float *w = malloc(sizeof(float) * (size_t)(num * dim));
    for (int64_t i = 0; i < n; i++) idx[i] = ek_rng_int(rng, 0, num - 1);
    for (int64_t i = 0; i < num * dim; i++) {
        int k = (int)ek_rng_int(rng, 0, 99);
        w[i] = k < nan_rate ? nan_with((uint32_t)ek_rng_int(rng, 1, 1000)) /* distinct payloads */
               : k < 20 ? -0.0f : k < 30 ? 0.0f : k < 33 ? INFINITY : k < 36 ? -INFINITY : k < 50 ? 0.5f
                        : ek_rng_float(rng, -1, 1);
    }
    size_t cells = (size_t)(B * dim);
    float *ref = malloc(sizeof(float) * cells), *out = malloc(sizeof(float) * cells);
    int64_t *ref_size = malloc(sizeof(int64_t) * (size_t)B), *size = malloc(sizeof(int64_t) * (size_t)B);
    ek_isa was = ek_get_isa();
    ek_set_num_threads(threads);
    for (int pad = 0; pad <= 1; pad++) {
        int64_t padding = pad ? 3 : EK_NO_PADDING;
        ek_set_isa(EK_ISA_SCALAR);
        CHECK_OK(pos_embedding_bag_forward_i64(num, dim, n, B, 0, w, idx, off, 0, NULL, EK_BAG_MAX, padding, ref,
                                               ref_size, NULL));
        for (int isa = EK_ISA_AVX2; isa <= EK_ISA_AVX512; isa++) {
            if (!cpu_has((ek_isa)isa)) continue;
            ek_set_isa((ek_isa)isa);
            memset(out, 0x5a, sizeof(float) * cells);
            CHECK_OK(pos_embedding_bag_forward_i64(num, dim, n, B, 0, w, idx, off, 0, NULL, EK_BAG_MAX, padding, out,
                                                   size, NULL));
            if (!CHECK_SAME_BYTES(out, ref, sizeof(float) * cells) ||
                !CHECK_SAME_BYTES(size, ref_size, sizeof(int64_t) * (size_t)B))
                CHECK_MSG(0, "max without argmax: isa %s dim %lld nan_rate %d pad %d threads %d",
                          ek_isa_name((ek_isa)isa), (long long)dim, nan_rate, pad, threads);
        }
    }
    ek_set_isa(was);
    free(off), free(idx), free(w), free(ref), free(out), free(ref_size), free(size);
}

TEST(bag_max_without_argmax_matches_scalar_bit_for_bit) {
    int32_t threads_was = ek_get_num_threads();
    ek_rng rng = {404};
    const int64_t dims[] = {1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 63, 64, 65, 100, 127, 128, 129, 200, 256, 257, 300};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++)
        for (int nan_rate = 0; nan_rate <= 3; nan_rate += 3) max_case(&rng, dims[k], nan_rate, 1);
    max_case(&rng, 64, 1, 2);
    ek_set_num_threads(threads_was);
}
