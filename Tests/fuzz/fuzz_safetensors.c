/* fuzz_safetensors.c — the safetensors reader (embeddingkit.h section 13): arbitrary bytes as a file.
 *
 * Input: the whole input is a file. It is parsed twice: as it is, and "reframed" — the first 8 bytes
 * replaced by the length that makes the header end at the last '}' of the rest — so that mutations of
 * the JSON are not all lost to a stale length prefix. Each parse gets an exact-size heap copy (ASan
 * sees any read past the end). Checks:
 *   - an error: a known code, a non-empty ek_last_error(), the handle not set, the input unchanged;
 *   - a success: every tensor's bytes lie inside the buffer after the header, its byte count is
 *     product(shape) * dtype size (recomputed here, with overflow checks), data == buffer + offset;
 *     the tensors, in their numbering, tile the data exactly (no gap, no overlap, from the end of the
 *     header to the end of the file); names are unique and ek_safetensors_find finds each; metadata
 *     keys and values are readable strings; copy_f32 / copy_i64 succeed for the dtypes they take (F32
 *     bit-identical to the raw bytes) and fail without writing for the others; the input unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embeddingkit.h"

#define FAIL(...)                                  \
    do {                                           \
        fprintf(stderr, "fuzz_safetensors: ");     \
        fprintf(stderr, __VA_ARGS__);              \
        fputc('\n', stderr);                       \
        __builtin_trap();                          \
    } while (0)

static void check_success(const ek_safetensors *st, const uint8_t *buf, size_t size) {
    uint64_t h = 0;
    for (int k = 7; k >= 0; k--) h = (h << 8) | buf[k];
    if (size < 8 || h > size - 8) FAIL("accepted a file whose header length %llu exceeds its %zu bytes", (unsigned long long)h, size);
    int64_t n = ek_safetensors_count(st), at = 8 + (int64_t)h;
    if (n < 0) FAIL("negative count %lld", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        ek_safetensors_tensor t;
        if (ek_safetensors_get(st, i, &t) != EK_OK) FAIL("get(%lld) failed: %s", (long long)i, ek_last_error());
        if (!t.name) FAIL("tensor %lld has no name", (long long)i);
        size_t name_len = strlen(t.name);
        int64_t esize = ek_safetensors_dtype_size(t.dtype);
        if (esize == 0) FAIL("tensor %s: dtype %d outside the enum", t.name, (int)t.dtype);
        if (t.rank < 0 || (t.rank > 0 && !t.shape) || (t.rank == 0 && t.shape)) FAIL("tensor %s: rank %lld, shape %p", t.name, (long long)t.rank, (const void *)t.shape);
        int64_t numel = 1, bytes;
        for (int64_t d = 0; d < t.rank; d++) {
            if (t.shape[d] < 0) FAIL("tensor %s: negative dimension", t.name);
            if (__builtin_mul_overflow(numel, t.shape[d], &numel)) FAIL("tensor %s: accepted an overflowing shape", t.name);
        }
        if (__builtin_mul_overflow(numel, esize, &bytes)) FAIL("tensor %s: accepted an overflowing byte count", t.name);
        if (numel != t.num_elements || bytes != t.num_bytes)
            FAIL("tensor %s: %lld elements / %lld bytes reported, shape gives %lld / %lld", t.name, (long long)t.num_elements,
                 (long long)t.num_bytes, (long long)numel, (long long)bytes);
        if (t.offset != at) FAIL("tensor %s starts at %lld, the previous ended at %lld (gap or overlap)", t.name, (long long)t.offset, (long long)at);
        if (t.offset < 8 + (int64_t)h || t.offset + t.num_bytes > (int64_t)size)
            FAIL("tensor %s: bytes [%lld, %lld) outside the data [%llu, %zu)", t.name, (long long)t.offset,
                 (long long)(t.offset + t.num_bytes), (unsigned long long)(8 + h), size);
        if ((const uint8_t *)t.data != buf + t.offset) FAIL("tensor %s: data pointer is not buffer + offset", t.name);
        at = t.offset + t.num_bytes;
        int64_t found = -2;
        if (ek_safetensors_find(st, t.name, &found) != EK_OK || found != i)
            FAIL("find(\"%s\") gave %lld, want %lld (names must be unique)", t.name, (long long)found, (long long)i);
        (void)name_len;
        /* conversions into exact-size buffers */
        int is_float = t.dtype == EK_ST_F32 || t.dtype == EK_ST_F16 || t.dtype == EK_ST_BF16;
        int is_int = t.dtype == EK_ST_I64 || t.dtype == EK_ST_I32 || t.dtype == EK_ST_I16 || t.dtype == EK_ST_I8 ||
                     t.dtype == EK_ST_U32 || t.dtype == EK_ST_U16 || t.dtype == EK_ST_U8 || t.dtype == EK_ST_BOOL ||
                     t.dtype == EK_ST_U64;
        if (numel > 4096) continue;
        float *f = malloc((size_t)numel * 4 + 1);
        int64_t *q = malloc((size_t)numel * 8 + 1);
        memset(f, 0xA5, (size_t)numel * 4);
        memset(q, 0xA5, (size_t)numel * 8);
        ek_status s = ek_safetensors_copy_f32(st, i, numel, f);
        if (is_float && s != EK_OK) FAIL("copy_f32 of %s tensor %s failed: %s", ek_safetensors_dtype_name(t.dtype), t.name, ek_last_error());
        if (!is_float) {
            if (s != EK_ERR_INVALID_ARGUMENT) FAIL("copy_f32 of %s tensor %s: status %d", ek_safetensors_dtype_name(t.dtype), t.name, (int)s);
            for (int64_t k = 0; k < numel * 4; k++)
                if (((uint8_t *)f)[k] != 0xA5) FAIL("failed copy_f32 wrote into out");
        }
        if (t.dtype == EK_ST_F32 && numel && memcmp(f, t.data, (size_t)bytes) != 0) FAIL("copy_f32 of F32 tensor %s is not the raw bytes", t.name);
        s = ek_safetensors_copy_i64(st, i, numel, q);
        int u64_big = 0;
        if (t.dtype == EK_ST_U64)
            for (int64_t k = 0; k < numel; k++) u64_big |= ((const uint8_t *)t.data)[8 * k + 7] >> 7;
        if (is_int && !u64_big && s != EK_OK) FAIL("copy_i64 of %s tensor %s failed: %s", ek_safetensors_dtype_name(t.dtype), t.name, ek_last_error());
        if (!is_int || u64_big) {
            if (s == EK_OK) FAIL("copy_i64 of %s tensor %s succeeded", ek_safetensors_dtype_name(t.dtype), t.name);
            for (int64_t k = 0; k < numel * 8; k++)
                if (((uint8_t *)q)[k] != 0xA5) FAIL("failed copy_i64 wrote into out");
        }
        if (t.dtype == EK_ST_I64 && numel && memcmp(q, t.data, (size_t)bytes) != 0) FAIL("copy_i64 of I64 tensor %s is not the raw bytes", t.name);
        if (t.dtype == EK_ST_U8)
            for (int64_t k = 0; k < numel; k++)
                if (q[k] != ((const uint8_t *)t.data)[k]) FAIL("copy_i64 of U8 tensor %s differs at %lld", t.name, (long long)k);
        free(f);
        free(q);
    }
    if (at != (int64_t)size) FAIL("the tensors end at %lld, the file at %zu", (long long)at, size);
    ek_safetensors_tensor t;
    if (ek_safetensors_get(st, n, &t) != EK_ERR_INDEX_OUT_OF_RANGE) FAIL("get(count) did not fail");
    int64_t m = ek_safetensors_metadata_count(st);
    for (int64_t i = 0; i < m; i++) {
        const char *k = NULL, *v = NULL;
        if (ek_safetensors_metadata(st, i, &k, &v) != EK_OK || !k || !v) FAIL("metadata(%lld) failed", (long long)i);
        (void)strlen(k), (void)strlen(v);
        for (int64_t j = 0; j < i; j++) {
            const char *k2, *v2;
            ek_safetensors_metadata(st, j, &k2, &v2);
            if (strcmp(k, k2) == 0) FAIL("metadata key \"%s\" accepted twice", k);
        }
    }
}

static void one(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1), *copy = malloc(size ? size : 1);
    if (size) memcpy(buf, data, size), memcpy(copy, data, size);
    ek_safetensors *st = (ek_safetensors *)(uintptr_t)0x10;
    ek_status s = ek_safetensors_parse(buf, (int64_t)size, &st);
    if (size && memcmp(buf, copy, size) != 0) FAIL("the parser changed its input");
    if (s == EK_OK) {
        if (!st || st == (ek_safetensors *)(uintptr_t)0x10) FAIL("EK_OK without a handle");
        check_success(st, buf, size);
        ek_safetensors_free(st);
    } else {
        if (s < EK_ERR_INVALID_ARGUMENT || s > EK_ERR_ALLOC) FAIL("unknown status %d", (int)s);
        if (st != (ek_safetensors *)(uintptr_t)0x10) FAIL("a failed parse set the handle");
        if (ek_last_error()[0] == '\0') FAIL("a failed parse left no message");
        if (getenv("EK_FUZZ_VERBOSE")) fprintf(stderr, "%s: %s\n", ek_status_string(s), ek_last_error());
    }
    free(buf);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    one(data, size);
    if (size >= 9) {
        /* reframe: the header ends at the last '}' after the prefix */
        size_t last = 0;
        for (size_t i = 8; i < size; i++)
            if (data[i] == '}') last = i;
        if (last) {
            uint8_t *r = malloc(size);
            memcpy(r, data, size);
            uint64_t h = last + 1 - 8;
            for (int k = 0; k < 8; k++) r[k] = (uint8_t)(h >> (8 * k));
            one(r, size);
            free(r);
        }
    }
    return 0;
}
