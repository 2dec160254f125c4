/* test_tuning.c — the run-time machine constants (ek_set_tuning, tuning.c): they change no result.
 * The bag forward and the gather give the same bytes whatever the prefetch distance and the
 * streaming threshold, at 1 and 2 threads, under the ISA of the run (main.c repeats every test per
 * ISA); bad values are refused; environment values are parsed strictly. */
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"
#include "tuning.h"

/* One bag forward of a fixed random problem (large enough to run parallel at 2 threads: the
 * prefetch bound is per thread), into out / size / arg. */
typedef struct {
    int64_t num, dim, B, n;
    int64_t *off, *idx;
    int32_t *idx32, *off32;
    float *w, *psw;
} bag_problem;

static bag_problem make_problem(uint64_t seed, int64_t num, int64_t dim, int64_t B, int64_t max_len) {
    ek_rng rng = {seed};
    bag_problem p = {num, dim, B, 0, NULL, NULL, NULL, NULL, NULL, NULL};
    p.off = malloc(sizeof(int64_t) * (size_t)B), p.off32 = malloc(sizeof(int32_t) * (size_t)B);
    for (int64_t b = 0; b < B; b++) p.off[b] = p.n, p.off32[b] = (int32_t)p.n, p.n += ek_rng_int(&rng, 0, max_len);
    p.idx = malloc(sizeof(int64_t) * (size_t)(p.n + 1)), p.idx32 = malloc(sizeof(int32_t) * (size_t)(p.n + 1));
    p.psw = malloc(sizeof(float) * (size_t)(p.n + 1)), p.w = malloc(sizeof(float) * (size_t)(num * dim));
    for (int64_t i = 0; i < p.n; i++) {
        p.idx[i] = ek_rng_int(&rng, 0, num - 1), p.idx32[i] = (int32_t)p.idx[i];
        p.psw[i] = ek_rng_float(&rng, -2, 2);
    }
    for (int64_t i = 0; i < num * dim; i++) p.w[i] = ek_rng_int(&rng, 0, 60) == 0 ? NAN : ek_rng_float(&rng, -1, 1);
    return p;
}

static void free_problem(bag_problem *p) {
    free(p->off), free(p->off32), free(p->idx), free(p->idx32), free(p->psw), free(p->w);
}

static void run_bag(const bag_problem *p, ek_bag_mode mode, int weighted, int is32, int64_t pad, float *out,
                    int64_t *size, int64_t *arg) {
    int64_t nw = weighted ? p->n : 0;
    const float *psw = weighted ? p->psw : NULL;
    int64_t *am = mode == EK_BAG_MAX ? arg : NULL;
    if (is32)
        CHECK_OK(pos_embedding_bag_forward_i32(p->num, p->dim, p->n, p->B, nw, p->w, p->idx32, p->off32, 0, psw, mode,
                                               pad, out, size, am));
    else
        CHECK_OK(pos_embedding_bag_forward_i64(p->num, p->dim, p->n, p->B, nw, p->w, p->idx, p->off, 0, psw, mode, pad,
                                               out, size, am));
}

/* Every distance gives the bytes of the automatic one: sum, mean, max, weighted, int32 / int64,
 * padding, narrow (<= 64 floats: the unrolled prefetch) and wide rows, 1 and 2 threads. */
TEST(tuning_bag_prefetch_distance_changes_no_bit) {
    int32_t threads_was = ek_get_num_threads();
    const int64_t dims[] = {1, 17, 64, 100, 200, 300};
    const int64_t distances[] = {0, 1, 5, 24, 48, 1024};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
        bag_problem p = make_problem(900 + k, 3000, dims[k], 400, 40);
        size_t cells = (size_t)(p.B * p.dim);
        float *ref = malloc(sizeof(float) * cells), *out = malloc(sizeof(float) * cells);
        int64_t *ref_size = malloc(sizeof(int64_t) * (size_t)p.B), *size = malloc(sizeof(int64_t) * (size_t)p.B);
        int64_t *ref_arg = malloc(sizeof(int64_t) * cells), *arg = malloc(sizeof(int64_t) * cells);
        for (int mode = 0; mode < 3; mode++)
            for (int weighted = 0; weighted <= (mode != EK_BAG_MAX); weighted++)
                for (int is32 = 0; is32 <= 1; is32++) {
                    int64_t pad = (mode + weighted + is32) % 2 ? 7 : EK_NO_PADDING;
                    CHECK_OK(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, -1));
                    ek_set_num_threads(1);
                    memset(ref_arg, 0, sizeof(int64_t) * cells);
                    run_bag(&p, (ek_bag_mode)mode, weighted, is32, pad, ref, ref_size, ref_arg);
                    for (size_t d = 0; d < sizeof distances / sizeof distances[0]; d++)
                        for (int threads = 1; threads <= 2; threads++) {
                            CHECK_OK(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, distances[d]));
                            ek_set_num_threads(threads);
                            memset(out, 0xff, sizeof(float) * cells), memset(arg, 0, sizeof(int64_t) * cells);
                            run_bag(&p, (ek_bag_mode)mode, weighted, is32, pad, out, size, arg);
                            if (!CHECK_SAME_BYTES(out, ref, sizeof(float) * cells) ||
                                !CHECK_SAME_BYTES(size, ref_size, sizeof(int64_t) * (size_t)p.B) ||
                                (mode == EK_BAG_MAX && !CHECK_SAME_BYTES(arg, ref_arg, sizeof(int64_t) * cells)))
                                CHECK_MSG(0, "isa %s dim %lld mode %d weighted %d i32 %d distance %lld threads %d",
                                          ek_isa_name(ek_get_isa()), (long long)p.dim, mode, weighted, is32,
                                          (long long)distances[d], threads);
                        }
                }
        free(ref), free(out), free(ref_size), free(size), free(ref_arg), free(arg);
        free_problem(&p);
    }
    CHECK_OK(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, -1));
    ek_set_num_threads(threads_was);
}

/* The distance by row size, from the rule in tuning.h worked by hand: the pinned distance counts
 * 4-line rows; a row goes (4 / its mean lines over the starts a line allows) times as far. */
TEST(tuning_bag_prefetch_rows_follow_cache_lines) {
    static char table[4096] __attribute__((aligned(64)));
    CHECK_OK(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, 48));
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(256, 1, 256, table), 48);  /* 4 lines: the unit */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(512, 1, 512, table), 24);  /* 8 lines: half the rows */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(240, 1, 240, table), 43);  /* starts at 0/16/32/48: 4.5 lines */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(1 << 20, 1, 1 << 20, table), 1); /* never 0 */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(INT64_MAX / 2, 4, INT64_MAX / 2, table), 1); /* no overflow */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(32, 4, 32, table), 96); /* fp32 D = 32 */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(128, 1, 128, table), 96);  /* fp32 D = 32, bf16 D = 64: 2 lines */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(64, 1, 64, table), 192);   /* 1 line */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(72, 1, 72, table), 96);    /* Q8 D = 64: 2 lines at every start */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(36, 1, 36, table), 128);   /* Q4 D = 64: 1 line at 8 of 16 starts, 2 at 8 */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(20, 1, 20, table), 154);   /* 1 line at 12 of 16 starts: 192 * 16 / 20 */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(36, 1, 36, table + 4), 128); /* starts 4, 8, ..., 0: the same set */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(64, 1, 64, table + 32), 96);  /* every row at 32: 2 lines */
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(64, 1, 96, table), 128);      /* starts at 0 / 32: 1.5 lines */
    CHECK_OK(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, 0));
    CHECK_EQ_I64(eki_bag_prefetch_rows_for(36, 1, 36, table), 0); /* no prefetch stays none */
    CHECK_OK(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, -1));
}

/* The quantized bags (their vector loops have the distance as a run-time value too): the same
 * bytes at every distance, sum and mean, weighted, int32 / int64, padding, 1 and 2 threads. */
TEST(tuning_quantized_bag_prefetch_distance_changes_no_bit) {
    int32_t threads_was = ek_get_num_threads();
    const ek_dtype formats[] = {EK_DTYPE_Q8, EK_DTYPE_Q4, EK_DTYPE_Q2};
    const int64_t dims[] = {13, 64, 200};
    const int64_t distances[] = {0, 1, 5, 48, 1024};
    for (size_t f = 0; f < 3; f++)
        for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
            bag_problem p = make_problem(700 + 10 * f + k, 3000, dims[k], 400, 40);
            for (int64_t i = 0; i < p.num * p.dim; i++)
                if (isnan(p.w[i])) p.w[i] = 0.5f; /* quantization needs finite rows */
            int64_t rb = 0;
            CHECK_OK(ek_quant_row_bytes(formats[f], p.dim, &rb));
            uint8_t *packed = malloc((size_t)(rb * p.num));
            CHECK_OK(ek_quantize(formats[f], p.num, p.dim, p.w, packed));
            ek_table t = {.struct_size = sizeof t, .rows = p.num, .dim = p.dim, .dtype = formats[f], .data = packed};
            size_t cells = (size_t)(p.B * p.dim);
            float *ref = malloc(sizeof(float) * cells), *out = malloc(sizeof(float) * cells);
            for (int mode = 0; mode < 2; mode++)
                for (int weighted = 0; weighted <= 1; weighted++)
                    for (int is32 = 0; is32 <= 1; is32++) {
                        int pad = (mode + weighted + is32) % 2;
                        ek_bag_input in = {.struct_size = sizeof in, .index_type = is32 ? EK_INDEX_I32 : EK_INDEX_I64,
                                           .indices = is32 ? (const void *)p.idx32 : (const void *)p.idx,
                                           .num_indices = p.n,
                                           .offsets = is32 ? (const void *)p.off32 : (const void *)p.off,
                                           .num_bags = p.B, .per_sample_weights = weighted ? p.psw : NULL,
                                           .num_weights = weighted ? p.n : 0, .has_padding = pad, .padding_idx = pad ? 7 : 0};
                        ek_bag_options o = {.struct_size = sizeof o, .mode = (ek_bag_mode)mode};
                        CHECK_OK(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, -1));
                        ek_set_num_threads(1);
                        CHECK_OK(ek_bag_forward(&t, &in, &o, ref, NULL, NULL));
                        for (size_t d = 0; d < sizeof distances / sizeof distances[0]; d++)
                            for (int threads = 1; threads <= 2; threads++) {
                                CHECK_OK(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, distances[d]));
                                ek_set_num_threads(threads);
                                memset(out, 0xff, sizeof(float) * cells);
                                CHECK_OK(ek_bag_forward(&t, &in, &o, out, NULL, NULL));
                                if (!CHECK_SAME_BYTES(out, ref, sizeof(float) * cells))
                                    CHECK_MSG(0, "isa %s dtype %d dim %lld mode %d weighted %d i32 %d distance %lld threads %d",
                                              ek_isa_name(ek_get_isa()), (int)formats[f], (long long)p.dim, mode,
                                              weighted, is32, (long long)distances[d], threads);
                            }
                    }
            free(ref), free(out), free(packed);
            free_problem(&p);
        }
    CHECK_OK(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, -1));
    ek_set_num_threads(threads_was);
}

/* The gather with and without streaming stores: the same bytes. */
TEST(tuning_stream_threshold_changes_no_bit) {
    int32_t threads_was = ek_get_num_threads();
    bag_problem p = make_problem(77, 2000, 64, 1, 0);
    int64_t n = 20000;
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)n);
    ek_rng rng = {5};
    for (int64_t i = 0; i < n; i++) idx[i] = ek_rng_int(&rng, 0, p.num - 1);
    size_t cells = (size_t)(n * p.dim);
    float *ref = malloc(sizeof(float) * cells), *out = malloc(sizeof(float) * cells);
    CHECK_OK(ek_set_tuning(EK_TUNE_STREAM_MIN_BYTES, INT64_MAX)); /* never stream */
    ek_set_num_threads(1);
    CHECK_OK(pos_embedding_forward_i64(p.num, p.dim, n, p.w, idx, ref));
    for (int threads = 1; threads <= 2; threads++) {
        CHECK_OK(ek_set_tuning(EK_TUNE_STREAM_MIN_BYTES, 0)); /* always stream */
        ek_set_num_threads(threads);
        memset(out, 0xff, sizeof(float) * cells);
        CHECK_OK(pos_embedding_forward_i64(p.num, p.dim, n, p.w, idx, out));
        CHECK_SAME_BYTES(out, ref, sizeof(float) * cells);
    }
    CHECK_OK(ek_set_tuning(EK_TUNE_STREAM_MIN_BYTES, -1));
    ek_set_num_threads(threads_was);
    free(idx), free(ref), free(out);
    free_problem(&p);
}

TEST(tuning_set_get_and_bad_values) {
    int64_t auto_pf = -5, v = -5;
    CHECK_OK(ek_get_tuning(EK_TUNE_BAG_PREFETCH_ROWS, &auto_pf));
    CHECK_MSG(auto_pf >= 0 && auto_pf <= 1024, "automatic distance %lld", (long long)auto_pf);
    CHECK_OK(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, 12));
    CHECK_OK(ek_get_tuning(EK_TUNE_BAG_PREFETCH_ROWS, &v));
    CHECK_EQ_I64(v, 12);
    CHECK(strstr(ek_tuning_summary(), "bag_prefetch_rows=12 (ek_set_tuning)") != NULL);
    /* refused values change nothing */
    CHECK_ERROR(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, 1025), EK_ERR_INVALID_ARGUMENT,
                "bag_prefetch_rows value=1025 is outside [0, 1024]");
    CHECK_ERROR(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, -2), EK_ERR_INVALID_ARGUMENT, "value=-2");
    CHECK_ERROR(ek_set_tuning(EK_TUNE_STREAM_MIN_BYTES, -7), EK_ERR_INVALID_ARGUMENT, "stream_min_bytes value=-7");
    CHECK_ERROR(ek_set_tuning((ek_tuning)9, 1), EK_ERR_INVALID_ARGUMENT, "what=9");
    CHECK_ERROR(ek_get_tuning((ek_tuning)-1, &v), EK_ERR_INVALID_ARGUMENT, "what=-1");
    CHECK_ERROR(ek_get_tuning(EK_TUNE_BAG_PREFETCH_ROWS, NULL), EK_ERR_NULL_POINTER, "value is NULL");
    CHECK_OK(ek_get_tuning(EK_TUNE_BAG_PREFETCH_ROWS, &v));
    CHECK_EQ_I64(v, 12);
    CHECK_OK(ek_set_tuning(EK_TUNE_BAG_PREFETCH_ROWS, -1)); /* back to automatic */
    CHECK_OK(ek_get_tuning(EK_TUNE_BAG_PREFETCH_ROWS, &v));
    CHECK_EQ_I64(v, auto_pf);
    CHECK_OK(ek_get_tuning(EK_TUNE_STREAM_MIN_BYTES, &v));
    CHECK(v >= 0);
}

/* EK_BAG_PREFETCH_ROWS / EK_STREAM_MIN_BYTES: a whole decimal number in range, else ignored. */
TEST(tuning_environment_values_parse_strictly) {
    CHECK_EQ_I64(eki_parse_tuning_value("24", 0, 1024), 24);
    CHECK_EQ_I64(eki_parse_tuning_value("0", 0, 1024), 0);
    CHECK_EQ_I64(eki_parse_tuning_value("1024", 0, 1024), 1024);
    CHECK_EQ_I64(eki_parse_tuning_value("1025", 0, 1024), -1);
    CHECK_EQ_I64(eki_parse_tuning_value("-3", 0, 1024), -1);
    CHECK_EQ_I64(eki_parse_tuning_value("24rows", 0, 1024), -1);
    CHECK_EQ_I64(eki_parse_tuning_value(" 24", 0, 1024), -1);
    CHECK_EQ_I64(eki_parse_tuning_value("", 0, 1024), -1);
    CHECK_EQ_I64(eki_parse_tuning_value(NULL, 0, 1024), -1);
    CHECK_EQ_I64(eki_parse_tuning_value("99999999999999999999999", 0, INT64_MAX), -1); /* overflow */
    CHECK_EQ_I64(eki_parse_tuning_value("9223372036854775807", 0, INT64_MAX), INT64_MAX);
}

/* The rule picks the values measured for the CPUs seen (docs/TUNING.md): 48 rows on a Zen 5
 * (AMD family 0x1A), 24 on a Zen 3 / Zen 4 (family 0x19). Checked only on those CPUs. */
TEST(tuning_rule_for_the_cpus_measured) {
    const char *s = ek_tuning_summary();
    int64_t v = -1;
    CHECK_OK(ek_get_tuning(EK_TUNE_BAG_PREFETCH_ROWS, &v));
    if (getenv("EK_BAG_PREFETCH_ROWS")) return; /* pinned from outside: nothing to check */
    if (strstr(s, "AuthenticAMD family 0x1a")) CHECK_EQ_I64(v, 48);
    if (strstr(s, "AuthenticAMD family 0x19")) CHECK_EQ_I64(v, 24);
}

/* The scatter-adds forced serial or forced parallel (EK_TUNE_SCATTER_MIN_WORK): the same bytes (the
 * dense lookup backward: the chunked scatter with its deferred rows, and the serial loop). */
TEST(tuning_scatter_threshold_changes_no_bit) {
    int32_t threads_was = ek_get_num_threads();
    ek_rng rng = {31};
    const int64_t rows = 500, dim = 33, n = 4000; /* every row ~8 times: many deferred entries */
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)n);
    float *g = malloc(sizeof(float) * (size_t)(n * dim));
    float *ref = calloc((size_t)(rows * dim), sizeof(float)), *out = malloc(sizeof(float) * (size_t)(rows * dim));
    for (int64_t i = 0; i < n; i++) idx[i] = ek_rng_int(&rng, 0, rows - 1);
    for (int64_t i = 0; i < n * dim; i++) g[i] = ek_rng_float(&rng, -1, 1);
    CHECK_OK(ek_set_tuning(EK_TUNE_SCATTER_MIN_WORK, INT64_MAX)); /* serial */
    ek_set_num_threads(1);
    CHECK_OK(pos_embedding_backward_dense_i64(rows, dim, n, idx, g, EK_NO_PADDING, 0, ref));
    for (int threads = 2; threads <= 3; threads++) {
        CHECK_OK(ek_set_tuning(EK_TUNE_SCATTER_MIN_WORK, 0)); /* parallel whatever the size */
        ek_set_num_threads(threads);
        memset(out, 0, sizeof(float) * (size_t)(rows * dim));
        CHECK_OK(pos_embedding_backward_dense_i64(rows, dim, n, idx, g, EK_NO_PADDING, 0, out));
        if (!CHECK_SAME_BYTES(out, ref, sizeof(float) * (size_t)(rows * dim))) CHECK_MSG(0, "threads %d", threads);
    }
    CHECK_OK(ek_set_tuning(EK_TUNE_SCATTER_MIN_WORK, -1));
    int64_t v = -1;
    CHECK_OK(ek_get_tuning(EK_TUNE_SCATTER_MIN_WORK, &v));
    if (!getenv("EK_SCATTER_MIN_WORK")) CHECK_EQ_I64(v, 32768); /* the kernels' serial threshold */
    ek_set_num_threads(threads_was);
    free(idx), free(g), free(ref), free(out);
}
