/* test_group.c — the grouping by row that every scatter goes through (group.c), on inputs large
 * enough for several slots to sort: the coalesced gradient (against a qsort-based definition) and the
 * dense bag gradient with padding skipped (against the scalar reference) are the same bits at 1 and 2
 * threads, for tables whose rows need 1, 2 and 3 radix passes. */
#include <stdlib.h>

#include "ek_test.h"
#include "ref.h"

enum { N = 60000, DIM = 8 };

/* The coalesced gradient by definition, independently of group.c: entries ordered by (row, position)
 * with qsort (a total order, so stability is not needed), each row's values summed in input order. */
static const int64_t *sort_rows;
static int by_row_then_position(const void *a, const void *b) {
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (sort_rows[i] != sort_rows[j]) return sort_rows[i] < sort_rows[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

static int64_t coalesce_by_definition(int64_t nnz, const int64_t *rows, const float *values, int64_t *out_rows,
                                      float *out_values) {
    int64_t *pos = malloc(sizeof(int64_t) * (size_t)nnz), k = -1;
    for (int64_t i = 0; i < nnz; i++) pos[i] = i;
    sort_rows = rows;
    qsort(pos, (size_t)nnz, sizeof *pos, by_row_then_position);
    for (int64_t s = 0; s < nnz; s++) {
        int64_t i = pos[s];
        if (s == 0 || rows[i] != rows[pos[s - 1]]) {
            out_rows[++k] = rows[i];
            memcpy(out_values + k * DIM, values + i * DIM, sizeof(float) * DIM);
        } else {
            for (int d = 0; d < DIM; d++) out_values[k * DIM + d] += values[i * DIM + d];
        }
    }
    free(pos);
    return k + 1;
}

TEST(group_large_inputs_match_the_reference_at_any_thread_count) {
    const int64_t row_counts[] = {700, 100000, (INT64_C(1) << 33) + 5}; /* 1, 2 and 3 passes */
    ek_rng rng = {99};
    int64_t *rows = malloc(sizeof(int64_t) * N), *out_rows = malloc(sizeof(int64_t) * N);
    int64_t *ref_rows = malloc(sizeof(int64_t) * N);
    float *values = malloc(sizeof(float) * N * DIM), *out = malloc(sizeof(float) * N * DIM);
    float *ref = malloc(sizeof(float) * N * DIM);
    for (int64_t i = 0; i < N * DIM; i++) values[i] = ek_rng_float(&rng, -1, 1);
    for (size_t k = 0; k < sizeof row_counts / sizeof row_counts[0]; k++) {
        int64_t R = row_counts[k];
        /* a few hot rows (many duplicates) among scattered ones */
        for (int64_t i = 0; i < N; i++)
            rows[i] = i % 3 == 0 ? ek_rng_int(&rng, 0, 20) : ek_rng_int(&rng, 0, R - 1);
        int64_t want = coalesce_by_definition(N, rows, values, ref_rows, ref);
        for (int threads = 1; threads <= 2; threads++) {
            ek_set_num_threads(threads);
            int64_t got = -1;
            CHECK_OK(ek_coo_coalesce_f32(R, DIM, N, rows, values, out_rows, out, &got));
            CHECK_EQ_I64(got, want);
            CHECK_MSG(got == want && !memcmp(out_rows, ref_rows, sizeof(int64_t) * (size_t)want) &&
                          !memcmp(out, ref, sizeof(float) * (size_t)want * DIM),
                      "coalesce of %d entries into %lld rows differs from the reference at %d threads", N, (long long)R,
                      threads);
        }
    }
    ek_set_num_threads(1);
    free(rows), free(out_rows), free(ref_rows), free(values), free(out), free(ref);
}

TEST(group_dense_bag_backward_skips_padding_at_any_thread_count) {
    enum { R = 5000, B = N / 20 };
    ek_rng rng = {5};
    int64_t *idx = malloc(sizeof(int64_t) * N), *csr = malloc(sizeof(int64_t) * (B + 1));
    float *grad_out = malloc(sizeof(float) * B * DIM), *gw = malloc(sizeof(float) * R * DIM);
    float *ref = malloc(sizeof(float) * R * DIM);
    for (int64_t i = 0; i < N; i++) idx[i] = i % 7 == 0 ? 3 : ek_rng_int(&rng, 0, R - 1); /* 3: padding */
    for (int64_t b = 0; b <= B; b++) csr[b] = b * 20;
    for (int64_t i = 0; i < B * DIM; i++) grad_out[i] = ek_rng_float(&rng, -1, 1);
    memset(ref, 0, sizeof(float) * R * DIM);
    ekref_bag_backward_dense(R, DIM, N, B, idx, csr, NULL, EK_BAG_MEAN, 3, 0, NULL, grad_out, ref);
    ek_table t = {.struct_size = sizeof(ek_table), .rows = R, .dim = DIM};
    ek_bag_input in = {.struct_size = sizeof(ek_bag_input), .indices = idx, .num_indices = N, .offsets = csr,
                       .num_bags = B, .has_padding = 1, .padding_idx = 3};
    ek_bag_options o = {.struct_size = sizeof(ek_bag_options), .mode = EK_BAG_MEAN};
    for (int threads = 1; threads <= 2; threads++) {
        ek_set_num_threads(threads);
        memset(gw, 0, sizeof(float) * R * DIM);
        CHECK_OK(ek_bag_backward_dense(&t, &in, &o, NULL, grad_out, gw));
        CHECK_MSG(!memcmp(gw, ref, sizeof(float) * R * DIM), "dense bag backward differs from the reference at %d threads",
                  threads);
    }
    ek_set_num_threads(1);
    free(idx), free(csr), free(grad_out), free(gw), free(ref);
}
