/* quant.c — bag sum over row-wise quantized tables (issue 18, WORKLOADS.md v2): W10 (8-bit rows,
 * 72 bytes each) against torch.ops.quantized.embedding_bag_byte_rowwise_offsets, W10-fp32 (W10's EK
 * figure against PyTorch's fp32 W2: the bytes saved must show as time) and W11 (4-bit rows, 36 bytes)
 * against embedding_bag_4bit_rowwise_offsets. The table is W2's, prepacked with ek_quantize (the same
 * bytes PyTorch's prepack gives, so the peer's table is the same); throughput is GB/s of packed rows. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct {
    const bench_workload *w;
    bench_table_inputs in;
    ek_dtype dtype;
    int64_t row_bytes;
    uint8_t *packed;
    float *out;
} qbag_data;

/* W11 and its -thp row: 4-bit; W10 and its rows: 8-bit */
static ek_dtype dtype_of(const bench_workload *w) { return strncmp(w->id, "W11", 3) == 0 ? EK_DTYPE_Q4 : EK_DTYPE_Q8; }

static void *qbag_setup(const bench_workload *w) {
    qbag_data *d = calloc(1, sizeof *d);
    d->w = w;
    d->dtype = dtype_of(w);
    bench_table_inputs_init(&d->in, w, 0);
    bench_ok(ek_quant_row_bytes(d->dtype, w->dim, &d->row_bytes), "ek_quant_row_bytes");
    d->packed = bench_table_alloc(w->rows * d->row_bytes, 1); /* the tables' policy: ek_alloc */
    bench_ok(ek_quantize(d->dtype, w->rows, w->dim, d->in.table, d->packed), "ek_quantize");
    d->out = ALLOC(float, w->bags * w->dim);
    return d;
}

static void qbag_release(void *data) {
    qbag_data *d = data;
    bench_table_inputs_free(&d->in);
    bench_table_free(d->packed);
    free(d->out), free(d);
}

static void qbag_call(void *data, int b) {
    qbag_data *d = data;
    const bench_workload *w = d->w;
    ek_table t = {.struct_size = sizeof t, .rows = w->rows, .dim = w->dim, .dtype = d->dtype, .data = d->packed};
    ek_bag_input in = {.struct_size = sizeof in, .indices = d->in.idx[b], .num_indices = w->n,
                       .offsets = d->in.offsets, .num_bags = w->bags};
    bench_ok(ek_bag_forward(&t, &in, NULL, d->out, NULL, NULL), "ek_bag_forward (quantized)");
}

/* The reference: the scalar reference bag over the dequantised table (the header's rule: equal). */
static void qbag_check(void *data, const int *threads, int nthreads) {
    qbag_data *d = data;
    const bench_workload *w = d->w;
    int64_t cells = w->bags * w->dim;
    float *table = ALLOC(float, w->rows * w->dim), *ref = ALLOC(float, cells);
    bench_ok(ek_dequantize(d->dtype, w->rows, w->dim, d->packed, table), "ek_dequantize");
    ekref_bag_forward(w->rows, w->dim, w->n, w->bags, table, d->in.idx[0], d->in.csr, NULL, EK_BAG_SUM, -1, ref, NULL,
                      NULL);
    for (int k = 0; k < nthreads; k++) {
        ek_set_num_threads(threads[k]);
        memset(d->out, 0xff, sizeof(float) * (size_t)cells);
        qbag_call(d, 0);
        check_close(w->id, "output", threads[k], d->out, ref, cells, 1e-5, 1e-5);
    }
    free(table), free(ref);
}

/* Bytes of packed rows read per call: n rows of (64 + 8) or (32 + 4) bytes. */
static double work_packed_rows(const bench_workload *w) {
    int64_t rb = 0;
    ek_quant_row_bytes(dtype_of(w), w->dim, &rb);
    return (double)w->n * (double)rb;
}

#define QBAG_ROW                                                                                              \
    .rows = 1000000, .dim = 64, .n = 4096 * 40, .bags = 4096, .mode = EK_BAG_SUM, .unit = UNIT_BYTES,         \
    .share = SHARE_NONE, .work = work_packed_rows
#define QBAG_FUNCS .setup = qbag_setup, .call = qbag_call, .check = qbag_check, .release = qbag_release

static const bench_workload quant_workloads[] = {
    {.order = 100, .id = "W10", .name = "int8 rows, bag sum", .params = "W2, 8-bit row-wise table (72 B rows)",
     .peer_call = "quantized.embedding_bag_byte_rowwise_offsets", QBAG_ROW, .target_ratio = 1.5,
     .target_text = ">= 1.5x", .peer_id = "W10", QBAG_FUNCS},
    {.order = 102, .id = "W10-thp", .name = "int8 rows, PyTorch with huge pages", .params = "as W10",
     .peer_call = "quantized.embedding_bag_byte_rowwise_offsets, THP_MEM_ALLOC_ENABLE=1", QBAG_ROW,
     .target_text = "(info)", .peer_id = "W10+thp", .reuse_ek = "W10", .note = THP_NOTE},
    {.order = 101, .id = "W10-fp32", .name = "int8 rows vs fp32 W2", .params = "W10's EK time, PyTorch's W2 time",
     .peer_call = "F.embedding_bag(sum) fp32", QBAG_ROW, .target_ratio = 3.0, .target_text = ">= 3x PyTorch fp32 W2",
     .peer_id = "W2", .reuse_ek = "W10"},
    {.order = 110, .id = "W11", .name = "int4 rows, bag sum", .params = "W2, 4-bit row-wise table (36 B rows)",
     .peer_call = "quantized.embedding_bag_4bit_rowwise_offsets", QBAG_ROW, .target_ratio = 3.0,
     .target_text = ">= 3x", .peer_id = "W11", QBAG_FUNCS},
    {.order = 111, .id = "W11-thp", .name = "int4 rows, PyTorch with huge pages", .params = "as W11",
     .peer_call = "quantized.embedding_bag_4bit_rowwise_offsets, THP_MEM_ALLOC_ENABLE=1", QBAG_ROW,
     .target_text = "(info)", .peer_id = "W11+thp", .reuse_ek = "W11", .note = THP_NOTE},
};
BENCH_FAMILY(quant_workloads);
