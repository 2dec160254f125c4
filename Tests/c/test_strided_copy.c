/* test_strided_copy.c — ek_strided_copy: permutations, expands, slices and joins against the naive
 * loop, every element size, 1 and 2 threads; the errors. */
#include <stdlib.h>

#include "tensor_ref.h"

TEST(strided_copy_permutes_expands_and_slices) {
    ek_rng rng = {31};
    for (int trial = 0; trial < 300; trial++) {
        int rank = (int)ek_rng_int(&rng, 0, 4), perm[4];
        int64_t shape[4], src_shape[4], ss[4], contiguous[4], ds[4];
        int big = trial % 10 == 0, elem = 1 << (trial % 4);
        for (int d = 0; d < rank; d++) shape[d] = ek_rng_int(&rng, 0, 12) == 0 ? 0 : ek_rng_int(&rng, 1, big ? 50 : 6);
        for (int d = 0; d < rank; d++) perm[d] = d;
        for (int d = rank - 1; d > 0; d--) { /* a random permutation */
            int j = (int)ek_rng_int(&rng, 0, d), t = perm[d];
            perm[d] = perm[j], perm[j] = t;
        }
        /* the source is a contiguous tensor of the permuted shape (some dims expanded), read permuted */
        int keep[4];
        for (int d = 0; d < rank; d++) keep[d] = trial % 5 != 0 || ek_rng_int(&rng, 0, 2) != 0;
        for (int d = 0; d < rank; d++) src_shape[d] = keep[perm[d]] ? shape[perm[d]] : 1;
        int64_t src_strides_p[4];
        tref_strides(rank, src_shape, NULL, src_strides_p);
        for (int d = 0; d < rank; d++) ss[perm[d]] = keep[perm[d]] ? src_strides_p[d] : 0;
        tref_strides(rank, shape, NULL, contiguous);
        int64_t n = tref_count(rank, shape), ns = tref_count(rank, src_shape);
        /* the destination: a slice of a wider buffer (dim 0 padded by 2) at offset 1 row */
        int64_t pad = rank > 0 ? 2 : 0, row = rank > 0 ? n / (shape[0] ? shape[0] : 1) : 0;
        for (int d = 0; d < rank; d++) ds[d] = contiguous[d];
        int64_t dlen = n + pad * row + (rank > 0 ? 0 : 0);
        unsigned char *src = malloc((size_t)(ns * elem + 1)), *dst = malloc((size_t)(dlen * elem + 1)),
                      *want = malloc((size_t)(dlen * elem + 1));
        for (int64_t i = 0; i < ns * elem; i++) src[i] = (unsigned char)ek_rng_next(&rng);
        memset(dst, 0xab, (size_t)(dlen * elem + 1));
        memset(want, 0xab, (size_t)(dlen * elem + 1));
        int64_t base = rank > 0 ? row : 0;
        for (int64_t i = 0; i < n; i++)
            memcpy(want + (base + tref_offset(rank, shape, ds, i)) * elem, src + tref_offset(rank, shape, ss, i) * elem,
                   (size_t)elem);
        for (int threads = 1; threads <= 2; threads++) {
            ek_set_num_threads(threads);
            CHECK_OK(ek_strided_copy(elem, rank, shape, src, ns, ss, dst + base * elem, dlen - base, ds));
            CHECK_MSG(memcmp(dst, want, (size_t)(dlen * elem)) == 0, "trial %d threads %d", trial, threads);
        }
        free(src), free(dst), free(want);
    }
    ek_set_num_threads(1);
}

TEST(strided_copy_errors) {
    float a[4] = {1, 2, 3, 4}, b[4] = {9, 9, 9, 9};
    int64_t shape[2] = {2, 2}, s[2] = {2, 1}, zero[2] = {0, 1};
    CHECK_ERROR(ek_strided_copy(3, 2, shape, a, 4, s, b, 4, s), EK_ERR_INVALID_ARGUMENT, "elem_size=3");
    CHECK_ERROR(ek_strided_copy(4, 2, shape, a, 4, s, b, 4, zero), EK_ERR_INVALID_ARGUMENT, "dst's strides[0]=0");
    CHECK_ERROR(ek_strided_copy(4, 2, shape, a, 3, s, b, 4, s), EK_ERR_INDEX_OUT_OF_RANGE, "src's strides[1]=1 reach past its 3 elements");
    CHECK_ERROR(ek_strided_copy(4, 2, shape, a, 4, s, a, 4, s), EK_ERR_INVALID_ARGUMENT, "overlap");
    CHECK_ERROR(ek_strided_copy(4, 2, shape, a, 4, NULL, b, 4, s), EK_ERR_NULL_POINTER, "src's strides are NULL");
    CHECK(b[0] == 9 && b[3] == 9);
    CHECK_OK(ek_strided_copy(4, 2, shape, a, 4, zero, b, 4, s)); /* an expand */
    float want[4] = {1, 2, 1, 2};
    CHECK_SAME_BYTES(b, want, sizeof b);
}
