/* The safetensors reader (embeddingkit.h section 13): files built byte by byte here, so every
 * expected value follows from the format's definition; every rejection with its code and message,
 * and the handle left unset. (Files PyTorch wrote are checked by the Swift tests, which load
 * Tests/Fixtures/safetensors/ into modules.) */
#include <math.h>
#include <stdlib.h>

#include "ek_test.h"

/* A file: 8-byte little-endian header length, the header, then `data_len` data bytes. */
typedef struct {
    unsigned char *bytes;
    int64_t size;
} st_file;

static st_file make_file(const char *header, const void *data, int64_t data_len) {
    size_t h = strlen(header);
    st_file f = {malloc(8 + h + (size_t)data_len + 1), (int64_t)(8 + h + (size_t)data_len)};
    for (int k = 0; k < 8; k++) f.bytes[k] = (unsigned char)((uint64_t)h >> (8 * k));
    memcpy(f.bytes + 8, header, h);
    if (data_len) memcpy(f.bytes + 8 + h, data, (size_t)data_len);
    return f;
}

/* The parse must fail with `code` and a message containing `needle`, leaving the handle unset. */
#define CHECK_REJECTS(header, data, len, code, needle)                                                 \
    do {                                                                                               \
        st_file f_ = make_file((header), (data), (len));                                               \
        ek_safetensors *st_ = (ek_safetensors *)(uintptr_t)0x1;                                        \
        CHECK_ERROR(ek_safetensors_parse(f_.bytes, f_.size, &st_), (code), (needle));                  \
        CHECK(st_ == (ek_safetensors *)(uintptr_t)0x1);                                                \
        free(f_.bytes);                                                                                \
    } while (0)

static const float F6[6] = {1, 2, 3, 4, 5, 6};

TEST(safetensors_reads_tensors_and_metadata) {
    /* header order differs from data order: b's data comes first */
    unsigned char data[24 + 16];
    memcpy(data, F6, 24);
    int64_t ids[2] = {-3, INT64_MAX};
    memcpy(data + 24, ids, 16);
    const char *header = "{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[24,40]},"
                         " \"__metadata__\": {\"format\": \"pt\", \"step\": \"7\"},\n"
                         "\"b.weight\":{\"shape\":[2,3],\"data_offsets\":[0,24],\"dtype\":\"F32\"}}   ";
    st_file f = make_file(header, data, sizeof data);
    ek_safetensors *st = NULL;
    CHECK_OK(ek_safetensors_parse(f.bytes, f.size, &st));
    if (!st) return;
    CHECK_EQ_I64(ek_safetensors_count(st), 2);
    ek_safetensors_tensor t;
    CHECK_OK(ek_safetensors_get(st, 0, &t));
    CHECK(strcmp(t.name, "b.weight") == 0);
    CHECK(t.dtype == EK_ST_F32);
    CHECK_EQ_I64(t.rank, 2);
    CHECK(t.shape && t.shape[0] == 2 && t.shape[1] == 3);
    CHECK_EQ_I64(t.num_elements, 6);
    CHECK_EQ_I64(t.num_bytes, 24);
    CHECK_EQ_I64(t.offset, 8 + (int64_t)strlen(header));
    CHECK(t.data == f.bytes + t.offset);
    float w[6];
    CHECK_OK(ek_safetensors_copy_f32(st, 0, 6, w));
    CHECK_SAME_BYTES(w, F6, 24);
    CHECK_OK(ek_safetensors_get(st, 1, &t));
    CHECK(strcmp(t.name, "a") == 0 && t.dtype == EK_ST_I64 && t.rank == 1 && t.shape[0] == 2);
    int64_t got[2];
    CHECK_OK(ek_safetensors_copy_i64(st, 1, 2, got));
    CHECK(got[0] == -3 && got[1] == INT64_MAX);
    int64_t index = 99;
    CHECK_OK(ek_safetensors_find(st, "a", &index));
    CHECK_EQ_I64(index, 1);
    CHECK_OK(ek_safetensors_find(st, "b.weight", &index));
    CHECK_EQ_I64(index, 0);
    CHECK_OK(ek_safetensors_find(st, "b", &index));
    CHECK_EQ_I64(index, -1);
    CHECK_EQ_I64(ek_safetensors_metadata_count(st), 2);
    const char *k, *v;
    CHECK_OK(ek_safetensors_metadata(st, 0, &k, &v));
    CHECK(strcmp(k, "format") == 0 && strcmp(v, "pt") == 0);
    CHECK_OK(ek_safetensors_metadata(st, 1, &k, &v));
    CHECK(strcmp(k, "step") == 0 && strcmp(v, "7") == 0);
    /* wrong accessor arguments */
    CHECK_ERROR(ek_safetensors_get(st, 2, &t), EK_ERR_INDEX_OUT_OF_RANGE, "tensor index 2 is out of range for 2 tensors");
    CHECK_ERROR(ek_safetensors_get(st, -1, &t), EK_ERR_INDEX_OUT_OF_RANGE, "tensor index -1");
    CHECK_ERROR(ek_safetensors_metadata(st, 2, &k, &v), EK_ERR_INDEX_OUT_OF_RANGE, "metadata index 2");
    float guard[6] = {9, 9, 9, 9, 9, 9};
    CHECK_ERROR(ek_safetensors_copy_f32(st, 0, 5, guard), EK_ERR_SHAPE, "tensor \"b.weight\" has 6 elements, count=5");
    CHECK_ERROR(ek_safetensors_copy_f32(st, 1, 2, guard), EK_ERR_INVALID_ARGUMENT, "tensor \"a\" is I64, not F32, F16 or BF16");
    CHECK_ERROR(ek_safetensors_copy_i64(st, 0, 6, (int64_t *)guard), EK_ERR_INVALID_ARGUMENT, "is F32, not an integer dtype");
    CHECK_ERROR(ek_safetensors_copy_f32(st, 0, 6, NULL), EK_ERR_NULL_POINTER, "out is NULL");
    for (int i = 0; i < 6; i++) CHECK(guard[i] == 9);
    CHECK_ERROR(ek_safetensors_find(st, NULL, &index), EK_ERR_NULL_POINTER, "name is NULL");
    ek_safetensors_free(st);
    ek_safetensors_free(NULL);
    CHECK_EQ_I64(ek_safetensors_count(NULL), 0);
    free(f.bytes);
}

TEST(safetensors_empty_scalar_and_zero_size) {
    ek_safetensors *st = NULL;
    st_file f = make_file("{}", NULL, 0);
    CHECK_OK(ek_safetensors_parse(f.bytes, f.size, &st));
    CHECK_EQ_I64(ek_safetensors_count(st), 0);
    CHECK_EQ_I64(ek_safetensors_metadata_count(st), 0);
    ek_safetensors_free(st);
    free(f.bytes);
    /* a scalar (shape []) is one element; two empty tensors may share an offset */
    float x = 2.5f;
    f = make_file("{\"z1\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
                  "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                  "\"z0\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[4,4]},"
                  "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", &x, 4);
    st = NULL;
    CHECK_OK(ek_safetensors_parse(f.bytes, f.size, &st));
    if (!st) return;
    const char *order[4] = {"e", "z1", "s", "z0"}; /* by (begin, end), then name */
    for (int i = 0; i < 4; i++) {
        ek_safetensors_tensor t;
        CHECK_OK(ek_safetensors_get(st, i, &t));
        CHECK_MSG(strcmp(t.name, order[i]) == 0, "tensor %d is %s, want %s", i, t.name, order[i]);
        if (strcmp(t.name, "s") == 0) {
            CHECK(t.rank == 0 && t.shape == NULL && t.num_elements == 1);
            float y = 0;
            CHECK_OK(ek_safetensors_copy_f32(st, i, 1, &y));
            CHECK(y == 2.5f);
        } else {
            CHECK_EQ_I64(t.num_elements, 0);
            CHECK_EQ_I64(t.num_bytes, 0);
            if (t.dtype == EK_ST_I64) CHECK_OK(ek_safetensors_copy_i64(st, i, 0, NULL));
            else CHECK_OK(ek_safetensors_copy_f32(st, i, 0, NULL));
        }
    }
    ek_safetensors_free(st);
    free(f.bytes);
}

TEST(safetensors_json_strings_and_whitespace) {
    /* escapes, a surrogate pair (U+1F600), raw UTF-8, whitespace everywhere JSON allows it */
    float x[2] = {1, 2};
    st_file f = make_file(" {\r\n\t\"caf\\u00e9\\n\\\"\\/\\\\\\ud83d\\ude00\xc3\xa9\" : { \"dtype\" : \"F32\" , "
                          "\"shape\" : [ 2 ] , \"data_offsets\" : [ 0 , 8 ] } } \n", x, 8);
    ek_safetensors *st = NULL;
    CHECK_OK(ek_safetensors_parse(f.bytes, f.size, &st));
    if (!st) return;
    ek_safetensors_tensor t;
    CHECK_OK(ek_safetensors_get(st, 0, &t));
    CHECK(strcmp(t.name, "caf\xc3\xa9\n\"/\\\xf0\x9f\x98\x80\xc3\xa9") == 0);
    int64_t index = -5;
    CHECK_OK(ek_safetensors_find(st, "caf\xc3\xa9\n\"/\\\xf0\x9f\x98\x80\xc3\xa9", &index));
    CHECK_EQ_I64(index, 0);
    ek_safetensors_free(st);
    free(f.bytes);
}

TEST(safetensors_half_conversions) {
    /* F16 and BF16 bit patterns with values that follow from the IEEE layouts */
    const uint16_t h[10] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x8000, 0x7C00, 0xFC00, 0x3555, 0x0400};
    const float hv[10] = {1.0f, -2.0f, 65504.0f, 0x1p-24f, 1023 * 0x1p-24f, -0.0f, INFINITY, -INFINITY,
                          0x1.554p-2f, 0x1p-14f};
    const uint16_t b[4] = {0x3F80, 0xC0A0, 0x7F80, 0x0001};
    const float bv[4] = {1.0f, -5.0f, INFINITY, 0x1p-133f};
    const uint16_t nan16[2] = {0x7E00, 0x7FC0};
    unsigned char data[20 + 8 + 4];
    memcpy(data, h, 20);
    memcpy(data + 20, b, 8);
    memcpy(data + 28, nan16, 4);
    st_file f = make_file("{\"h\":{\"dtype\":\"F16\",\"shape\":[10],\"data_offsets\":[0,20]},"
                          "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[20,28]},"
                          "\"hn\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[28,30]},"
                          "\"bn\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[30,32]}}", data, sizeof data);
    ek_safetensors *st = NULL;
    CHECK_OK(ek_safetensors_parse(f.bytes, f.size, &st));
    if (!st) return;
    float out[10];
    CHECK_OK(ek_safetensors_copy_f32(st, 0, 10, out));
    CHECK_SAME_BYTES(out, hv, sizeof hv); /* -0 and the subnormals bit for bit */
    CHECK_OK(ek_safetensors_copy_f32(st, 1, 4, out));
    CHECK_SAME_BYTES(out, bv, sizeof bv);
    CHECK_OK(ek_safetensors_copy_f32(st, 2, 1, out));
    CHECK(isnan(out[0]));
    CHECK_OK(ek_safetensors_copy_f32(st, 3, 1, out));
    CHECK(isnan(out[0]));
    ek_safetensors_free(st);
    free(f.bytes);
}

TEST(safetensors_integer_conversions) {
    const int32_t i32[3] = {-1, INT32_MIN, 7};
    const uint8_t u8[2] = {0, 255};
    const uint8_t bools[2] = {1, 0};
    const int16_t i16[1] = {-300};
    const uint64_t u64[2] = {5, UINT64_C(1) << 63};
    unsigned char data[12 + 2 + 2 + 2 + 16];
    memcpy(data, i32, 12);
    memcpy(data + 12, u8, 2);
    memcpy(data + 14, bools, 2);
    memcpy(data + 16, i16, 2);
    memcpy(data + 18, u64, 16);
    st_file f = make_file("{\"i32\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                          "\"u8\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[12,14]},"
                          "\"bool\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[14,16]},"
                          "\"i16\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[16,18]},"
                          "\"u64\":{\"dtype\":\"U64\",\"shape\":[2],\"data_offsets\":[18,34]}}", data, sizeof data);
    ek_safetensors *st = NULL;
    CHECK_OK(ek_safetensors_parse(f.bytes, f.size, &st));
    if (!st) return;
    int64_t out[3];
    CHECK_OK(ek_safetensors_copy_i64(st, 0, 3, out));
    CHECK(out[0] == -1 && out[1] == INT32_MIN && out[2] == 7);
    CHECK_OK(ek_safetensors_copy_i64(st, 1, 2, out));
    CHECK(out[0] == 0 && out[1] == 255);
    CHECK_OK(ek_safetensors_copy_i64(st, 2, 2, out));
    CHECK(out[0] == 1 && out[1] == 0);
    CHECK_OK(ek_safetensors_copy_i64(st, 3, 1, out));
    CHECK(out[0] == -300);
    int64_t guard[2] = {42, 42};
    CHECK_ERROR(ek_safetensors_copy_i64(st, 4, 2, guard), EK_ERR_OVERFLOW,
                "U64 value 9223372036854775808 at position 1 does not fit in int64");
    CHECK(guard[0] == 42 && guard[1] == 42); /* nothing written, not even position 0 */
    ek_safetensors_free(st);
    free(f.bytes);
}

TEST(safetensors_rejects_bad_files) {
    float d[4] = {1, 2, 3, 4};
    const char *ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
    ek_safetensors *st = NULL;

    /* truncated: shorter than the length prefix, header cut, data cut */
    unsigned char tiny[7] = {2, 0, 0, 0, 0, 0, 0};
    CHECK_ERROR(ek_safetensors_parse(tiny, 7, &st), EK_ERR_SHAPE, "truncated file: 7 bytes, shorter than the 8-byte header length");
    CHECK_ERROR(ek_safetensors_parse(NULL, 0, &st), EK_ERR_SHAPE, "truncated file: 0 bytes");
    st_file f = make_file(ok, d, 16);
    CHECK_ERROR(ek_safetensors_parse(f.bytes, 8 + 20, &st), EK_ERR_SHAPE, "header length 57 runs past the end of the file (28 bytes, so at most 20)");
    CHECK_ERROR(ek_safetensors_parse(f.bytes, f.size - 1, &st), EK_ERR_SHAPE,
                "tensor \"w\": data_offsets [0, 16] run past the end of the data (15 bytes after the header)");
    /* header length past the end, and a huge one */
    unsigned char big[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, '{', '}'};
    CHECK_ERROR(ek_safetensors_parse(big, 16, &st), EK_ERR_SHAPE, "header length 18446744073709551615 runs past the end");
    CHECK(st == NULL);
    free(f.bytes);
    /* bad arguments */
    CHECK_ERROR(ek_safetensors_parse(d, 16, NULL), EK_ERR_NULL_POINTER, "out is NULL");
    CHECK_ERROR(ek_safetensors_parse(NULL, 16, &st), EK_ERR_NULL_POINTER, "data is NULL");
    CHECK_ERROR(ek_safetensors_parse(d, -1, &st), EK_ERR_INVALID_ARGUMENT, "size=-1 must not be negative");

    /* malformed JSON */
    CHECK_REJECTS("", NULL, 0, EK_ERR_INVALID_ARGUMENT, "malformed header JSON: the header must be a JSON object");
    CHECK_REJECTS("[]", NULL, 0, EK_ERR_INVALID_ARGUMENT, "at header byte 0: the header must be a JSON object: expected '{', found '['");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "expected ',' or '}' after a tensor, found the end of the header");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "at header byte 57: expected a string (a tensor name or __metadata__), found '}'");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}x", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "expected nothing but whitespace after the header object, found 'x'");
    {   /* a NUL byte after the object (padding must be whitespace) */
        char h[80];
        size_t n = strlen(ok);
        memcpy(h, ok, n);
        h[n] = 0;
        unsigned char buf[8 + 80 + 16];
        for (int k = 0; k < 8; k++) buf[k] = (unsigned char)((n + 1) >> (8 * k));
        memcpy(buf + 8, h, n + 1);
        memcpy(buf + 8 + n + 1, d, 16);
        CHECK_ERROR(ek_safetensors_parse(buf, (int64_t)(8 + n + 1 + 16), &st), EK_ERR_INVALID_ARGUMENT,
                    "expected nothing but whitespace after the header object, found byte 0x00");
        CHECK(st == NULL);
    }
    CHECK_REJECTS("{\"w\" \"dtype\"}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "expected ':' after a name, found '\"'");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,02],\"data_offsets\":[0,16]}}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "leading zero in a number");
    CHECK_REJECTS("{\"w\x01\":{}}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "control character in a string");
    CHECK_REJECTS("{\"w\\q\":{}}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "invalid escape");
    CHECK_REJECTS("{\"w\\u12G4\":{}}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "expected 4 hex digits after \\u");
    CHECK_REJECTS("{\"\\udc00\":{}}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "unpaired low surrogate");
    CHECK_REJECTS("{\"\\ud800x\":{}}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "expected a \\u low surrogate");
    CHECK_REJECTS("{\"a\\u0000b\":{}}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "\\u0000 (NUL) is not allowed");
    CHECK_REJECTS("{\"\xc0\xaf\":{}}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "invalid UTF-8 in a string");   /* overlong '/' */
    CHECK_REJECTS("{\"\xed\xa0\x80\":{}}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "invalid UTF-8 in a string"); /* a surrogate */
    CHECK_REJECTS("{\"unterminated", NULL, 0, EK_ERR_INVALID_ARGUMENT, "unterminated string");

    /* structure */
    CHECK_REJECTS("{\"w\":[1]}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "tensor \"w\": expected an object {dtype, shape, data_offsets}");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2]}}", d, 16, EK_ERR_INVALID_ARGUMENT, "tensor \"w\": missing field \"data_offsets\"");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", d, 16,
                  EK_ERR_INVALID_ARGUMENT, "tensor \"w\": field \"dtype\" appears twice");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16],\"strides\":[1]}}", d, 16,
                  EK_ERR_INVALID_ARGUMENT, "tensor \"w\": unknown field \"strides\"");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16,16]}}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "expected ']' (data_offsets has two entries), found ','");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "expected ',' (data_offsets has two entries), found ']'");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "tensor \"w\": shape[0]=-4 must not be negative");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[4.0],\"data_offsets\":[0,16]}}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "tensor \"w\": shape[0]=4.0 must be an integer");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1e1]}}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "data_offsets[1]=1e1 must be an integer");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"4\"],\"data_offsets\":[0,16]}}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "expected an integer (tensor \"w\": shape[0]), found '\"'");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,16]}}", d, 16,
                  EK_ERR_OVERFLOW, "tensor \"w\": shape[0]=99999999999999999999 does not fit in 64 bits");
    CHECK_REJECTS("{\"__metadata__\":{\"a\":1}}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "__metadata__ \"a\": the value must be a string");
    CHECK_REJECTS("{\"__metadata__\":[]}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "__metadata__ must be an object of strings");
    CHECK_REJECTS("{\"__metadata__\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}}", NULL, 0, EK_ERR_INVALID_ARGUMENT,
                  "__metadata__ key \"a\" appears twice");
    CHECK_REJECTS("{\"__metadata__\":{},\"__metadata__\":{}}", NULL, 0, EK_ERR_INVALID_ARGUMENT, "__metadata__ appears twice");

    /* names and dtypes */
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]},"
                  "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "tensor name \"w\" appears twice");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F33\",\"shape\":[4],\"data_offsets\":[0,16]}}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "tensor \"w\": unknown dtype \"F33\"");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"f32\",\"shape\":[4],\"data_offsets\":[0,16]}}", d, 16, EK_ERR_INVALID_ARGUMENT,
                  "unknown dtype \"f32\"");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,2]}}", d, 2, EK_ERR_INVALID_ARGUMENT,
                  "unknown dtype \"F4\"");

    /* sizes and offsets */
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", d, 16, EK_ERR_SHAPE,
                  "tensor \"w\": shape [2, 3] of F32 is 24 bytes but data_offsets [0, 16] hold 16");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}", d, 16, EK_ERR_SHAPE,
                  "shape [4] of F16 is 8 bytes but data_offsets [0, 16] hold 16");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", d, 16, EK_ERR_SHAPE,
                  "tensor \"w\": data_offsets [16, 0] end before they begin");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[4,20]}}", d, 16, EK_ERR_SHAPE,
                  "data_offsets [4, 20] run past the end of the data (16 bytes after the header)");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}", d, 16,
                  EK_ERR_OVERFLOW, "shape [4611686018427387904, 4] has more elements than fit in 64 bits");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,16]}}", d, 16,
                  EK_ERR_OVERFLOW, "shape [2305843009213693952] of F64 has more bytes than fit in 64 bits");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[4,16]}}", d, 16, EK_ERR_SHAPE,
                  "data bytes [0, 4) belong to no tensor (the first, \"w\", starts at 4)");
    CHECK_REJECTS("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", d, 16, EK_ERR_SHAPE,
                  "data bytes [4, 8) between tensor \"a\" and tensor \"b\" belong to no tensor");
    CHECK_REJECTS("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", d, 16, EK_ERR_SHAPE,
                  "tensor \"b\" (data_offsets [8, 16]) overlaps tensor \"a\" ([0, 12])");
    CHECK_REJECTS("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", d, 16, EK_ERR_SHAPE,
                  "tensor \"b\" (data_offsets [0, 16]) overlaps tensor \"a\" ([0, 16])");
    CHECK_REJECTS("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", d, 16, EK_ERR_SHAPE,
                  "the data has 16 bytes after the header but the tensors cover 12 (4 bytes belong to no tensor)");
    CHECK_REJECTS("{}", d, 16, EK_ERR_SHAPE, "the data has 16 bytes after the header but the tensors cover 0");
}

/* The 100,000,000-byte header limit (the safetensors crate's): a header one byte longer is refused
 * before anything is read past the length prefix; one exactly at the limit passes that check and is
 * then judged as JSON (all zero bytes here: malformed). The buffer is calloc'ed, so its pages are
 * never touched by the first parse. */
TEST(safetensors_header_length_limit) {
    const uint64_t limit = 100000000;
    unsigned char *buf = calloc(8 + limit + 1, 1);
    if (!CHECK_MSG(buf != NULL, "calloc of %llu bytes failed", (unsigned long long)(8 + limit + 1))) return;
    ek_safetensors *st = NULL;
    for (int k = 0; k < 8; k++) buf[k] = (unsigned char)((limit + 1) >> (8 * k));
    CHECK_ERROR(ek_safetensors_parse(buf, (int64_t)(8 + limit + 1), &st), EK_ERR_SHAPE,
                "safetensors: header length 100000001 is larger than the limit of 100000000 bytes");
    CHECK(st == NULL);
    for (int k = 0; k < 8; k++) buf[k] = (unsigned char)(limit >> (8 * k));
    ek_status s = ek_safetensors_parse(buf, (int64_t)(8 + limit), &st);
    CHECK_MSG(s == EK_ERR_INVALID_ARGUMENT && strstr(ek_last_error(), "malformed header JSON") && !strstr(ek_last_error(), "limit"),
              "a header of exactly the limit: %s \"%s\"", ek_status_string(s), ek_last_error());
    CHECK(st == NULL);
    free(buf);
}

/* Reading a file in pieces: the header length from the first 8 bytes, the header alone checked
 * against the file's size, then runs of elements converted from bytes the caller read. Every
 * expected value follows from the bytes written here. */
TEST(safetensors_header_first_reading) {
    /* b: F32 [2, 3] at [0, 24); u: U64 [3] at [24, 48) whose last value does not fit int64 */
    unsigned char data[48];
    memcpy(data, F6, 24);
    uint64_t u[3] = {7, (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1};
    memcpy(data + 24, u, 24);
    const char *header = "{\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                         "\"u\":{\"dtype\":\"U64\",\"shape\":[3],\"data_offsets\":[24,48]}}";
    st_file f = make_file(header, data, sizeof data);
    int64_t h = -1, H = (int64_t)strlen(header);
    CHECK_OK(ek_safetensors_header_size(f.bytes, f.size, &h));
    CHECK_EQ_I64(h, H);
    CHECK_ERROR(ek_safetensors_header_size(NULL, 5, &h), EK_ERR_SHAPE, "truncated file: 5 bytes");
    CHECK_ERROR(ek_safetensors_header_size(f.bytes, 8 + H - 1, &h), EK_ERR_SHAPE,
                "runs past the end of the file");
    CHECK_ERROR(ek_safetensors_header_size(f.bytes, f.size, NULL), EK_ERR_NULL_POINTER, "out_header_size is NULL");

    /* the head alone: a copy of the first 8 + H bytes, freed before the handle is used */
    unsigned char *head = malloc((size_t)(8 + H));
    memcpy(head, f.bytes, (size_t)(8 + H));
    ek_safetensors *st = NULL;
    CHECK_OK(ek_safetensors_parse_header(head, 8 + H, f.size, &st));
    free(head);
    if (!st) return;
    CHECK_EQ_I64(ek_safetensors_count(st), 2);
    ek_safetensors_tensor t;
    CHECK_OK(ek_safetensors_get(st, 1, &t));
    CHECK(t.data == NULL && t.offset == 8 + H + 24 && t.num_bytes == 24);
    float out[6] = {0};
    CHECK_ERROR(ek_safetensors_copy_f32(st, 0, 6, out), EK_ERR_INVALID_ARGUMENT,
                "the handle was parsed from the header alone");
    /* runs [0, 4) and [4, 6) of b */
    CHECK_OK(ek_safetensors_convert_f32(st, 0, 0, 4, f.bytes + 8 + H, out));
    CHECK_OK(ek_safetensors_convert_f32(st, 0, 4, 2, f.bytes + 8 + H + 16, out + 4));
    CHECK_SAME_BYTES(out, F6, 24);
    CHECK_ERROR(ek_safetensors_convert_f32(st, 0, 5, 2, f.bytes, out), EK_ERR_INDEX_OUT_OF_RANGE,
                "first=5, count=2 is not a run of the 6 elements of tensor \"b\"");
    CHECK_ERROR(ek_safetensors_convert_f32(st, 0, -1, 1, f.bytes, out), EK_ERR_INDEX_OUT_OF_RANGE, "first=-1");
    CHECK_ERROR(ek_safetensors_convert_f32(st, 0, 0, INT64_MAX, f.bytes, out), EK_ERR_INDEX_OUT_OF_RANGE, "count=");
    CHECK_ERROR(ek_safetensors_convert_f32(st, 0, 0, 1, NULL, out), EK_ERR_NULL_POINTER, "bytes is NULL");
    CHECK_OK(ek_safetensors_convert_f32(st, 0, 6, 0, NULL, NULL)); /* an empty run at the end */
    int64_t v[3] = {-1, -1, -1};
    CHECK_OK(ek_safetensors_convert_i64(st, 1, 1, 1, f.bytes + 8 + H + 32, v));
    CHECK(v[0] == INT64_MAX && v[1] == -1);
    /* the overflow is named by its position in the tensor, not in the run; nothing is written */
    CHECK_ERROR(ek_safetensors_convert_i64(st, 1, 1, 2, f.bytes + 8 + H + 32, v), EK_ERR_OVERFLOW,
                "U64 value 9223372036854775808 at position 2 does not fit in int64");
    CHECK(v[0] == INT64_MAX && v[1] == -1);
    CHECK_ERROR(ek_safetensors_convert_i64(st, 0, 0, 1, f.bytes + 8 + H, v), EK_ERR_INVALID_ARGUMENT, "is F32, not an integer dtype");
    ek_safetensors_free(st);

    /* the head's own checks, and the data's length taken from file_size */
    st = NULL;
    CHECK_ERROR(ek_safetensors_parse_header(f.bytes, 8 + H - 1, f.size, &st), EK_ERR_INVALID_ARGUMENT,
                "holds less than the 8 + ");
    CHECK_ERROR(ek_safetensors_parse_header(f.bytes, 4, f.size, &st), EK_ERR_INVALID_ARGUMENT, "at least the 8-byte header length");
    CHECK_ERROR(ek_safetensors_parse_header(f.bytes, f.size, f.size - 1, &st), EK_ERR_INVALID_ARGUMENT, "larger than file_size");
    CHECK_ERROR(ek_safetensors_parse_header(f.bytes, 8 + H, f.size - 1, &st), EK_ERR_SHAPE,
                "tensor \"u\": data_offsets [24, 48] run past the end of the data (47 bytes after the header)");
    CHECK_ERROR(ek_safetensors_parse_header(f.bytes, 8 + H, f.size + 1, &st), EK_ERR_SHAPE, "(1 bytes belong to no tensor)");
    /* a file far larger than memory: only its size is known, and it does not match the tensors */
    CHECK_ERROR(ek_safetensors_parse_header(f.bytes, 8 + H, INT64_C(1) << 36, &st), EK_ERR_SHAPE, "belong to no tensor");
    CHECK(st == NULL);
    free(f.bytes);
}

/* A header with `n` empty tensors (or metadata entries) named x0, x1, ... */
static char *many_entries(int64_t n, int metadata) {
    char *h = malloc((size_t)n * 64 + 64), *p = h;
    p += sprintf(p, metadata ? "{\"__metadata__\":{" : "{");
    for (int64_t i = 0; i < n; i++)
        p += metadata ? sprintf(p, "%s\"x%lld\":\"\"", i ? "," : "", (long long)i)
                      : sprintf(p, "%s\"x%lld\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}", i ? "," : "", (long long)i);
    sprintf(p, metadata ? "}}" : "}");
    return h;
}

/* The tensor and metadata counts are bounded (each costs the loading program an object); the limit
 * itself is accepted. */
TEST(safetensors_count_limits) {
    for (int metadata = 0; metadata < 2; metadata++) {
        int64_t limit = metadata ? EK_SAFETENSORS_MAX_METADATA : EK_SAFETENSORS_MAX_TENSORS;
        char *h = many_entries(limit, metadata);
        st_file f = make_file(h, NULL, 0);
        ek_safetensors *st = NULL;
        CHECK_OK(ek_safetensors_parse(f.bytes, f.size, &st));
        CHECK_EQ_I64(metadata ? ek_safetensors_metadata_count(st) : ek_safetensors_count(st), limit);
        ek_safetensors_free(st);
        free(f.bytes);
        free(h);
        h = many_entries(limit + 1, metadata);
        if (metadata)
            CHECK_REJECTS(h, NULL, 0, EK_ERR_SHAPE, "safetensors: __metadata__ has more than 100000 entries (the limit; entry 100001 is \"x100000\")");
        else
            CHECK_REJECTS(h, NULL, 0, EK_ERR_SHAPE, "safetensors: the header lists more than 100000 tensors (the limit; tensor 100001 is \"x100000\")");
        free(h);
    }
}
