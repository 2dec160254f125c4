/* tuning.h — the machine-dependent constants chosen at run time (tuning.c; ek_set_tuning in the
 * public header). Internal. */
#ifndef EK_TUNING_H
#define EK_TUNING_H

#include <stddef.h>
#include <stdint.h>

/* The bag forward's prefetch distance in rows (ek_set_tuning, else EK_BAG_PREFETCH_ROWS, else the
 * CPU's rule). Read once per call. */
int64_t eki_bag_prefetch_rows(void);
/* The distance for a bag forward (and the scatter-add, scatter.c) that reads row_elems elements of
 * elem_bytes of each row per pass, rows row_stride_elems elements apart in a table at `table`.
 * eki_bag_prefetch_rows() counts 256-byte rows (4 cache lines: the W2 row its rules were measured
 * on); this keeps as many lines in flight: 4 / (the row's mean lines) times as many rows, at least 1
 * (0 stays 0: no prefetch). Any sizes (no overflow). */
int64_t eki_bag_prefetch_rows_for(int64_t row_elems, int64_t elem_bytes, int64_t row_stride_elems, const void *table);
/* Below this much work (entries x dim) the scatter-adds stay serial (scatter.c). */
int64_t eki_scatter_min_work(void);
/* Outputs of at least this many bytes get non-temporal stores (EKI_STREAM_MIN_BYTES, isa.h). */
size_t eki_stream_min_bytes(void);
/* An environment value: a decimal integer in [min, max] (the whole string), else -1 (ignored). */
int64_t eki_parse_tuning_value(const char *s, int64_t min, int64_t max);

#endif
