/* fp16 and bf16 tables (issue 18, first step): the forward verbs read them, converting each element
 * exactly to float32 and reducing in the fp32 order, so the results equal the fp32 forward on the
 * dequantised table bit for bit, under every ISA (the runner repeats these per ISA) and thread
 * count. The conversions' corner cases; every other verb refuses such a table naming table->dtype. */
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"

#include "half_ref.h"

static int same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

/* ---- conversions ---- */

TEST(half_test_conversions_round_trip) {
    /* every half value survives from_f16 -> to_f16 (NaNs: stay NaN) */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = from_f16((uint16_t)h);
        uint16_t back = to_f16(f);
        int nan = ((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff);
        if (nan ? !isnan(f) : back != h) bad++;
    }
    CHECK_EQ_I64(bad, 0);
    CHECK(to_f16(1.0f) == 0x3c00 && to_f16(-2.0f) == 0xc000 && to_f16(65504.0f) == 0x7bff);
    CHECK(to_f16(65520.0f) == 0x7c00 && to_f16(65519.0f) == 0x7bff);
    CHECK(to_f16(0x1p-24f) == 0x0001 && to_f16(0x1p-25f) == 0x0000 && to_f16(0x1.8p-25f) == 0x0001);
    CHECK(to_f16(1.0f + 0x1p-11f) == 0x3c00 && to_f16(1.0f + 0x3p-11f) == 0x3c02); /* ties to even */
    CHECK(to_bf16(1.0f) == 0x3f80 && to_bf16(bits_f32(0x3f808000u)) == 0x3f80 && to_bf16(bits_f32(0x3f818000u)) == 0x3f82);
}

/* The library's conversion, through a one-row lookup of every half value at once. */
static void lookup_all(ek_dtype dtype, const uint16_t *bits, int64_t n, float *out) {
    int64_t idx = 0;
    ek_table t = {.struct_size = sizeof t, .rows = 1, .dim = n, .dtype = dtype, .data = (void *)bits};
    ek_bag_input in = {.struct_size = sizeof in, .indices = &idx, .num_indices = 1};
    CHECK_OK(ek_lookup_forward(&t, &in, out));
}

TEST(half_conversion_every_value) {
    /* every one of the 65536 fp16 and bf16 values (vector bodies and scalar tails both) */
    int64_t n = 65536 + 7;
    uint16_t *bits = malloc(sizeof(uint16_t) * n);
    float *got = malloc(sizeof(float) * n);
    for (int64_t i = 0; i < n; i++) bits[i] = (uint16_t)(i < 65536 ? i : 0xfc00u + i);
    lookup_all(EK_DTYPE_F16, bits, n, got);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        float want = from_f16(bits[i]);
        if (f32_bits(got[i]) != f32_bits(want)) bad++;
    }
    CHECK_MSG(bad == 0, "fp16: %d values converted wrongly", bad);
    lookup_all(EK_DTYPE_BF16, bits, n, got);
    bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (f32_bits(got[i]) != f32_bits(from_bf16(bits[i]))) bad++;
    CHECK_MSG(bad == 0, "bf16: %d values converted wrongly", bad);
    free(bits), free(got);
}

TEST(half_conversion_corner_cases) {
    /* +0, -0, smallest and largest subnormal, smallest normal, 1, max half, inf, -inf, qNaN, sNaN */
    static const uint16_t h[] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfd55};
    enum { N = sizeof h / sizeof h[0] };
    float got[N];
    lookup_all(EK_DTYPE_F16, h, N, got);
    CHECK(f32_bits(got[0]) == 0x00000000u && f32_bits(got[1]) == 0x80000000u);
    CHECK(got[2] == 0x1p-24f && got[3] == 1023 * 0x1p-24f && got[4] == 0x1p-14f && got[5] == 1.0f);
    CHECK(got[6] == 65504.0f && got[7] == INFINITY && got[8] == -INFINITY);
    CHECK(isnan(got[9]) && isnan(got[10]) && isnan(got[11]) && signbit(got[11]) && !signbit(got[10]));
    CHECK(f32_bits(got[9]) == 0x7fc00000u && f32_bits(got[10]) == 0x7fc02000u); /* quiet, payload kept */
    static const uint16_t b[] = {0x0000, 0x8000, 0x0001, 0x007f, 0x0080, 0x3f80, 0x7f7f, 0x7f80, 0xff80, 0x7fc0, 0x7f81};
    enum { M = sizeof b / sizeof b[0] };
    float gb[M];
    lookup_all(EK_DTYPE_BF16, b, M, gb);
    for (int i = 0; i < M; i++) CHECK_MSG(f32_bits(gb[i]) == (uint32_t)b[i] << 16, "bf16 %#x -> %#x", b[i], f32_bits(gb[i]));
    CHECK(gb[2] == 0x1p-133f && gb[7] == INFINITY && isnan(gb[10]));
}

/* ---- forward against the fp32 forward on the dequantised table ---- */

typedef struct {
    int64_t rows, dim;
    uint16_t *f16, *bf16;
    float *deq16, *deqbf;
} half_tables;

static half_tables make_tables(ek_rng *rng, int64_t rows, int64_t dim) {
    half_tables T = {rows, dim, malloc(2 * rows * dim + 2), malloc(2 * rows * dim + 2), malloc(4 * rows * dim + 4),
                     malloc(4 * rows * dim + 4)};
    for (int64_t i = 0; i < rows * dim; i++) {
        /* a wide range: normals, some half subnormals, some values past the half range */
        float v = ek_rng_float(rng, -2.0f, 2.0f);
        int64_t k = ek_rng_int(rng, 0, 15);
        if (k == 0) v *= 1e-6f;
        else if (k == 1) v *= 1e5f;
        else if (k == 2) v = 0.0f;
        T.f16[i] = to_f16(v), T.bf16[i] = to_bf16(v);
        T.deq16[i] = from_f16(T.f16[i]), T.deqbf[i] = from_bf16(T.bf16[i]);
    }
    return T;
}
static void free_tables(half_tables *T) { free(T->f16), free(T->bf16), free(T->deq16), free(T->deqbf); }

static void check_lookup(const half_tables *T, int is32, int64_t n, ek_rng *rng) {
    int64_t *i64 = malloc(8 * (n + 1));
    int32_t *i32 = malloc(4 * (n + 1));
    for (int64_t i = 0; i < n; i++) i64[i] = ek_rng_int(rng, 0, T->rows - 1), i32[i] = (int32_t)i64[i];
    float *want = malloc(4 * (n * T->dim + 1)), *got = malloc(4 * (n * T->dim + 1));
    ek_bag_input in = {.struct_size = sizeof in, .index_type = is32 ? EK_INDEX_I32 : EK_INDEX_I64,
                       .indices = is32 ? (void *)i32 : (void *)i64, .num_indices = n};
    for (int dt = 0; dt < 2; dt++) {
        ek_table tf = {.struct_size = sizeof tf, .rows = T->rows, .dim = T->dim, .dtype = EK_DTYPE_F32,
                       .data = dt ? T->deqbf : T->deq16};
        ek_table th = tf;
        th.dtype = dt ? EK_DTYPE_BF16 : EK_DTYPE_F16, th.data = dt ? (void *)T->bf16 : (void *)T->f16;
        CHECK_OK(ek_lookup_forward(&tf, &in, want));
        memset(got, 0xff, 4 * (n * T->dim + 1));
        CHECK_OK(ek_lookup_forward(&th, &in, got));
        CHECK_MSG(same_bits(got, want, n * T->dim), "lookup dtype %d dim %lld n %lld is32 %d differs", (int)th.dtype,
                  (long long)T->dim, (long long)n, is32);
    }
    free(i64), free(i32), free(want), free(got);
}

/* One bag configuration, f16 and bf16 against f32: out, bag_size, max_indices bit for bit. */
static void check_bag(const half_tables *T, int is32, ek_bag_mode mode, int weighted, int padding, int last,
                      int64_t n, int64_t bags, ek_rng *rng) {
    int64_t *i64 = malloc(8 * (n + 1)), *o64 = malloc(8 * (bags + 2));
    int32_t *i32 = malloc(4 * (n + 1)), *o32 = malloc(4 * (bags + 2));
    float *psw = malloc(4 * (n + 1));
    for (int64_t i = 0; i < n; i++) {
        i64[i] = ek_rng_int(rng, 0, T->rows - 1), i32[i] = (int32_t)i64[i];
        psw[i] = ek_rng_float(rng, -1.0f, 2.0f);
        if (i % 7 == 3) psw[i] = 0.0f;
    }
    /* random non-decreasing offsets with empty bags */
    o64[0] = 0;
    for (int64_t b = 1; b < bags; b++) {
        int64_t v = ek_rng_int(rng, 0, n);
        o64[b] = v;
    }
    for (int64_t b = 1; b < bags; b++)
        for (int64_t c = b; c > 1 && o64[c] < o64[c - 1]; c--) { int64_t x = o64[c]; o64[c] = o64[c - 1], o64[c - 1] = x; }
    if (bags > 2) o64[bags - 1] = o64[bags - 2]; /* an empty bag */
    o64[bags] = n;
    for (int64_t b = 0; b <= bags; b++) o32[b] = (int32_t)o64[b];
    int64_t cells = bags * T->dim;
    float *want = malloc(4 * (cells + 1)), *got = malloc(4 * (cells + 1));
    int64_t *bs_w = malloc(8 * (bags + 1)), *bs_g = malloc(8 * (bags + 1));
    int64_t *mi_w = malloc(8 * (cells + 1)), *mi_g = malloc(8 * (cells + 1));
    ek_bag_input in = {.struct_size = sizeof in, .index_type = is32 ? EK_INDEX_I32 : EK_INDEX_I64,
                       .indices = is32 ? (void *)i32 : (void *)i64, .num_indices = n,
                       .offsets = is32 ? (void *)o32 : (void *)o64, .num_bags = bags, .include_last_offset = last,
                       .per_sample_weights = weighted ? psw : NULL, .num_weights = weighted ? n : 0,
                       .has_padding = padding, .padding_idx = padding ? i64[n / 2] : 0};
    ek_bag_options op = {.struct_size = sizeof op, .mode = mode};
    int64_t *mi = mode == EK_BAG_MAX ? mi_w : NULL, *mig = mode == EK_BAG_MAX ? mi_g : NULL;
    for (int dt = 0; dt < 2; dt++) {
        ek_table tf = {.struct_size = sizeof tf, .rows = T->rows, .dim = T->dim, .dtype = EK_DTYPE_F32,
                       .data = dt ? T->deqbf : T->deq16};
        ek_table th = tf;
        th.dtype = dt ? EK_DTYPE_BF16 : EK_DTYPE_F16, th.data = dt ? (void *)T->bf16 : (void *)T->f16;
        CHECK_OK(ek_bag_forward(&tf, &in, &op, want, bs_w, mi));
        memset(got, 0xff, 4 * (cells + 1)), memset(bs_g, 0xff, 8 * (bags + 1)), memset(mi_g, 0xff, 8 * (cells + 1));
        CHECK_OK(ek_bag_forward(&th, &in, &op, got, bs_g, mig));
        int ok = same_bits(got, want, cells) && !memcmp(bs_g, bs_w, 8 * bags) &&
                 (!mi || !memcmp(mi_g, mi_w, 8 * cells));
        CHECK_MSG(ok, "bag dtype %d mode %d weighted %d padding %d last %d is32 %d dim %lld n %lld bags %lld differs",
                  (int)th.dtype, (int)mode, weighted, padding, last, is32, (long long)T->dim, (long long)n,
                  (long long)bags);
    }
    free(i64), free(o64), free(i32), free(o32), free(psw), free(want), free(got), free(bs_w), free(bs_g), free(mi_w),
        free(mi_g);
}

static void forward_cases(int threads) {
    int32_t was = ek_get_num_threads();
    CHECK_OK(ek_set_num_threads(threads));
    ek_rng rng = {1234 + (uint64_t)threads};
    static const int64_t dims[] = {1, 7, 8, 15, 16, 33, 64, 100, 128, 129, 200, 255, 256, 257, 300};
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        int64_t dim = dims[di];
        half_tables T = make_tables(&rng, 97, dim);
        for (int is32 = 0; is32 < 2; is32++) {
            check_lookup(&T, is32, 0, &rng);
            check_lookup(&T, is32, 50, &rng);
            check_lookup(&T, is32, 2000, &rng); /* large enough to fork */
            for (int mode = 0; mode < 3; mode++)
                for (int weighted = 0; weighted < 2; weighted++) {
                    if (weighted && mode == EK_BAG_MAX) continue;
                    for (int padding = 0; padding < 2; padding++)
                        for (int last = 0; last < 2; last++) {
                            check_bag(&T, is32, (ek_bag_mode)mode, weighted, padding, last, 60, 9, &rng);
                            check_bag(&T, is32, (ek_bag_mode)mode, weighted, padding, last, 3000, 300, &rng);
                        }
                }
        }
        free_tables(&T);
    }
    ek_set_num_threads(was);
}

TEST(half_forward_equals_f32_dequantised_1_thread) { forward_cases(1); }
TEST(half_forward_equals_f32_dequantised_2_threads) { forward_cases(2); }

TEST(half_bag_nan_inf_and_empty) {
    /* inf, -inf, NaN rows through every mode, and a call with no bags and no indices */
    uint16_t h[3 * 4] = {0x7c00, 0xfc00, 0x7e00, 0x3c00, 0x3c00, 0x3c00, 0xfe00, 0x8000, 0x0001, 0x0000, 0x7bff, 0x7bff};
    float deq[12];
    for (int i = 0; i < 12; i++) deq[i] = from_f16(h[i]);
    int64_t idx[] = {0, 1, 2, 1, 2}, off[] = {0, 2, 2};
    ek_bag_input in = {.struct_size = sizeof in, .indices = idx, .num_indices = 5, .offsets = off, .num_bags = 3};
    for (int mode = 0; mode < 3; mode++) {
        ek_bag_options op = {.struct_size = sizeof op, .mode = (ek_bag_mode)mode};
        ek_table tf = {.struct_size = sizeof tf, .rows = 3, .dim = 4, .data = deq};
        ek_table th = {.struct_size = sizeof th, .rows = 3, .dim = 4, .dtype = EK_DTYPE_F16, .data = h};
        float a[12], b[12];
        int64_t ma[12], mb[12];
        CHECK_OK(ek_bag_forward(&tf, &in, &op, a, NULL, mode == 2 ? ma : NULL));
        CHECK_OK(ek_bag_forward(&th, &in, &op, b, NULL, mode == 2 ? mb : NULL));
        for (int i = 0; i < 12; i++)
            CHECK_MSG(f32_bits(a[i]) == f32_bits(b[i]) || (isnan(a[i]) && isnan(b[i])), "mode %d cell %d: %g vs %g",
                      mode, i, a[i], b[i]);
        if (mode == 2) CHECK(!memcmp(ma, mb, sizeof ma));
    }
    ek_bag_input none = {.struct_size = sizeof none};
    ek_table th = {.struct_size = sizeof th, .rows = 3, .dim = 4, .dtype = EK_DTYPE_BF16, .data = h};
    CHECK_OK(ek_bag_forward(&th, &none, NULL, NULL, NULL, NULL));
    CHECK_OK(ek_lookup_forward(&th, &none, NULL));
}

/* ---- validation ---- */

TEST(half_forward_validation) {
    uint16_t h[8] = {0};
    float out[8];
    memset(out, 0x7f, sizeof out);
    int64_t bad = 5, good = 1, off = 0;
    ek_table th = {.struct_size = sizeof th, .rows = 2, .dim = 4, .dtype = EK_DTYPE_F16, .data = h};
    ek_bag_input in = {.struct_size = sizeof in, .indices = &bad, .num_indices = 1};
    CHECK_ERROR(ek_lookup_forward(&th, &in, out), EK_ERR_INDEX_OUT_OF_RANGE, "index 5");
    ek_bag_input bi = {.struct_size = sizeof bi, .indices = &bad, .num_indices = 1, .offsets = &off, .num_bags = 1};
    CHECK_ERROR(ek_bag_forward(&th, &bi, NULL, out, NULL, NULL), EK_ERR_INDEX_OUT_OF_RANGE, "index 5");
    float unchanged[8];
    memset(unchanged, 0x7f, sizeof unchanged);
    CHECK_SAME_BYTES(out, unchanged, sizeof out);
    th.dtype = (ek_dtype)6; /* past the quantized dtypes (test_quant.c) */
    in.indices = &good;
    CHECK_ERROR(ek_lookup_forward(&th, &in, out), EK_ERR_INVALID_ARGUMENT, "table->dtype=6");
    th.dtype = (ek_dtype)9;
    CHECK_ERROR(ek_bag_forward(&th, &bi, NULL, out, NULL, NULL), EK_ERR_INVALID_ARGUMENT, "table->dtype=9");
    th.dtype = EK_DTYPE_BF16, th.data = NULL;
    CHECK_ERROR(ek_lookup_forward(&th, &in, out), EK_ERR_NULL_POINTER, "weight");
    th.data = h, th.row_stride = 3; /* below dim */
    CHECK_ERROR(ek_lookup_forward(&th, &in, out), EK_ERR_INVALID_ARGUMENT, "table->row_stride=3 is less than dim=4");
    /* the byte count uses 2-byte elements: rows * dim * 2 fits where * 4 would not */
    ek_table big = {.struct_size = sizeof big, .rows = INT64_MAX / 4 + 1, .dim = 1, .dtype = EK_DTYPE_F32, .data = h};
    ek_bag_input zero = {.struct_size = sizeof zero, .indices = &good, .num_indices = 0};
    ek_status s32 = ek_lookup_forward(&big, &zero, out);
    big.dtype = EK_DTYPE_F16;
    ek_status s16 = ek_lookup_forward(&big, &zero, out);
    CHECK(s32 != EK_OK);
    CHECK_MSG(s16 == EK_OK || strstr(ek_last_error(), "table") == NULL, "fp16 byte count: %s \"%s\"",
              ek_status_string(s16), ek_last_error());
    CHECK_SAME_BYTES(out, unchanged, sizeof out);
}

TEST(half_renorm_and_weights_backward_refuse) {
    uint16_t h[8] = {0};
    float g[8] = {0};
    int64_t idx = 0, off = 0;
    for (int dt = EK_DTYPE_F16; dt <= EK_DTYPE_BF16; dt++) {
        char needle[32];
        snprintf(needle, sizeof needle, "table->dtype=%d", dt);
        ek_table th = {.struct_size = sizeof th, .rows = 2, .dim = 4, .dtype = (ek_dtype)dt, .data = h};
        ek_bag_input in = {.struct_size = sizeof in, .indices = &idx, .num_indices = 1};
        ek_bag_input bi = {.struct_size = sizeof bi, .indices = &idx, .num_indices = 1, .offsets = &off, .num_bags = 1};
        CHECK_ERROR(ek_renorm(&th, &in, 1.0, 2.0), EK_ERR_INVALID_ARGUMENT, needle);
        CHECK_ERROR(ek_bag_per_sample_weights_backward(&th, &bi, NULL, g, g), EK_ERR_INVALID_ARGUMENT, needle);
    }
    uint16_t zero[8] = {0};
    CHECK_SAME_BYTES(h, zero, sizeof h);
}

/* ---- whole arrays: ek_half_from_f32 (nearest, ties to even) and ek_half_to_f32 (exact) ---- */

TEST(half_array_conversions) {
    enum { M = 70000 }; /* above the parallel threshold: the threads' blocks meet */
    static float src[M], back[M];
    static uint16_t got[M], got2[M];
    ek_rng rng = {31};
    for (int i = 0; i < M; i++) {
        float m = ek_rng_float(&rng, 1.0f, 2.0f) * (ek_rng_int(&rng, 0, 1) ? 1.0f : -1.0f);
        src[i] = ldexpf(m, (int)ek_rng_int(&rng, -30, 17));
    }
    const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, 65504.0f, 65520.0f, 0x1p-25f, 1.0f + 0x1p-11f};
    memcpy(src, special, sizeof special);
    for (int dt = EK_DTYPE_F16; dt <= EK_DTYPE_BF16; dt++) {
        int bf = dt == EK_DTYPE_BF16, bad = 0;
        ek_set_num_threads(1);
        CHECK_OK(ek_half_from_f32((ek_dtype)dt, M, src, got));
        ek_set_num_threads(2);
        CHECK_OK(ek_half_from_f32((ek_dtype)dt, M, src, got2));
        CHECK_SAME_BYTES(got, got2, sizeof got);
        for (int i = 0; i < M; i++) bad += got[i] != (bf ? to_bf16(src[i]) : to_f16(src[i]));
        CHECK_MSG(bad == 0, "%s: %d of %d values not rounded to nearest even", bf ? "bf16" : "fp16", bad, M);
        /* every code widens exactly */
        static uint16_t codes[0x10000];
        static float wide[0x10000];
        for (uint32_t h = 0; h < 0x10000u; h++) codes[h] = (uint16_t)h;
        CHECK_OK(ek_half_to_f32((ek_dtype)dt, 0x10000, codes, wide));
        bad = 0;
        for (uint32_t h = 0; h < 0x10000u; h++) {
            float want = bf ? from_bf16((uint16_t)h) : from_f16((uint16_t)h);
            bad += !(isnan(want) ? isnan(wide[h]) : memcmp(&want, &wide[h], sizeof want) == 0);
        }
        CHECK_MSG(bad == 0, "%s: %d codes widened wrongly", bf ? "bf16" : "fp16", bad);
        CHECK_OK(ek_half_to_f32((ek_dtype)dt, M, got, back));
    }
    ek_set_num_threads(1);
    /* bad arguments: nothing written */
    memcpy(got2, got, sizeof got);
    CHECK_ERROR(ek_half_from_f32(EK_DTYPE_F32, 4, src, got), EK_ERR_INVALID_ARGUMENT, "dtype=0");
    CHECK_ERROR(ek_half_from_f32(EK_DTYPE_BF16, -1, src, got), EK_ERR_INVALID_ARGUMENT, "n=-1");
    CHECK_ERROR(ek_half_from_f32(EK_DTYPE_BF16, 4, NULL, got), EK_ERR_NULL_POINTER, "src");
    CHECK_ERROR(ek_half_to_f32(EK_DTYPE_Q8, 4, got, back), EK_ERR_INVALID_ARGUMENT, "dtype=3");
    CHECK_SAME_BYTES(got, got2, sizeof got);
    CHECK_OK(ek_half_from_f32(EK_DTYPE_F16, 0, NULL, NULL));
}
