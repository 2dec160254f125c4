/* test_fused.c — ek_bag_backward_update against its definition (ek_bag_backward_sparse, then
 * ek_coo_scatter_add_f32 for plain SGD, else ek_coo_coalesce_f32 + ek_optimizer_update), bit for bit,
 * for every optimizer, mode, index width and 1 / 2 threads (main.c runs this file under every ISA);
 * row-wise Adagrad against its scalar reference and a hand-computed step; the descriptor rules. */
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"
#include "ref.h"

enum { R = 300, D = 19, N = 2000, B = 40 };

typedef struct {
    float w[R * D], s0[R * D], s1[R * D];
} fz_state;

static void fill_state(fz_state *st, ek_rng *rng) {
    for (int i = 0; i < R * D; i++) {
        st->w[i] = ek_rng_float(rng, -1, 1);
        st->s0[i] = ek_rng_float(rng, 0, 0.5f);
        st->s1[i] = ek_rng_float(rng, 0, 0.5f);
    }
}

static ek_optimizer optimizer_for(int k, fz_state *st) {
    ek_optimizer o = {.struct_size = sizeof(ek_optimizer), .lr = 0.05f};
    switch (k) {
    case 0: o.kind = EK_OPT_SGD; break; /* plain: the scatter path */
    case 1: o.kind = EK_OPT_SGD, o.momentum = 0.9f, o.dampening = 0.1f, o.weight_decay = 0.01f; break;
    case 2: o.kind = EK_OPT_SGD, o.momentum = 0.5f, o.nesterov = 1; break;
    case 3: o.kind = EK_OPT_ADAGRAD, o.eps = 1e-10f, o.weight_decay = 0.02f; break;
    case 4: o.kind = EK_OPT_ROWWISE_ADAGRAD, o.eps = 1e-8f, o.weight_decay = 0.02f; break;
    case 5: o.kind = EK_OPT_ADAM, o.beta1 = 0.9f, o.beta2 = 0.999f, o.eps = 1e-8f, o.step = 3; break;
    default: o.kind = EK_OPT_ADAM, o.beta1 = 0.8f, o.beta2 = 0.99f, o.eps = 1e-6f, o.weight_decay = 0.1f, o.step = 1; break;
    }
    o.momentum_buffer = st->s0, o.state_sum = st->s0, o.exp_avg = st->s0, o.exp_avg_sq = st->s1;
    return o;
}

TEST(fused_bag_update_is_backward_sparse_then_update) {
    ek_rng rng = {15};
    static int64_t idx64[N], off64[B + 1], max_idx[B * D], rows[N], crows[N], nnz, cnnz;
    static int32_t idx32[N], off32[B + 1];
    static float psw[N], grad_out[B * D], out[B * D], values[N * D], cvalues[N * D];
    static fz_state base, ref, got;
    for (int i = 0; i < N; i++) {
        int64_t r = ek_rng_int(&rng, 0, 9) < 3 ? ek_rng_int(&rng, 0, 5) : ek_rng_int(&rng, 0, R - 1); /* duplicates */
        idx64[i] = r, idx32[i] = (int32_t)r;
        psw[i] = ek_rng_float(&rng, -1, 2);
    }
    off64[0] = 0;
    for (int b = 1; b < B; b++) off64[b] = ek_rng_int(&rng, off64[b - 1], off64[b - 1] + 2 * N / B);
    for (int b = 1; b < B; b++) if (off64[b] > N) off64[b] = N;
    off64[B] = N;
    for (int b = 0; b <= B; b++) off32[b] = (int32_t)off64[b];
    for (int i = 0; i < B * D; i++) grad_out[i] = ek_rng_float(&rng, -1, 1);
    fill_state(&base, &rng);
    int cases = 0;
    for (int width = 0; width < 2; width++)
        for (int mode = EK_BAG_SUM; mode <= EK_BAG_MAX; mode++)
            for (int variant = 0; variant < 4; variant++) { /* plain, weighted, freq, padding + last offset */
                if (mode == EK_BAG_MAX && (variant == 1 || variant == 2)) continue;
                ek_table table = {.struct_size = sizeof(ek_table), .rows = R, .dim = D, .data = base.w};
                ek_bag_input in = {.struct_size = sizeof(ek_bag_input),
                                   .index_type = width ? EK_INDEX_I32 : EK_INDEX_I64,
                                   .indices = width ? (const void *)idx32 : (const void *)idx64, .num_indices = N,
                                   .offsets = width ? (const void *)off32 : (const void *)off64, .num_bags = B};
                if (variant == 1) in.per_sample_weights = psw, in.num_weights = N;
                if (variant == 3) in.has_padding = 1, in.padding_idx = 2, in.include_last_offset = 1;
                ek_bag_options opts = {.struct_size = sizeof(ek_bag_options), .mode = (ek_bag_mode)mode,
                                       .scale_grad_by_freq = variant == 2};
                if (!CHECK_MSG(ek_bag_forward(&table, &in, &opts, out, NULL, mode == EK_BAG_MAX ? max_idx : NULL) == EK_OK,
                               "forward: %s", ek_last_error()))
                    return;
                const int64_t *mi = mode == EK_BAG_MAX ? max_idx : NULL;
                for (int k = 0; k < 7; k++)
                    for (int threads = 1; threads <= 2; threads++) {
                        ek_set_num_threads(threads);
                        ref = base, got = base;
                        /* the definition */
                        ek_table t_ref = table;
                        t_ref.data = ref.w;
                        ek_optimizer o_ref = optimizer_for(k, &ref);
                        CHECK_OK(ek_bag_backward_sparse(&table, &in, &opts, mi, grad_out, rows, values, &nnz));
                        if (k == 0) {
                            CHECK_OK(ek_coo_scatter_add_f32(R, D, nnz, rows, values, -o_ref.lr, ref.w));
                        } else {
                            CHECK_OK(ek_coo_coalesce_f32(R, D, nnz, rows, values, crows, cvalues, &cnnz));
                            CHECK_OK(ek_optimizer_update(&t_ref, cnnz, crows, cvalues, &o_ref));
                        }
                        /* fused */
                        ek_table t_got = table;
                        t_got.data = got.w;
                        ek_optimizer o_got = optimizer_for(k, &got);
                        CHECK_OK(ek_bag_backward_update(&t_got, &in, &opts, mi, grad_out, &o_got));
                        int same = memcmp(&ref, &got, sizeof ref) == 0;
                        CHECK_MSG(same, "fused != sparse + update: width %s, mode %d, variant %d, optimizer %d, %d threads",
                                  width ? "i32" : "i64", mode, variant, k, threads);
                        CHECK_MSG(memcmp(&got, &base, sizeof got) != 0, "the update changed nothing (optimizer %d)", k);
                        cases++;
                    }
            }
    ek_set_num_threads(1);
    CHECK_EQ_I64(cases, 2 * (4 + 4 + 2) * 7 * 2);
}

TEST(fused_bag_update_checks_before_writing) {
    float w[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8}, keep[8], state[8] = {0};
    memcpy(keep, w, sizeof w);
    const int64_t idx[] = {0, 1, 3}, off[] = {0, 1};
    const float g[4] = {1, 1, 1, 1};
    ek_table t = {.struct_size = sizeof(ek_table), .rows = 4, .dim = 2, .data = w};
    ek_bag_input in = {.struct_size = sizeof(ek_bag_input), .indices = idx, .num_indices = 3, .offsets = off, .num_bags = 2};
    ek_optimizer o = {.struct_size = sizeof(ek_optimizer), .kind = EK_OPT_ADAGRAD, .lr = 0.1f, .state_sum = state};
    o.kind = (ek_optimizer_kind)7;
    CHECK_ERROR(ek_bag_backward_update(&t, &in, NULL, NULL, g, &o), EK_ERR_INVALID_ARGUMENT, "optimizer->kind=7");
    o.kind = EK_OPT_ADAGRAD, o.state_sum = NULL;
    CHECK_ERROR(ek_bag_backward_update(&t, &in, NULL, NULL, g, &o), EK_ERR_NULL_POINTER, "optimizer->state_sum is NULL");
    o.state_sum = state, o.eps = -1;
    CHECK_ERROR(ek_bag_backward_update(&t, &in, NULL, NULL, g, &o), EK_ERR_INVALID_ARGUMENT, "optimizer->eps=-1");
    o.eps = 0, o.kind = EK_OPT_ADAM, o.exp_avg = state, o.exp_avg_sq = state, o.beta1 = 0.9f, o.beta2 = 0.9f, o.eps = 1e-8f;
    CHECK_ERROR(ek_bag_backward_update(&t, &in, NULL, NULL, g, &o), EK_ERR_INVALID_ARGUMENT, "optimizer->step=0");
    o.step = 1, o.struct_size = 8;
    CHECK_ERROR(ek_bag_backward_update(&t, &in, NULL, NULL, g, &o), EK_ERR_INVALID_ARGUMENT, "optimizer->struct_size=8");
    o.struct_size = sizeof o;
    const int64_t bad[] = {0, 1, 4};
    in.indices = bad;
    CHECK_ERROR(ek_bag_backward_update(&t, &in, NULL, NULL, g, &o), EK_ERR_INDEX_OUT_OF_RANGE, "index 4 at position 2");
    CHECK_SAME_BYTES(w, keep, sizeof w);
    for (int i = 0; i < 8; i++) CHECK(state[i] == 0);
}

/* Indices but no bags (an offsets array of num_bags = 0 entries): no entry has a gradient,
 * grad_out may be NULL, and every backward verb succeeds and writes nothing (the fused SGD step
 * once called a source it had not set: found by fuzz_bag). fp32 and bf16 tables, every optimizer,
 * sum / mean / max. */
TEST(backward_without_bags_writes_nothing) {
    const int64_t idx[] = {0, 1, 3}, off[1] = {0}; /* none of it read */
    int64_t mx[1] = {0}, rows[3], nnz = -1;
    float values[3 * 2], gw[4 * 2] = {0}, state[8] = {0}, state2[8] = {0};
    for (int bf16 = 0; bf16 <= 1; bf16++)
        for (int mode = 0; mode < 3; mode++)
            for (int kind = 0; kind < 5; kind++) { /* 4: SGD with momentum */
                float w[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
                uint16_t h[4 * 2];
                CHECK_OK(ek_half_from_f32(EK_DTYPE_BF16, 8, w, h));
                float keep[8];
                uint16_t keep_h[8];
                memcpy(keep, w, sizeof w), memcpy(keep_h, h, sizeof h);
                ek_table t = {.struct_size = sizeof t, .rows = 4, .dim = 2,
                              .dtype = bf16 ? EK_DTYPE_BF16 : EK_DTYPE_F32, .data = bf16 ? (void *)h : (void *)w};
                ek_bag_input in = {.struct_size = sizeof in, .indices = idx, .num_indices = 3, .offsets = off, .num_bags = 0};
                ek_bag_options o = {.struct_size = sizeof o, .mode = (ek_bag_mode)mode};
                const int64_t *m = mode == EK_BAG_MAX ? mx : NULL;
                ek_optimizer opt = {.struct_size = sizeof opt, .kind = kind == 4 ? EK_OPT_SGD : (ek_optimizer_kind)kind,
                                    .lr = 0.5f, .eps = 1e-8f, .beta1 = 0.9f, .beta2 = 0.99f, .step = 1,
                                    .momentum = kind == 4 ? 0.9f : 0.0f, .momentum_buffer = state,
                                    .state_sum = state, .exp_avg = state, .exp_avg_sq = state2};
                CHECK_OK(ek_bag_backward_update(&t, &in, &o, m, NULL, &opt));
                if (!bf16) {
                    CHECK_OK(ek_bag_backward_dense(&t, &in, &o, m, NULL, gw));
                    CHECK_OK(ek_bag_backward_sparse(&t, &in, &o, m, NULL, rows, values, &nnz));
                    CHECK_EQ_I64(nnz, 0);
                    if (mode != EK_BAG_MAX) { /* per-sample weights: 0 for entries outside every bag */
                        const float psw[3] = {1, 2, 3};
                        float gpsw[3] = {9, 9, 9};
                        ek_bag_input wi = in;
                        wi.per_sample_weights = psw, wi.num_weights = 3;
                        CHECK_OK(ek_bag_per_sample_weights_backward(&t, &wi, &o, NULL, gpsw));
                        CHECK(gpsw[0] == 0 && gpsw[1] == 0 && gpsw[2] == 0);
                    }
                }
                CHECK_SAME_BYTES(w, keep, sizeof w);
                CHECK_SAME_BYTES(h, keep_h, sizeof h);
            }
    for (int i = 0; i < 8; i++) CHECK(gw[i] == 0 && state[i] == 0 && state2[i] == 0);
}

TEST(descriptor_rules) {
    float w[4] = {1, 2, 3, 4}, out[4];
    const int64_t idx[] = {1, 0}, off[] = {0};
    ek_table t = {.struct_size = sizeof(ek_table), .rows = 2, .dim = 2, .data = w};
    ek_bag_input in = {.struct_size = sizeof(ek_bag_input), .indices = idx, .num_indices = 2};
    CHECK_OK(ek_lookup_forward(&t, &in, out));
    CHECK(out[0] == 3 && out[3] == 2);
    t.struct_size = 0;
    CHECK_ERROR(ek_lookup_forward(&t, &in, out), EK_ERR_INVALID_ARGUMENT, "table->struct_size=0");
    t.struct_size = sizeof t + 8;
    CHECK_ERROR(ek_lookup_forward(&t, &in, out), EK_ERR_INVALID_ARGUMENT, "set .struct_size = sizeof(ek_table)");
    t.struct_size = sizeof t, t.dtype = (ek_dtype)6; /* fp16 / bf16 / quantized: test_half.c, test_quant.c */
    CHECK_ERROR(ek_lookup_forward(&t, &in, out), EK_ERR_INVALID_ARGUMENT, "table->dtype=6 is not supported");
    t.dtype = EK_DTYPE_F32, t.row_stride = 1; /* below dim; wider strides: test_row_stride.c */
    CHECK_ERROR(ek_lookup_forward(&t, &in, out), EK_ERR_INVALID_ARGUMENT, "table->row_stride=1");
    t.row_stride = 2;
    CHECK_OK(ek_lookup_forward(&t, &in, out));
    in.index_type = (ek_index_type)5;
    CHECK_ERROR(ek_lookup_forward(&t, &in, out), EK_ERR_INVALID_ARGUMENT, "input->index_type=5");
    in.index_type = EK_INDEX_I64, in.offsets = off;
    CHECK_ERROR(ek_lookup_forward(&t, &in, out), EK_ERR_INVALID_ARGUMENT, "input->offsets must be 0/NULL");
    in.offsets = NULL, in.has_padding = 2;
    CHECK_ERROR(ek_lookup_forward(&t, &in, out), EK_ERR_INVALID_ARGUMENT, "input->has_padding=2");
    in.has_padding = 0;
    CHECK_ERROR(ek_lookup_forward(&t, NULL, out), EK_ERR_NULL_POINTER, "input is NULL");
    ek_bag_options o = {.struct_size = sizeof o, .mode = EK_BAG_MEAN};
    CHECK_ERROR(ek_lookup_backward_dense(&t, &in, &o, out, w), EK_ERR_INVALID_ARGUMENT, "options->mode=1");
    /* a fixed-length bag input, and NULL options (sum) */
    in.num_bags = 1;
    CHECK_OK(ek_bag_forward(&t, &in, NULL, out, NULL, NULL));
    CHECK(out[0] == 4 && out[1] == 6);
}

TEST(rowwise_adagrad_hand_computed_and_reference) {
    float w[2] = {1, 2}, st[1] = {1.0f};
    const float g[2] = {3, 4};
    CHECK_OK(ek_rowwise_adagrad_update_f32(1, 2, 1, NULL, g, 0.5f, 0.01f, 0.1f, w, st));
    /* g' = g + 0.1 w = (3.1, 4.2); state = 1 + (3.1^2 + 4.2^2) / 2 = 14.625; m = 0.5 / (sqrt(state) + 0.01) */
    CHECK_MSG(fabsf(st[0] - 14.625f) < 1e-5f, "state %.9g", st[0]);
    CHECK_MSG(fabsf(w[0] - 0.5957504f) < 1e-6f && fabsf(w[1] - 1.452307f) < 1e-6f, "w %.9g %.9g", w[0], w[1]);

    ek_rng rng = {77};
    enum { RR = 64, DD = 37, NNZ = 40 };
    static float wt[RR * DD], wr[RR * DD], vals[NNZ * DD], s_t[RR], s_r[RR];
    int64_t rows[NNZ];
    for (int i = 0; i < NNZ; i++) rows[i] = i + (i > 20 ? 20 : 0);
    for (int i = 0; i < RR * DD; i++) wt[i] = wr[i] = ek_rng_float(&rng, -1, 1);
    for (int i = 0; i < NNZ * DD; i++) vals[i] = ek_rng_float(&rng, -1, 1);
    for (int i = 0; i < RR; i++) s_t[i] = s_r[i] = ek_rng_float(&rng, 0, 1);
    for (int threads = 1; threads <= 2; threads++) {
        ek_set_num_threads(threads);
        CHECK_OK(ek_rowwise_adagrad_update_f32(RR, DD, NNZ, rows, vals, 0.1f, 1e-8f, 0.01f, wt, s_t));
        ekref_rowwise_adagrad(DD, NNZ, rows, vals, 0.1f, 1e-8f, 0.01f, wr, s_r);
        CHECK_SAME_BYTES(wt, wr, sizeof wt);
        CHECK_SAME_BYTES(s_t, s_r, sizeof s_t);
    }
    ek_set_num_threads(1);
    CHECK_ERROR(ek_rowwise_adagrad_update_f32(RR, DD, NNZ, rows, vals, 0.1f, 1e-8f, 0.01f, wt, NULL), EK_ERR_NULL_POINTER,
                "state_sum is NULL");
}
