/* click_model.c — a DLRM-style click model trained with sharded embedding tables (make demo-distributed).
 *
 * Data (generated, the same whatever the rank count): users and items have hidden 4-dim tastes; a
 * user clicks an item with probability sigmoid(3 u·v + b_item). Each sample has three sparse
 * features: the user (one id), the item (one id) and the user's recent items (a bag of 1..5 ids).
 *
 * Model (DLRM's shape, small): three EmbeddingBags of dim 8
 *     users    row-wise sharded  (the large table: its rows are split across the ranks)
 *     items    column-wise sharded
 *     history  table-wise (mean of the recent items' rows)
 * then the pairwise dot products of the three pooled vectors (DLRM's interaction) and a linear head
 * on [e_user, e_item, e_hist, dots] -> logit, trained with binary cross-entropy. The tables train with
 * the fused Adagrad update on their owners; the head is data parallel (ekd_allreduce_mean).
 *
 * Each rank takes a contiguous slice of every global batch. Run on 1 and on 2 ranks, it prints the
 * same test accuracy: the sharded forward of single-id bags and its gradients are exact, and the
 * head's gradient differs only by the grouping of one sum. */
#include <embeddingkit_dist.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { USERS = 1000, ITEMS = 200, DIM = 8, TASTE = 4, HIST_MAX = 5 };
enum { TRAIN = 200000, TEST = 10000, BATCH = 500, EPOCHS = 3 };
#ifndef INIT_SCALE
#define INIT_SCALE 0.1f
#endif
enum { FEATURES = 3 * DIM + 3 }; /* e_user, e_item, e_hist, 3 dots */

static uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}
static double unit(uint64_t h) { return (double)(h >> 11) * 0x1p-53; } /* [0, 1) */
static double gauss(uint64_t h) { return sqrt(-2.0 * log(1.0 - unit(h))) * cos(6.283185307179586 * unit(mix(h))); }

/* One sample, from its number alone. */
typedef struct { int64_t user, item, hist[HIST_MAX]; int nhist; float label; int oracle; } sample;

static double taste(int kind, int64_t id, int k) { return gauss(mix(((uint64_t)kind << 60) ^ ((uint64_t)id << 8) ^ (uint64_t)k)); }

static sample make_sample(uint64_t n) {
    sample s;
    uint64_t h = mix(n * 7919 + 1);
    s.user = (int64_t)(h % USERS);
    s.item = (int64_t)(mix(h) % ITEMS);
    s.nhist = 1 + (int)(mix(h + 1) % HIST_MAX);
    for (int k = 0; k < s.nhist; k++) s.hist[k] = (int64_t)(mix(((uint64_t)s.user << 20) + (uint64_t)k + (mix(h + 2) % 3)) % ITEMS);
    double dot = 0;
    for (int k = 0; k < TASTE; k++) dot += taste(1, s.user, k) * taste(2, s.item, k);
    double logit = 3.0 * dot / TASTE + 0.5 * taste(3, s.item, 0);
    s.label = unit(mix(h + 3)) < 1.0 / (1.0 + exp(-logit)) ? 1.0f : 0.0f;
    s.oracle = (logit > 0) == (s.label > 0.5f); /* what knowing the hidden tastes would predict */
    return s;
}

/* The three bag inputs of samples [first, first + count). */
typedef struct { int64_t users[BATCH], items[BATCH], hist[BATCH * HIST_MAX], hoff[BATCH + 1]; float labels[BATCH]; } batch;

static void make_batch(uint64_t first, int64_t count, batch *b, ek_bag_input in[3]) {
    b->hoff[0] = 0;
    for (int64_t i = 0; i < count; i++) {
        sample s = make_sample(first + (uint64_t)i);
        b->users[i] = s.user;
        b->items[i] = s.item;
        b->labels[i] = s.label;
        memcpy(b->hist + b->hoff[i], s.hist, sizeof(int64_t) * (size_t)s.nhist);
        b->hoff[i + 1] = b->hoff[i] + s.nhist;
    }
    in[0] = (ek_bag_input){.struct_size = sizeof(ek_bag_input), .indices = b->users, .num_indices = count, .num_bags = count};
    in[1] = (ek_bag_input){.struct_size = sizeof(ek_bag_input), .indices = b->items, .num_indices = count, .num_bags = count};
    in[2] = (ek_bag_input){.struct_size = sizeof(ek_bag_input), .indices = b->hist, .num_indices = b->hoff[count],
                           .offsets = b->hoff, .num_bags = count, .include_last_offset = 1};
}

static float dot(const float *a, const float *b) {
    float s = 0;
    for (int d = 0; d < DIM; d++) s += a[d] * b[d];
    return s;
}

/* logit of one sample from its pooled row e = [e_user | e_item | e_hist] */
static float head(const float *w, const float *e, float *feat) {
    memcpy(feat, e, sizeof(float) * 3 * DIM);
    feat[3 * DIM] = dot(e, e + DIM);
    feat[3 * DIM + 1] = dot(e, e + 2 * DIM);
    feat[3 * DIM + 2] = dot(e + DIM, e + 2 * DIM);
    float z = w[FEATURES];
    for (int f = 0; f < FEATURES; f++) z += w[f] * feat[f];
    return z;
}

static void my_slice(int64_t n, int rank, int size, int64_t *first, int64_t *count) {
    int64_t q = n / size, e = n % size;
    *first = rank * q + (rank < e ? rank : e);
    *count = q + (rank < e ? 1 : 0);
}

static void check(ek_status st, const char *what) {
    if (st != EK_OK) {
        fprintf(stderr, "%s: %s\n", what, ekd_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    ekd_table_config tables[3] = {{.rows = USERS, .dim = DIM, .scheme = EKD_ROW_WISE, .mode = EK_BAG_SUM},
                                  {.rows = ITEMS, .dim = DIM, .scheme = EKD_COLUMN_WISE, .mode = EK_BAG_SUM},
                                  {.rows = ITEMS, .dim = DIM, .scheme = EKD_TABLE_WISE, .mode = EK_BAG_MEAN}};
    ek_optimizer adagrad = {.struct_size = sizeof(ek_optimizer), .kind = EK_OPT_ADAGRAD, .lr = 0.05f, .eps = 1e-8f};
    ekd_collection *c = NULL;
    check(ekd_create(MPI_COMM_WORLD, 3, tables, &adagrad, &c), "ekd_create");
    check(ekd_init_uniform(c, 2024, INIT_SCALE), "ekd_init_uniform");
    if (rank == 0) {
        int64_t r0, r1;
        ekd_shard(c, 0, &r0, &r1, NULL, NULL);
        printf("click model: %d rank(s); users table row-wise (rank 0 holds rows [%lld, %lld) of %d), items column-wise, history table-wise\n",
               size, (long long)r0, (long long)r1, USERS);
    }

    float w[FEATURES + 1] = {0}, gw[FEATURES + 1];
    for (int f = 0; f < 3 * DIM; f++) w[f] = 0.01f * (float)((f % 5) - 2);
    for (int f = 3 * DIM; f < FEATURES; f++) w[f] = 1.0f; /* the dots start as DLRM's plain interaction */
    static batch b;
    ek_bag_input in[3];
    static float out[BATCH * 3 * DIM], grad[BATCH * 3 * DIM];
    float feat[FEATURES];
    const float lr = 0.5f;

    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        double loss = 0;
        for (int64_t start = 0; start < TRAIN; start += BATCH) {
            int64_t first, count;
            my_slice(BATCH, rank, size, &first, &count);
            make_batch((uint64_t)(start + first), count, &b, in);
            check(ekd_forward(c, in, out), "ekd_forward");
            memset(gw, 0, sizeof gw);
            for (int64_t i = 0; i < count; i++) {
                const float *e = out + i * 3 * DIM;
                float z = head(w, e, feat), p = 1.0f / (1.0f + expf(-z)), y = b.labels[i];
                loss -= y * log(p + 1e-7) + (1 - y) * log(1 - p + 1e-7);
                float g = (p - y) / (float)BATCH; /* d(mean loss over the GLOBAL batch)/dz */
                for (int f = 0; f < FEATURES; f++) gw[f] += g * feat[f] * (float)size; /* ekd_allreduce_mean divides by size */
                gw[FEATURES] += g * (float)size;
                float *ge = grad + i * 3 * DIM;
                for (int d = 0; d < DIM; d++) {
                    float eu = e[d], ei = e[DIM + d], eh = e[2 * DIM + d];
                    ge[d] = g * (w[d] + w[3 * DIM] * ei + w[3 * DIM + 1] * eh);
                    ge[DIM + d] = g * (w[DIM + d] + w[3 * DIM] * eu + w[3 * DIM + 2] * eh);
                    ge[2 * DIM + d] = g * (w[2 * DIM + d] + w[3 * DIM + 1] * eu + w[3 * DIM + 2] * ei);
                }
            }
            check(ekd_backward_update(c, grad), "ekd_backward_update");
            check(ekd_allreduce_mean(MPI_COMM_WORLD, gw, FEATURES + 1), "ekd_allreduce_mean");
            for (int f = 0; f <= FEATURES; f++) w[f] -= lr * gw[f];
        }
        double total = 0;
        MPI_Reduce(&loss, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (rank == 0) printf("epoch %d: train loss %.4f\n", epoch + 1, total / TRAIN);
    }

    /* test accuracy: each rank its slice of every batch, correct counts summed */
    long long correct = 0, all = 0, oracle = 0, oracle_all = 0;
    for (int64_t start = 0; start < TEST; start += BATCH) {
        int64_t first, count;
        my_slice(BATCH, rank, size, &first, &count);
        make_batch((uint64_t)(TRAIN + start + first), count, &b, in);
        check(ekd_forward(c, in, out), "ekd_forward (test)");
        for (int64_t i = 0; i < count; i++) {
            correct += (head(w, out + i * 3 * DIM, feat) > 0) == (b.labels[i] > 0.5f);
            oracle += make_sample((uint64_t)(TRAIN + start + first + i)).oracle;
        }
    }
    MPI_Reduce(&correct, &all, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&oracle, &oracle_all, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("(predicting from the hidden tastes themselves would score %.2f%%)\n", 100.0 * (double)oracle_all / TEST);
        printf("test accuracy: %.2f%% (%d samples, %d rank(s))\n", 100.0 * (double)all / TEST, TEST, size);
    }
    ekd_free(c);
    MPI_Finalize();
    return 0;
}
