/* The quantized bag's range functions (x86/<isa>/quant_bag.c: sums of D <= 128 / 64 columns in
 * registers, a compile-time block width per D, tails, wide rows walked block by block): for dims that
 * hit every block width and both kinds of tail, both index widths, with and without weights, sum and
 * mean, padding, empty bags and a bag of padding only, the result equals the fp32 bag on the
 * ek_dequantize table and the scalar ISA bit for bit, at 1 and 2 threads; and no load leaves the
 * table (the last row placed against a page that cannot be read). The runner repeats each test per
 * ISA. */
#define _GNU_SOURCE /* MAP_ANONYMOUS */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ek_test.h"

/* AVX-512 blocks are 16-lane vectors, 16 per block; AVX2 8-lane, 8 per block. These dims give every
 * vector count 1..16 of AVX-512 and 1..8 of AVX2, tails of < 8 and >= 8 lanes, several blocks (130,
 * 200, 257, 520) and rows over 129 bytes (Q8 from 122, Q4 from 252, Q2 from 504: every line
 * prefetched). */
static const int64_t DIMS[] = {1,   3,   7,   8,   9,   15,  16,  17,  24,  31,  32,  33,  40,  47,  48,  56,
                               63,  64,  65,  72,  79,  80,  96,  100, 112, 120, 122, 127, 128, 129, 130, 144,
                               160, 176, 192, 200, 208, 224, 240, 255, 256, 257, 520};
enum { ROWS = 23, N = 300, B = 9, PAD = 4 };

static void bag(const ek_table *t, const void *idx, const void *off, int is32, const float *psw, ek_bag_mode mode,
                int pad, float *out, int64_t *bag_size) {
    ek_bag_input in = {.struct_size = sizeof in, .index_type = is32 ? EK_INDEX_I32 : EK_INDEX_I64, .indices = idx,
                       .num_indices = N, .offsets = off, .num_bags = B, .per_sample_weights = psw,
                       .num_weights = psw ? N : 0, .has_padding = pad, .padding_idx = PAD};
    ek_bag_options o = {.struct_size = sizeof o, .mode = mode};
    CHECK_OK(ek_bag_forward(t, &in, &o, out, bag_size, NULL));
}

TEST(quant_bag_ranges_bit_for_bit) {
    ek_isa isa = ek_get_isa();
    int was = ek_get_num_threads();
    ek_rng rng = {1818};
    /* bags: empty ones (first, middle, last), a bag of padding rows only, long bags (the prefetch
     * runs across bag ends and stops at the range's end) */
    int64_t off64[B] = {0, 0, 3, 3, 7, 120, 121, 250, N};
    int64_t idx64[N];
    int32_t idx32[N], off32[B];
    float psw[N];
    for (int k = 0; k < N; k++) idx64[k] = ek_rng_int(&rng, 0, ROWS - 1), psw[k] = ek_rng_float(&rng, -1, 2);
    for (int k = 3; k < 7; k++) idx64[k] = PAD; /* bag 3: padding only (mean: denominator 0) */
    psw[10] = 0.0f;
    for (int k = 0; k < N; k++) idx32[k] = (int32_t)idx64[k];
    for (int k = 0; k < B; k++) off32[k] = (int32_t)off64[k];
    for (int q = 0; q < 3; q++) {
        ek_dtype dt = (ek_dtype)(EK_DTYPE_Q8 + q);
        for (size_t di = 0; di < sizeof DIMS / sizeof *DIMS; di++) {
            int64_t dim = DIMS[di], rb, cells = B * dim;
            CHECK_OK(ek_quant_row_bytes(dt, dim, &rb));
            float *w = malloc(sizeof(float) * (size_t)(ROWS * dim)), *deq = malloc(sizeof(float) * (size_t)(ROWS * dim));
            uint8_t *buf = malloc((size_t)(ROWS * rb) + 8), *packed = buf + di % 5; /* also unaligned tables */
            for (int64_t k = 0; k < ROWS * dim; k++) w[k] = ek_rng_float(&rng, -3, 3);
            CHECK_OK(ek_quantize(dt, ROWS, dim, w, packed));
            CHECK_OK(ek_dequantize(dt, ROWS, dim, packed, deq));
            ek_table t = {.struct_size = sizeof t, .rows = ROWS, .dim = dim, .dtype = dt, .data = packed};
            ek_table tf = {.struct_size = sizeof tf, .rows = ROWS, .dim = dim, .dtype = EK_DTYPE_F32, .data = deq};
            float *got = malloc(sizeof(float) * (size_t)cells), *want = malloc(sizeof(float) * (size_t)cells);
            float *other = malloc(sizeof(float) * (size_t)cells);
            int64_t bs_got[B], bs_want[B];
            for (int is32 = 0; is32 < 2; is32++)
                for (int weighted = 0; weighted < 2; weighted++)
                    for (int mode = 0; mode < 2; mode++)
                        for (int pad = 0; pad < 2; pad++) {
                            const void *idx = is32 ? (const void *)idx32 : (const void *)idx64;
                            const void *off = is32 ? (const void *)off32 : (const void *)off64;
                            const float *p = weighted ? psw : NULL;
                            ek_set_num_threads(1);
                            ek_set_isa(isa);
                            bag(&t, idx, off, is32, p, (ek_bag_mode)mode, pad, got, bs_got);
                            bag(&tf, idx, off, is32, p, (ek_bag_mode)mode, pad, want, bs_want);
                            if (!CHECK_MSG(!memcmp(got, want, sizeof(float) * (size_t)cells) &&
                                               !memcmp(bs_got, bs_want, sizeof bs_got),
                                           "%s dtype %d dim %lld i32 %d w %d mode %d pad %d: not the fp32 bag of the "
                                           "dequantised table", ek_isa_name(isa), dt, (long long)dim, is32, weighted,
                                           mode, pad))
                                goto next;
                            ek_set_isa(EK_ISA_SCALAR);
                            bag(&t, idx, off, is32, p, (ek_bag_mode)mode, pad, other, NULL);
                            ek_set_isa(isa);
                            CHECK_MSG(!memcmp(got, other, sizeof(float) * (size_t)cells), "%s dtype %d dim %lld: vs scalar",
                                      ek_isa_name(isa), dt, (long long)dim);
                            ek_set_num_threads(2);
                            memset(other, 0x7f, sizeof(float) * (size_t)cells);
                            bag(&t, idx, off, is32, p, (ek_bag_mode)mode, pad, other, NULL);
                            CHECK_MSG(!memcmp(got, other, sizeof(float) * (size_t)cells),
                                      "%s dtype %d dim %lld: 1 vs 2 threads", ek_isa_name(isa), dt, (long long)dim);
                        }
        next:
            free(w), free(deq), free(buf), free(got), free(want), free(other);
        }
    }
    ek_set_isa(isa);
    ek_set_num_threads(was);
}

/* The last row of the table ends where an unreadable page begins: every bag over it (and over row
 * 0, at the page's other end) must read nothing past the table's last byte. */
TEST(quant_bag_reads_inside_the_table) {
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *map = mmap(NULL, (size_t)page * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!CHECK(map != MAP_FAILED)) return;
    CHECK(mprotect(map + 2 * page, (size_t)page, PROT_NONE) == 0);
    ek_rng rng = {77};
    for (int q = 0; q < 3; q++) {
        ek_dtype dt = (ek_dtype)(EK_DTYPE_Q8 + q);
        for (int64_t dim = 1; dim <= 260; dim += dim < 40 ? 1 : 13) {
            int64_t rb, rows = 3;
            CHECK_OK(ek_quant_row_bytes(dt, dim, &rb));
            float w[3 * 260], deq[3 * 260], out[4 * 260], want[4 * 260];
            for (int64_t k = 0; k < rows * dim; k++) w[k] = ek_rng_float(&rng, -2, 2);
            uint8_t *packed = map + 2 * page - rows * rb;
            CHECK_OK(ek_quantize(dt, rows, dim, w, packed));
            CHECK_OK(ek_dequantize(dt, rows, dim, packed, deq));
            int64_t idx[8] = {2, 2, 0, 2, 1, 2, 2, 2}, off[4] = {0, 3, 5, 6};
            float psw[8] = {1, -2, 0.5f, 3, 1, 1, 2, -1};
            ek_table t = {.struct_size = sizeof t, .rows = rows, .dim = dim, .dtype = dt, .data = packed};
            ek_table tf = {.struct_size = sizeof tf, .rows = rows, .dim = dim, .dtype = EK_DTYPE_F32, .data = deq};
            for (int weighted = 0; weighted < 2; weighted++) {
                ek_bag_input in = {.struct_size = sizeof in, .indices = idx, .num_indices = 8, .offsets = off,
                                   .num_bags = 4, .per_sample_weights = weighted ? psw : NULL,
                                   .num_weights = weighted ? 8 : 0};
                CHECK_OK(ek_bag_forward(&t, &in, NULL, out, NULL, NULL));
                CHECK_OK(ek_bag_forward(&tf, &in, NULL, want, NULL, NULL));
                CHECK_MSG(!memcmp(out, want, sizeof(float) * (size_t)(4 * dim)), "dtype %d dim %lld", dt, (long long)dim);
            }
        }
    }
    munmap(map, (size_t)page * 3);
}
