/* fuzz_quant.c — quantized tables (embeddingkit.h section 12, issue 18): ek_quantize, ek_dequantize,
 * ek_quant_validate, and ek_lookup_forward / ek_bag_forward on Q8 / Q4 / Q2 tables (and on dtypes
 * that are not: 6, -1, ...), int64 and int32 indices, every mode, weights, padding, include_last_offset,
 * row_stride 0, packed, padded or too short, packed bytes straight from the input (so NaN / Inf scales and biases).
 *
 * The forward verbs are checked differentially: the quantized call and the fp32 call on its
 * ek_dequantize table validate the same arguments, so they must return the same status; on success
 * the results must be equal bit for bit (NaN == NaN: the header's rule); on failure every buffer is as
 * it was. Prepack: non-finite input must fail, a failure writes nothing, a success passes
 * ek_quant_validate and dequantizes within one step (scale) of each finite input.
 *
 * Input: [flags] [dtype] [rows] [dim] [stride kind] [num_indices] [num_bags] [mode] [options]
 *        [padding_idx], then the indices, one step byte per offset, the float table, the per-sample
 *        weights, and the packed table's bytes. */
#include "fuzz_common.h"

static ek_dtype decode_dtype(uint8_t b) {
    static const int32_t others[4] = {6, -1, 100, 1}; /* not quantized (1: fp16, a valid dtype of another kind) */
    return (ek_dtype)(b < 0xF0 ? EK_DTYPE_Q8 + b % 3 : others[b & 3]);
}

static int64_t packed_row(ek_dtype dt, int64_t dim) {
    int bits = dt == EK_DTYPE_Q8 ? 8 : dt == EK_DTYPE_Q4 ? 4 : 2;
    return (dim * bits + 7) / 8 + (bits == 8 ? 8 : 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in f = fz_begin(data, size);
    ek_dtype dt = decode_dtype(fz_u8(&f));
    int quant = dt == EK_DTYPE_Q8 || dt == EK_DTYPE_Q4 || dt == EK_DTYPE_Q2;
    int64_t rows = fz_u8(&f) % 9, dim = 1 + fz_u8(&f) % 40;
    uint8_t skind = fz_u8(&f);
    int64_t n = fz_u8(&f) % 33, B = fz_u8(&f) % 6;
    uint8_t mode_b = fz_u8(&f), opt = fz_u8(&f);
    int64_t pad = fz_padding(&f, rows);
    ek_bag_mode mode = (ek_bag_mode)(mode_b < 0xF8 ? mode_b % 3 : 3);
    int w32 = opt & 1, has_psw = (opt >> 1) & 1, ilo = (opt >> 2) & 1, has_off = ((opt >> 3) & 3) != 0;
    int64_t rb = quant ? packed_row(dt, dim) : 4 * dim;
    /* quantized: 0, packed, too short, or padded (rows rb + 1..7 bytes apart); other dtypes (in
     * elements, within the buffer): 0, dim, dim - 1, negative */
    int sk = skind & 3;
    int64_t stride = quant ? (sk == 0 ? 0 : sk == 1 ? rb : sk == 2 ? rb - 1 : rb + 1 + (skind >> 2) % 7)
                           : (sk == 0 ? 0 : sk == 1 ? dim : sk == 2 ? dim - 1 : -1);

    int64_t *ix = calloc((size_t)n + 1, sizeof *ix), *ox = calloc((size_t)B + 2, sizeof *ox);
    int32_t *ix32 = calloc((size_t)n + 1, 4), *ox32 = calloc((size_t)B + 2, 4);
    for (int64_t i = 0; i < n; i++) ix[i] = fz_index(&f, rows), ix32[i] = (int32_t)ix[i];
    int64_t at = 0; /* offsets: steps from 0, 1 in 16 a corrupted one */
    for (int64_t b = 0; b < B + ilo; b++) {
        uint8_t s = fz_u8(&f);
        ox[b] = b == 0 && s < 0xF0 ? 0 : s >= 0xF0 ? (int64_t)(s & 15) - 4 : (at += s % 5);
        if (ox[b] > n && s < 0xF0) ox[b] = n;
        if (ilo && b == B && s < 0xF0) ox[b] = n;
        ox32[b] = (int32_t)ox[b];
    }
    float *src = calloc((size_t)(rows * dim) + 1, sizeof(float)), *psw = calloc((size_t)n + 1, sizeof(float));
    fz_floats(&f, src, rows * dim);
    fz_floats(&f, psw, n);
    uint8_t *packed = calloc((size_t)(rows * rb) + 1, 1);
    for (int64_t k = 0; k < rows * rb; k++) packed[k] = fz_u8(&f);
    float *deq = malloc(sizeof(float) * (size_t)(rows * dim + 1));
    fz_ctx_set("dtype=%d rows=%lld dim=%lld row_stride=%lld n=%lld B=%lld mode=%d int32=%d psw=%d ilo=%d offsets=%d pad=%lld",
               (int)dt, (long long)rows, (long long)dim, (long long)stride, (long long)n, (long long)B, (int)mode, w32,
               has_psw, ilo, has_off, (long long)pad);

    /* ---- prepack ---- */
    if (quant) {
        uint8_t *q = malloc((size_t)(rows * rb) + 1);
        memset(q, 0xA5, (size_t)(rows * rb) + 1);
        int finite = 1;
        for (int64_t k = 0; k < rows * dim; k++) finite &= isfinite(src[k]) != 0;
        ek_status s = ek_quantize(dt, rows, dim, src, q);
        if (!finite && s == EK_OK) fz_fail("ek_quantize accepted a non-finite value");
        if (s != EK_OK) {
            if (s != EK_ERR_INVALID_ARGUMENT || !*ek_last_error()) fz_fail("ek_quantize: %d \"%s\"", (int)s, ek_last_error());
            fz_still_poisoned("quantize dst", q, 0, (size_t)(rows * rb) + 1);
        } else {
            if (ek_quant_validate(dt, rows, dim, q) != EK_OK) fz_fail("prepacked table fails validation: %s", ek_last_error());
            if (ek_dequantize(dt, rows, dim, q, deq) != EK_OK) fz_fail("dequantize: %s", ek_last_error());
            for (int64_t r = 0; r < rows; r++) {
                float scale = 0;
                if (dt == EK_DTYPE_Q8) memcpy(&scale, q + r * rb + dim, 4);
                else { uint16_t h; memcpy(&h, q + r * rb + rb - 4, 2); scale = (float)ldexp((double)(h & 0x3ff) + (((h >> 10) & 31) ? 1024 : 0), (((h >> 10) & 31) ? ((h >> 10) & 31) : 1) - 25); }
                for (int64_t d = 0; d < dim; d++) {
                    double x = src[r * dim + d], e = fabs(deq[r * dim + d] - x);
                    if (!(e <= fabs(scale) * 1.0001 + 1e-3 * fabs(x) + 1e-8)) /* a step; fp16 bias rounding; Q8's 1e-8 */
                        fz_fail("row %lld col %lld: %.9g dequantizes to %.9g (scale %.9g)", (long long)r, (long long)d, x,
                                (double)deq[r * dim + d], (double)scale);
                }
            }
        }
        free(q);
    }

    /* ---- the forward verbs: quantized against fp32 on the dequantised table ---- */
    int deq_ok = quant && ek_dequantize(dt, rows, dim, packed, deq) == EK_OK;
    if (!deq_ok) memset(deq, 0, sizeof(float) * (size_t)(rows * dim + 1));
    int64_t nb = B;
    if (!has_off) n = B > 0 ? n - n % B : 0; /* fixed-length bags: N = B * L */
    size_t out_bytes = sizeof(float) * (size_t)((n > nb ? n : nb) * dim + 1);
    float *o1 = malloc(out_bytes), *o2 = malloc(out_bytes);
    int64_t *m1 = malloc(sizeof(int64_t) * (size_t)(nb * dim + 1)), *m2 = malloc(sizeof(int64_t) * (size_t)(nb * dim + 1));
    int64_t *bs1 = malloc(sizeof(int64_t) * (size_t)(nb + 1)), *bs2 = malloc(sizeof(int64_t) * (size_t)(nb + 1));
    /* a padded stride: the packed rows copied `stride` bytes apart, the gap 0xFF (never read) */
    uint8_t *wide = NULL;
    if (quant && stride > rb) {
        wide = malloc((size_t)(rows * stride) + 1);
        memset(wide, 0xFF, (size_t)(rows * stride) + 1);
        for (int64_t r = 0; r < rows; r++) memcpy(wide + r * stride, packed + r * rb, (size_t)rb);
    }
    ek_table tq = {.struct_size = sizeof tq, .rows = rows, .dim = dim, .dtype = dt, .row_stride = stride,
                   .data = wide ? wide : packed};
    /* the fp32 twin (dense): its stride is valid exactly when tq's is */
    int stride_ok = stride == 0 || stride >= rb;
    ek_table tf = {.struct_size = sizeof tf, .rows = rows, .dim = dim, .dtype = EK_DTYPE_F32,
                   .row_stride = stride_ok ? 0 : -1, .data = deq};
    for (int lookup = 0; lookup < 2; lookup++) {
        ek_bag_input in = {.struct_size = sizeof in, .index_type = w32 ? EK_INDEX_I32 : EK_INDEX_I64,
                           .indices = w32 ? (const void *)ix32 : (const void *)ix, .num_indices = n};
        if (!lookup) {
            in.offsets = has_off ? (w32 ? (const void *)ox32 : (const void *)ox) : NULL, in.num_bags = nb;
            in.include_last_offset = has_off ? ilo : 0;
            in.per_sample_weights = has_psw ? psw : NULL, in.num_weights = has_psw ? n : 0;
            in.has_padding = pad != EK_NO_PADDING, in.padding_idx = pad == EK_NO_PADDING ? 0 : pad;
        }
        ek_bag_options o = {.struct_size = sizeof o, .mode = mode};
        memset(o1, 0xA5, out_bytes), memset(o2, 0xA5, out_bytes);
        memset(m1, 0xA5, sizeof(int64_t) * (size_t)(nb * dim + 1)), memset(m2, 0xA5, sizeof(int64_t) * (size_t)(nb * dim + 1));
        int64_t *mi1 = mode == EK_BAG_MAX ? m1 : NULL, *mi2 = mode == EK_BAG_MAX ? m2 : NULL;
        ek_status sq = lookup ? ek_lookup_forward(&tq, &in, o1) : ek_bag_forward(&tq, &in, &o, o1, bs1, mi1);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ek_last_error());
        if (!quant) {
            if (sq == EK_OK && dt != EK_DTYPE_F16) fz_fail("dtype %d accepted", (int)dt);
            continue;
        }
        ek_status sf = lookup ? ek_lookup_forward(&tf, &in, o2) : ek_bag_forward(&tf, &in, &o, o2, bs2, mi2);
        if (sq != sf) fz_fail("%s: status %d (\"%s\") but the fp32 table gives %d (\"%s\")", lookup ? "lookup" : "bag",
                              (int)sq, msg, (int)sf, ek_last_error());
        int64_t outs = (lookup ? n : nb) * dim;
        if (sq == EK_OK) {
            fz_same_f32(lookup ? "lookup out" : "bag out", o1, o2, outs);
            if (!lookup) fz_same_i64("bag_size", bs1, bs2, nb);
            if (mi1) fz_same_i64("max_indices", m1, m2, nb * dim);
        } else {
            if (!*msg) fz_fail("an error without a message");
            fz_still_poisoned("out", o1, 0, out_bytes);
        }
    }
    free(ix), free(ox), free(ix32), free(ox32), free(src), free(psw), free(packed), free(wide), free(deq);
    free(o1), free(o2), free(m1), free(m2), free(bs1), free(bs2);
    return 0;
}
