/* group.c — stable grouping of positions by row (LSD radix sort). Every scatter in the library
 * (dense backward, coalesce, scatter-add, bag backward) goes through it, which is what makes the
 * scatters deterministic: one row's contributions are always added in input order, by one thread. */
#include <string.h>

#include "internal.h"

ek_status eki_group_by_row(const char *op, eki_index rows, int64_t n, int64_t num_rows, int64_t skip,
                           int64_t *order, int64_t *group_start, int64_t *group_row, int64_t *num_groups) {
    int bits = 1;
    while (bits < 63 && (INT64_C(1) << bits) < num_rows) bits++;
    int passes = (bits + 15) / 16;
    int digit_bits = (bits + passes - 1) / passes;
    int64_t buckets = INT64_C(1) << digit_bits;

    /* A few entries: an insertion sort (stable: an entry moves only past larger rows) is cheaper than
     * clearing and summing the radix passes' buckets (2 x 512 for 100k rows: most of a tiny fused
     * update's time; Benchmarks/README.md, "Call overhead (W0)"). Same order either way. */
    enum { FEW = 32 };
    int few = n <= FEW;
    size_t mark = eki_scratch_mark();
    int64_t *keys = eki_scratch_alloc(sizeof(int64_t) * (size_t)(2 * n + 1));
    int64_t *tmp_pos = few ? NULL : eki_scratch_alloc(sizeof(int64_t) * (size_t)(n + 1));
    int64_t *count = few ? NULL : eki_scratch_alloc(sizeof(int64_t) * (size_t)(buckets + 1));
    if (!keys || (!few && (!tmp_pos || !count))) {
        eki_scratch_release(mark);
        return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for grouping %lld rows", op, (long long)n);
    }
    int64_t *tmp_keys = keys + n;

    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = eki_at(rows, i);
        if (r == skip) continue;
        keys[kept] = r;
        order[kept] = i;
        kept++;
    }

    /* Each pass is a stable counting sort on one digit; ping-pong between the two buffers. */
    int64_t *src_k = keys, *src_p = order, *dst_k = tmp_keys, *dst_p = tmp_pos;
    if (few)
        for (int64_t i = 1; i < kept; i++) {
            int64_t key = keys[i], pos = order[i], j = i;
            for (; j > 0 && keys[j - 1] > key; j--) keys[j] = keys[j - 1], order[j] = order[j - 1];
            keys[j] = key, order[j] = pos;
        }
    for (int pass = 0; pass < (few ? 0 : passes); pass++) {
        int shift = pass * digit_bits;
        memset(count, 0, sizeof(int64_t) * (size_t)(buckets + 1));
        for (int64_t i = 0; i < kept; i++) count[((src_k[i] >> shift) & (buckets - 1)) + 1]++;
        for (int64_t b = 0; b < buckets; b++) count[b + 1] += count[b];
        for (int64_t i = 0; i < kept; i++) {
            int64_t at = count[(src_k[i] >> shift) & (buckets - 1)]++;
            dst_k[at] = src_k[i];
            dst_p[at] = src_p[i];
        }
        int64_t *t = src_k; src_k = dst_k; dst_k = t;
        t = src_p; src_p = dst_p; dst_p = t;
    }
    if (src_p != order) memcpy(order, src_p, sizeof(int64_t) * (size_t)kept);

    int64_t g = 0;
    for (int64_t i = 0; i < kept; i++)
        if (i == 0 || src_k[i] != src_k[i - 1]) {
            if (group_row) group_row[g] = src_k[i];
            group_start[g++] = i;
        }
    group_start[g] = kept;
    *num_groups = g;

    eki_scratch_release(mark);
    return EK_OK;
}
