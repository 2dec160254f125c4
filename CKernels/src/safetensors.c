/* safetensors.c — the safetensors checkpoint reader (embeddingkit.h section 13).
 *
 * One pass over the JSON header with a small recursive-descent parser that knows the format's only
 * shapes (the top-level object, tensor objects, the metadata object, arrays of integers), then the
 * whole-file checks: unique names, byte counts, and data that the tensors tile exactly. Strings are
 * decoded into one arena of H + 1 bytes (a decoded string and its NUL never take more bytes than
 * its JSON form with the quotes). Nothing is kept when a check fails. Every check needs only the
 * header and the file's size (ek_safetensors_parse_header), so a caller can read a file's tensors
 * one run at a time (ek_safetensors_convert_*) instead of holding the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define EKI_ST_MAX_HEADER EK_SAFETENSORS_MAX_HEADER /* the safetensors crate's limit */
#define EKI_ST_QUOTE 200 /* characters of a name quoted in an error message */

static const char *const dtype_names[] = {"BOOL", "U8",   "I8",  "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
                                          "BF16", "I32",  "U32", "F32",     "F64",     "I64", "U64"};
static const int64_t dtype_sizes[] = {1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};
#define EKI_ST_NUM_DTYPES ((int)(sizeof dtype_sizes / sizeof dtype_sizes[0]))

const char *ek_safetensors_dtype_name(ek_safetensors_dtype dtype) {
    return (int)dtype >= 0 && (int)dtype < EKI_ST_NUM_DTYPES ? dtype_names[dtype] : "?";
}

int64_t ek_safetensors_dtype_size(ek_safetensors_dtype dtype) {
    return (int)dtype >= 0 && (int)dtype < EKI_ST_NUM_DTYPES ? dtype_sizes[dtype] : 0;
}

typedef struct {
    int64_t name;   /* offset of the NUL-terminated name in the string arena */
    ek_safetensors_dtype dtype;
    int64_t rank;
    int64_t dims;   /* offset of the shape in the dims array */
    int64_t begin, end; /* data_offsets */
    int64_t numel;
} st_entry;

struct ek_safetensors {
    const uint8_t *data;
    int64_t size, data_start;
    char *strings;
    int64_t strings_used;
    st_entry *tensors;
    int64_t count, tensors_cap;
    int64_t *dims;
    int64_t num_dims, dims_cap;
    int64_t *meta; /* pairs: key offset, value offset */
    int64_t num_meta, meta_cap;
    int64_t *by_name; /* tensor numbers sorted by name, for ek_safetensors_find */
};

void ek_safetensors_free(ek_safetensors *st) {
    if (!st) return;
    free(st->strings);
    free(st->tensors);
    free(st->dims);
    free(st->meta);
    free(st->by_name);
    free(st);
}

/* ---- growing arrays ---------------------------------------------------------------------------- */

static int grow(void **p, int64_t *cap, int64_t need, size_t elem) {
    if (need <= *cap) return 1;
    int64_t n = *cap ? *cap : 8;
    while (n < need) n *= 2;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q) return 0;
    *p = q;
    *cap = n;
    return 1;
}

/* ---- the JSON header ------------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *p; /* the header */
    int64_t n, i;     /* its length; the read position */
    ek_safetensors *st;
} jp;

#define OP "safetensors"

static ek_status syntax(const jp *j, const char *what) {
    if (j->i >= j->n)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": malformed header JSON: %s, found the end of the header (%lld bytes)",
                        what, (long long)j->n);
    uint8_t c = j->p[j->i];
    if (c >= 0x21 && c < 0x7F)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": malformed header JSON at header byte %lld: %s, found '%c'",
                        (long long)j->i, what, c);
    return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": malformed header JSON at header byte %lld: %s, found byte 0x%02x",
                    (long long)j->i, what, c);
}

static void skip_ws(jp *j) {
    while (j->i < j->n) {
        uint8_t c = j->p[j->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        j->i++;
    }
}

/* Skips whitespace, then consumes `c` if it is next. */
static int accept(jp *j, uint8_t c) {
    skip_ws(j);
    if (j->i < j->n && j->p[j->i] == c) {
        j->i++;
        return 1;
    }
    return 0;
}

static ek_status expect(jp *j, uint8_t c, const char *what) {
    return accept(j, c) ? EK_OK : syntax(j, what);
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits after "\u" at j->i; advances past them. */
static ek_status read_u4(jp *j, uint32_t *out) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int h = j->i < j->n ? hexval(j->p[j->i]) : -1;
        if (h < 0) return syntax(j, "expected 4 hex digits after \\u");
        v = v * 16 + (uint32_t)h;
        j->i++;
    }
    *out = v;
    return EK_OK;
}

static void put_utf8(char *s, int64_t *len, uint32_t cp) {
    if (cp < 0x80) {
        s[(*len)++] = (char)cp;
    } else if (cp < 0x800) {
        s[(*len)++] = (char)(0xC0 | (cp >> 6));
        s[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s[(*len)++] = (char)(0xE0 | (cp >> 12));
        s[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        s[(*len)++] = (char)(0xF0 | (cp >> 18));
        s[(*len)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        s[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[(*len)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* The length of the well-formed UTF-8 sequence at p (at most n bytes), or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are not). */
static int utf8_len(const uint8_t *p, int64_t n) {
    uint8_t c = p[0];
    int len;
    uint32_t cp, min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    for (int k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* A JSON string at j->i (after whitespace), decoded into the arena: *out is its offset there.
 * `what` names the string in errors ("a tensor name", "the dtype of tensor ..."). */
static ek_status read_string(jp *j, int64_t *out, const char *what) {
    skip_ws(j);
    if (j->i >= j->n || j->p[j->i] != '"') {
        char msg[160];
        snprintf(msg, sizeof msg, "expected a string (%s)", what);
        return syntax(j, msg);
    }
    j->i++;
    ek_safetensors *st = j->st;
    char *s = st->strings;
    int64_t len = st->strings_used, start = len;
    for (;;) {
        if (j->i >= j->n) return syntax(j, "unterminated string");
        uint8_t c = j->p[j->i];
        if (c == '"') {
            j->i++;
            break;
        }
        if (c < 0x20) return syntax(j, "control character in a string (escape it)");
        if (c == '\\') {
            j->i++;
            if (j->i >= j->n) return syntax(j, "unterminated escape");
            uint8_t e = j->p[j->i++];
            uint32_t cp = 0;
            switch (e) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u': {
                ek_status s2 = read_u4(j, &cp);
                if (s2) return s2;
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    j->i -= 6;
                    return syntax(j, "unpaired low surrogate \\u escape");
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo = 0;
                    if (j->i + 1 >= j->n || j->p[j->i] != '\\' || j->p[j->i + 1] != 'u')
                        return syntax(j, "expected a \\u low surrogate after a high surrogate");
                    j->i += 2;
                    if ((s2 = read_u4(j, &lo))) return s2;
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        j->i -= 6;
                        return syntax(j, "expected a \\u low surrogate after a high surrogate");
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                if (cp == 0) {
                    j->i -= 6;
                    return syntax(j, "\\u0000 (NUL) is not allowed in names, keys or values");
                }
                break;
            }
            default:
                j->i--;
                return syntax(j, "invalid escape");
            }
            put_utf8(s, &len, cp);
            continue;
        }
        int l = utf8_len(j->p + j->i, j->n - j->i);
        if (l == 0) return syntax(j, "invalid UTF-8 in a string");
        memcpy(s + len, j->p + j->i, (size_t)l);
        len += l;
        j->i += l;
    }
    s[len++] = '\0';
    st->strings_used = len;
    *out = start;
    return EK_OK;
}

/* A non-negative JSON integer. `ctx` names it in errors ("tensor \"w\": shape[1]"). */
static ek_status read_int(jp *j, int64_t *out, const char *ctx) {
    skip_ws(j);
    int64_t start = j->i;
    int neg = 0, frac = 0, overflow = 0;
    int64_t v = 0;
    if (j->i < j->n && j->p[j->i] == '-') neg = 1, j->i++;
    if (j->i >= j->n || j->p[j->i] < '0' || j->p[j->i] > '9') {
        j->i = start;
        char msg[300];
        snprintf(msg, sizeof msg, "expected an integer (%s)", ctx);
        return syntax(j, msg);
    }
    if (j->p[j->i] == '0' && j->i + 1 < j->n && j->p[j->i + 1] >= '0' && j->p[j->i + 1] <= '9') {
        j->i++;
        return syntax(j, "leading zero in a number");
    }
    while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9') {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (int64_t)(j->p[j->i] - '0'), &v))
            overflow = 1;
        j->i++;
    }
    if (j->i < j->n && j->p[j->i] == '.') {
        frac = 1;
        j->i++;
        if (j->i >= j->n || j->p[j->i] < '0' || j->p[j->i] > '9') return syntax(j, "expected a digit after '.'");
        while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9') j->i++;
    }
    if (j->i < j->n && (j->p[j->i] == 'e' || j->p[j->i] == 'E')) {
        frac = 1;
        j->i++;
        if (j->i < j->n && (j->p[j->i] == '+' || j->p[j->i] == '-')) j->i++;
        if (j->i >= j->n || j->p[j->i] < '0' || j->p[j->i] > '9') return syntax(j, "expected a digit in an exponent");
        while (j->i < j->n && j->p[j->i] >= '0' && j->p[j->i] <= '9') j->i++;
    }
    int len = (int)(j->i - start > 40 ? 40 : j->i - start);
    if (neg && !(v == 0 && !frac && !overflow))
        return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": %s=%.*s must not be negative", ctx, len, (const char *)j->p + start);
    if (frac)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": %s=%.*s must be an integer", ctx, len, (const char *)j->p + start);
    if (overflow)
        return eki_fail(EK_ERR_OVERFLOW, OP ": %s=%.*s%s does not fit in 64 bits", ctx, len, (const char *)j->p + start,
                        j->i - start > 40 ? "..." : "");
    *out = v;
    return EK_OK;
}

static const char *str(const ek_safetensors *st, int64_t at) { return st->strings + at; }

/* "__metadata__": { "key": "value", ... } */
static ek_status read_metadata(jp *j) {
    ek_status s;
    ek_safetensors *st = j->st;
    skip_ws(j);
    if ((s = expect(j, '{', "expected '{' (__metadata__ must be an object of strings)"))) return s;
    if (accept(j, '}')) return EK_OK;
    for (;;) {
        int64_t key, value;
        if ((s = read_string(j, &key, "a __metadata__ key"))) return s;
        if ((s = expect(j, ':', "expected ':' after a __metadata__ key"))) return s;
        skip_ws(j);
        if (j->i < j->n && j->p[j->i] != '"')
            return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": __metadata__ \"%.*s\": the value must be a string (header byte %lld)",
                            EKI_ST_QUOTE, str(st, key), (long long)j->i);
        if ((s = read_string(j, &value, "a __metadata__ value"))) return s;
        if (st->num_meta >= EK_SAFETENSORS_MAX_METADATA)
            return eki_fail(EK_ERR_SHAPE, OP ": __metadata__ has more than %d entries (the limit; entry %lld is \"%.*s\")",
                            EK_SAFETENSORS_MAX_METADATA, (long long)st->num_meta + 1, EKI_ST_QUOTE, str(st, key));
        if (!grow((void **)&st->meta, &st->meta_cap, 2 * (st->num_meta + 1), sizeof(int64_t)))
            return eki_fail(EK_ERR_ALLOC, OP ": out of memory for the metadata");
        st->meta[2 * st->num_meta] = key;
        st->meta[2 * st->num_meta + 1] = value;
        st->num_meta++;
        if (accept(j, '}')) return EK_OK;
        if ((s = expect(j, ',', "expected ',' or '}' in __metadata__"))) return s;
    }
}

enum { F_DTYPE = 1, F_SHAPE = 2, F_OFFSETS = 4 };

/* { "dtype": ..., "shape": [...], "data_offsets": [b, e] } for the tensor named at `name`. */
static ek_status read_tensor(jp *j, int64_t name) {
    ek_status s;
    ek_safetensors *st = j->st;
    const char *nm;
    char ctx[300];
    if (st->count >= EK_SAFETENSORS_MAX_TENSORS)
        return eki_fail(EK_ERR_SHAPE, OP ": the header lists more than %d tensors (the limit; tensor %lld is \"%.*s\")",
                        EK_SAFETENSORS_MAX_TENSORS, (long long)st->count + 1, EKI_ST_QUOTE, str(st, name));
    if (!grow((void **)&st->tensors, &st->tensors_cap, st->count + 1, sizeof(st_entry)))
        return eki_fail(EK_ERR_ALLOC, OP ": out of memory for the tensor list");
    st_entry *t = &st->tensors[st->count];
    *t = (st_entry){name, EK_ST_F32, 0, st->num_dims, 0, 0, 1};
    nm = str(st, name);
    int seen = 0;
    skip_ws(j);
    if (j->i < j->n && j->p[j->i] != '{')
        return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": tensor \"%.*s\": expected an object {dtype, shape, data_offsets} (header byte %lld)",
                        EKI_ST_QUOTE, nm, (long long)j->i);
    if ((s = expect(j, '{', "expected '{'"))) return s;
    if (!accept(j, '}')) {
        for (;;) {
            int64_t key;
            if ((s = read_string(j, &key, "a tensor field"))) return s;
            nm = str(st, name);
            const char *k = str(st, key);
            int field = strcmp(k, "dtype") == 0 ? F_DTYPE
                      : strcmp(k, "shape") == 0 ? F_SHAPE
                      : strcmp(k, "data_offsets") == 0 ? F_OFFSETS : 0;
            if (!field)
                return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": tensor \"%.*s\": unknown field \"%.*s\" (expected dtype, shape, data_offsets)",
                                EKI_ST_QUOTE, nm, 64, k);
            if (seen & field)
                return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": tensor \"%.*s\": field \"%s\" appears twice",
                                EKI_ST_QUOTE, nm, k);
            seen |= field;
            st->strings_used = key; /* the field name is not kept */
            if ((s = expect(j, ':', "expected ':' after a field name"))) return s;
            if (field == F_DTYPE) {
                int64_t v;
                snprintf(ctx, sizeof ctx, "the dtype of tensor \"%.*s\"", EKI_ST_QUOTE, nm);
                if ((s = read_string(j, &v, ctx))) return s;
                int d = -1;
                for (int x = 0; x < EKI_ST_NUM_DTYPES; x++)
                    if (strcmp(str(st, v), dtype_names[x]) == 0) d = x;
                if (d < 0)
                    return eki_fail(EK_ERR_INVALID_ARGUMENT,
                                    OP ": tensor \"%.*s\": unknown dtype \"%.*s\" (known: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64)",
                                    EKI_ST_QUOTE, nm, 32, str(st, v));
                t->dtype = (ek_safetensors_dtype)d;
                st->strings_used = v;
            } else if (field == F_SHAPE) {
                if ((s = expect(j, '[', "expected '[' (shape)"))) return s;
                t->dims = st->num_dims;
                t->rank = 0;
                if (!accept(j, ']')) {
                    for (;;) {
                        int64_t v;
                        snprintf(ctx, sizeof ctx, "tensor \"%.*s\": shape[%lld]", EKI_ST_QUOTE, nm, (long long)t->rank);
                        if ((s = read_int(j, &v, ctx))) return s;
                        if (!grow((void **)&st->dims, &st->dims_cap, st->num_dims + 1, sizeof(int64_t)))
                            return eki_fail(EK_ERR_ALLOC, OP ": out of memory for shapes");
                        st->dims[st->num_dims++] = v;
                        t->rank++;
                        if (accept(j, ']')) break;
                        if ((s = expect(j, ',', "expected ',' or ']' in a shape"))) return s;
                    }
                }
            } else {
                int64_t b, e;
                if ((s = expect(j, '[', "expected '[' (data_offsets)"))) return s;
                snprintf(ctx, sizeof ctx, "tensor \"%.*s\": data_offsets[0]", EKI_ST_QUOTE, nm);
                if ((s = read_int(j, &b, ctx))) return s;
                if ((s = expect(j, ',', "expected ',' (data_offsets has two entries)"))) return s;
                snprintf(ctx, sizeof ctx, "tensor \"%.*s\": data_offsets[1]", EKI_ST_QUOTE, nm);
                if ((s = read_int(j, &e, ctx))) return s;
                if ((s = expect(j, ']', "expected ']' (data_offsets has two entries)"))) return s;
                t->begin = b, t->end = e;
            }
            if (accept(j, '}')) break;
            if ((s = expect(j, ',', "expected ',' or '}' in a tensor object"))) return s;
        }
    }
    static const char *const field_names[] = {"dtype", "shape", "data_offsets"};
    for (int f = 0; f < 3; f++)
        if (!(seen & (1 << f)))
            return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": tensor \"%.*s\": missing field \"%s\"", EKI_ST_QUOTE, nm,
                            field_names[f]);
    st->count++;
    return EK_OK;
}

/* ---- whole-file checks ------------------------------------------------------------------------- */

/* "[2, 3]" into buf (cut with "..." if long). */
static void format_shape(const ek_safetensors *st, const st_entry *t, char *buf, size_t cap) {
    size_t len = (size_t)snprintf(buf, cap, "[");
    int64_t d = 0;
    for (; d < t->rank && len + 28 < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", d ? ", " : "", (long long)st->dims[t->dims + d]);
    if (d < t->rank) len += (size_t)snprintf(buf + len, cap - len, ", ...");
    snprintf(buf + len, cap - len, "]");
}

static ek_status check_sizes(ek_safetensors *st, int64_t data_len) {
    for (int64_t i = 0; i < st->count; i++) {
        st_entry *t = &st->tensors[i];
        const char *nm = str(st, t->name);
        char shape[96];
        format_shape(st, t, shape, sizeof shape);
        int64_t numel = 1, bytes;
        for (int64_t d = 0; d < t->rank; d++)
            if (__builtin_mul_overflow(numel, st->dims[t->dims + d], &numel))
                return eki_fail(EK_ERR_OVERFLOW, OP ": tensor \"%.*s\": shape %s has more elements than fit in 64 bits",
                                EKI_ST_QUOTE, nm, shape);
        if (__builtin_mul_overflow(numel, dtype_sizes[t->dtype], &bytes))
            return eki_fail(EK_ERR_OVERFLOW, OP ": tensor \"%.*s\": shape %s of %s has more bytes than fit in 64 bits",
                            EKI_ST_QUOTE, nm, shape, dtype_names[t->dtype]);
        t->numel = numel;
        if (t->begin > t->end)
            return eki_fail(EK_ERR_SHAPE, OP ": tensor \"%.*s\": data_offsets [%lld, %lld] end before they begin",
                            EKI_ST_QUOTE, nm, (long long)t->begin, (long long)t->end);
        if (t->end - t->begin != bytes)
            return eki_fail(EK_ERR_SHAPE, OP ": tensor \"%.*s\": shape %s of %s is %lld bytes but data_offsets [%lld, %lld] hold %lld",
                            EKI_ST_QUOTE, nm, shape, dtype_names[t->dtype], (long long)bytes,
                            (long long)t->begin, (long long)t->end, (long long)(t->end - t->begin));
        if (t->end > data_len)
            return eki_fail(EK_ERR_SHAPE, OP ": tensor \"%.*s\": data_offsets [%lld, %lld] run past the end of the data (%lld bytes after the header)",
                            EKI_ST_QUOTE, nm, (long long)t->begin, (long long)t->end, (long long)data_len);
    }
    return EK_OK;
}

/* A stable merge sort of `n` int64 keys with a context (C11's qsort has none). */
typedef int (*cmp_fn)(int64_t a, int64_t b, const ek_safetensors *st);

static void merge_sort(int64_t *a, int64_t *tmp, int64_t n, cmp_fn cmp, const ek_safetensors *st) {
    if (n < 2) return;
    int64_t h = n / 2;
    merge_sort(a, tmp, h, cmp, st);
    merge_sort(a + h, tmp, n - h, cmp, st);
    int64_t i = 0, k = h, o = 0;
    while (i < h && k < n) tmp[o++] = cmp(a[k], a[i], st) < 0 ? a[k++] : a[i++];
    while (i < h) tmp[o++] = a[i++];
    while (k < n) tmp[o++] = a[k++];
    memcpy(a, tmp, (size_t)n * sizeof *a);
}

static int by_name(int64_t a, int64_t b, const ek_safetensors *st) {
    return strcmp(str(st, st->tensors[a].name), str(st, st->tensors[b].name));
}

static int by_offsets(int64_t a, int64_t b, const ek_safetensors *st) {
    const st_entry *x = &st->tensors[a], *y = &st->tensors[b];
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(str(st, x->name), str(st, y->name));
}

static int by_meta_key(int64_t a, int64_t b, const ek_safetensors *st) {
    return strcmp(str(st, st->meta[2 * a]), str(st, st->meta[2 * b]));
}

static ek_status check_layout(ek_safetensors *st, int64_t data_len) {
    int64_t n = st->count, m = st->num_meta, cap = (n > m ? n : m) + 1;
    int64_t *order = malloc((size_t)cap * sizeof *order), *tmp = malloc((size_t)cap * sizeof *tmp);
    st_entry *sorted = malloc((size_t)(n + 1) * sizeof *sorted);
    st->by_name = malloc((size_t)(n + 1) * sizeof *st->by_name);
    ek_status s = EK_OK;
    if (!order || !tmp || !sorted || !st->by_name) {
        s = eki_fail(EK_ERR_ALLOC, OP ": out of memory for %lld tensors", (long long)n);
        goto done;
    }
    /* repeated metadata keys and names first: the clearest messages */
    for (int64_t i = 0; i < m; i++) order[i] = i;
    merge_sort(order, tmp, m, by_meta_key, st);
    for (int64_t i = 1; i < m; i++)
        if (by_meta_key(order[i - 1], order[i], st) == 0) {
            s = eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": __metadata__ key \"%.*s\" appears twice", EKI_ST_QUOTE,
                         str(st, st->meta[2 * order[i]]));
            goto done;
        }
    for (int64_t i = 0; i < n; i++) order[i] = i;
    merge_sort(order, tmp, n, by_name, st);
    for (int64_t i = 1; i < n; i++)
        if (by_name(order[i - 1], order[i], st) == 0) {
            s = eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": tensor name \"%.*s\" appears twice", EKI_ST_QUOTE,
                         str(st, st->tensors[order[i]].name));
            goto done;
        }
    if ((s = check_sizes(st, data_len))) goto done;
    /* number the tensors in the order of their data */
    for (int64_t i = 0; i < n; i++) order[i] = i;
    merge_sort(order, tmp, n, by_offsets, st);
    for (int64_t i = 0; i < n; i++) sorted[i] = st->tensors[order[i]];
    if (n) memcpy(st->tensors, sorted, (size_t)n * sizeof *sorted);
    int64_t at = 0;
    for (int64_t i = 0; i < n && !s; i++) {
        const st_entry *t = &st->tensors[i], *p = i ? &st->tensors[i - 1] : NULL;
        if (t->begin > at && !p)
            s = eki_fail(EK_ERR_SHAPE, OP ": data bytes [0, %lld) belong to no tensor (the first, \"%.*s\", starts at %lld)",
                         (long long)t->begin, EKI_ST_QUOTE, str(st, t->name), (long long)t->begin);
        else if (t->begin > at)
            s = eki_fail(EK_ERR_SHAPE, OP ": data bytes [%lld, %lld) between tensor \"%.*s\" and tensor \"%.*s\" belong to no tensor",
                         (long long)at, (long long)t->begin, EKI_ST_QUOTE, str(st, p->name), EKI_ST_QUOTE, str(st, t->name));
        else if (t->begin < at)
            s = eki_fail(EK_ERR_SHAPE, OP ": tensor \"%.*s\" (data_offsets [%lld, %lld]) overlaps tensor \"%.*s\" ([%lld, %lld])",
                         EKI_ST_QUOTE, str(st, t->name), (long long)t->begin, (long long)t->end, EKI_ST_QUOTE,
                         str(st, p->name), (long long)p->begin, (long long)p->end);
        at = t->end;
    }
    if (!s && at != data_len)
        s = eki_fail(EK_ERR_SHAPE, OP ": the data has %lld bytes after the header but the tensors cover %lld (%lld bytes belong to no tensor)",
                     (long long)data_len, (long long)at, (long long)(data_len - at));
    if (!s) {
        for (int64_t i = 0; i < n; i++) st->by_name[i] = i;
        merge_sort(st->by_name, tmp, n, by_name, st);
    }
done:
    free(order), free(tmp), free(sorted);
    return s;
}

static ek_status parse_header(jp *j) {
    ek_status s;
    ek_safetensors *st = j->st;
    int seen_meta = 0;
    skip_ws(j);
    if (j->i < j->n && j->p[j->i] != '{')
        return syntax(j, "the header must be a JSON object: expected '{'");
    if ((s = expect(j, '{', "the header must be a JSON object: expected '{'"))) return s;
    if (!accept(j, '}')) {
        for (;;) {
            int64_t key;
            if ((s = read_string(j, &key, "a tensor name or __metadata__"))) return s;
            if ((s = expect(j, ':', "expected ':' after a name"))) return s;
            if (strcmp(str(st, key), "__metadata__") == 0) {
                if (seen_meta) return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": __metadata__ appears twice");
                seen_meta = 1;
                st->strings_used = key;
                if ((s = read_metadata(j))) return s;
            } else if ((s = read_tensor(j, key))) {
                return s;
            }
            if (accept(j, '}')) break;
            if ((s = expect(j, ',', "expected ',' or '}' after a tensor"))) return s;
        }
    }
    skip_ws(j);
    if (j->i != j->n) return syntax(j, "expected nothing but whitespace after the header object");
    return EK_OK;
}

ek_status ek_safetensors_header_size(const void *first, int64_t file_size, int64_t *out_header_size) {
    if (!out_header_size) return eki_fail(EK_ERR_NULL_POINTER, OP ": out_header_size is NULL");
    if (file_size < 0) return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": file_size=%lld must not be negative", (long long)file_size);
    if (file_size < 8)
        return eki_fail(EK_ERR_SHAPE, OP ": truncated file: %lld bytes, shorter than the 8-byte header length", (long long)file_size);
    if (!first) return eki_fail(EK_ERR_NULL_POINTER, OP ": the first 8 bytes are NULL");
    const uint8_t *p = first;
    uint64_t h = 0;
    for (int k = 7; k >= 0; k--) h = (h << 8) | p[k];
    if (h > (uint64_t)(file_size - 8))
        return eki_fail(EK_ERR_SHAPE, OP ": header length %llu runs past the end of the file (%lld bytes, so at most %lld)",
                        (unsigned long long)h, (long long)file_size, (long long)(file_size - 8));
    if (h > EKI_ST_MAX_HEADER)
        return eki_fail(EK_ERR_SHAPE, OP ": header length %llu is larger than the limit of %d bytes", (unsigned long long)h,
                        EKI_ST_MAX_HEADER);
    *out_header_size = (int64_t)h;
    return EK_OK;
}

/* The header at head + 8 (h bytes, already checked against the file's size and the limit) of a file of
 * file_size bytes; `data` is the whole file, or NULL for a handle without the tensors' bytes. */
static ek_status parse(const uint8_t *head, int64_t h, int64_t file_size, const uint8_t *data, ek_safetensors **out) {
    ek_safetensors *st = calloc(1, sizeof *st);
    if (!st) return eki_fail(EK_ERR_ALLOC, OP ": out of memory");
    st->data = data;
    st->size = file_size;
    st->data_start = 8 + h;
    st->strings = malloc((size_t)h + 1);
    if (!st->strings) {
        ek_safetensors_free(st);
        return eki_fail(EK_ERR_ALLOC, OP ": out of memory for a header of %lld bytes", (long long)h);
    }
    jp j = {head + 8, h, 0, st};
    ek_status s = parse_header(&j);
    if (!s) s = check_layout(st, file_size - st->data_start);
    if (s) {
        ek_safetensors_free(st);
        return s;
    }
    *out = st;
    return EK_OK;
}

ek_status ek_safetensors_parse(const void *data, int64_t size, ek_safetensors **out) {
    if (!out) return eki_fail(EK_ERR_NULL_POINTER, OP ": out is NULL");
    if (size < 0) return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": size=%lld must not be negative", (long long)size);
    if (!data && size > 0) return eki_fail(EK_ERR_NULL_POINTER, OP ": data is NULL but size=%lld", (long long)size);
    int64_t h;
    ek_status s = ek_safetensors_header_size(data, size, &h);
    return s ? s : parse(data, h, size, data, out);
}

ek_status ek_safetensors_parse_header(const void *head, int64_t head_size, int64_t file_size, ek_safetensors **out) {
    if (!out) return eki_fail(EK_ERR_NULL_POINTER, OP ": out is NULL");
    if (head_size < 0) return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": head_size=%lld must not be negative", (long long)head_size);
    if (!head && head_size > 0) return eki_fail(EK_ERR_NULL_POINTER, OP ": head is NULL but head_size=%lld", (long long)head_size);
    if (head_size > file_size && file_size >= 0)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": head_size=%lld is larger than file_size=%lld", (long long)head_size,
                        (long long)file_size);
    if (head_size < 8 && file_size >= 8)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": head_size=%lld: the head must hold at least the 8-byte header length",
                        (long long)head_size);
    int64_t h;
    ek_status s = ek_safetensors_header_size(head, file_size, &h);
    if (s) return s;
    if (head_size < 8 + h)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, OP ": head_size=%lld holds less than the 8 + %lld bytes of the header",
                        (long long)head_size, (long long)h);
    return parse(head, h, file_size, NULL, out);
}

/* ---- access ------------------------------------------------------------------------------------ */

int64_t ek_safetensors_count(const ek_safetensors *st) { return st ? st->count : 0; }

int64_t ek_safetensors_metadata_count(const ek_safetensors *st) { return st ? st->num_meta : 0; }

ek_status ek_safetensors_get(const ek_safetensors *st, int64_t index, ek_safetensors_tensor *out) {
    if (!st) return eki_fail(EK_ERR_NULL_POINTER, OP ": handle is NULL");
    if (!out) return eki_fail(EK_ERR_NULL_POINTER, OP ": out is NULL");
    if (index < 0 || index >= st->count)
        return eki_fail(EK_ERR_INDEX_OUT_OF_RANGE, OP ": tensor index %lld is out of range for %lld tensors", (long long)index,
                        (long long)st->count);
    const st_entry *t = &st->tensors[index];
    out->name = str(st, t->name);
    out->dtype = t->dtype;
    out->rank = t->rank;
    out->shape = t->rank ? st->dims + t->dims : NULL;
    out->num_elements = t->numel;
    out->offset = st->data_start + t->begin;
    out->num_bytes = t->end - t->begin;
    out->data = st->data ? st->data + st->data_start + t->begin : NULL;
    return EK_OK;
}

ek_status ek_safetensors_find(const ek_safetensors *st, const char *name, int64_t *out_index) {
    if (!st) return eki_fail(EK_ERR_NULL_POINTER, OP ": handle is NULL");
    if (!name) return eki_fail(EK_ERR_NULL_POINTER, OP ": name is NULL");
    if (!out_index) return eki_fail(EK_ERR_NULL_POINTER, OP ": out_index is NULL");
    int64_t lo = 0, hi = st->count;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(str(st, st->tensors[st->by_name[mid]].name), name);
        if (c == 0) {
            *out_index = st->by_name[mid];
            return EK_OK;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *out_index = -1;
    return EK_OK;
}

ek_status ek_safetensors_metadata(const ek_safetensors *st, int64_t index, const char **out_key, const char **out_value) {
    if (!st) return eki_fail(EK_ERR_NULL_POINTER, OP ": handle is NULL");
    if (!out_key || !out_value) return eki_fail(EK_ERR_NULL_POINTER, OP ": out_key or out_value is NULL");
    if (index < 0 || index >= st->num_meta)
        return eki_fail(EK_ERR_INDEX_OUT_OF_RANGE, OP ": metadata index %lld is out of range for %lld entries",
                        (long long)index, (long long)st->num_meta);
    *out_key = str(st, st->meta[2 * index]);
    *out_value = str(st, st->meta[2 * index + 1]);
    return EK_OK;
}

/* ---- conversion -------------------------------------------------------------------------------- */

static inline uint64_t load_le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int k = bytes - 1; k >= 0; k--) v = (v << 8) | p[k];
    return v;
}

static inline float bits_to_f32(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    if (exp == 0) {
        float v = (float)mant * 0x1p-24f; /* zero or subnormal: exact */
        return sign ? -v : v;
    }
    if (exp == 31) return bits_to_f32(sign | 0x7F800000u | (mant << 13));
    return bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

/* The run [first, first + count) of tensor `index` exists, and the pointers are there. */
static ek_status check_run(const ek_safetensors *st, int64_t index, int64_t first, int64_t count, const void *bytes,
                           const void *out, const char *op, ek_safetensors_tensor *t) {
    ek_status s;
    if ((s = ek_safetensors_get(st, index, t))) return s;
    if (first < 0 || count < 0 || first > t->num_elements || count > t->num_elements - first)
        return eki_fail(EK_ERR_INDEX_OUT_OF_RANGE, "%s: first=%lld, count=%lld is not a run of the %lld elements of tensor \"%.*s\"",
                        op, (long long)first, (long long)count, (long long)t->num_elements, EKI_ST_QUOTE, t->name);
    if ((s = eki_check_ptr(op, "bytes", bytes, count))) return s;
    return eki_check_ptr(op, "out", out, count);
}

/* copy_*: the whole tensor, from the bytes the handle was parsed from. */
static ek_status check_copy(const ek_safetensors *st, int64_t index, int64_t count, const void *out, const char *op,
                            ek_safetensors_tensor *t) {
    ek_status s;
    if ((s = ek_safetensors_get(st, index, t))) return s;
    if (!st->data)
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: the handle was parsed from the header alone (ek_safetensors_parse_header): "
                        "read tensor \"%.*s\"'s bytes and convert them with ek_safetensors_convert_*", op, EKI_ST_QUOTE, t->name);
    if (count != t->num_elements)
        return eki_fail(EK_ERR_SHAPE, "%s: tensor \"%.*s\" has %lld elements, count=%lld", op, EKI_ST_QUOTE, t->name,
                        (long long)t->num_elements, (long long)count);
    return eki_check_ptr(op, "out", out, count);
}

/* Elements [first, first + count) of tensor t, whose bytes start at p, as float. */
static ek_status to_f32(const char *op, const ek_safetensors_tensor *t, const uint8_t *p, int64_t count, float *out) {
    switch (t->dtype) {
    case EK_ST_F32:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (count) memcpy(out, p, (size_t)count * 4);
#else
        for (int64_t i = 0; i < count; i++) out[i] = bits_to_f32((uint32_t)load_le(p + 4 * i, 4));
#endif
        return EK_OK;
    case EK_ST_F16:
        for (int64_t i = 0; i < count; i++) out[i] = f16_to_f32((uint16_t)load_le(p + 2 * i, 2));
        return EK_OK;
    case EK_ST_BF16:
        for (int64_t i = 0; i < count; i++) out[i] = bits_to_f32((uint32_t)load_le(p + 2 * i, 2) << 16);
        return EK_OK;
    default:
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: tensor \"%.*s\" is %s, not F32, F16 or BF16", op, EKI_ST_QUOTE,
                        t->name, dtype_names[t->dtype]);
    }
}

/* The same as int64; positions in messages count from the tensor's first element (`first` is p's). */
static ek_status to_i64(const char *op, const ek_safetensors_tensor *t, const uint8_t *p, int64_t first, int64_t count,
                        int64_t *out) {
    int size = (int)dtype_sizes[t->dtype], is_signed;
    switch (t->dtype) {
    case EK_ST_I64: case EK_ST_I32: case EK_ST_I16: case EK_ST_I8: is_signed = 1; break;
    case EK_ST_U64: case EK_ST_U32: case EK_ST_U16: case EK_ST_U8: case EK_ST_BOOL: is_signed = 0; break;
    default:
        return eki_fail(EK_ERR_INVALID_ARGUMENT, "%s: tensor \"%.*s\" is %s, not an integer dtype", op, EKI_ST_QUOTE,
                        t->name, dtype_names[t->dtype]);
    }
    if (t->dtype == EK_ST_U64) /* checked before anything is written */
        for (int64_t i = 0; i < count; i++) {
            uint64_t v = load_le(p + 8 * i, 8);
            if (v > (uint64_t)INT64_MAX)
                return eki_fail(EK_ERR_OVERFLOW, "%s: tensor \"%.*s\": U64 value %llu at position %lld does not fit in int64", op,
                                EKI_ST_QUOTE, t->name, (unsigned long long)v, (long long)(first + i));
        }
    for (int64_t i = 0; i < count; i++) {
        uint64_t v = load_le(p + (int64_t)size * i, size);
        if (is_signed && size < 8 && (v >> (8 * size - 1)) & 1) v |= ~UINT64_C(0) << (8 * size); /* sign-extend */
        out[i] = (int64_t)v;
    }
    return EK_OK;
}

ek_status ek_safetensors_copy_f32(const ek_safetensors *st, int64_t index, int64_t count, float *out) {
    static const char *op = OP "_copy_f32";
    ek_safetensors_tensor t;
    ek_status s = check_copy(st, index, count, out, op, &t);
    return s ? s : to_f32(op, &t, t.data, count, out);
}

ek_status ek_safetensors_copy_i64(const ek_safetensors *st, int64_t index, int64_t count, int64_t *out) {
    static const char *op = OP "_copy_i64";
    ek_safetensors_tensor t;
    ek_status s = check_copy(st, index, count, out, op, &t);
    return s ? s : to_i64(op, &t, t.data, 0, count, out);
}

ek_status ek_safetensors_convert_f32(const ek_safetensors *st, int64_t index, int64_t first, int64_t count, const void *bytes,
                                     float *out) {
    static const char *op = OP "_convert_f32";
    ek_safetensors_tensor t;
    ek_status s = check_run(st, index, first, count, bytes, out, op, &t);
    return s ? s : to_f32(op, &t, bytes, count, out);
}

ek_status ek_safetensors_convert_i64(const ek_safetensors *st, int64_t index, int64_t first, int64_t count, const void *bytes,
                                     int64_t *out) {
    static const char *op = OP "_convert_i64";
    ek_safetensors_tensor t;
    ek_status s = check_run(st, index, first, count, bytes, out, op, &t);
    return s ? s : to_i64(op, &t, bytes, first, count, out);
}
