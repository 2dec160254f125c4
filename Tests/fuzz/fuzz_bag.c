/* fuzz_bag.c — EmbeddingBag forward, dense and sparse backward, and the per-sample-weight gradient,
 * int64 and int32 indices/offsets (embeddingkit.h sections 5-6): offsets (valid, corrupted, NULL for
 * fixed-length bags), include_last_offset, per-sample weights and their count, every mode (and invalid
 * ones), padding, scale_grad_by_freq, max_indices (from the forward, or corrupted).
 *
 * Input: [flags] [num_embeddings] [dim] [num_indices] [num_bags] [mode] [offsets kind] [weights kind]
 *        [padding_idx] [scale_grad_by_freq] [forward options] [backward options] [offset corruption: 2]
 *        [max_indices corruption: 2] [nulls], then the indices, one step byte per offset, the weight
 *        table, the per-sample weights, grad_out and the initial grad_weight. */
#include "fuzz_common.h"

enum {
    S_WEIGHT, S_INDICES, S_OFFSETS, S_PSW, S_OUT, S_BAG_SIZE, S_MAX_INDICES, S_GRAD_OUT, S_GRAD_WEIGHT, S_OUT_ROWS,
    S_OUT_VALUES, S_OUT_NNZ, S_GRAD_WEIGHTS, S_COUNT
};

typedef struct {
    int64_t num, dim, n, B, num_weights, padding_idx;
    ek_bag_mode mode;
    int32_t ilo, scale;
    int32_t ilo_arg; /* the include_last_offset passed: ilo, or 1 in 16 a value that is not 0 or 1 */
    int wild;
} bag_args;

static const float *g_weight, *g_grad_out; /* printed with the arguments */

static void describe(const char *fn, int w32, const bag_args *a, const int64_t *ix, const void *offsets,
                     const int64_t *ox, const float *psw) {
    fz_ctx_set("%s_%s(num_embeddings=%lld, dim=%lld, num_indices=%lld, num_bags=%lld, num_weights=%lld, "
               "include_last_offset=%d, mode=%d, padding_idx=%lld, scale_grad_by_freq=%d, per_sample_weights=%s, "
               "offsets=%s)",
               fn, w32 ? "i32" : "i64", (long long)a->num, (long long)a->dim, (long long)a->n, (long long)a->B,
               (long long)a->num_weights, (int)a->ilo_arg, (int)a->mode, (long long)a->padding_idx, (int)a->scale,
               psw ? "set" : "NULL", offsets ? "set" : "NULL");
    if (a->wild) return; /* sizes are not printable products then */
    fz_ctx_i64s("indices", ix, a->n);
    if (offsets) fz_ctx_i64s("offsets", ox, a->B + a->ilo);
    if (psw) fz_ctx_f32s("per_sample_weights", psw, a->n);
    fz_ctx_f32s("weight", g_weight, a->num * a->dim);
    fz_ctx_f32s("grad_out", g_grad_out, a->B * a->dim);
}

/* The checks every bag kernel makes on the shared bag arguments (check_bag_call in the header's
 * terms), for the pointers actually passed. Sets *bags_ok when the bags are well formed. */
static fz_mask expect_bag_call(const bag_args *a, int w32, const void *p_idx, const int64_t *ix, const void *p_off,
                               const int64_t *ox, const float *p_psw, int *bags_ok, int64_t *pad) {
    fz_mask m = 0;
    int64_t esz = w32 ? 4 : 8;
    fz_need_size(&m, a->num, 0), fz_need_size(&m, a->dim, 1), fz_need_size(&m, a->n, 0), fz_need_size(&m, a->B, 0);
    fz_need_bytes(&m, a->num, a->dim, 4), fz_need_bytes(&m, a->B, a->dim, 4);
    fz_need_int_bytes(&m, a->n, 1, esz);
    if (p_off) /* B + include_last_offset entries (finding F5: the kernel counted B) */
        fz_need_int_bytes(&m, a->B < INT64_MAX && !fz_allowed("bag-offsets-count") ? a->B + a->ilo : a->B, 1, esz);
    if ((unsigned)a->mode > EK_BAG_MAX) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
    fz_need_flag(&m, a->ilo_arg);
    if (p_psw && a->mode == EK_BAG_MAX) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
    if (!p_psw && a->num_weights != 0) m |= FZ_BIT(EK_ERR_NULL_POINTER);
    if (p_psw && a->num_weights != a->n) m |= FZ_BIT(EK_ERR_SHAPE);
    fz_need_ptr(&m, p_idx, a->n, 1);
    *bags_ok = 0;
    if (!p_off) {
        if (a->ilo) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
        else if (a->B == 0 ? a->n != 0 : a->B > 0 && a->n % a->B != 0) m |= FZ_BIT(EK_ERR_SHAPE);
        else *bags_ok = 1;
    } else if (!a->wild) {
        int64_t count = a->B + a->ilo;
        int ok = 1;
        for (int64_t i = 0; i < count; i++)
            if ((i == 0 && ox[i] != 0) || (i > 0 && ox[i] < ox[i - 1]) || ox[i] > a->n) ok = 0;
        if (a->ilo && ox[a->B] != a->n) ok = 0;
        if (!ok) m |= FZ_BIT(EK_ERR_SHAPE);
        *bags_ok = ok;
    }
    if (!a->wild && p_idx)
        for (int64_t i = 0; i < a->n; i++)
            if (ix[i] < 0 || ix[i] >= a->num) m |= FZ_BIT(EK_ERR_INDEX_OUT_OF_RANGE);
    fz_need_padding(&m, a->padding_idx, a->num, pad);
    return m;
}

/* CSR boundaries (B + 1) of well-formed bags, for the reference. */
static void make_csr(const bag_args *a, const void *p_off, const int64_t *ox, int64_t *csr) {
    for (int64_t b = 0; b < a->B; b++) csr[b] = p_off ? ox[b] : b * (a->n / a->B);
    csr[a->B] = a->n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in f = fz_begin(data, size);
    bag_args a = {0};
    a.num = fz_size(&f, 64, &a.wild), a.dim = fz_size(&f, 16, &a.wild);
    a.n = fz_size(&f, 255, &a.wild), a.B = fz_size(&f, 64, &a.wild);
    uint8_t mode_b = fz_u8(&f), okind = fz_u8(&f), wkind = fz_u8(&f);
    static const int32_t bad_modes[4] = {3, -1, 100, INT32_MIN};
    a.mode = (ek_bag_mode)(mode_b < 0xF0 ? mode_b % 3 : bad_modes[mode_b & 3]);
    int has_offsets = (okind & 3) != 0;
    a.ilo = has_offsets ? (okind >> 2) & 1 : ((okind >> 2) & 15) == 15;
    if (!has_offsets && !a.wild && (okind & 0x40) && a.B > 0) a.n = a.B * (a.n % 8); /* fixed-length bags that fit */
    a.padding_idx = fz_padding(&f, a.num);
    a.scale = fz_flag(&f);
    a.ilo_arg = ((okind >> 4) & 7) == 5 ? (okind & 0x80 ? -1 : 2) : a.ilo; /* 1 in 8: a flag that is not 0 or 1 */
    uint8_t fwd_opts = fz_u8(&f), bwd_opts = fz_u8(&f);
    uint8_t ocorrupt = fz_u8(&f), ovalue = fz_u8(&f), mcorrupt = fz_u8(&f), mvalue = fz_u8(&f);
    fz_nulls z = fz_decode_nulls(&f, S_COUNT);
    int has_psw = (wkind & 3) == 1 || (wkind & 3) == 2;
    switch (a.wild ? 0 : (wkind >> 2) & 15) { /* num_weights: usually right, 1 in 4 wrong */
    case 12: a.num_weights = has_psw ? a.n + 1 : a.n; break;
    case 13: a.num_weights = has_psw ? a.n - 1 : 1; break;
    case 14: a.num_weights = -1; break;
    case 15: a.num_weights = INT64_MIN; break;
    default: a.num_weights = has_psw ? a.n : 0;
    }
    if (a.wild) a.num_weights = has_psw ? FZ_DUMMY : 0;

    /* buffers */
    int64_t W = a.wild ? FZ_DUMMY : a.num * a.dim, N = a.wild ? FZ_DUMMY : a.n;
    int64_t BD = a.wild ? FZ_DUMMY : a.B * a.dim, OC = a.wild ? FZ_DUMMY : a.B + a.ilo;
    int64_t ND = a.wild ? FZ_DUMMY : a.n * a.dim, BB = a.wild ? FZ_DUMMY : a.B;
    fz_bufs R = {0};
    int64_t *idx64 = fz_alloc(&R, "indices(i64)", 8 * (size_t)N, 1);
    int32_t *idx32 = fz_alloc(&R, "indices(i32)", 4 * (size_t)N, 1);
    int64_t *off64 = fz_alloc(&R, "offsets(i64)", 8 * (size_t)OC, 1);
    int32_t *off32 = fz_alloc(&R, "offsets(i32)", 4 * (size_t)OC, 1);
    float *weight = fz_alloc(&R, "weight", 4 * (size_t)W, 1);
    float *psw = fz_alloc(&R, "per_sample_weights", 4 * (size_t)N, 1);
    float *grad_out = fz_alloc(&R, "grad_out", 4 * (size_t)BD, 1);
    int64_t *bwd_max = fz_alloc(&R, "max_indices(backward)", 8 * (size_t)BD, 1);
    float *out = fz_alloc(&R, "out", 4 * (size_t)BD, 0);
    int64_t *bag_size = fz_alloc(&R, "bag_size", 8 * (size_t)BB, 0);
    int64_t *max_indices = fz_alloc(&R, "max_indices", 8 * (size_t)BD, 0);
    float *grad_weight = fz_alloc(&R, "grad_weight", 4 * (size_t)W, 0);
    int64_t *out_rows = fz_alloc(&R, "out_rows", 8 * (size_t)N, 0);
    float *out_values = fz_alloc(&R, "out_values", 4 * (size_t)ND, 0);
    int64_t *out_nnz = fz_alloc(&R, "out_nnz", 8, 0);
    float *grad_weights = fz_alloc(&R, "grad_weights", 4 * (size_t)N, 0);
    int64_t *wide_idx = calloc((size_t)N + 1, 8), *wide_off = calloc((size_t)OC + 1, 8);
    int64_t *csr = calloc((size_t)BB + 2, 8);
    if (!a.wild) {
        for (int64_t i = 0; i < a.n; i++) idx64[i] = fz_index(&f, a.num);
        for (int64_t i = 0; i < OC; i++) {
            uint8_t step = fz_u8(&f);
            int64_t o = i == 0 ? 0 : off64[i - 1] + step % 9;
            off64[i] = o > a.n ? a.n : o;
        }
        if (a.ilo && OC > 0) off64[a.B] = a.n;
        if (ocorrupt >= 0xC0 && OC > 0) {
            int64_t at = ocorrupt % OC, o = off64[at];
            static const int64_t two32 = INT64_C(1) << 32;
            const int64_t values[12] = {-1, a.n + 1, o - 1, o + 1, INT64_MIN, INT64_MAX, two32, two32 + o, a.n, 0,
                                        INT32_MAX, -two32 + o};
            off64[at] = values[ovalue % 12];
        }
        fz_floats(&f, weight, W);
        if (has_psw) fz_floats(&f, psw, N);
        fz_floats(&f, grad_out, BD);
        fz_floats(&f, grad_weight, W);
    } else {
        for (int64_t i = 0; i < FZ_DUMMY; i++) off64[i] = 0; /* all-zero offsets and indices look valid */
    }
    fz_narrow(idx64, idx32, wide_idx, N);
    float *ref_out = calloc((size_t)BD + 1, 4), *ref_gw = calloc((size_t)W + 1, 4), *ref_values = calloc((size_t)ND + 1, 4);
    float *ref_gws = calloc((size_t)N + 1, 4), *gws_scale = calloc((size_t)N + 1, 4);
    int64_t *ref_bag_size = calloc((size_t)BB + 1, 8), *ref_max = calloc((size_t)BD + 1, 8), *ref_rows = calloc((size_t)N + 1, 8);

    fz_narrow(off64, off32, wide_off, OC);
    /* max_indices for the backward: the forward's (when the int64 call is valid), maybe corrupted */
    for (int64_t i = 0; i < BD; i++) bwd_max[i] = -1;
    if (!a.wild && a.mode == EK_BAG_MAX) {
        int64_t pad;
        int bags_ok;
        fz_mask m = expect_bag_call(&a, 0, idx64, idx64, has_offsets ? off64 : NULL, off64, NULL, &bags_ok, &pad);
        if (m == 0) {
            make_csr(&a, has_offsets ? off64 : NULL, off64, csr);
            ekref_bag_forward(a.num, a.dim, a.n, a.B, weight, idx64, csr, NULL, EK_BAG_MAX, pad, ref_out, NULL, bwd_max);
        }
    }
    if (!a.wild && (mcorrupt & 3) == 3 && BD > 0) {
        const int64_t values[8] = {-2, a.num, a.num + 1, INT64_MIN, INT64_MAX, a.num > 0 ? mvalue % a.num : 0, -1, 0};
        bwd_max[(mcorrupt >> 2) % BD] = values[mvalue % 8];
    }
    fz_freeze(&R);
    g_weight = weight, g_grad_out = grad_out;
    int neg = a.num < 0 || a.dim < 1 || a.n < 0 || a.B < 0;
    /* A call with a wild size is made only when a size makes it invalid; then any error code will do. */

    for (int w32 = 0; w32 <= 1; w32++) {
        const int64_t *ix = w32 ? wide_idx : idx64; /* the values the kernel sees */
        const int64_t *ox = w32 ? wide_off : off64;
        const void *p_idx = fz_ptr(&z, S_INDICES, w32 ? (void *)idx32 : (void *)idx64, a.n);
        const void *p_off = has_offsets ? fz_ptr(&z, S_OFFSETS, w32 ? (void *)off32 : (void *)off64, OC) : NULL;
        const float *p_psw = has_psw ? fz_ptr(&z, S_PSW, psw, a.n) : NULL;
        float *p_w = fz_ptr(&z, S_WEIGHT, weight, fz_elems(a.num, a.dim));
        const float *p_g = fz_ptr(&z, S_GRAD_OUT, grad_out, fz_elems(a.B, a.dim));
        int bags_ok;
        int64_t pad;
        fz_mask call = expect_bag_call(&a, w32, p_idx, ix, p_off, ox, p_psw, &bags_ok, &pad);
        if (!a.wild && bags_ok) make_csr(&a, p_off, ox, csr);
        const float *ref_psw = p_psw ? p_psw : psw; /* never read when NULL; keeps the reference off NULL + 0 */

        /* ---- forward ---- */
        {
            int64_t *p_bs = (fwd_opts & 1) ? fz_ptr(&z, S_BAG_SIZE, bag_size, a.B) : NULL;
            int64_t *p_mx = NULL;
            if (a.mode == EK_BAG_MAX ? (fwd_opts & 2) != 0 : ((fwd_opts >> 2) & 15) == 15)
                p_mx = fz_ptr(&z, S_MAX_INDICES, max_indices, fz_elems(a.B, a.dim));
            float *p_out = fz_ptr(&z, S_OUT, out, fz_elems(a.B, a.dim));
            fz_mask m = call;
            if (p_bs) fz_need_int_bytes(&m, a.B, 1, 8);
            if (p_mx) fz_need_int_bytes(&m, a.B, a.dim, 8);
            fz_need_ptr(&m, p_w, a.num, a.dim), fz_need_ptr(&m, p_out, a.B, a.dim);
            if (p_mx && a.mode != EK_BAG_MAX) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
            if (!a.wild || neg || (m & FZ_BIT(EK_ERR_OVERFLOW))) {
                if (a.wild) m = FZ_ANY_ERROR;
                describe("ek_bag_forward", w32, &a, ix, p_off, ox, p_psw);
                fz_reset(&R);
                ek_status s = w32 ? pos_embedding_bag_forward_i32(a.num, a.dim, a.n, a.B, a.num_weights, p_w, p_idx, p_off,
                                                                     a.ilo_arg, p_psw, a.mode, a.padding_idx, p_out, p_bs, p_mx)
                                  : pos_embedding_bag_forward_i64(a.num, a.dim, a.n, a.B, a.num_weights, p_w, p_idx, p_off,
                                                                     a.ilo_arg, p_psw, a.mode, a.padding_idx, p_out, p_bs, p_mx);
                fz_check_status(s, m);
                fz_check_buffers(&R, s);
                if (s == EK_OK) {
                    ekref_bag_forward(a.num, a.dim, a.n, a.B, weight, ix, csr, p_psw ? ref_psw : NULL, a.mode, pad, ref_out,
                                      ref_bag_size, ref_max);
                    if (a.mode == EK_BAG_MAX) fz_same_f32("out", out, ref_out, a.B * a.dim);
                    else if (!f.any_special) fz_close("out", out, ref_out, a.B * a.dim, NULL);
                    if (p_bs) fz_same_i64("bag_size", bag_size, ref_bag_size, a.B);
                    if (p_mx) fz_same_i64("max_indices", max_indices, ref_max, a.B * a.dim);
                }
            }
        }

        /* ---- dense and sparse backward, and the sparse backward fused with an SGD step (sparse == 2:
         * grad_weight is the table it steps) ---- */
        for (int sparse = 0; sparse <= 2; sparse++) {
            const int64_t *p_mx = a.mode == EK_BAG_MAX || (bwd_opts & 16) ? fz_ptr(&z, S_MAX_INDICES, bwd_max, fz_elems(a.B, a.dim)) : NULL;
            float *p_gw = fz_ptr(&z, S_GRAD_WEIGHT, grad_weight, fz_elems(a.num, a.dim));
            int64_t *p_rows = fz_ptr(&z, S_OUT_ROWS, out_rows, a.n);
            float *p_values = fz_ptr(&z, S_OUT_VALUES, out_values, fz_elems(a.n, a.dim));
            int64_t *p_nnz = fz_ptr(&z, S_OUT_NNZ, out_nnz, 1);
            fz_mask m = call;
            fz_need_flag(&m, a.scale);
            fz_need_ptr(&m, p_g, a.B, a.dim);
            if (a.mode == EK_BAG_MAX) {
                if (a.scale) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
                fz_need_int_bytes(&m, a.B, a.dim, 8);
                fz_need_ptr(&m, p_mx, a.B, a.dim);
                if (p_mx && !a.wild)
                    for (int64_t i = 0; i < a.B * a.dim; i++)
                        if (p_mx[i] < -1 || p_mx[i] >= a.num) m |= FZ_BIT(EK_ERR_INDEX_OUT_OF_RANGE);
            }
            if (sparse == 1) {
                fz_need_int_bytes(&m, a.n, 1, 8);
                if (!fz_allowed("bag-out-values-bytes")) fz_need_bytes(&m, a.n, a.dim, 4); /* out_values */
                fz_need_ptr(&m, p_rows, a.n, 1), fz_need_ptr(&m, p_values, a.n, a.dim), fz_need_ptr(&m, p_nnz, 1, 1);
            } else {
                fz_need_ptr(&m, p_gw, a.num, a.dim);
            }
            if (a.wild && !(neg || (m & FZ_BIT(EK_ERR_OVERFLOW)))) continue;
            if (a.wild) m = FZ_ANY_ERROR;
            describe(sparse == 2   ? "ek_bag_backward_update (SGD)"
                     : sparse == 1 ? "ek_bag_backward_sparse"
                                   : "ek_bag_backward_dense",
                     w32, &a, ix, p_off, ox, p_psw);
            if (a.mode == EK_BAG_MAX && !a.wild) fz_ctx_i64s("max_indices", p_mx, a.B * a.dim);
            fz_reset(&R);
            ek_status s;
            if (sparse == 2)
                s = w32 ? pos_embedding_bag_backward_sgd_i32(a.num, a.dim, a.n, a.B, a.num_weights, p_idx, p_off, a.ilo_arg,
                                                                p_psw, a.mode, a.padding_idx, a.scale, p_mx, p_g, 0.5f, p_gw)
                        : pos_embedding_bag_backward_sgd_i64(a.num, a.dim, a.n, a.B, a.num_weights, p_idx, p_off, a.ilo_arg,
                                                                p_psw, a.mode, a.padding_idx, a.scale, p_mx, p_g, 0.5f, p_gw);
            else if (sparse)
                s = w32 ? pos_embedding_bag_backward_sparse_i32(a.num, a.dim, a.n, a.B, a.num_weights, p_idx, p_off, a.ilo_arg,
                                                                   p_psw, a.mode, a.padding_idx, a.scale, p_mx, p_g, p_rows,
                                                                   p_values, p_nnz)
                        : pos_embedding_bag_backward_sparse_i64(a.num, a.dim, a.n, a.B, a.num_weights, p_idx, p_off, a.ilo_arg,
                                                                   p_psw, a.mode, a.padding_idx, a.scale, p_mx, p_g, p_rows,
                                                                   p_values, p_nnz);
            else
                s = w32 ? pos_embedding_bag_backward_dense_i32(a.num, a.dim, a.n, a.B, a.num_weights, p_idx, p_off, a.ilo_arg,
                                                                  p_psw, a.mode, a.padding_idx, a.scale, p_mx, p_g, p_gw)
                        : pos_embedding_bag_backward_dense_i64(a.num, a.dim, a.n, a.B, a.num_weights, p_idx, p_off, a.ilo_arg,
                                                                  p_psw, a.mode, a.padding_idx, a.scale, p_mx, p_g, p_gw);
            fz_check_status(s, m);
            fz_check_buffers(&R, s);
            if (s != EK_OK) continue;
            if (sparse == 2 && !f.any_special) {
                int64_t nnz = ekref_bag_backward_sparse(a.num, a.dim, a.n, a.B, ix, csr, p_psw ? ref_psw : NULL, a.mode, pad,
                                                        a.scale, bwd_max, grad_out, ref_rows, ref_values);
                memcpy(ref_gw, fz_initial(&R, grad_weight), 4 * (size_t)(a.num * a.dim));
                ekref_coo_scatter_add(a.num, a.dim, nnz, ref_rows, ref_values, -0.5f, ref_gw);
                fz_close("stepped table", grad_weight, ref_gw, a.num * a.dim, NULL);
            } else if (sparse == 1) {
                int64_t nnz = ekref_bag_backward_sparse(a.num, a.dim, a.n, a.B, ix, csr, p_psw ? ref_psw : NULL, a.mode, pad,
                                                        a.scale, bwd_max, grad_out, ref_rows, ref_values);
                if (*out_nnz != nnz) fz_fail("*out_nnz = %lld, the reference gives %lld", (long long)*out_nnz, (long long)nnz);
                fz_same_i64("out_rows", out_rows, ref_rows, nnz);
                if (!f.any_special) fz_close("out_values", out_values, ref_values, nnz * a.dim, NULL);
                fz_still_poisoned("out_rows", out_rows, 8 * (size_t)nnz, 8 * (size_t)a.n);
                fz_still_poisoned("out_values", out_values, 4 * (size_t)(nnz * a.dim), 4 * (size_t)(a.n * a.dim));
            } else if (!f.any_special) {
                memcpy(ref_gw, fz_initial(&R, grad_weight), 4 * (size_t)(a.num * a.dim));
                ekref_bag_backward_dense(a.num, a.dim, a.n, a.B, ix, csr, p_psw ? ref_psw : NULL, a.mode, pad, a.scale,
                                         bwd_max, grad_out, ref_gw);
                fz_close("grad_weight", grad_weight, ref_gw, a.num * a.dim, NULL);
            }
        }

        /* ---- gradient of the per-sample weights ---- */
        {
            float *p_gws = fz_ptr(&z, S_GRAD_WEIGHTS, grad_weights, a.n);
            fz_mask m = call;
            fz_need_bytes(&m, a.n, 1, 4);
            if (a.mode == EK_BAG_MAX) m |= FZ_BIT(EK_ERR_INVALID_ARGUMENT);
            if (a.mode == EK_BAG_MEAN && !p_psw && a.n > 0) m |= FZ_BIT(EK_ERR_NULL_POINTER);
            fz_need_ptr(&m, p_w, a.num, a.dim), fz_need_ptr(&m, p_g, a.B, a.dim), fz_need_ptr(&m, p_gws, a.n, 1);
            if (!a.wild || neg || (m & FZ_BIT(EK_ERR_OVERFLOW))) {
                if (a.wild) m = FZ_ANY_ERROR;
                describe("ek_bag_per_sample_weights_backward", w32, &a, ix, p_off, ox, p_psw);
                fz_reset(&R);
                ek_status s = w32 ? pos_embedding_bag_per_sample_weights_backward_i32(
                                        a.num, a.dim, a.n, a.B, a.num_weights, p_w, p_idx, p_off, a.ilo_arg, p_psw, a.mode,
                                        a.padding_idx, p_g, p_gws)
                                  : pos_embedding_bag_per_sample_weights_backward_i64(
                                        a.num, a.dim, a.n, a.B, a.num_weights, p_w, p_idx, p_off, a.ilo_arg, p_psw, a.mode,
                                        a.padding_idx, p_g, p_gws);
                fz_check_status(s, m);
                fz_check_buffers(&R, s);
                if (s == EK_OK && !f.any_special) {
                    ekref_bag_weights_backward(a.num, a.dim, a.n, a.B, weight, ix, csr, ref_psw, a.mode, pad, grad_out, ref_gws);
                    const float *scale = NULL;
                    if (a.mode == EK_BAG_MEAN) { /* dot(g, W_j - mean) / Σw cancels: allow for the terms' size */
                        for (int64_t b = 0; b < a.B; b++) {
                            double wsum = 0.0;
                            for (int64_t j = csr[b]; j < csr[b + 1]; j++)
                                if (ix[j] != pad) wsum += ref_psw[j];
                            for (int64_t j = csr[b]; j < csr[b + 1]; j++) {
                                double t = 0.0;
                                for (int64_t d = 0; d < a.dim; d++) {
                                    double mean_mag = 0.0;
                                    for (int64_t k = csr[b]; k < csr[b + 1]; k++)
                                        if (ix[k] != pad) mean_mag += fabs((double)ref_psw[k] * weight[ix[k] * a.dim + d]);
                                    t += fabs((double)grad_out[b * a.dim + d]) *
                                         (fabs((double)weight[ix[j] * a.dim + d]) + (wsum != 0.0 ? mean_mag / fabs(wsum) : 0.0));
                                }
                                gws_scale[j] = wsum != 0.0 ? (float)(t / fabs(wsum)) : 0.0f;
                            }
                        }
                        scale = gws_scale;
                    }
                    fz_close("grad_weights", grad_weights, ref_gws, a.n, scale);
                }
            }
        }
    }
    free(wide_idx), free(wide_off), free(csr), free(ref_out), free(ref_gw), free(ref_values), free(ref_gws), free(gws_scale);
    free(ref_bag_size), free(ref_max), free(ref_rows);
    fz_free_all(&R);
    return 0;
}
