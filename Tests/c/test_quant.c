/* Row-wise quantized tables (issue 18): prepack and unpack against PyTorch's bytes and values, the
 * quantized bag (sum) against PyTorch's quantized ops (Tests/Fixtures/quant/quant.txt, written by
 * make_fixtures.py), every mode against the fp32 forward on the dequantised table (bit for bit), each
 * ISA against scalar, 1 against 2 threads, and the bad inputs. The runner repeats every test per ISA. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"

/* ---- a reader of the fixture file (Tests/Fixtures/README.md's format) ---- */

typedef struct { char key[96]; char type; int64_t n; int64_t *iv; float *fv; } qf_field;
typedef struct { char name[64]; int nf; qf_field f[64]; } qf_case;

static int qf_read(FILE *fp, qf_case *c) {
    char tok[96];
    memset(c, 0, sizeof *c);
    for (;;) { /* skip comments up to "case" */
        if (fscanf(fp, " %95s", tok) != 1) return 0;
        if (tok[0] == '#') { int ch; while ((ch = fgetc(fp)) != EOF && ch != '\n') {} continue; }
        break;
    }
    if (strcmp(tok, "case") || fscanf(fp, " %63s", c->name) != 1) return -1;
    while (fscanf(fp, " %95s", tok) == 1 && strcmp(tok, "end")) {
        if (c->nf == 64) return -1;
        qf_field *f = &c->f[c->nf++];
        char type[4];
        snprintf(f->key, sizeof f->key, "%s", tok);
        if (fscanf(fp, " %3s %lld", type, (long long *)&f->n) != 2) return -1;
        f->type = type[0];
        if (f->type == 'i') f->iv = calloc((size_t)f->n + 1, sizeof *f->iv);
        else f->fv = calloc((size_t)f->n + 1, sizeof *f->fv);
        for (int64_t k = 0; k < f->n; k++) {
            double v;
            if (f->type == 'i' ? fscanf(fp, " %lld", (long long *)&f->iv[k]) != 1 : fscanf(fp, " %lf", &v) != 1) return -1;
            if (f->type == 'f') f->fv[k] = (float)v;
        }
    }
    return 1;
}
static void qf_free(qf_case *c) { for (int i = 0; i < c->nf; i++) free(c->f[i].iv), free(c->f[i].fv); }
static const qf_field *qf_get(const qf_case *c, const char *key) {
    for (int i = 0; i < c->nf; i++) if (!strcmp(c->f[i].key, key)) return &c->f[i];
    return NULL;
}
static FILE *qf_open(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/quant/quant.txt", ek_test_fixture_dir());
    FILE *fp = fopen(path, "r");
    CHECK_MSG(fp != NULL, "cannot open %s (make_fixtures.py writes it)", path);
    return fp;
}

static ek_dtype dtype_of_bits(int64_t bits) { return bits == 8 ? EK_DTYPE_Q8 : bits == 4 ? EK_DTYPE_Q4 : EK_DTYPE_Q2; }
/* Packed row sizes, from the layout's definition. */
static int64_t row_bytes(int64_t bits, int64_t dim) {
    return bits == 8 ? dim + 8 : (dim * bits + 7) / 8 + 4;
}

TEST(quant_row_bytes_layout) {
    int64_t rb = 0;
    CHECK_OK(ek_quant_row_bytes(EK_DTYPE_Q8, 7, &rb)); CHECK_EQ_I64(rb, 15);
    CHECK_OK(ek_quant_row_bytes(EK_DTYPE_Q4, 7, &rb)); CHECK_EQ_I64(rb, 8);
    CHECK_OK(ek_quant_row_bytes(EK_DTYPE_Q2, 7, &rb)); CHECK_EQ_I64(rb, 6);
    CHECK_OK(ek_quant_row_bytes(EK_DTYPE_Q4, 64, &rb)); CHECK_EQ_I64(rb, 36);
    CHECK_ERROR(ek_quant_row_bytes(EK_DTYPE_F16, 7, &rb), EK_ERR_INVALID_ARGUMENT, "dtype=1");
    CHECK_ERROR(ek_quant_row_bytes(EK_DTYPE_Q8, 0, &rb), EK_ERR_INVALID_ARGUMENT, "dim");
}

/* ---- PyTorch fixtures ---- */

static void run_bag(ek_dtype dt, int64_t rows, int64_t dim, const void *data, const qf_field *idx, const qf_field *off,
                    int last, int is32, const float *psw, ek_bag_mode mode, int64_t pad, float *out) {
    int64_t n = idx->n, nb = off->n - (last ? 1 : 0);
    int32_t *i32 = malloc(sizeof(int32_t) * (size_t)(n + off->n + 1));
    for (int64_t k = 0; k < n; k++) i32[k] = (int32_t)idx->iv[k];
    for (int64_t k = 0; k < off->n; k++) i32[n + k] = (int32_t)off->iv[k];
    ek_table t = {.struct_size = sizeof t, .rows = rows, .dim = dim, .dtype = dt, .data = (void *)data};
    ek_bag_input in = {.struct_size = sizeof in, .index_type = is32 ? EK_INDEX_I32 : EK_INDEX_I64,
                       .indices = is32 ? (const void *)i32 : (const void *)idx->iv, .num_indices = n,
                       .offsets = is32 ? (const void *)(i32 + n) : (const void *)off->iv, .num_bags = nb,
                       .include_last_offset = last, .per_sample_weights = psw, .num_weights = psw ? n : 0,
                       .has_padding = pad >= 0, .padding_idx = pad};
    ek_bag_options o = {.struct_size = sizeof o, .mode = mode};
    CHECK_OK(ek_bag_forward(&t, &in, &o, out, NULL, NULL));
    free(i32);
}

static const char *const BAG_CASES[] = {"i64_w0_last0", "i64_w0_last1", "i64_w1_last0", "i64_w1_last1",
                                        "i32_w0_last0", "i32_w0_last1", "i32_w1_last0", "i32_w1_last1"};

TEST(quant_pytorch_fixtures) {
    FILE *fp = qf_open();
    if (!fp) return;
    qf_case c;
    int cases = 0, r;
    while ((r = qf_read(fp, &c)) == 1) {
        cases++;
        int64_t bits = qf_get(&c, "bits")->iv[0], rows = qf_get(&c, "rows")->iv[0], dim = qf_get(&c, "dim")->iv[0];
        ek_dtype dt = dtype_of_bits(bits);
        int64_t rb = row_bytes(bits, dim);
        const qf_field *packed = qf_get(&c, "packed"), *weight = qf_get(&c, "weight"), *unpacked = qf_get(&c, "unpacked");
        CHECK_EQ_I64(packed->n, rows * rb);
        uint8_t *want = malloc((size_t)(rows * rb)), *got = malloc((size_t)(rows * rb));
        for (int64_t k = 0; k < rows * rb; k++) want[k] = (uint8_t)packed->iv[k];
        /* prepack: PyTorch's bytes */
        CHECK_OK(ek_quantize(dt, rows, dim, weight->fv, got));
        for (int64_t k = 0; k < rows * rb; k++)
            if (!CHECK_MSG(got[k] == want[k], "%s: packed byte %lld (row %lld): %u vs PyTorch %u", c.name, (long long)k,
                           (long long)(k / rb), got[k], want[k])) break;
        /* unpack: PyTorch's values, bit for bit */
        float *deq = malloc(sizeof(float) * (size_t)(rows * dim));
        CHECK_OK(ek_dequantize(dt, rows, dim, want, deq));
        for (int64_t k = 0; k < rows * dim; k++)
            if (!CHECK_MSG(memcmp(&deq[k], &unpacked->fv[k], 4) == 0, "%s: value %lld: %.9g vs PyTorch %.9g", c.name,
                           (long long)k, deq[k], unpacked->fv[k])) break;
        /* the error report: each element within half a step of its row (Q8: float scale; the nbit
         * bias rounding adds at most half an fp16 ulp of the minimum, under a step here) */
        ek_quant_error e;
        CHECK_OK(ek_quant_error_report(dt, rows, dim, weight->fv, want, &e));
        CHECK(e.worst_row >= 0 && e.worst_row < rows && e.rms <= e.max_abs && e.max_abs_value > 0);
        /* the quantized bag (sum) against PyTorch's op */
        for (size_t bc = 0; bc < sizeof BAG_CASES / sizeof *BAG_CASES; bc++) {
            char key[96];
            const char *nm = BAG_CASES[bc];
#define KEY(suffix) (snprintf(key, sizeof key, "%s_" suffix, nm), qf_get(&c, key))
            const qf_field *idx = KEY("indices"), *off = KEY("offsets"), *psw = KEY("psw"), *want_out = KEY("out");
            int last = (int)KEY("include_last_offset")->iv[0], is32 = (int)KEY("int32")->iv[0];
#undef KEY
            int64_t nb = off->n - last;
            float *out = malloc(sizeof(float) * (size_t)(nb * dim + 1)), *out2 = malloc(sizeof(float) * (size_t)(nb * dim + 1));
            float *fp32 = malloc(sizeof(float) * (size_t)(nb * dim + 1));
            run_bag(dt, rows, dim, want, idx, off, last, is32, psw ? psw->fv : NULL, EK_BAG_SUM, -1, out);
            /* within 1e-5 of PyTorch, relative to the sum of the terms' magnitudes (from its unpacked values) */
            for (int64_t b = 0; b < nb; b++) {
                int64_t e_ = b + 1 < off->n ? off->iv[b + 1] : idx->n;
                for (int64_t d = 0; d < dim; d++) {
                    double mag = 0;
                    for (int64_t j = off->iv[b]; j < e_; j++)
                        mag += fabs((psw ? psw->fv[j] : 1.0) * unpacked->fv[idx->iv[j] * dim + d]);
                    double x = out[b * dim + d], y = want_out->fv[b * dim + d];
                    if (!CHECK_MSG(fabs(x - y) <= 1e-5 * mag + 1e-30, "%s %s bag %lld col %lld: %.9g vs PyTorch %.9g",
                                   c.name, nm, (long long)b, (long long)d, x, y)) { b = nb; break; }
                }
            }
            /* and bit for bit the fp32 bag on the dequantised table, in every mode, with padding */
            for (int mode = 0; mode < 3; mode++) {
                if (mode == EK_BAG_MAX && psw) continue;
                for (int64_t pad = -1; pad < 1; pad++) {
                    run_bag(dt, rows, dim, want, idx, off, last, is32, psw ? psw->fv : NULL, (ek_bag_mode)mode, pad, out);
                    run_bag(EK_DTYPE_F32, rows, dim, deq, idx, off, last, is32, psw ? psw->fv : NULL, (ek_bag_mode)mode, pad, fp32);
                    CHECK_MSG(memcmp(out, fp32, sizeof(float) * (size_t)(nb * dim)) == 0,
                              "%s %s mode %d pad %lld: differs from the fp32 bag of the dequantised table", c.name, nm,
                              mode, (long long)pad);
                    int was = ek_get_num_threads();
                    ek_set_num_threads(2);
                    run_bag(dt, rows, dim, want, idx, off, last, is32, psw ? psw->fv : NULL, (ek_bag_mode)mode, pad, out2);
                    ek_set_num_threads(was);
                    CHECK_MSG(memcmp(out, out2, sizeof(float) * (size_t)(nb * dim)) == 0, "%s %s: 1 vs 2 threads", c.name, nm);
                }
            }
            free(out), free(out2), free(fp32);
        }
        free(want), free(got), free(deq);
        qf_free(&c);
    }
    CHECK_MSG(r == 0, "quant.txt: malformed after %d cases", cases);
    CHECK_MSG(cases == 15, "quant.txt: %d cases, want 15", cases);
    fclose(fp);
}

/* ---- every ISA against scalar, random tables and bags (lookup too) ---- */

TEST(quant_isa_matches_scalar) {
    ek_isa isa = ek_get_isa();
    ek_rng rng = {18};
    const int64_t dims[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 130};
    for (int q = 0; q < 3; q++) {
        ek_dtype dt = (ek_dtype)(EK_DTYPE_Q8 + q);
        for (size_t di = 0; di < sizeof dims / sizeof *dims; di++) {
            int64_t dim = dims[di], rows = 9, n = 40, B = 7, rb;
            CHECK_OK(ek_quant_row_bytes(dt, dim, &rb));
            float *w = malloc(sizeof(float) * (size_t)(rows * dim)), psw[40];
            uint8_t *packed = malloc((size_t)(rows * rb));
            for (int64_t k = 0; k < rows * dim; k++) w[k] = ek_rng_float(&rng, -3, 3);
            for (int k = 0; k < 40; k++) psw[k] = ek_rng_float(&rng, -1, 2);
            CHECK_OK(ek_quantize(dt, rows, dim, w, packed));
            int64_t idx[40], off[7] = {0, 3, 3, 10, 22, 22, 30};
            for (int k = 0; k < 40; k++) idx[k] = ek_rng_int(&rng, 0, rows - 1);
            float *a = malloc(sizeof(float) * (size_t)(n * dim)), *b = malloc(sizeof(float) * (size_t)(n * dim));
            int64_t ma[7 * 130], mb[7 * 130];
            ek_table t = {.struct_size = sizeof t, .rows = rows, .dim = dim, .dtype = dt, .data = packed, .row_stride = rb};
            for (int mode = 0; mode < 3; mode++)
                for (int weighted = 0; weighted < 2; weighted++) {
                    if (mode == 2 && weighted) continue;
                    ek_bag_input in = {.struct_size = sizeof in, .indices = idx, .num_indices = n, .offsets = off,
                                       .num_bags = B, .per_sample_weights = weighted ? psw : NULL,
                                       .num_weights = weighted ? n : 0, .has_padding = 1, .padding_idx = 2};
                    ek_bag_options o = {.struct_size = sizeof o, .mode = (ek_bag_mode)mode};
                    ek_set_isa(EK_ISA_SCALAR);
                    CHECK_OK(ek_bag_forward(&t, &in, &o, a, NULL, mode == 2 ? ma : NULL));
                    ek_set_isa(isa);
                    CHECK_OK(ek_bag_forward(&t, &in, &o, b, NULL, mode == 2 ? mb : NULL));
                    CHECK_MSG(!memcmp(a, b, sizeof(float) * (size_t)(B * dim)), "dtype %d dim %lld mode %d w %d: %s vs scalar",
                              dt, (long long)dim, mode, weighted, ek_isa_name(isa));
                    if (mode == 2) CHECK(!memcmp(ma, mb, sizeof(int64_t) * (size_t)(B * dim)));
                }
            ek_bag_input li = {.struct_size = sizeof li, .indices = idx, .num_indices = n};
            ek_set_isa(EK_ISA_SCALAR);
            CHECK_OK(ek_lookup_forward(&t, &li, a));
            ek_set_isa(isa);
            CHECK_OK(ek_lookup_forward(&t, &li, b));
            CHECK(!memcmp(a, b, sizeof(float) * (size_t)(n * dim)));
            /* the lookup is the dequantised rows */
            float *deq = malloc(sizeof(float) * (size_t)(rows * dim));
            CHECK_OK(ek_dequantize(dt, rows, dim, packed, deq));
            for (int k = 0; k < n; k++) CHECK(!memcmp(b + k * dim, deq + idx[k] * dim, sizeof(float) * (size_t)dim));
            free(deq), free(w), free(packed), free(a), free(b);
        }
    }
}

/* ---- bad inputs: clear errors, nothing written ---- */

TEST(quant_bad_inputs) {
    float w[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8], keep[8];
    uint8_t packed[2 * 12], before[2 * 12];
    memset(out, 0x5a, sizeof out), memcpy(keep, out, sizeof out);
    CHECK_OK(ek_quantize(EK_DTYPE_Q8, 2, 4, w, packed));
    memcpy(before, packed, sizeof packed);
    int64_t idx[2] = {0, 1}, off[1] = {0};
    ek_table t = {.struct_size = sizeof t, .rows = 2, .dim = 4, .dtype = EK_DTYPE_Q8, .data = packed};
    ek_bag_input in = {.struct_size = sizeof in, .indices = idx, .num_indices = 2};
    ek_bag_input bi = {.struct_size = sizeof bi, .indices = idx, .num_indices = 2, .offsets = off, .num_bags = 1};
    /* a stride shorter than a packed row of dim (longer ones: test_row_stride.c) */
    t.row_stride = 11;
    CHECK_ERROR(ek_lookup_forward(&t, &in, out), EK_ERR_INVALID_ARGUMENT, "row_stride=11 bytes is less than the packed row size 12");
    CHECK_ERROR(ek_bag_forward(&t, &bi, NULL, out, NULL, NULL), EK_ERR_INVALID_ARGUMENT, "row_stride=11");
    t.row_stride = 12;
    CHECK_OK(ek_bag_forward(&t, &bi, NULL, out, NULL, NULL));
    memcpy(out, keep, sizeof out);
    /* an index out of range, an unknown dtype */
    int64_t bad[2] = {0, 2};
    ek_bag_input bb = bi;
    bb.indices = bad;
    CHECK_ERROR(ek_bag_forward(&t, &bb, NULL, out, NULL, NULL), EK_ERR_INDEX_OUT_OF_RANGE, "2");
    t.dtype = (ek_dtype)6;
    CHECK_ERROR(ek_lookup_forward(&t, &in, out), EK_ERR_INVALID_ARGUMENT, "table->dtype=6");
    CHECK_ERROR(ek_quantize((ek_dtype)6, 2, 4, w, packed), EK_ERR_INVALID_ARGUMENT, "dtype=6");
    CHECK_SAME_BYTES(out, keep, sizeof out);
    /* every other verb names table->dtype */
    float g[8] = {0}, vals[8];
    int64_t rows[2], nnz, mi[4] = {0};
    ek_optimizer opt = {.struct_size = sizeof opt, .lr = 0.1f};
    for (int dt = EK_DTYPE_Q8; dt <= EK_DTYPE_Q2; dt++) {
        char needle[32];
        snprintf(needle, sizeof needle, "table->dtype=%d", dt);
        t.dtype = (ek_dtype)dt, t.row_stride = 0;
        CHECK_ERROR(ek_lookup_backward_dense(&t, &in, NULL, g, g), EK_ERR_INVALID_ARGUMENT, needle);
        CHECK_ERROR(ek_lookup_backward_sparse(&t, &in, NULL, g, rows, vals, &nnz), EK_ERR_INVALID_ARGUMENT, needle);
        CHECK_ERROR(ek_renorm(&t, &in, 1.0, 2.0), EK_ERR_INVALID_ARGUMENT, needle);
        CHECK_ERROR(ek_bag_backward_dense(&t, &bi, NULL, mi, g, g), EK_ERR_INVALID_ARGUMENT, needle);
        CHECK_ERROR(ek_bag_backward_sparse(&t, &bi, NULL, mi, g, rows, vals, &nnz), EK_ERR_INVALID_ARGUMENT, needle);
        CHECK_ERROR(ek_bag_backward_update(&t, &bi, NULL, mi, g, &opt), EK_ERR_INVALID_ARGUMENT, needle);
        CHECK_ERROR(ek_bag_per_sample_weights_backward(&t, &bi, NULL, g, g), EK_ERR_INVALID_ARGUMENT, needle);
        CHECK_ERROR(ek_optimizer_update(&t, 1, idx, g, &opt), EK_ERR_INVALID_ARGUMENT, needle);
    }
    CHECK_SAME_BYTES(packed, before, sizeof packed);
    /* prepack: a non-finite value, a row beyond fp16's range (4 / 2 bits) */
    float nanrow[8] = {1, 2, 3, 4, 5, NAN, 7, 8};
    CHECK_ERROR(ek_quantize(EK_DTYPE_Q8, 2, 4, nanrow, packed), EK_ERR_INVALID_ARGUMENT, "src[1, 1]=nan");
    float huge[8] = {1, 2, 3, 4, -1e5f, 0, 0, 0};
    uint8_t p4[2 * 6];
    memset(p4, 0xee, sizeof p4);
    CHECK_ERROR(ek_quantize(EK_DTYPE_Q4, 2, 4, huge, p4), EK_ERR_INVALID_ARGUMENT, "row 1: minimum");
    float wide[8] = {1, 2, 3, 4, -6e4f, 2e5f, 0, 0}; /* (2e5 + 6e4) / 3 > 65504 */
    CHECK_ERROR(ek_quantize(EK_DTYPE_Q2, 2, 4, wide, p4), EK_ERR_INVALID_ARGUMENT, "row 1: range");
    uint8_t ee[2 * 6];
    memset(ee, 0xee, sizeof ee);
    CHECK_SAME_BYTES(p4, ee, sizeof p4);
    CHECK_SAME_BYTES(packed, before, sizeof packed);
    /* load-time check: a NaN scale, an infinite fp16 bias */
    float nan = NAN;
    memcpy(packed + 12 + 4, &nan, 4);
    CHECK_ERROR(ek_quant_validate(EK_DTYPE_Q8, 2, 4, packed), EK_ERR_INVALID_ARGUMENT, "row 1: scale=nan");
    memcpy(packed, before, sizeof packed);
    CHECK_OK(ek_quant_validate(EK_DTYPE_Q8, 2, 4, packed));
    CHECK_OK(ek_quantize(EK_DTYPE_Q4, 2, 4, w, p4));
    p4[6 + 4] = 0x00, p4[6 + 5] = 0x7c; /* row 1 bias = +inf in fp16 */
    CHECK_ERROR(ek_quant_validate(EK_DTYPE_Q4, 2, 4, p4), EK_ERR_INVALID_ARGUMENT, "row 1: bias=inf");
}

/* Hand-checked bytes (independent of PyTorch): a row 0..3 at 8 bits has scale 3/255, bias 0, codes
 * round(x * 255 / 3) = 0, 85, 170, 255; at 2 bits: bias 0, scale fp16(3/3) = 1, codes 0..3 in bits
 * 0-1, 2-3, 4-5, 6-7 of one byte = 0b11100100 = 0xe4, then fp16 1.0 (0x3c00) and 0.0. */
TEST(quant_hand_checked_bytes) {
    float x[4] = {0, 1, 2, 3};
    uint8_t p8[12], p2[5];
    CHECK_OK(ek_quantize(EK_DTYPE_Q8, 1, 4, x, p8));
    CHECK(p8[0] == 0 && p8[1] == 85 && p8[2] == 170 && p8[3] == 255);
    float scale, bias;
    memcpy(&scale, p8 + 4, 4), memcpy(&bias, p8 + 8, 4);
    CHECK(scale == 3.0f / 255.0f && bias == 0.0f);
    CHECK_OK(ek_quantize(EK_DTYPE_Q2, 1, 4, x, p2));
    CHECK_MSG(p2[0] == 0xe4 && p2[1] == 0x00 && p2[2] == 0x3c && p2[3] == 0 && p2[4] == 0, "%02x %02x %02x %02x %02x",
              p2[0], p2[1], p2[2], p2[3], p2[4]);
}
