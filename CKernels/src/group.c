/* group.c — stable grouping of positions by row (LSD radix sort). Every scatter in the library
 * (dense backward, coalesce, scatter-add, bag backward) goes through it, which is what makes the
 * scatters deterministic: one row's contributions are always added in input order, by one thread.
 *
 * Large inputs are sorted by T slots: slot t takes the t-th contiguous share of the entries, counts
 * its digits, and scatters its share to offsets laid out bucket by bucket, slot by slot inside a
 * bucket. Shares keep their input order, so every pass is the same stable counting sort as with one
 * slot: the order is identical for any thread count.
 *
 * Where rows and positions fit in 32 bits each (every table and batch in practice), an entry is one
 * 64-bit word, row << 32 | position, and the passes move half the bytes of a key array and a
 * position array. */
#include <string.h>

#include "internal.h"

/* Below this many entries one slot sorts (the regions would cost more than they save). */
#define GROUP_PARALLEL_MIN 16384

/* A few entries: an insertion sort (stable: an entry moves only past larger rows) is cheaper than
 * clearing and summing the radix passes' buckets (2 x 512 for 100k rows: most of a tiny fused
 * update's time; Benchmarks/README.md, "Call overhead (W0)"). Same order either way. */
enum { FEW = 32 };

static void insertion_sort(int64_t *keys, int64_t *order, int64_t kept) { /* order: NULL for packed keys */
    for (int64_t i = 1; i < kept; i++) {
        int64_t key = keys[i], pos = order ? order[i] : 0, j = i;
        for (; j > 0 && keys[j - 1] > key; j--) {
            keys[j] = keys[j - 1];
            if (order) order[j] = order[j - 1];
        }
        keys[j] = key;
        if (order) order[j] = pos;
    }
}

ek_status eki_group_by_row(const char *op, eki_index rows, int64_t n, int64_t num_rows, int64_t skip,
                           int64_t *order, int64_t *group_start, int64_t *group_row, int64_t *num_groups) {
    int bits = 1;
    while (bits < 63 && (INT64_C(1) << bits) < num_rows) bits++;
    int passes = (bits + 15) / 16;
    int digit_bits = (bits + passes - 1) / passes;
    int64_t buckets = INT64_C(1) << digit_bits;
    int few = n <= FEW;
    int T = n >= GROUP_PARALLEL_MIN ? eki_num_threads() : 1;

    /* keys, then the other buffer of the ping-pong; count[t * buckets + digit] per slot; kept_at[t]:
     * where slot t's kept entries start */
    size_t mark = eki_scratch_mark();
    const int packed = num_rows <= INT32_MAX && n <= (int64_t)UINT32_MAX;
    const int key_shift = packed ? 32 : 0;
    int64_t *keys = eki_scratch_alloc(sizeof(int64_t) * (size_t)(2 * n + 1));
    int64_t *tmp_pos = few || packed ? NULL : eki_scratch_alloc(sizeof(int64_t) * (size_t)(n + 1));
    int64_t *count = few ? NULL : eki_scratch_alloc(sizeof(int64_t) * (size_t)buckets * (size_t)T);
    int64_t *kept_at = eki_scratch_alloc(sizeof(int64_t) * (size_t)(T + 1));
    if (!keys || !kept_at || (!few && ((!packed && !tmp_pos) || !count))) {
        eki_scratch_release(mark);
        return eki_fail(EK_ERR_ALLOC, "%s: cannot allocate scratch for grouping %lld rows", op, (long long)n);
    }
    int64_t *tmp_keys = keys + n;

    /* the kept entries (row != skip), in input order; with several slots each share is counted
     * first, so that it knows where its entries go */
    kept_at[0] = 0;
    if (T > 1) {
        EKI_PARALLEL_FOR(T > 1, (static, 1),
        for (int t = 0; t < T; t++) {
            int64_t k = 0;
            for (int64_t i = eki_share(n, t, T), e = eki_share(n, t + 1, T); i < e; i++) k += eki_at(rows, i) != skip;
            kept_at[t + 1] = k;
        });
        for (int t = 0; t < T; t++) kept_at[t + 1] += kept_at[t];
    }
    EKI_PARALLEL_FOR(T > 1, (static, 1),
    for (int t = 0; t < T; t++) {
        int64_t at = kept_at[t];
        for (int64_t i = eki_share(n, t, T), e = eki_share(n, t + 1, T); i < e; i++) {
            int64_t r = eki_at(rows, i);
            if (r == skip) continue;
            if (packed) keys[at] = (int64_t)((uint64_t)r << 32 | (uint64_t)i);
            else keys[at] = r, order[at] = i;
            at++;
        }
        if (T == 1) kept_at[1] = at;
    });
    int64_t kept = kept_at[T];

    /* Each pass is a stable counting sort on one digit; ping-pong between the two buffers. */
    int64_t *src_k = keys, *src_p = packed ? NULL : order, *dst_k = tmp_keys, *dst_p = tmp_pos;
    if (few) insertion_sort(keys, src_p, kept); /* packed keys sort by row, then position: stable */
    for (int pass = 0; pass < (few ? 0 : passes); pass++) {
        int shift = key_shift + pass * digit_bits;
        const int64_t *sk = src_k, *sp = src_p;
        int64_t *dk = dst_k, *dp = dst_p;
        EKI_PARALLEL_FOR(T > 1, (static, 1),
        for (int t = 0; t < T; t++) {
            int64_t *c = count + (size_t)t * (size_t)buckets;
            memset(c, 0, sizeof(int64_t) * (size_t)buckets);
            for (int64_t i = eki_share(kept, t, T), e = eki_share(kept, t + 1, T); i < e; i++)
                c[(sk[i] >> shift) & (buckets - 1)]++;
        });
        int64_t at = 0; /* bucket by bucket, slot by slot: where each slot's run of a bucket starts */
        for (int64_t b = 0; b < buckets; b++)
            for (int t = 0; t < T; t++) {
                int64_t *c = count + (size_t)t * (size_t)buckets + b, here = *c;
                *c = at;
                at += here;
            }
        EKI_PARALLEL_FOR(T > 1, (static, 1),
        for (int t = 0; t < T; t++) {
            int64_t *c = count + (size_t)t * (size_t)buckets;
            for (int64_t i = eki_share(kept, t, T), e = eki_share(kept, t + 1, T); i < e; i++) {
                int64_t to = c[(sk[i] >> shift) & (buckets - 1)]++;
                dk[to] = sk[i];
                if (sp) dp[to] = sp[i];
            }
        });
        int64_t *swap = src_k; src_k = dst_k; dst_k = swap;
        swap = src_p; src_p = dst_p; dst_p = swap;
    }
    if (!packed && src_p != order) memcpy(order, src_p, sizeof(int64_t) * (size_t)kept);

    int64_t g = 0;
    for (int64_t i = 0; i < kept; i++) {
        int64_t row = src_k[i] >> key_shift;
        if (packed) order[i] = (int64_t)(uint32_t)src_k[i];
        if (i == 0 || row != src_k[i - 1] >> key_shift) {
            if (group_row) group_row[g] = row;
            group_start[g++] = i;
        }
    }
    group_start[g] = kept;
    *num_groups = g;

    eki_scratch_release(mark);
    return EK_OK;
}
