/* test_lengths.c — bags given by their sizes (ek_bag_input.lengths) instead of offsets: every bag
 * verb gives the bits of the same call with the offsets the lengths mean (prefix sums, made here),
 * for both index widths, every mode, 1 and 2 threads, empty bags included; bad lengths get a clear
 * error and change nothing; a 0.3 caller's smaller struct is still read (as lengths == NULL). */
#include <stddef.h>
#include <stdlib.h>

#include "ek_test.h"

enum { R = 50, D = 24, B = 60 };

TEST(lengths_equal_offsets_for_every_verb) {
    ek_rng rng = {7};
    int64_t len64[B], off64[B + 1], idx64[B * 9];
    int32_t len32[B], off32[B + 1], idx32[B * 9];
    int64_t n = 0;
    for (int b = 0; b < B; b++) {
        len64[b] = b % 7 == 3 ? 0 : ek_rng_int(&rng, 1, 8); /* some empty bags */
        off64[b] = n;
        n += len64[b];
        len32[b] = (int32_t)len64[b], off32[b] = (int32_t)off64[b];
    }
    off64[B] = n, off32[B] = (int32_t)n;
    for (int64_t i = 0; i < n; i++) idx64[i] = ek_rng_int(&rng, 0, R - 1), idx32[i] = (int32_t)idx64[i];
    float *w = malloc(sizeof(float) * R * D), *psw = malloc(sizeof(float) * (size_t)n);
    float *grad_out = malloc(sizeof(float) * B * D);
    for (int i = 0; i < R * D; i++) w[i] = ek_rng_float(&rng, -1, 1);
    for (int64_t i = 0; i < n; i++) psw[i] = ek_rng_float(&rng, 0.5f, 2);
    for (int i = 0; i < B * D; i++) grad_out[i] = ek_rng_float(&rng, -1, 1);
    size_t out_bytes = sizeof(float) * B * D, grad_bytes = sizeof(float) * R * D;
    float *out_a = malloc(out_bytes), *out_b = malloc(out_bytes), *gw_a = malloc(grad_bytes), *gw_b = malloc(grad_bytes);
    float *vals_a = malloc(sizeof(float) * (size_t)n * D), *vals_b = malloc(sizeof(float) * (size_t)n * D);
    float *pg_a = malloc(sizeof(float) * (size_t)n), *pg_b = malloc(sizeof(float) * (size_t)n);
    float *tab_a = malloc(grad_bytes), *tab_b = malloc(grad_bytes), *st_a = malloc(grad_bytes), *st_b = malloc(grad_bytes);
    int64_t *rows_a = malloc(sizeof(int64_t) * (size_t)n), *rows_b = malloc(sizeof(int64_t) * (size_t)n);
    int64_t mi_a[B * D], mi_b[B * D], bs_a[B], bs_b[B], nnz_a = 0, nnz_b = 0;
    int cases = 0;
    for (int threads = 1; threads <= 2; threads++)
        for (int width = 0; width < 2; width++)
            for (int mode = EK_BAG_SUM; mode <= EK_BAG_MAX; mode++)
                for (int weighted = 0; weighted < 2; weighted++) {
                    if (mode == EK_BAG_MAX && weighted) continue;
                    ek_set_num_threads(threads);
                    ek_table t = {.struct_size = sizeof(ek_table), .rows = R, .dim = D, .data = w};
                    ek_bag_input by_off = {.struct_size = sizeof(ek_bag_input),
                                           .index_type = width ? EK_INDEX_I32 : EK_INDEX_I64,
                                           .indices = width ? (const void *)idx32 : (const void *)idx64, .num_indices = n,
                                           .offsets = width ? (const void *)off32 : (const void *)off64, .num_bags = B,
                                           .has_padding = 1, .padding_idx = 4};
                    if (weighted) by_off.per_sample_weights = psw, by_off.num_weights = n;
                    ek_bag_input by_len = by_off;
                    by_len.offsets = NULL;
                    by_len.lengths = width ? (const void *)len32 : (const void *)len64;
                    ek_bag_options o = {.struct_size = sizeof(ek_bag_options), .mode = (ek_bag_mode)mode};
                    int is_max = mode == EK_BAG_MAX;
                    const char *what = width ? "i32" : "i64";

                    CHECK_OK(ek_bag_forward(&t, &by_off, &o, out_a, bs_a, is_max ? mi_a : NULL));
                    CHECK_OK(ek_bag_forward(&t, &by_len, &o, out_b, bs_b, is_max ? mi_b : NULL));
                    CHECK_MSG(!memcmp(out_a, out_b, out_bytes) && !memcmp(bs_a, bs_b, sizeof bs_a) &&
                                  (!is_max || !memcmp(mi_a, mi_b, sizeof mi_a)),
                              "forward: lengths != offsets (%s, mode %d, weighted %d, %d threads)", what, mode, weighted, threads);

                    memset(gw_a, 0, grad_bytes), memset(gw_b, 0, grad_bytes);
                    CHECK_OK(ek_bag_backward_dense(&t, &by_off, &o, is_max ? mi_a : NULL, grad_out, gw_a));
                    CHECK_OK(ek_bag_backward_dense(&t, &by_len, &o, is_max ? mi_a : NULL, grad_out, gw_b));
                    CHECK_MSG(!memcmp(gw_a, gw_b, grad_bytes), "dense backward: lengths != offsets (%s, mode %d)", what, mode);

                    CHECK_OK(ek_bag_backward_sparse(&t, &by_off, &o, is_max ? mi_a : NULL, grad_out, rows_a, vals_a, &nnz_a));
                    CHECK_OK(ek_bag_backward_sparse(&t, &by_len, &o, is_max ? mi_a : NULL, grad_out, rows_b, vals_b, &nnz_b));
                    CHECK_MSG(nnz_a == nnz_b && !memcmp(rows_a, rows_b, sizeof(int64_t) * (size_t)nnz_a) &&
                                  !memcmp(vals_a, vals_b, sizeof(float) * (size_t)nnz_a * D),
                              "sparse backward: lengths != offsets (%s, mode %d)", what, mode);

                    if (weighted) {
                        CHECK_OK(ek_bag_per_sample_weights_backward(&t, &by_off, &o, grad_out, pg_a));
                        CHECK_OK(ek_bag_per_sample_weights_backward(&t, &by_len, &o, grad_out, pg_b));
                        CHECK_MSG(!memcmp(pg_a, pg_b, sizeof(float) * (size_t)n), "per-sample-weight backward differs (%s)", what);
                    }

                    memcpy(tab_a, w, grad_bytes), memcpy(tab_b, w, grad_bytes);
                    memset(st_a, 0, grad_bytes), memset(st_b, 0, grad_bytes);
                    ek_table ta = t, tb = t;
                    ta.data = tab_a, tb.data = tab_b;
                    ek_optimizer oa = {.struct_size = sizeof(ek_optimizer), .kind = EK_OPT_ADAGRAD, .lr = 0.1f, .eps = 1e-10f,
                                       .state_sum = st_a};
                    ek_optimizer ob = oa;
                    ob.state_sum = st_b;
                    CHECK_OK(ek_bag_backward_update(&ta, &by_off, &o, is_max ? mi_a : NULL, grad_out, &oa));
                    CHECK_OK(ek_bag_backward_update(&tb, &by_len, &o, is_max ? mi_a : NULL, grad_out, &ob));
                    CHECK_MSG(!memcmp(tab_a, tab_b, grad_bytes) && !memcmp(st_a, st_b, grad_bytes),
                              "fused Adagrad update: lengths != offsets (%s, mode %d)", what, mode);
                    CHECK_MSG(memcmp(tab_a, w, grad_bytes) != 0, "the update changed nothing");
                    cases++;
                }
    ek_set_num_threads(1);
    CHECK_EQ_I64(cases, 2 * 2 * 5);
    free(w), free(psw), free(grad_out), free(out_a), free(out_b), free(gw_a), free(gw_b), free(vals_a), free(vals_b);
    free(pg_a), free(pg_b), free(tab_a), free(tab_b), free(st_a), free(st_b), free(rows_a), free(rows_b);
}

TEST(lengths_bad_input_names_it_and_writes_nothing) {
    float w[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8}, out[3 * 2], keep[3 * 2];
    for (int i = 0; i < 6; i++) out[i] = keep[i] = -7.0f;
    const int64_t idx[] = {0, 1, 3, 2}, off[] = {0, 1, 3};
    ek_table t = {.struct_size = sizeof(ek_table), .rows = 4, .dim = 2, .data = w};
    ek_bag_input in = {.struct_size = sizeof(ek_bag_input), .indices = idx, .num_indices = 4, .num_bags = 3};
    const int64_t negative[] = {2, -1, 3}, too_many[] = {2, 2, 1}, too_few[] = {1, 1, 1};
    in.lengths = negative;
    CHECK_ERROR(ek_bag_forward(&t, &in, NULL, out, NULL, NULL), EK_ERR_SHAPE, "input->lengths[1]=-1 is negative");
    in.lengths = too_many;
    CHECK_ERROR(ek_bag_forward(&t, &in, NULL, out, NULL, NULL), EK_ERR_SHAPE, "input->lengths[2]=1 takes the bags past num_indices=4");
    in.lengths = too_few;
    CHECK_ERROR(ek_bag_forward(&t, &in, NULL, out, NULL, NULL), EK_ERR_SHAPE, "input->lengths sum to 3, but num_indices=4");
    in.lengths = too_few, in.offsets = off;
    CHECK_ERROR(ek_bag_forward(&t, &in, NULL, out, NULL, NULL), EK_ERR_INVALID_ARGUMENT, "offsets and input->lengths are both set");
    const int64_t good[] = {1, 2, 1};
    in.offsets = NULL, in.lengths = good, in.include_last_offset = 1;
    CHECK_ERROR(ek_bag_forward(&t, &in, NULL, out, NULL, NULL), EK_ERR_INVALID_ARGUMENT, "include_last_offset=1 with input->lengths");
    in.include_last_offset = 0;
    in.num_bags = INT64_MAX / 4; /* offsets for that many bags cannot be made: an error, not a wrap-around */
    CHECK_ERROR(ek_bag_forward(&t, &in, NULL, out, NULL, NULL), EK_ERR_OVERFLOW, "input->num_bags");
    in.num_bags = 3, in.lengths = NULL;
    CHECK_ERROR(ek_bag_forward(&t, &in, NULL, out, NULL, NULL), EK_ERR_SHAPE, "4 indices cannot be split into 3 bags");
    in.lengths = good, in.num_bags = 3;
    float grad[4 * 2];
    CHECK_ERROR(ek_lookup_forward(&t, &(ek_bag_input){.struct_size = sizeof(ek_bag_input), .indices = idx, .num_indices = 4,
                                                      .lengths = good},
                                  grad),
                EK_ERR_INVALID_ARGUMENT, "input->lengths must be 0/NULL");
    CHECK_SAME_BYTES(out, keep, sizeof out);
    /* the good lengths work: bags {0}, {1, 3}, {2} */
    CHECK_OK(ek_bag_forward(&t, &in, NULL, out, NULL, NULL));
    const float want[] = {1, 2, 3 + 7, 4 + 8, 5, 6};
    CHECK_SAME_BYTES(out, want, sizeof want);
}

TEST(lengths_a_0_3_caller_struct_is_read_without_them) {
    /* a caller built against 0.3 passes the smaller struct: the field after it must not be read */
    _Alignas(ek_bag_input) unsigned char buf[sizeof(ek_bag_input)];
    memset(buf, 0xff, sizeof buf); /* garbage where `lengths` would be */
    const int64_t idx[] = {0, 1, 3, 2}, off[] = {0, 1, 3};
    ek_bag_input in = {.struct_size = (int64_t)offsetof(ek_bag_input, lengths), .indices = idx, .num_indices = 4,
                       .offsets = off, .num_bags = 3};
    memcpy(buf, &in, offsetof(ek_bag_input, lengths));
    float w[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8}, out[3 * 2];
    ek_table t = {.struct_size = sizeof(ek_table), .rows = 4, .dim = 2, .data = w};
    CHECK_OK(ek_bag_forward(&t, (const ek_bag_input *)buf, NULL, out, NULL, NULL));
    const float want[] = {1, 2, 3 + 7, 4 + 8, 5, 6};
    CHECK_SAME_BYTES(out, want, sizeof want);
}
