/* test_dist.c — libembeddingkit_dist against the single-process core (run under mpirun, see run.sh).
 *
 *   ek_mpi_tests unit            every scheme x mode x optimizer on random shapes: forward and two
 *                                training steps against ek_bag_forward / ek_bag_backward_update on
 *                                the whole table over the global batch; bad input on one rank;
 *                                dense averaging. Prints "N passed, N failed" on rank 0.
 *   ek_mpi_tests digest          one fixed training run; rank 0 prints a hash of the outputs and
 *                                tables (run.sh compares two runs: bit-identical run to run)
 *   ek_mpi_tests save DIR        trains 2 steps, saves, writes DIR/expected*.bin (the tables now and
 *                                after one more step, gathered)
 *   ek_mpi_tests load DIR        loads (any rank count), compares with expected.bin exactly, takes the
 *                                third step and compares with expected-next.bin
 *   ek_mpi_tests die DIR         the last rank dies inside a save, after writing its shard (run.sh
 *                                expects mpirun to end the job, and the checkpoint in DIR to load as
 *                                before)
 *
 * The reference is the core library itself on one process (ek_bag_forward on the whole table over the
 * global batch): the distributed library must reproduce it, not some value derived from its own code.
 * Each rank builds the same global batch from a seed and takes its slice of bags. */
#define _POSIX_C_SOURCE 200809L /* _exit */
#include <embeddingkit_dist.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

static int rank_, size_, passed, failed;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) passed++;                                                    \
        else {                                                                 \
            failed++;                                                          \
            fprintf(stderr, "rank %d: FAIL %s:%d: ", rank_, __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, "\n");                                             \
        }                                                                      \
    } while (0)

/* ---- deterministic random numbers (the same on every rank) ------------------------------------ */
static uint64_t rng_state;
static uint64_t next_u64(void) {
    uint64_t x = (rng_state += 0x9E3779B97F4A7C15ULL);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}
static int64_t rand_int(int64_t n) { return (int64_t)(next_u64() % (uint64_t)n); }
static float rand_float(void) { return (float)(next_u64() >> 40) * 0x1p-24f * 2.0f - 1.0f; }

/* ---- a global batch and a rank's slice of it ------------------------------------------------------ */
typedef struct {
    int64_t bags, n;
    int64_t *offsets; /* bags + 1 */
    int64_t *ids;
    float *weights;   /* NULL: unweighted */
} batch;

static batch make_batch(int64_t rows, int64_t bags, int64_t fixed_len, int weighted, int64_t pad, int64_t maxlen) {
    batch g = {.bags = bags};
    g.offsets = calloc((size_t)bags + 1, sizeof(int64_t));
    for (int64_t b = 0; b < bags; b++) g.offsets[b + 1] = g.offsets[b] + (fixed_len >= 0 ? fixed_len : rand_int(maxlen > 0 ? maxlen + 1 : 6));
    g.n = g.offsets[bags];
    g.ids = calloc((size_t)g.n + 1, sizeof(int64_t));
    g.weights = weighted ? calloc((size_t)g.n + 1, sizeof(float)) : NULL;
    for (int64_t i = 0; i < g.n; i++) {
        /* repeats are likely (small tables), and a fifth of the entries are the padding row */
        g.ids[i] = pad >= 0 && rand_int(5) == 0 ? pad : rand_int(rows);
        if (weighted) g.weights[i] = rand_float() + 1.5f;
    }
    return g;
}

static void free_batch(batch *g) { free(g->offsets); free(g->ids); free(g->weights); }

/* A rank's share of the bags: contiguous, the first bags % size ranks one more. */
static void my_slice(int64_t bags, int r, int P, int64_t *b0, int64_t *b1) {
    int64_t q = bags / P, e = bags % P;
    *b0 = r * q + (r < e ? r : e);
    *b1 = *b0 + q + (r < e ? 1 : 0);
}

/* The rank's ek_bag_input for bags [b0, b1) in one of the layouts a caller may use:
 * format 0: int64 offsets; 1: int32 offsets with include_last_offset; 2: fixed length, no offsets. */
typedef struct {
    ek_bag_input in;
    void *ids, *offsets;
    float *w;
} local_input;

static local_input make_local(const batch *g, int64_t b0, int64_t b1, int format, int has_pad, int64_t pad_idx) {
    local_input L;
    memset(&L, 0, sizeof L);
    int64_t i0 = g->offsets[b0], n = g->offsets[b1] - i0, B = b1 - b0;
    int i32 = format == 1;
    L.ids = calloc((size_t)n + 1, i32 ? 4 : 8);
    for (int64_t i = 0; i < n; i++) {
        if (i32) ((int32_t *)L.ids)[i] = (int32_t)g->ids[i0 + i];
        else ((int64_t *)L.ids)[i] = g->ids[i0 + i];
    }
    if (format != 2) {
        L.offsets = calloc((size_t)B + 2, i32 ? 4 : 8);
        for (int64_t b = 0; b <= B; b++) {
            if (i32) ((int32_t *)L.offsets)[b] = (int32_t)(g->offsets[b0 + b] - i0);
            else ((int64_t *)L.offsets)[b] = g->offsets[b0 + b] - i0;
        }
    }
    if (g->weights) {
        L.w = calloc((size_t)n + 1, sizeof(float));
        memcpy(L.w, g->weights + i0, sizeof(float) * (size_t)n);
    }
    L.in = (ek_bag_input){.struct_size = sizeof(ek_bag_input), .index_type = i32 ? EK_INDEX_I32 : EK_INDEX_I64,
                          .indices = L.ids, .num_indices = n, .offsets = L.offsets, .num_bags = B,
                          .include_last_offset = format == 1, .per_sample_weights = L.w, .num_weights = L.w ? n : 0,
                          .has_padding = has_pad, .padding_idx = pad_idx};
    return L;
}

static void free_local(local_input *L) { free(L->ids); free(L->offsets); free(L->w); }

/* ---- comparisons ---------------------------------------------------------------------------------- */
/* 0 if equal within tol (relative to 1 + |want|; tol 0: bit for bit), else prints the first mismatch. */
static int compare(const char *what, const float *got, const float *want, int64_t n, double tol) {
    for (int64_t i = 0; i < n; i++) {
        int same = tol == 0 ? memcmp(&got[i], &want[i], sizeof(float)) == 0
                            : fabs((double)got[i] - (double)want[i]) <= tol * (1.0 + fabs((double)want[i]));
        if (!same) {
            fprintf(stderr, "rank %d: %s[%lld]: got %.9g, want %.9g (tol %g)\n", rank_, what, (long long)i,
                    (double)got[i], (double)want[i], tol);
            return 1;
        }
    }
    return 0;
}

static const char *scheme_name[] = {"table-wise", "row-wise", "column-wise"};
static const char *mode_name[] = {"sum", "mean", "max"};
static const char *opt_name[] = {"sgd", "adagrad", "rowwise-adagrad", "adam"};

static ek_optimizer make_opt(int kind) {
    ek_optimizer o = {.struct_size = sizeof(ek_optimizer), .kind = (ek_optimizer_kind)kind, .lr = 0.1f, .eps = 1e-8f};
    if (kind == EK_OPT_SGD) { o.momentum = 0.9f; o.weight_decay = 0.01f; }
    if (kind == EK_OPT_ADAM) { o.lr = 0.01f; o.beta1 = 0.9f; o.beta2 = 0.999f; o.eps = 1e-6f; }
    return o;
}

/* ---- one case: a collection of up to MAXT tables, two training steps, against the core ----------- */
#define MAXT 6
typedef struct {
    int ntab;
    ekd_table_config cfg[MAXT];
    int opt_kind;
    int format, weighted, has_pad;
    int64_t bags;
    int64_t maxlen; /* bag lengths 0..maxlen (0: 0..5) */
    int dedup;      /* the second run deduplicates ids (must be bit-identical to the first) */
} case_spec;

/* Runs the case through the distributed library: outputs (this rank's rows, both steps) and the
 * gathered tables after each step go into res. */
typedef struct {
    float *out[2];
    float *table[2][MAXT];
    int64_t id_bytes;  /* ekd_get_traffic's id_bytes over both steps, summed over the ranks */
} case_result;

static int64_t pad_of(const case_spec *cs, int t) { return cs->has_pad ? (int64_t)(cs->cfg[t].rows / 2) : -1; }

static void gen_step(const case_spec *cs, uint64_t seed, int step, batch *g, float **grad, int64_t total_dim) {
    rng_state = seed * 1000 + (uint64_t)step;
    int64_t fixed = cs->format == 2 ? 1 + rand_int(3) : -1;
    for (int t = 0; t < cs->ntab; t++)
        g[t] = make_batch(cs->cfg[t].rows, cs->bags, fixed, cs->weighted && cs->cfg[t].mode != EK_BAG_MAX, pad_of(cs, t), cs->maxlen);
    *grad = calloc((size_t)(cs->bags * total_dim) + 1, sizeof(float));
    for (int64_t i = 0; i < cs->bags * total_dim; i++) (*grad)[i] = rand_float();
}

static ek_status run_distributed(const case_spec *cs, uint64_t seed, int dedup, case_result *res) {
    ek_optimizer opt = make_opt(cs->opt_kind);
    ekd_collection *c = NULL;
    ek_status st = ekd_create(MPI_COMM_WORLD, cs->ntab, cs->cfg, &opt, &c);
    if (st != EK_OK) return st;
    ekd_init_uniform(c, seed, 0.5f);
    ekd_set_dedup(c, dedup);
    int64_t D = ekd_total_dim(c), b0, b1;
    my_slice(cs->bags, rank_, size_, &b0, &b1);
    for (int step = 0; step < 2 && st == EK_OK; step++) {
        batch g[MAXT];
        float *grad;
        gen_step(cs, seed, step, g, &grad, D);
        local_input L[MAXT];
        ek_bag_input in[MAXT];
        for (int t = 0; t < cs->ntab; t++) {
            /* odd ranks name the padding row by its negative alias (it wraps, as PyTorch) */
            int64_t p = pad_of(cs, t), alias = rank_ % 2 ? p - cs->cfg[t].rows : p;
            L[t] = make_local(&g[t], b0, b1, cs->format, cs->has_pad, alias);
            in[t] = L[t].in;
        }
        res->out[step] = calloc((size_t)((b1 - b0) * D) + 1, sizeof(float));
        st = ekd_forward(c, in, res->out[step]);
        if (st == EK_OK) st = ekd_backward_update(c, grad + b0 * D);
        for (int t = 0; t < cs->ntab && st == EK_OK; t++) {
            res->table[step][t] = calloc((size_t)(cs->cfg[t].rows * cs->cfg[t].dim), sizeof(float));
            st = ekd_get_table(c, t, res->table[step][t]);
        }
        for (int t = 0; t < cs->ntab; t++) { free_local(&L[t]); free_batch(&g[t]); }
        free(grad);
    }
    ekd_traffic tr;
    ekd_get_traffic(c, &tr);
    MPI_Allreduce(&tr.id_bytes, &res->id_bytes, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    ekd_free(c);
    return st;
}

static void free_result(const case_spec *cs, case_result *r) {
    for (int s = 0; s < 2; s++) {
        free(r->out[s]);
        for (int t = 0; t < cs->ntab; t++) free(r->table[s][t]);
    }
    memset(r, 0, sizeof *r);
}

/* The same two steps on one process with the core: whole tables, the global batch. */
static void run_reference(const case_spec *cs, uint64_t seed, case_result *ref) {
    int64_t D = 0;
    for (int t = 0; t < cs->ntab; t++) D += cs->cfg[t].dim;
    float *W[MAXT], *S1[MAXT], *S2[MAXT];
    for (int t = 0; t < cs->ntab; t++) {
        int64_t n = cs->cfg[t].rows * cs->cfg[t].dim;
        W[t] = calloc((size_t)n, sizeof(float));
        S1[t] = calloc((size_t)n, sizeof(float));
        S2[t] = calloc((size_t)n, sizeof(float));
    }
    /* initial weights: a one-process collection on MPI_COMM_SELF, gathered (ekd_init_uniform's values
     * depend on (seed, table, row, column) only; test_init checks that every sharding agrees) */
    ek_optimizer opt0 = make_opt(cs->opt_kind);
    ekd_collection *one = NULL;
    ekd_create(MPI_COMM_SELF, cs->ntab, cs->cfg, &opt0, &one);
    ekd_init_uniform(one, seed, 0.5f);
    for (int t = 0; t < cs->ntab; t++) ekd_get_table(one, t, W[t]);
    ekd_free(one);

    int64_t b0, b1;
    my_slice(cs->bags, rank_, size_, &b0, &b1);
    for (int step = 0; step < 2; step++) {
        batch g[MAXT];
        float *grad;
        gen_step(cs, seed, step, g, &grad, D);
        float *out = calloc((size_t)(cs->bags * D) + 1, sizeof(float));
        ref->out[step] = calloc((size_t)((b1 - b0) * D) + 1, sizeof(float));
        int64_t col = 0;
        for (int t = 0; t < cs->ntab; t++) {
            int64_t d = cs->cfg[t].dim;
            ek_table tab = {.struct_size = sizeof(ek_table), .rows = cs->cfg[t].rows, .dim = d, .data = W[t]};
            ek_bag_input in = {.struct_size = sizeof(ek_bag_input), .indices = g[t].ids, .num_indices = g[t].n,
                               .offsets = g[t].offsets, .num_bags = cs->bags, .include_last_offset = 1,
                               .per_sample_weights = g[t].weights, .num_weights = g[t].weights ? g[t].n : 0,
                               .has_padding = cs->has_pad, .padding_idx = pad_of(cs, t)};
            ek_bag_options o = {.struct_size = sizeof(ek_bag_options), .mode = cs->cfg[t].mode,
                                .scale_grad_by_freq = cs->cfg[t].scale_grad_by_freq};
            float *pt = calloc((size_t)(cs->bags * d) + 1, sizeof(float));
            int64_t *mi = calloc((size_t)(cs->bags * d) + 1, sizeof(int64_t));
            ek_status st = ek_bag_forward(&tab, &in, &o, pt, NULL, o.mode == EK_BAG_MAX ? mi : NULL);
            if (st != EK_OK) fprintf(stderr, "reference forward: %s\n", ek_last_error());
            float *gt = calloc((size_t)(cs->bags * d) + 1, sizeof(float));
            for (int64_t b = 0; b < cs->bags; b++) {
                memcpy(out + b * D + col, pt + b * d, sizeof(float) * (size_t)d);
                memcpy(gt + b * d, grad + b * D + col, sizeof(float) * (size_t)d);
            }
            ek_optimizer opt = make_opt(cs->opt_kind);
            opt.step = step + 1;
            opt.momentum_buffer = S1[t]; opt.state_sum = S1[t]; opt.exp_avg = S1[t]; opt.exp_avg_sq = S2[t];
            st = ek_bag_backward_update(&tab, &in, &o, o.mode == EK_BAG_MAX ? mi : NULL, gt, &opt);
            if (st != EK_OK) fprintf(stderr, "reference update: %s\n", ek_last_error());
            ref->table[step][t] = calloc((size_t)(cs->cfg[t].rows * d), sizeof(float));
            memcpy(ref->table[step][t], W[t], sizeof(float) * (size_t)(cs->cfg[t].rows * d));
            free(pt); free(mi); free(gt);
            col += d;
        }
        memcpy(ref->out[step], out + b0 * D, sizeof(float) * (size_t)((b1 - b0) * D));
        free(out);
        for (int t = 0; t < cs->ntab; t++) free_batch(&g[t]);
        free(grad);
    }
    for (int t = 0; t < cs->ntab; t++) { free(W[t]); free(S1[t]); free(S2[t]); }
}

/* Row-wise sum and mean add per-owner partial sums and divide at the source (mean's gradient too):
 * fp32 rounding, even on one rank. Table-wise, column-wise and row-wise max are exact. */
static int rowwise_rounding(const ekd_table_config *cfg) { return cfg->scheme == EKD_ROW_WISE && cfg->mode != EK_BAG_MAX; }
static double forward_tol(const ekd_table_config *cfg) { return rowwise_rounding(cfg) ? 1e-5 : 0; }

static int64_t g_plain_id_bytes, g_dedup_id_bytes;

static void test_case(const case_spec *cs, uint64_t seed) {
    char name[400];
    int len = snprintf(name, sizeof name, "seed %llu, %s, bags %lld, format %d%s%s:", (unsigned long long)seed,
                       opt_name[cs->opt_kind], (long long)cs->bags, cs->format, cs->weighted ? ", weighted" : "",
                       cs->has_pad ? ", padding" : "");
    for (int t = 0; t < cs->ntab && len < (int)sizeof name; t++)
        len += snprintf(name + len, sizeof name - (size_t)len, " [%s %s %lldx%lld]", scheme_name[cs->cfg[t].scheme],
                        mode_name[cs->cfg[t].mode], (long long)cs->cfg[t].rows, (long long)cs->cfg[t].dim);
    case_result a = {0}, b = {0}, ref = {0};
    ek_status st = run_distributed(cs, seed, 0, &a);
    CHECK(st == EK_OK, "%s: %s", name, ekd_last_error());
    if (st != EK_OK) return;
    run_distributed(cs, seed, cs->dedup, &b);
    if (cs->dedup) { g_plain_id_bytes += a.id_bytes; g_dedup_id_bytes += b.id_bytes; }
    run_reference(cs, seed, &ref);
    int64_t b0, b1, D = 0;
    my_slice(cs->bags, rank_, size_, &b0, &b1);
    for (int t = 0; t < cs->ntab; t++) D += cs->cfg[t].dim;
    for (int step = 0; step < 2; step++) {
        /* forward: per table's columns, its own tolerance */
        int64_t col = 0;
        for (int t = 0; t < cs->ntab; t++) {
            int bad = 0;
            for (int64_t r = 0; r < b1 - b0 && !bad; r++)
                bad = compare("out", a.out[step] + r * D + col, ref.out[step] + r * D + col, cs->cfg[t].dim, forward_tol(&cs->cfg[t]));
            CHECK(!bad, "%s: step %d forward of table %d (%s) differs from the core", name, step, t, scheme_name[cs->cfg[t].scheme]);
            col += cs->cfg[t].dim;
        }
        CHECK(memcmp(a.out[step], b.out[step], sizeof(float) * (size_t)((b1 - b0) * D)) == 0,
              "%s: step %d forward not bit-identical run to run%s", name, step, cs->dedup ? " (the second with dedup)" : "");
        for (int t = 0; t < cs->ntab; t++) {
            int64_t n = cs->cfg[t].rows * cs->cfg[t].dim;
            /* row-wise mean gradients are divided at the source: one rounding apart */
            CHECK(!compare("table", a.table[step][t], ref.table[step][t], n, rowwise_rounding(&cs->cfg[t]) ? 1e-4 : 0),
                  "%s: step %d table %d (%s) after the update differs from the core", name, step, t, scheme_name[cs->cfg[t].scheme]);
            CHECK(memcmp(a.table[step][t], b.table[step][t], sizeof(float) * (size_t)n) == 0,
                  "%s: step %d table %d not bit-identical run to run%s", name, step, t, cs->dedup ? " (the second with dedup)" : "");
        }
    }
    free_result(cs, &a); free_result(cs, &b); free_result(cs, &ref);
}

static void test_random_cases(void) {
    int count = 0;
    for (int opt = 0; opt < 4; opt++)
        for (int mode = 0; mode < 3; mode++)
            for (int rep = 0; rep < 3; rep++) {
                uint64_t seed = (uint64_t)(opt * 100 + mode * 10 + rep + 1);
                rng_state = seed ^ 0xABCDEFULL;
                case_spec cs = {.ntab = 3, .opt_kind = opt, .format = (int)rand_int(3), .weighted = (int)rand_int(2),
                                .has_pad = (int)rand_int(2)};
                cs.bags = rand_int(4) == 0 ? rand_int(4) : 4 + rand_int(10);
                for (int t = 0; t < 3; t++) {
                    cs.cfg[t].scheme = (ekd_scheme)t;
                    if (opt == EK_OPT_ROWWISE_ADAGRAD && t == EKD_COLUMN_WISE) cs.cfg[t].scheme = EKD_ROW_WISE;
                    cs.cfg[t].mode = (ek_bag_mode)((mode + t) % 3);
                    cs.cfg[t].rows = 1 + rand_int(rand_int(3) == 0 ? 4 : 40); /* some with fewer rows than ranks */
                    cs.cfg[t].dim = 1 + rand_int(rand_int(3) == 0 ? 3 : 12);   /* some narrower than the rank count */
                    cs.cfg[t].scale_grad_by_freq = cs.cfg[t].mode != EK_BAG_MAX && rand_int(4) == 0;
                }
                test_case(&cs, seed);
                count++;
            }
    if (rank_ == 0) printf("random cases: %d collections x 2 steps on %d rank(s)\n", count, size_);
}

/* Property test: random collections (1..MAXT tables, any scheme and mode per table, rows 1..60 with
 * some fewer than the ranks, dims 1..16, bags 0..40 of lengths 0..maxlen with empty bags, weights,
 * padding, every optimizer, every input format) against the core on one process; the second run of
 * each case deduplicates ids and must give the same bits as the first (dedup changes bytes, never
 * results), and over all cases dedup must have sent fewer id bytes (small tables repeat ids). */
static void test_property(void) {
    const int cases = 40;
    for (int k = 0; k < cases; k++) {
        uint64_t seed = 5000 + (uint64_t)k;
        rng_state = seed ^ 0x5EEDULL;
        case_spec cs = {.ntab = 1 + (int)rand_int(MAXT), .opt_kind = (int)rand_int(4), .format = (int)rand_int(3),
                        .weighted = (int)rand_int(2), .has_pad = (int)rand_int(2), .dedup = 1};
        cs.bags = rand_int(5) == 0 ? rand_int(3) : 1 + rand_int(40);
        cs.maxlen = rand_int(2) ? 5 : 30;
        for (int t = 0; t < cs.ntab; t++) {
            cs.cfg[t].scheme = (ekd_scheme)rand_int(3);
            if (cs.opt_kind == EK_OPT_ROWWISE_ADAGRAD && cs.cfg[t].scheme == EKD_COLUMN_WISE) cs.cfg[t].scheme = EKD_ROW_WISE;
            cs.cfg[t].mode = (ek_bag_mode)rand_int(3);
            cs.cfg[t].rows = 1 + rand_int(rand_int(3) == 0 ? 4 : 60);
            cs.cfg[t].dim = 1 + rand_int(rand_int(3) == 0 ? 3 : 16);
            cs.cfg[t].scale_grad_by_freq = cs.cfg[t].mode != EK_BAG_MAX && rand_int(4) == 0;
        }
        test_case(&cs, seed);
    }
    if (size_ > 1)
        CHECK(g_dedup_id_bytes < g_plain_id_bytes, "dedup sent %lld id bytes, the plain path %lld: no saving",
              (long long)g_dedup_id_bytes, (long long)g_plain_id_bytes);
    if (rank_ == 0)
        printf("property: %d random collections x 2 steps on %d rank(s); id bytes plain %lld, dedup %lld\n", cases, size_,
               (long long)g_plain_id_bytes, (long long)g_dedup_id_bytes);
}

/* Large pooled rows (a source's rows for one owner >= 64 KiB: 4 x 152 dims x 600 bags / 4 ranks)
 * travel one exchange per table instead of one for all tables (ekd_batch_rows): that path against the
 * core too, with every scheme and mode, plain and deduplicated. */
static void test_large_rows(void) {
    case_spec cs = {.ntab = 3, .opt_kind = EK_OPT_ADAGRAD, .format = 0, .weighted = 1, .has_pad = 1, .bags = 600, .maxlen = 5,
                    .dedup = 1,
                    .cfg = {{.rows = 40, .dim = 64, .scheme = EKD_ROW_WISE, .mode = EK_BAG_SUM},
                            {.rows = 30, .dim = 48, .scheme = EKD_COLUMN_WISE, .mode = EK_BAG_MEAN},
                            {.rows = 9, .dim = 40, .scheme = EKD_ROW_WISE, .mode = EK_BAG_MAX}}};
    test_case(&cs, 777);
}

/* ekd_init_uniform gives every sharding the same table. */
static void test_init(void) {
    ekd_table_config cfg[3] = {{.rows = 7, .dim = 5, .scheme = EKD_TABLE_WISE},
                               {.rows = 7, .dim = 5, .scheme = EKD_ROW_WISE},
                               {.rows = 7, .dim = 5, .scheme = EKD_COLUMN_WISE}};
    ek_optimizer o = make_opt(EK_OPT_SGD);
    ekd_collection *c = NULL;
    CHECK(ekd_create(MPI_COMM_WORLD, 3, cfg, &o, &c) == EK_OK, "create: %s", ekd_last_error());
    if (!c) return;
    ekd_init_uniform(c, 42, 1.0f);
    float t[3][35];
    for (int i = 0; i < 3; i++) ekd_get_table(c, i, t[i]);
    /* the same seed and table number give the same values in every scheme: table 0's values are
     * (seed, 0, r, d); compare each with a one-rank collection's */
    ekd_collection *one = NULL;
    ekd_create(MPI_COMM_SELF, 3, cfg, &o, &one);
    ekd_init_uniform(one, 42, 1.0f);
    for (int i = 0; i < 3; i++) {
        float u[35];
        ekd_get_table(one, i, u);
        CHECK(!memcmp(t[i], u, sizeof u), "init: table %d differs between %d ranks and one", i, size_);
        int in_range = 1;
        for (int k = 0; k < 35; k++) in_range &= u[k] >= -1.0f && u[k] < 1.0f;
        CHECK(in_range, "init: table %d has values outside [-1, 1)", i);
    }
    ekd_free(one);
    ekd_free(c);
}

/* A bad index or offset on ONE rank is an error on EVERY rank, with the same message, and nothing
 * changes; the next good call works (no rank was left in a collective). */
static void test_bad_input(void) {
    ekd_table_config cfg[2] = {{.rows = 10, .dim = 3, .scheme = EKD_ROW_WISE}, {.rows = 6, .dim = 4, .scheme = EKD_TABLE_WISE}};
    ek_optimizer o = make_opt(EK_OPT_ADAGRAD);
    ekd_collection *c = NULL;
    if (ekd_create(MPI_COMM_WORLD, 2, cfg, &o, &c) != EK_OK) { CHECK(0, "create: %s", ekd_last_error()); return; }
    ekd_init_uniform(c, 7, 0.5f);
    float before[2][40] = {{0}}, after[2][40] = {{0}};
    for (int t = 0; t < 2; t++) ekd_get_table(c, t, before[t]);
    int bad_rank = size_ - 1;
    int64_t ids0[4] = {1, 2, 3, 9}, ids1[4] = {0, 5, 5, 1}, offs[2] = {0, 2};
    if (rank_ == bad_rank) ids1[2] = 6; /* one past table 1's rows */
    ek_bag_input in[2] = {{.struct_size = sizeof(ek_bag_input), .indices = ids0, .num_indices = 4, .offsets = offs, .num_bags = 2},
                          {.struct_size = sizeof(ek_bag_input), .indices = ids1, .num_indices = 4, .offsets = offs, .num_bags = 2}};
    float out[2 * 7];
    ek_status st = ekd_forward(c, in, out);
    char want[128];
    snprintf(want, sizeof want, "rank %d: inputs[1].indices[2]=6 is out of range for 6 rows", bad_rank);
    CHECK(st == EK_ERR_INDEX_OUT_OF_RANGE, "bad index on rank %d: status %d, want INDEX_OUT_OF_RANGE", bad_rank, (int)st);
    CHECK(strstr(ekd_last_error(), want) != NULL, "bad index: message \"%s\" lacks \"%s\"", ekd_last_error(), want);
    CHECK(ekd_backward_update(c, out) == EK_ERR_INVALID_ARGUMENT, "backward after a failed forward must be refused");

    /* a bad offset on rank 0 */
    ids1[2] = 5;
    int64_t bad_offs[2] = {0, 5};
    if (rank_ == 0) in[0].offsets = bad_offs;
    st = ekd_forward(c, in, out);
    CHECK(st == EK_ERR_SHAPE, "bad offset on rank 0: status %d, want SHAPE", (int)st);
    CHECK(strstr(ekd_last_error(), "rank 0: inputs[0].offsets[1]=5") != NULL, "bad offset: message \"%s\"", ekd_last_error());
    in[0].offsets = offs;

    if (size_ > 1) { /* weights on one rank only */
        float w[4] = {1, 1, 1, 1};
        if (rank_ == 1) { in[0].per_sample_weights = w; in[0].num_weights = 4; }
        st = ekd_forward(c, in, out);
        CHECK(st == EK_ERR_INVALID_ARGUMENT && strstr(ekd_last_error(), "per_sample_weights") != NULL,
              "weights on one rank: status %d, message \"%s\"", (int)st, ekd_last_error());
        in[0].per_sample_weights = NULL; in[0].num_weights = 0;
    }
    for (int t = 0; t < 2; t++) ekd_get_table(c, t, after[t]);
    CHECK(!memcmp(before, after, sizeof before), "a failed call changed a table");

    /* and the next good step works on every rank */
    st = ekd_forward(c, in, out);
    CHECK(st == EK_OK, "good forward after errors: %s", ekd_last_error());
    CHECK(ekd_backward_update(c, out) == EK_OK, "good backward after errors: %s", ekd_last_error());
    ekd_free(c);

    /* ranks that disagree about the collection */
    if (size_ > 1) {
        ekd_table_config other[2] = {cfg[0], cfg[1]};
        if (rank_ == 1) other[0].rows = 11;
        ekd_collection *d = NULL;
        st = ekd_create(MPI_COMM_WORLD, 2, other, &o, &d);
        CHECK(st == EK_ERR_INVALID_ARGUMENT && d == NULL, "different configs: status %d", (int)st);
    }
    ekd_table_config bad = {.rows = 4, .dim = 2, .scheme = EKD_COLUMN_WISE};
    ek_optimizer rw = make_opt(EK_OPT_ROWWISE_ADAGRAD);
    ekd_collection *d = NULL;
    CHECK(ekd_create(MPI_COMM_WORLD, 1, &bad, &rw, &d) == EK_ERR_INVALID_ARGUMENT, "column-wise + row-wise Adagrad must be refused");
}

/* Row-wise max with equal rows on different owners: one process's scan keeps the first position in
 * the bag, so the winner (and the row that gets the gradient) is row 8, listed before row 1. */
static void test_max_ties(void) {
    ekd_table_config cfg = {.rows = 10, .dim = 2, .scheme = EKD_ROW_WISE, .mode = EK_BAG_MAX};
    ek_optimizer o = {.struct_size = sizeof(ek_optimizer), .kind = EK_OPT_SGD, .lr = 1.0f};
    ekd_collection *c = NULL;
    if (ekd_create(MPI_COMM_WORLD, 1, &cfg, &o, &c) != EK_OK) { CHECK(0, "create: %s", ekd_last_error()); return; }
    float W[20], ref[20], got[20];
    for (int i = 0; i < 20; i++) W[i] = -(float)i;
    W[2] = W[16] = 5.0f;  /* rows 1 and 8, column 0: a tie */
    W[3] = -0.0f; W[17] = 0.0f; /* column 1: -0 and 0 compare equal: also a tie, and the bits differ */
    ekd_set_table(c, 0, W);
    memcpy(ref, W, sizeof W);
    int64_t ids[3] = {8, 1, 3};
    ek_bag_input in = {.struct_size = sizeof(ek_bag_input), .indices = ids, .num_indices = 3, .num_bags = 1};
    float out[2], grad[2] = {1.0f, 2.0f};
    CHECK(ekd_forward(c, &in, out) == EK_OK && ekd_backward_update(c, grad) == EK_OK, "ties: %s", ekd_last_error());
    ekd_get_table(c, 0, got);
    /* one process over the global batch: every rank's bag [8, 1, 3] */
    int64_t *all = calloc(3 * (size_t)size_, sizeof(int64_t));
    float *g = calloc(2 * (size_t)size_, sizeof(float));
    int64_t *mi = calloc(2 * (size_t)size_, sizeof(int64_t));
    float *ro = calloc(2 * (size_t)size_, sizeof(float));
    for (int r = 0; r < size_; r++) { memcpy(all + 3 * r, ids, sizeof ids); memcpy(g + 2 * r, grad, sizeof grad); }
    ek_table tab = {.struct_size = sizeof(ek_table), .rows = 10, .dim = 2, .data = ref};
    ek_bag_input gin = {.struct_size = sizeof(ek_bag_input), .indices = all, .num_indices = 3 * size_, .num_bags = size_};
    ek_bag_options opts = {.struct_size = sizeof(ek_bag_options), .mode = EK_BAG_MAX};
    ek_bag_forward(&tab, &gin, &opts, ro, NULL, mi);
    CHECK(!compare("ties out", out, ro, 2, 0), "ties: forward differs from the core");
    CHECK(mi[0] == 8, "ties: the core's winner is row %lld (the test assumes 8)", (long long)mi[0]);
    ek_optimizer ro_opt = o;
    ek_bag_backward_update(&tab, &gin, &opts, mi, g, &ro_opt);
    CHECK(!compare("ties table", got, ref, 20, 0), "ties: the update differs from the core (the wrong row won)");
    free(all); free(g); free(mi); free(ro);
    ekd_free(c);
}

static void test_dense(void) {
    float buf[5], want[5];
    for (int i = 0; i < 5; i++) {
        buf[i] = (float)rank_ + 0.5f * (float)i;
        want[i] = (float)(size_ - 1) / 2.0f + 0.5f * (float)i; /* exact in float for these sizes */
    }
    CHECK(ekd_allreduce_mean(MPI_COMM_WORLD, buf, 5) == EK_OK, "allreduce_mean: %s", ekd_last_error());
    CHECK(!compare("mean", buf, want, 5, 0), "allreduce_mean: wrong mean");
    CHECK(ekd_allreduce_mean(MPI_COMM_WORLD, NULL, 3) == EK_ERR_NULL_POINTER, "allreduce_mean(NULL) must fail");
}

/* ---- checkpoints ------------------------------------------------------------------------------------ */
static const ekd_table_config ckpt_cfg[3] = {{.rows = 23, .dim = 6, .scheme = EKD_TABLE_WISE, .mode = EK_BAG_SUM},
                                             {.rows = 50, .dim = 4, .scheme = EKD_ROW_WISE, .mode = EK_BAG_MEAN},
                                             {.rows = 17, .dim = 7, .scheme = EKD_COLUMN_WISE, .mode = EK_BAG_MAX}};
static const case_spec ckpt_case = {.ntab = 3, .opt_kind = EK_OPT_ADAGRAD, .format = 0, .weighted = 0, .has_pad = 0, .bags = 11,
                                    .cfg = {{.rows = 23, .dim = 6, .scheme = EKD_TABLE_WISE, .mode = EK_BAG_SUM},
                                            {.rows = 50, .dim = 4, .scheme = EKD_ROW_WISE, .mode = EK_BAG_MEAN},
                                            {.rows = 17, .dim = 7, .scheme = EKD_COLUMN_WISE, .mode = EK_BAG_MAX}}};

static ek_status ckpt_step(ekd_collection *c, int step) {
    batch g[3];
    float *grad;
    int64_t D = ekd_total_dim(c), b0, b1;
    gen_step(&ckpt_case, 99, step, g, &grad, D);
    my_slice(ckpt_case.bags, rank_, size_, &b0, &b1);
    local_input L[3];
    ek_bag_input in[3];
    for (int t = 0; t < 3; t++) { L[t] = make_local(&g[t], b0, b1, 0, 0, 0); in[t] = L[t].in; }
    float *out = calloc((size_t)((b1 - b0) * D) + 1, sizeof(float));
    ek_status st = ekd_forward(c, in, out);
    if (st == EK_OK) st = ekd_backward_update(c, grad + b0 * D);
    for (int t = 0; t < 3; t++) { free_local(&L[t]); free_batch(&g[t]); }
    free(grad); free(out);
    return st;
}

static int gather_all(ekd_collection *c, float *all) {
    int64_t off = 0;
    for (int t = 0; t < 3; t++) {
        if (ekd_get_table(c, t, all + off) != EK_OK) return 1;
        off += ckpt_cfg[t].rows * ckpt_cfg[t].dim;
    }
    return 0;
}
#define CKPT_FLOATS (23 * 6 + 50 * 4 + 17 * 7)

static int write_file(const char *path, const float *v, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    size_t k = fwrite(v, sizeof(float), n, f);
    return fclose(f) != 0 || k != n;
}
static int read_file(const char *path, float *v, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    size_t k = fread(v, sizeof(float), n, f);
    fclose(f);
    return k != n;
}

static void test_save(const char *dir) {
    ek_optimizer o = make_opt(ckpt_case.opt_kind);
    ekd_collection *c = NULL;
    if (ekd_create(MPI_COMM_WORLD, 3, ckpt_cfg, &o, &c) != EK_OK) { CHECK(0, "create: %s", ekd_last_error()); return; }
    ekd_init_uniform(c, 5, 0.5f);
    CHECK(ckpt_step(c, 0) == EK_OK, "step 0: %s", ekd_last_error());
    char path[1024];
    snprintf(path, sizeof path, "%s/no-such-dir", dir);
    CHECK(ekd_save(c, path) != EK_OK, "save into a missing directory must fail on every rank");
    CHECK(ekd_save(c, dir) == EK_OK, "first save: %s", ekd_last_error());
    CHECK(ckpt_step(c, 1) == EK_OK, "step 1: %s", ekd_last_error());
    CHECK(ekd_save(c, dir) == EK_OK, "second save (replaces the first): %s", ekd_last_error());
    float all[CKPT_FLOATS];
    CHECK(!gather_all(c, all), "gather");
    if (rank_ == 0) {
        snprintf(path, sizeof path, "%s/expected.bin", dir);
        CHECK(!write_file(path, all, CKPT_FLOATS), "write %s", path);
    }
    CHECK(ckpt_step(c, 2) == EK_OK, "step 2: %s", ekd_last_error());
    CHECK(!gather_all(c, all), "gather");
    if (rank_ == 0) {
        snprintf(path, sizeof path, "%s/expected-next.bin", dir);
        CHECK(!write_file(path, all, CKPT_FLOATS), "write %s", path);
    }
    ekd_free(c);
}

static void test_load(const char *dir) {
    ek_optimizer o = make_opt(ckpt_case.opt_kind);
    ekd_collection *c = NULL;
    if (ekd_create(MPI_COMM_WORLD, 3, ckpt_cfg, &o, &c) != EK_OK) { CHECK(0, "create: %s", ekd_last_error()); return; }
    /* a checkpoint whose tables do not match is refused, and nothing changes */
    ekd_table_config wrong[3] = {ckpt_cfg[0], ckpt_cfg[1], ckpt_cfg[2]};
    wrong[1].rows = 51;
    ekd_collection *w = NULL;
    ekd_create(MPI_COMM_WORLD, 3, wrong, &o, &w);
    ek_status st = ekd_load(w, dir);
    CHECK(st == EK_ERR_SHAPE, "load into different tables: status %d (%s)", (int)st, ekd_last_error());
    ekd_free(w);

    CHECK(ekd_load(c, dir) == EK_OK, "load: %s", ekd_last_error());
    float got[CKPT_FLOATS], want[CKPT_FLOATS];
    char path[1024];
    snprintf(path, sizeof path, "%s/expected.bin", dir);
    CHECK(!read_file(path, want, CKPT_FLOATS), "read %s", path);
    CHECK(!gather_all(c, got), "gather");
    CHECK(!compare("loaded", got, want, CKPT_FLOATS, 0), "loaded tables differ from the saved ones");
    /* one more step: equal to the saver's only if the optimizer state and step came back too */
    CHECK(ckpt_step(c, 2) == EK_OK, "step 2 after load: %s", ekd_last_error());
    snprintf(path, sizeof path, "%s/expected-next.bin", dir);
    CHECK(!read_file(path, want, CKPT_FLOATS), "read %s", path);
    CHECK(!gather_all(c, got), "gather");
    /* table-wise and column-wise exactly; row-wise mean gradients round differently on another
     * rank count */
    CHECK(!compare("next/table-wise", got, want, 23 * 6, 0), "step after load: table-wise differs");
    CHECK(!compare("next/row-wise", got + 23 * 6, want + 23 * 6, 50 * 4, 1e-5), "step after load: row-wise differs");
    CHECK(!compare("next/column-wise", got + 23 * 6 + 200, want + 23 * 6 + 200, 17 * 7, 0), "step after load: column-wise differs");
    ekd_free(c);
}

/* One fixed run; rank 0 prints an FNV hash of every output and table. */
static void digest(void) {
    case_spec cs = {.ntab = 3, .opt_kind = EK_OPT_ADAM, .format = 0, .weighted = 1, .has_pad = 1, .bags = 13,
                    .cfg = {{.rows = 31, .dim = 5, .scheme = EKD_ROW_WISE, .mode = EK_BAG_SUM},
                            {.rows = 29, .dim = 6, .scheme = EKD_ROW_WISE, .mode = EK_BAG_MEAN},
                            {.rows = 9, .dim = 7, .scheme = EKD_COLUMN_WISE, .mode = EK_BAG_MAX}}};
    case_result r = {0};
    ek_status st = run_distributed(&cs, 1234, 0, &r);
    CHECK(st == EK_OK, "digest run: %s", ekd_last_error());
    uint64_t h = 14695981039346656037ULL;
    int64_t b0, b1;
    my_slice(cs.bags, rank_, size_, &b0, &b1);
    for (int s = 0; s < 2 && st == EK_OK; s++) {
        const unsigned char *p = (const unsigned char *)r.out[s];
        for (size_t i = 0; i < sizeof(float) * (size_t)((b1 - b0) * 18); i++) h = (h ^ p[i]) * 1099511628211ULL;
        for (int t = 0; t < 3; t++) {
            p = (const unsigned char *)r.table[s][t];
            for (size_t i = 0; i < sizeof(float) * (size_t)(cs.cfg[t].rows * cs.cfg[t].dim); i++) h = (h ^ p[i]) * 1099511628211ULL;
        }
    }
    uint64_t all[64] = {0};
    MPI_Gather(&h, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (rank_ == 0) {
        uint64_t d = 14695981039346656037ULL;
        for (int i = 0; i < size_ && i < 64; i++) d = (d ^ all[i]) * 1099511628211ULL;
        printf("digest %d ranks: %016llx\n", size_, (unsigned long long)d);
    }
    free_result(&cs, &r);
}

/* The die test's fault injection: the library's rename() resolves to this one (a program's symbols
 * come first), which kills the process instead of renaming its shard into place. */
static int die_on_shard_rename;
int rename(const char *from, const char *to) {
    if (die_on_shard_rename && strstr(to, "/shard-") != NULL) {
        fprintf(stderr, "rank %d: dying on purpose in the middle of a save (%s written, not renamed)\n", rank_, from);
        _exit(3);
    }
    return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    const char *what = argc > 1 ? argv[1] : "unit";
    if (!strcmp(what, "unit")) {
        test_init();
        test_bad_input();
        test_dense();
        test_max_ties();
        test_random_cases();
        test_property();
        test_large_rows();
    } else if (!strcmp(what, "digest")) {
        digest();
    } else if (!strcmp(what, "save") && argc > 2) {
        test_save(argv[2]);
    } else if (!strcmp(what, "load") && argc > 2) {
        test_load(argv[2]);
    } else if (!strcmp(what, "die") && argc > 2) {
        /* the last rank dies in the middle of a save (its shard written, not yet renamed), while the
         * others finish theirs: mpirun must end the job, and the checkpoint in DIR must still be the
         * previous one (run.sh loads it afterwards) */
        ek_optimizer o = make_opt(ckpt_case.opt_kind);
        ekd_collection *c = NULL;
        ekd_create(MPI_COMM_WORLD, 3, ckpt_cfg, &o, &c);
        ekd_init_uniform(c, 77, 0.5f); /* other weights than the checkpoint's */
        die_on_shard_rename = rank_ == size_ - 1;
        ekd_save(c, argv[2]);
        fprintf(stderr, "rank %d: the save returned although a rank died\n", rank_);
        MPI_Finalize();
        return 1;
    } else {
        if (rank_ == 0) fprintf(stderr, "usage: ek_mpi_tests unit | digest | save DIR | load DIR\n");
        MPI_Finalize();
        return 2;
    }
    int totals[2] = {passed, failed}, sums[2];
    MPI_Reduce(totals, sums, 2, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank_ == 0) printf("%s on %d rank(s): %d passed, %d failed\n", what, size_, sums[0], sums[1]);
    int any = failed, anyall = 0;
    MPI_Allreduce(&any, &anyall, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return anyall ? 1 : 0;
}
