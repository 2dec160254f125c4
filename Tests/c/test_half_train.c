/* test_half_train.c — training fp16 / bf16 tables (issue 18): ek_optimizer_update and
 * ek_bag_backward_update widen each row to float32, update it with the f32 code and write it back
 * rounded to nearest (even) or stochastically with the coin ek_round_bits(seed, step, row, column).
 * Checked against the header's definitions written out independently here (the splitmix chain,
 * the half_ref.h conversions, the two neighbours and the probability), for every optimizer, both
 * roundings, 1 and 2 threads (main.c repeats the file under every ISA); the fused update against
 * backward-sparse + coalesce + update on the same half table; bad descriptors change nothing. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "ek_test.h"
#include "half_ref.h"

/* ---- the header's coin, written from its text ---- */
static uint64_t ref_mix(uint64_t z) {
    z ^= z >> 30;
    z *= 0xbf58476d1ce4e5b9ull;
    z ^= z >> 27;
    z *= 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z;
}
static uint32_t ref_bits(uint64_t seed, int64_t step, int64_t row, int64_t col) {
    uint64_t k = ref_mix(seed ^ 0x9e3779b97f4a7c15ull);
    k = ref_mix(k ^ (uint64_t)step);
    k = ref_mix(k ^ (uint64_t)row);
    uint32_t x = (uint32_t)k + (uint32_t)col * 0x9e3779b9u; /* MurmurHash3's fmix32 of it */
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x ^ (uint32_t)(k >> 32);
}

/* The half value of a code as a magnitude (the code past the largest finite one counts as the next
 * power of two), and the two neighbours of |x| found with the round-to-nearest reference. */
static double ref_value(int bf16, uint16_t code) {
    if (bf16) return code == 0x7f80u ? 0x1p128 : (double)from_bf16(code);
    return code == 0x7c00u ? 0x1p16 : (double)from_f16(code);
}
static uint16_t ref_lower(int bf16, float ax) { /* the largest half magnitude <= ax */
    uint16_t c = bf16 ? to_bf16(ax) : to_f16(ax);
    return ref_value(bf16, c) > (double)ax ? (uint16_t)(c - 1) : c;
}
/* x rounded as the header says (finite x below the overflow threshold). */
static uint16_t ref_round(int bf16, float x, int stochastic, uint32_t bits) {
    uint16_t sign = (uint16_t)((f32_bits(x) >> 16) & 0x8000u);
    float ax = fabsf(x);
    uint16_t lo = ref_lower(bf16, ax);
    double vlo = ref_value(bf16, lo), vhi = ref_value(bf16, (uint16_t)(lo + 1)), p = ((double)ax - vlo) / (vhi - vlo);
    int up = stochastic ? ldexp((double)bits, -32) < p : (p > 0.5 || (p == 0.5 && (lo & 1u)));
    return sign | (uint16_t)(lo + up);
}

TEST(round_bits_follow_the_header) {
    const uint64_t seeds[] = {0, 1, 42, 0xffffffffffffffffull};
    const int64_t steps[] = {1, 2, 1000000, INT64_MAX}, rows[] = {0, 7, -1, 1LL << 40};
    const int64_t cols[] = {0, 1, 46, -3}; /* a negative column is truncated to 32 bits */
    int n = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 4; c++)
                for (int e = 0; e < 4; e++) {
                    const int64_t col = cols[e];
                    n += CHECK_MSG(ek_round_bits(seeds[a], steps[b], rows[c], col) == ref_bits(seeds[a], steps[b], rows[c], col),
                                   "ek_round_bits(%llu, %lld, %lld, %lld)", (unsigned long long)seeds[a],
                                   (long long)steps[b], (long long)rows[c], (long long)col);
                }
    CHECK_EQ_I64(n, 4 * 4 * 4 * 4);
}

/* SGD with lr 1 on a zero row and gradient -x writes round(0 - (-x)) = round(x): the rounding alone. */
static ek_status write_values(ek_dtype dt, int64_t dim, const float *x, uint16_t *row, ek_rounding r, uint64_t seed,
                              int64_t step) {
    float *g = malloc(sizeof(float) * (size_t)dim);
    for (int64_t d = 0; d < dim; d++) g[d] = -x[d];
    memset(row, 0, sizeof(uint16_t) * (size_t)dim);
    ek_table t = {.struct_size = sizeof t, .rows = 1, .dim = dim, .dtype = dt, .data = row};
    ek_optimizer o = {.struct_size = sizeof o, .kind = EK_OPT_SGD, .lr = 1.0f, .rounding = r, .seed = seed, .step = step};
    int64_t zero = 0;
    ek_status s = ek_optimizer_update(&t, 1, &zero, g, &o);
    free(g);
    return s;
}

enum { V = 6000 };

static void random_values(ek_rng *rng, float *x, int n, float scale_log2_lo, float scale_log2_hi) {
    for (int i = 0; i < n; i++) {
        float m = ek_rng_float(rng, 1.0f, 2.0f) * (ek_rng_int(rng, 0, 1) ? 1.0f : -1.0f);
        x[i] = ldexpf(m, (int)ek_rng_int(rng, (int64_t)scale_log2_lo, (int64_t)scale_log2_hi));
    }
}

TEST(half_update_rounds_to_nearest_even) {
    ek_rng rng = {91};
    static float x[V];
    static uint16_t got[V];
    random_values(&rng, x, V, -30, 17); /* fp16 subnormals .. overflow */
    const float special[] = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65504.0f, 65519.0f, 65520.0f, 0x1p-24f, 0x1p-25f,
                             1.5f * 0x1p-25f, -65520.0f, INFINITY, -INFINITY, 1.0f + 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-20f};
    memcpy(x, special, sizeof special);
    for (int bf = 0; bf <= 1; bf++) {
        ek_dtype dt = bf ? EK_DTYPE_BF16 : EK_DTYPE_F16;
        if (!CHECK_MSG(write_values(dt, V, x, got, EK_ROUND_NEAREST, 0, 0) == EK_OK, "%s", ek_last_error())) return;
        int bad = 0;
        for (int i = 0; i < V; i++) {
            uint16_t want = bf ? to_bf16(x[i]) : to_f16(x[i]);
            if (got[i] != want && bad++ < 5)
                CHECK_MSG(0, "%s: %a rounded to 0x%04x, want 0x%04x", bf ? "bf16" : "fp16", (double)x[i], got[i], want);
        }
        CHECK_MSG(bad == 0, "%s: %d of %d values rounded wrongly", bf ? "bf16" : "fp16", bad, V);
    }
    /* NaN stays NaN */
    float nan[1] = {NAN};
    CHECK_OK(write_values(EK_DTYPE_F16, 1, nan, got, EK_ROUND_STOCHASTIC, 1, 1));
    CHECK(isnan(from_f16(got[0])));
    CHECK_OK(write_values(EK_DTYPE_BF16, 1, nan, got, EK_ROUND_STOCHASTIC, 1, 1));
    CHECK(isnan(from_bf16(got[0])));
}

TEST(half_update_rounds_stochastically_by_the_coin) {
    ek_rng rng = {92};
    static float x[V];
    static uint16_t got[V];
    const int dim = V - 3; /* the vector rows' last, partial chunk too */
    for (int bf = 0; bf <= 1; bf++)
        for (int normal = 0; normal <= 1; normal++) {
            ek_dtype dt = bf ? EK_DTYPE_BF16 : EK_DTYPE_F16;
            /* below fp16's overflow threshold; with fp16's subnormals (the scalar rule's chunks), or not */
            random_values(&rng, x, dim, normal ? -14 : -30, 15);
            if (!normal) { /* a chunk with one of these takes the scalar rule; NaNs with payload bits a
                            * vector truncation would round */
                x[100] = INFINITY, x[211] = -INFINITY;
                x[300] = bits_f32(0x7fc0ffffu), x[333] = bits_f32(0xffc0ffffu);
            }
            const uint64_t seed = 1234;
            const int64_t step = 17;
            if (!CHECK_MSG(write_values(dt, dim, x, got, EK_ROUND_STOCHASTIC, seed, step) == EK_OK, "%s", ek_last_error()))
                return;
            int bad = 0, up = 0, inexact = 0;
            for (int i = 0; i < dim; i++) {
                if (isnan(x[i])) { /* quiet, the payload's top bits kept */
                    uint32_t a = f32_bits(x[i]) & 0x7fffffffu;
                    uint16_t want = bf ? (uint16_t)(0x7fc0u | ((a >> 16) & 0x7fu)) : (uint16_t)(0x7e00u | ((a >> 13) & 0x3ffu));
                    CHECK_MSG((got[i] & 0x7fffu) == want, "NaN 0x%08x rounded to 0x%04x", (unsigned)f32_bits(x[i]), got[i]);
                    continue;
                }
                if (isinf(x[i])) {
                    CHECK_MSG(got[i] == (bf ? to_bf16(x[i]) : to_f16(x[i])), "%a rounded to 0x%04x", (double)x[i], got[i]);
                    continue;
                }
                uint16_t want = ref_round(bf, x[i], 1, ref_bits(seed, step, 0, i));
                uint16_t nearest_down = ref_lower(bf, fabsf(x[i]));
                inexact += ref_value(bf, nearest_down) != (double)fabsf(x[i]);
                up += (got[i] & 0x7fffu) != nearest_down;
                if (got[i] != want && bad++ < 5)
                    CHECK_MSG(0, "%s: %a rounded to 0x%04x, want 0x%04x", bf ? "bf16" : "fp16", (double)x[i], got[i], want);
            }
            CHECK_MSG(bad == 0, "%s: %d of %d values rounded wrongly", bf ? "bf16" : "fp16", bad, dim);
            CHECK_MSG(up > inexact / 4 && up < inexact * 3 / 4, "%s: %d of %d inexact values rounded away from zero",
                      bf ? "bf16" : "fp16", up, inexact);
        }
    /* past the largest finite fp16 (65504; the next step would be 65536): infinity with p = 26 / 32 */
    static float big[V];
    for (int i = 0; i < V; i++) big[i] = 65530.0f;
    CHECK_OK(write_values(EK_DTYPE_F16, V, big, got, EK_ROUND_STOCHASTIC, 5, 1));
    int inf = 0;
    for (int i = 0; i < V; i++) {
        CHECK(got[i] == 0x7c00u || got[i] == 0x7bffu);
        inf += got[i] == 0x7c00u;
    }
    double p = inf / (double)V, sigma = sqrt(26.0 / 32 * 6 / 32 / V);
    CHECK_MSG(fabs(p - 26.0 / 32) < 5 * sigma, "P(inf) = %g, want %g", p, 26.0 / 32);
}

/* E[round(x)] = x: the mean over many columns of one value lies within 5 sigma of it. */
TEST(stochastic_rounding_is_unbiased) {
    enum { M = 1 << 16 };
    static float x[M];
    static uint16_t got[M];
    const float value[2] = {1.0f + 0.3f * 0x1p-10f, 1.0f + 0.3f * 0x1p-7f}; /* 0.3 of an fp16 / bf16 step */
    for (int bf = 0; bf <= 1; bf++) {
        for (int i = 0; i < M; i++) x[i] = value[bf];
        CHECK_OK(write_values(bf ? EK_DTYPE_BF16 : EK_DTYPE_F16, M, x, got, EK_ROUND_STOCHASTIC, 77, 3));
        double sum = 0;
        for (int i = 0; i < M; i++) sum += bf ? from_bf16(got[i]) : from_f16(got[i]);
        double ulp = bf ? 0x1p-7 : 0x1p-10, sigma = ulp * sqrt(0.3 * 0.7 / M), mean = sum / M;
        CHECK_MSG(fabs(mean - value[bf]) < 5 * sigma, "%s: mean %.9g, want %.9g (sigma %.3g)", bf ? "bf16" : "fp16",
                  mean, (double)value[bf], sigma);
    }
}

/* Many updates smaller than half a step: round-to-nearest never moves, stochastic rounding follows
 * the float32 trajectory on average (what makes bf16 training work). */
TEST(stochastic_rounding_accumulates_small_updates) {
    enum { D = 256, STEPS = 2000 };
    static uint16_t w[2][D];
    static float g[D];
    for (int d = 0; d < D; d++) g[d] = 1e-4f;
    for (int r = 0; r < 2; r++) {
        for (int d = 0; d < D; d++) w[r][d] = to_bf16(1.0f);
        ek_table t = {.struct_size = sizeof t, .rows = 1, .dim = D, .dtype = EK_DTYPE_BF16, .data = w[r]};
        for (int64_t step = 1; step <= STEPS; step++) {
            ek_optimizer o = {.struct_size = sizeof o, .kind = EK_OPT_SGD, .lr = 1.0f, .step = step, .seed = 9,
                              .rounding = r ? EK_ROUND_STOCHASTIC : EK_ROUND_NEAREST};
            if (!CHECK_MSG(ek_optimizer_update(&t, 1, NULL, g, &o) == EK_OK, "%s", ek_last_error())) return;
        }
    }
    double mean[2] = {0, 0};
    for (int r = 0; r < 2; r++)
        for (int d = 0; d < D; d++) mean[r] += from_bf16(w[r][d]) / D;
    CHECK_MSG(mean[0] == 1.0, "nearest moved: mean %g", mean[0]);
    CHECK_MSG(fabs(mean[1] - (1.0 - STEPS * 1e-4)) < 0.03, "stochastic: mean %g, want %g", mean[1], 1.0 - STEPS * 1e-4);
}

/* Plain SGD on bf16 rows of signed zeros (the one-pass row): w - lr (g + wd w) rounded as the header
 * says, for weight decay +0, -0 and > 0; with -0, a -0 weight and a -0 gradient give +0, which a
 * row that dropped the decay term as zero would make -0. Columns in 16-, 8- and 1-wide chunks. */
TEST(half_sgd_row_signed_zeros) {
    enum { SR = 3, SD = 45 };
    static uint16_t w[SR * SD], got[SR * SD];
    static float g[SR * SD];
    ek_rng rng = {95};
    for (int i = 0; i < SR * SD; i++) {
        int r = i / SD;
        float v = ek_rng_float(&rng, -1, 1);
        w[i] = to_bf16(r == 0 ? -0.0f : r == 1 ? 0.0f : (ek_rng_int(&rng, 0, 1) ? v : (v < 0 ? -0.0f : 0.0f)));
        g[i] = r < 2 ? -0.0f : ek_rng_int(&rng, 0, 1) ? ek_rng_float(&rng, -1, 1) : (v < 0 ? -0.0f : 0.0f);
    }
    const float decays[] = {0.0f, -0.0f, 0.25f};
    for (size_t k = 0; k < sizeof decays / sizeof decays[0]; k++) {
        memcpy(got, w, sizeof w);
        ek_optimizer o = {.struct_size = sizeof o, .kind = EK_OPT_SGD, .lr = 0.5f, .weight_decay = decays[k],
                          .rounding = EK_ROUND_STOCHASTIC, .seed = 3, .step = 4};
        ek_table t = {.struct_size = sizeof t, .rows = SR, .dim = SD, .dtype = EK_DTYPE_BF16, .data = got};
        if (!CHECK_MSG(ek_optimizer_update(&t, SR, NULL, g, &o) == EK_OK, "%s", ek_last_error())) return;
        int bad = 0;
        for (int i = 0; i < SR * SD; i++) {
            float x = from_bf16(w[i]), step = g[i] + decays[k] * x;
            bad += got[i] != ref_round(1, x - 0.5f * step, 1, ref_bits(3, 4, i / SD, i % SD));
        }
        CHECK_MSG(bad == 0, "weight decay %g (sign %d): %d of %d elements differ", (double)decays[k],
                  signbit(decays[k]) ? 1 : 0, bad, SR * SD);
    }
}

/* ---- every optimizer on a half table: widen, f32 update, round (nearest: half_ref's) ---- */

enum { R = 120, D = 45, N = 700, B = 30 }; /* D: two 16-column chunks, one of 8, 5 scalar columns */

typedef struct {
    uint16_t w[R * D];
    float s0[R * D], s1[R * D];
} half_state;

enum { OPTIMIZERS = 6 }; /* the cases of optimizer_for */
static ek_optimizer optimizer_for(int k, half_state *st, ek_rounding r) {
    ek_optimizer o = {.struct_size = sizeof(ek_optimizer), .lr = 0.05f, .rounding = r, .seed = 3, .step = 4};
    switch (k) {
    case 0: o.kind = EK_OPT_SGD; break;
    case 1: o.kind = EK_OPT_SGD, o.momentum = 0.9f, o.dampening = 0.1f, o.weight_decay = 0.01f; break;
    case 2: o.kind = EK_OPT_ADAGRAD, o.eps = 1e-10f, o.weight_decay = 0.02f; break;
    case 3: o.kind = EK_OPT_ROWWISE_ADAGRAD, o.eps = 1e-8f, o.weight_decay = 0.02f; break;
    case 4: o.kind = EK_OPT_ADAM, o.beta1 = 0.9f, o.beta2 = 0.999f, o.eps = 1e-8f, o.weight_decay = 0.1f; break;
    default: o.kind = EK_OPT_SGD, o.weight_decay = 0.03f; break; /* no momentum: bf16's one-pass row */
    }
    o.momentum_buffer = st->s0, o.state_sum = st->s0, o.exp_avg = st->s0, o.exp_avg_sq = st->s1;
    return o;
}

static void fill_half_state(half_state *st, ek_rng *rng, int bf) {
    for (int i = 0; i < R * D; i++) {
        float v = ek_rng_float(rng, -1, 1);
        st->w[i] = bf ? to_bf16(v) : to_f16(v);
        st->s0[i] = ek_rng_float(rng, 0, 0.5f);
        st->s1[i] = ek_rng_float(rng, 0, 0.5f);
    }
    /* non-finite weights in a 16-column chunk, an 8-column one and the scalar tail: their chunks take
     * the scalar rule */
    const float odd[] = {INFINITY, -INFINITY, NAN};
    const int at[][2] = {{3, 5}, {4, 20}, {5, 33}, {6, 42}};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        float v = odd[k % 3];
        st->w[at[k][0] * D + at[k][1]] = bf ? to_bf16(v) : to_f16(v);
    }
}

TEST(half_optimizer_update_is_widen_update_round) {
    ek_rng rng = {93};
    static half_state base, got;
    static float wide[R * D], s0[R * D], s1[R * D], values[R * D];
    int64_t rows[R], nnz = 0;
    for (int64_t r = 0; r < R; r++)
        if (ek_rng_int(&rng, 0, 2)) rows[nnz++] = r;
    for (int i = 0; i < R * D; i++) values[i] = ek_rng_float(&rng, -2, 2);
    for (int bf = 0; bf <= 1; bf++) {
        fill_half_state(&base, &rng, bf);
        ek_dtype dt = bf ? EK_DTYPE_BF16 : EK_DTYPE_F16;
        for (int k = 0; k < OPTIMIZERS; k++)
            for (int rnd = 0; rnd <= 1; rnd++)
                for (int threads = 1; threads <= 2; threads++) {
                    ek_set_num_threads(threads);
                    /* expected: the f32 table and f32 update, then the header's rounding element by element */
                    for (int i = 0; i < R * D; i++) wide[i] = bf ? from_bf16(base.w[i]) : from_f16(base.w[i]);
                    memcpy(s0, base.s0, sizeof s0), memcpy(s1, base.s1, sizeof s1);
                    half_state tmp;
                    ek_optimizer of = optimizer_for(k, &tmp, (ek_rounding)rnd);
                    of.momentum_buffer = s0, of.state_sum = s0, of.exp_avg = s0, of.exp_avg_sq = s1;
                    ek_table tf = {.struct_size = sizeof tf, .rows = R, .dim = D, .data = wide};
                    CHECK_OK(ek_optimizer_update(&tf, nnz, rows, values, &of));
                    got = base;
                    ek_optimizer oh = optimizer_for(k, &got, (ek_rounding)rnd);
                    ek_table th = {.struct_size = sizeof th, .rows = R, .dim = D, .dtype = dt, .data = got.w};
                    if (!CHECK_MSG(ek_optimizer_update(&th, nnz, rows, values, &oh) == EK_OK, "%s", ek_last_error()))
                        return;
                    int bad = 0, row_i = 0;
                    for (int64_t r = 0; r < R; r++) {
                        int present = row_i < nnz && rows[row_i] == r;
                        row_i += present;
                        for (int d = 0; d < D; d++) {
                            int64_t i = r * D + d;
                            uint16_t want = present ? ref_round(bf, wide[i], rnd, ref_bits(3, 4, r, d)) : base.w[i];
                            bad += got.w[i] != want;
                        }
                    }
                    CHECK_MSG(bad == 0, "%s, optimizer %d, rounding %d, %d threads: %d elements differ",
                              bf ? "bf16" : "fp16", k, rnd, threads, bad);
                    CHECK_MSG(memcmp(got.s0, s0, sizeof s0) == 0 && memcmp(got.s1, s1, sizeof s1) == 0,
                              "optimizer %d: the f32 state differs", k);
                }
    }
    ek_set_num_threads(1);
}

TEST(half_fused_bag_update_is_backward_sparse_then_update) {
    ek_rng rng = {94};
    static int64_t idx[N], off[B + 1], max_idx[B * D], rows[N], crows[N], nnz, cnnz;
    static float psw[N], grad_out[B * D], out[B * D], values[N * D], cvalues[N * D];
    static half_state base, ref, got;
    for (int i = 0; i < N; i++) {
        idx[i] = ek_rng_int(&rng, 0, 9) < 3 ? ek_rng_int(&rng, 0, 4) : ek_rng_int(&rng, 0, R - 1);
        psw[i] = ek_rng_float(&rng, -1, 2);
    }
    off[0] = 0;
    for (int b = 1; b < B; b++) {
        off[b] = off[b - 1] + ek_rng_int(&rng, 0, 2 * N / B);
        if (off[b] > N) off[b] = N;
    }
    off[B] = N;
    for (int i = 0; i < B * D; i++) grad_out[i] = ek_rng_float(&rng, -1, 1);
    int cases = 0;
    for (int bf = 0; bf <= 1; bf++) {
        fill_half_state(&base, &rng, bf);
        ek_table table = {.struct_size = sizeof table, .rows = R, .dim = D, .dtype = bf ? EK_DTYPE_BF16 : EK_DTYPE_F16,
                          .data = base.w};
        for (int mode = EK_BAG_SUM; mode <= EK_BAG_MAX; mode++) {
            ek_bag_input in = {.struct_size = sizeof in, .indices = idx, .num_indices = N, .offsets = off, .num_bags = B,
                               .include_last_offset = 1, .has_padding = 1, .padding_idx = 1};
            if (mode == EK_BAG_SUM) in.per_sample_weights = psw, in.num_weights = N;
            ek_bag_options opts = {.struct_size = sizeof opts, .mode = (ek_bag_mode)mode};
            if (!CHECK_MSG(ek_bag_forward(&table, &in, &opts, out, NULL, mode == EK_BAG_MAX ? max_idx : NULL) == EK_OK,
                           "forward: %s", ek_last_error()))
                return;
            const int64_t *mi = mode == EK_BAG_MAX ? max_idx : NULL;
            for (int k = 0; k < OPTIMIZERS; k++)
                for (int rnd = 0; rnd <= 1; rnd++)
                    for (int threads = 1; threads <= 2; threads++) {
                        ek_set_num_threads(threads);
                        ref = base, got = base;
                        ek_table t_ref = table, t_got = table;
                        t_ref.data = ref.w, t_got.data = got.w;
                        ek_optimizer o_ref = optimizer_for(k, &ref, (ek_rounding)rnd);
                        ek_optimizer o_got = optimizer_for(k, &got, (ek_rounding)rnd);
                        CHECK_OK(ek_bag_backward_sparse(&table, &in, &opts, mi, grad_out, rows, values, &nnz));
                        CHECK_OK(ek_coo_coalesce_f32(R, D, nnz, rows, values, crows, cvalues, &cnnz));
                        CHECK_OK(ek_optimizer_update(&t_ref, cnnz, crows, cvalues, &o_ref));
                        CHECK_OK(ek_bag_backward_update(&t_got, &in, &opts, mi, grad_out, &o_got));
                        CHECK_MSG(memcmp(&ref, &got, sizeof ref) == 0,
                                  "fused != sparse + coalesce + update: %s, mode %d, optimizer %d, rounding %d, %d threads",
                                  bf ? "bf16" : "fp16", mode, k, rnd, threads);
                        CHECK_MSG(memcmp(got.w, base.w, sizeof got.w) != 0, "the update changed nothing");
                        cases++;
                    }
        }
    }
    ek_set_num_threads(1);
    CHECK_EQ_I64(cases, 2 * 3 * OPTIMIZERS * 2 * 2);
}

TEST(half_update_descriptor_rules) {
    uint16_t w[2 * 4], keep[2 * 4];
    float g[4] = {1, 2, 3, 4}, state[8] = {0};
    for (int i = 0; i < 8; i++) w[i] = to_bf16((float)i);
    memcpy(keep, w, sizeof w);
    int64_t row = 1;
    ek_table t = {.struct_size = sizeof t, .rows = 2, .dim = 4, .dtype = EK_DTYPE_BF16, .data = w};
    ek_optimizer o = {.struct_size = sizeof o, .kind = EK_OPT_ADAGRAD, .lr = 0.1f, .state_sum = state,
                      .rounding = (ek_rounding)5, .step = 1};
    CHECK_ERROR(ek_optimizer_update(&t, 1, &row, g, &o), EK_ERR_INVALID_ARGUMENT, "optimizer->rounding=5");
    o.rounding = EK_ROUND_STOCHASTIC, o.step = 0;
    CHECK_ERROR(ek_optimizer_update(&t, 1, &row, g, &o), EK_ERR_INVALID_ARGUMENT, "optimizer->step=0");
    int64_t idx = 1, off = 0;
    ek_bag_input in = {.struct_size = sizeof in, .indices = &idx, .num_indices = 1, .offsets = &off, .num_bags = 1};
    CHECK_ERROR(ek_bag_backward_update(&t, &in, NULL, NULL, g, &o), EK_ERR_INVALID_ARGUMENT, "optimizer->step=0");
    row = 2, o.step = 1;
    CHECK_ERROR(ek_optimizer_update(&t, 1, &row, g, &o), EK_ERR_INDEX_OUT_OF_RANGE, "index 2 at position 0");
    CHECK_SAME_BYTES(w, keep, sizeof w);
    float zero[8] = {0};
    CHECK_SAME_BYTES(state, zero, sizeof state);
    /* a caller compiled against 0.2 (no rounding fields): accepted, rounding to nearest */
    o.struct_size = (int64_t)offsetof(ek_optimizer, rounding), o.rounding = EK_ROUND_STOCHASTIC, o.step = 0;
    row = 1;
    CHECK_OK(ek_optimizer_update(&t, 1, &row, g, &o));
    o.struct_size = (int64_t)offsetof(ek_optimizer, rounding) - 8;
    CHECK_ERROR(ek_optimizer_update(&t, 1, &row, g, &o), EK_ERR_INVALID_ARGUMENT, "optimizer->struct_size");
}
