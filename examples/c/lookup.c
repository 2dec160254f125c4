/* lookup.c — EmbeddingKit from C: an embedding lookup, an EmbeddingBag sum, and an error.
 *
 * Build against an installed libembeddingkit:
 *     cc -std=c11 lookup.c -o lookup $(pkg-config --cflags --libs embeddingkit)
 *
 * Exits 0 when every result is the expected one. */
#include <stdio.h>
#include <string.h>

#include <embeddingkit.h>

enum { NUM_EMBEDDINGS = 5, DIM = 2 };

static int check(const char *what, const float *got, const float *want, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            fprintf(stderr, "%s: element %lld is %g, expected %g\n", what, (long long)i, got[i], want[i]);
            return 1;
        }
    }
    return 0;
}

static void print_rows(const char *what, const float *m, int64_t rows) {
    printf("%s:", what);
    for (int64_t r = 0; r < rows; r++) printf(" [%g, %g]", m[r * DIM], m[r * DIM + 1]);
    printf("\n");
}

int main(void) {
    int failures = 0;

    /* The header and the library must be the same version. */
    printf("EmbeddingKit %s\n", ek_version_string());
    if (ek_version() != EK_VERSION) {
        fprintf(stderr, "header is version %d but the library is %d\n", EK_VERSION, (int)ek_version());
        return 1;
    }

    /* W = arange(1, 11).view(5, 2): row r is (2r + 1, 2r + 2). */
    float weight[NUM_EMBEDDINGS * DIM];
    for (int i = 0; i < NUM_EMBEDDINGS * DIM; i++) weight[i] = (float)(i + 1);
    const int64_t input[] = {3, 1, 1, 1, 4, 0};
    const int64_t n = 6;

    /* The table and the input are described by structs; fields left out are 0 (their defaults:
     * fp32 rows, contiguous, int64 indices, no padding). */
    const ek_table table = {.struct_size = sizeof(ek_table), .rows = NUM_EMBEDDINGS, .dim = DIM,
                            .dtype = EK_DTYPE_F32, .data = weight};
    const ek_bag_input lookup = {.struct_size = sizeof(ek_bag_input), .index_type = EK_INDEX_I64,
                                 .indices = input, .num_indices = n};

    /* Embedding lookup: out[i] = W[input[i]]. */
    float rows[6 * DIM];
    ek_status s = ek_lookup_forward(&table, &lookup, rows);
    if (s != EK_OK) {
        fprintf(stderr, "embedding: %s: %s\n", ek_status_string(s), ek_last_error());
        return 1;
    }
    print_rows("embedding", rows, n);
    const float want_rows[] = {7, 8, 3, 4, 3, 4, 3, 4, 9, 10, 1, 2};
    failures += check("embedding", rows, want_rows, n * DIM);

    /* EmbeddingBag sum with CSR offsets (include_last_offset): bags [], [3, 1, 1], [], [1, 4, 0]. */
    const int64_t offsets[] = {0, 0, 3, 3, 6};
    const int64_t num_bags = 4;
    float bags[4 * DIM];
    int64_t bag_size[4];
    const ek_bag_input bag_input = {.struct_size = sizeof(ek_bag_input), .index_type = EK_INDEX_I64,
                                    .indices = input, .num_indices = n,
                                    .offsets = offsets, .num_bags = num_bags, .include_last_offset = 1};
    const ek_bag_options sum = {.struct_size = sizeof(ek_bag_options), .mode = EK_BAG_SUM};
    s = ek_bag_forward(&table, &bag_input, &sum, bags, bag_size, /*max_indices=*/NULL);
    if (s != EK_OK) {
        fprintf(stderr, "embedding_bag: %s: %s\n", ek_status_string(s), ek_last_error());
        return 1;
    }
    print_rows("embedding_bag (sum)", bags, num_bags);
    const float want_bags[] = {0, 0, 13, 16, 0, 0, 13, 16};
    failures += check("embedding_bag", bags, want_bags, num_bags * DIM);
    const int64_t want_sizes[] = {0, 3, 0, 3};
    for (int b = 0; b < num_bags; b++) {
        if (bag_size[b] != want_sizes[b]) {
            fprintf(stderr, "bag_size[%d] is %lld, expected %lld\n", b, (long long)bag_size[b],
                    (long long)want_sizes[b]);
            failures++;
        }
    }

    /* Errors: every function returns an ek_status; ek_last_error() says what was wrong and where.
     * A failed call writes nothing. */
    const int64_t bad_input[] = {0, 10};
    float untouched[2 * DIM] = {-1, -1, -1, -1};
    const ek_bag_input bad = {.struct_size = sizeof(ek_bag_input), .index_type = EK_INDEX_I64,
                              .indices = bad_input, .num_indices = 2};
    s = ek_lookup_forward(&table, &bad, untouched);
    printf("index 10: %s: %s\n", ek_status_string(s), ek_last_error());
    if (s != EK_ERR_INDEX_OUT_OF_RANGE || strlen(ek_last_error()) == 0) {
        fprintf(stderr, "expected EK_ERR_INDEX_OUT_OF_RANGE with a message\n");
        failures++;
    }
    const float want_untouched[] = {-1, -1, -1, -1};
    failures += check("output after a failed call", untouched, want_untouched, 2 * DIM);

    if (failures != 0) {
        printf("%d unexpected result(s)\n", failures);
        return 1;
    }
    printf("all results as expected\n");
    return 0;
}
