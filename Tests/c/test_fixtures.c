/* test_fixtures.c — the kernels of embeddingkit.h against the committed PyTorch fixtures.
 *
 * The fixtures (Tests/Fixtures/NAME.txt) are written by Tests/Fixtures/generate.py; their format and
 * keys are described in Tests/Fixtures/README.md:
 *     # comment
 *     case <name>
 *     <key> <i|f> <count> v1 v2 ...        (i: int64, f: float32 as %.9g; nan, inf, -inf allowed)
 *     end
 * Every case is run with 1 and 2 threads (results must be bit-identical) and, where a kernel has
 * them, with int64 and int32 indices. A missing or malformed fixture file fails the test. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ek_test.h"

/* ------------------------------------------------------------------------------------------------
 * Reader
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    char key[256];
    char type;      /* 'i' or 'f' */
    int64_t count;
    int64_t *iv;    /* type 'i' */
    float *fv;      /* type 'f' */
} fx_field;

typedef struct {
    char name[256];
    int nfields, cap;
    fx_field *fields;
} fx_case;

typedef struct {
    int ncases, cap;
    fx_case *cases;
} fx_file;

static void fx_free(fx_file *f) {
    for (int c = 0; c < f->ncases; c++) {
        for (int i = 0; i < f->cases[c].nfields; i++) {
            free(f->cases[c].fields[i].iv);
            free(f->cases[c].fields[i].fv);
        }
        free(f->cases[c].fields);
    }
    free(f->cases);
    memset(f, 0, sizeof *f);
}

/* Reads one whitespace-separated token, skipping `#` comments (which run to the end of the line).
 * Returns 0 at end of file. */
static int fx_token(FILE *fp, char *buf, size_t size) {
    for (;;) {
        int ch = fgetc(fp);
        while (ch != EOF && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')) ch = fgetc(fp);
        if (ch == EOF) return 0;
        if (ch == '#') {
            while (ch != EOF && ch != '\n') ch = fgetc(fp);
            continue;
        }
        size_t n = 0;
        while (ch != EOF && ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            if (n + 1 < size) buf[n++] = (char)ch;
            ch = fgetc(fp);
        }
        buf[n] = '\0';
        return 1;
    }
}

/* Loads a fixture file; on failure records a failed check naming the problem and returns 0. */
static int fx_load(const char *path, fx_file *out) {
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        CHECK_MSG(0, "cannot open fixture file %s: %s (regenerate with .venv/bin/python Tests/Fixtures/generate.py)",
                  path, strerror(errno));
        return 0;
    }
    char tok[256];
    fx_case *cur = NULL;
    int ok = 1;
    while (ok && fx_token(fp, tok, sizeof tok)) {
        if (!cur) {
            if (strcmp(tok, "case") != 0 || !fx_token(fp, tok, sizeof tok)) {
                ok = CHECK_MSG(0, "%s: expected 'case <name>', got '%s'", path, tok);
                break;
            }
            if (out->ncases == out->cap) {
                out->cap = out->cap ? 2 * out->cap : 64;
                out->cases = realloc(out->cases, (size_t)out->cap * sizeof *out->cases);
            }
            cur = &out->cases[out->ncases++];
            memset(cur, 0, sizeof *cur);
            snprintf(cur->name, sizeof cur->name, "%s", tok);
            continue;
        }
        if (strcmp(tok, "end") == 0) {
            cur = NULL;
            continue;
        }
        if (cur->nfields == cur->cap) {
            cur->cap = cur->cap ? 2 * cur->cap : 16;
            cur->fields = realloc(cur->fields, (size_t)cur->cap * sizeof *cur->fields);
        }
        fx_field *f = &cur->fields[cur->nfields];
        memset(f, 0, sizeof *f);
        snprintf(f->key, sizeof f->key, "%s", tok);
        char type[8], cnt[32];
        char *end = NULL;
        if (!fx_token(fp, type, sizeof type) || (strcmp(type, "i") != 0 && strcmp(type, "f") != 0) ||
            !fx_token(fp, cnt, sizeof cnt) || (f->count = strtoll(cnt, &end, 10), *end != '\0') || f->count < 0) {
            ok = CHECK_MSG(0, "%s: case %s: bad header for field '%s'", path, cur->name, f->key);
            break;
        }
        f->type = type[0];
        size_t n = (size_t)(f->count > 0 ? f->count : 1);
        if (f->type == 'i') f->iv = calloc(n, sizeof *f->iv);
        else f->fv = calloc(n, sizeof *f->fv);
        cur->nfields++;
        for (int64_t k = 0; k < f->count; k++) {
            if (!fx_token(fp, tok, sizeof tok)) {
                ok = CHECK_MSG(0, "%s: case %s: field '%s' ends after %lld of %lld values", path, cur->name, f->key,
                               (long long)k, (long long)f->count);
                break;
            }
            errno = 0;
            if (f->type == 'i') f->iv[k] = strtoll(tok, &end, 10);
            else f->fv[k] = (float)strtod(tok, &end);
            if (*end != '\0' || end == tok) {
                ok = CHECK_MSG(0, "%s: case %s: field '%s' value %lld is '%s'", path, cur->name, f->key, (long long)k, tok);
                break;
            }
        }
    }
    if (ok && cur) ok = CHECK_MSG(0, "%s: case %s has no 'end'", path, cur->name);
    fclose(fp);
    if (ok && out->ncases == 0) ok = CHECK_MSG(0, "%s: no cases", path);
    if (!ok) fx_free(out);
    return ok;
}

static const fx_field *fx_get(const fx_case *c, const char *key) {
    for (int i = 0; i < c->nfields; i++)
        if (strcmp(c->fields[i].key, key) == 0) return &c->fields[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------------
 * Per-case context: names the case in every failure, remembers whether it failed
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    const fx_case *c;
    const char *family;
    int threads, wide; /* wide: 1 = int64 indices, 0 = int32 */
    int has_widths;
    int failed;
    char tag[600];
} fx_ctx;

static void fx_retag(fx_ctx *x) {
    snprintf(x->tag, sizeof x->tag, "%s/%s [%d thread%s%s]", x->family, x->c->name, x->threads,
             x->threads == 1 ? "" : "s", !x->has_widths ? "" : x->wide ? ", i64" : ", i32");
}

static void fx_fail(fx_ctx *x) { x->failed = 1; }

static const fx_field *need(fx_ctx *x, const char *key, char type, int64_t count /* -1: any */) {
    const fx_field *f = fx_get(x->c, key);
    if (!f) {
        fx_fail(x);
        CHECK_MSG(0, "%s: field '%s' is missing", x->tag, key);
        return NULL;
    }
    if (f->type != type || (count >= 0 && f->count != count)) {
        fx_fail(x);
        CHECK_MSG(0, "%s: field '%s' is %c[%lld], want %c[%lld]", x->tag, key, f->type, (long long)f->count, type,
                  (long long)count);
        return NULL;
    }
    return f;
}

static int64_t need_int(fx_ctx *x, const char *key) {
    const fx_field *f = need(x, key, 'i', 1);
    return f ? f->iv[0] : 0;
}

static float need_flt(fx_ctx *x, const char *key) {
    const fx_field *f = need(x, key, 'f', 1);
    return f ? f->fv[0] : 0.0f;
}

static int64_t opt_int(const fx_case *c, const char *key, int64_t dflt) {
    const fx_field *f = fx_get(c, key);
    return f && f->type == 'i' && f->count == 1 ? f->iv[0] : dflt;
}

static int expect_ok(fx_ctx *x, ek_status s, const char *call) {
    if (s == EK_OK) return 1;
    fx_fail(x);
    CHECK_MSG(0, "%s: %s -> %s \"%s\"", x->tag, call, ek_status_string(s), ek_last_error());
    return 0;
}

/* |got - want| <= atol + rtol * |want|; NaN matches NaN, infinities match themselves. */
static void cmp_f32(fx_ctx *x, const char *key, const float *got, int64_t n, double atol, double rtol) {
    const fx_field *f = need(x, key, 'f', n);
    if (!f) return;
    for (int64_t i = 0; i < n; i++) {
        double g = got[i], w = f->fv[i];
        if (g == w || (isnan(g) && isnan(w))) continue;
        if (!(fabs(g - w) <= atol + rtol * fabs(w))) {
            fx_fail(x);
            CHECK_MSG(0, "%s: %s[%lld]: got %.9g, want %.9g (of %lld)", x->tag, key, (long long)i, g, w, (long long)n);
            return;
        }
    }
}

static void cmp_i64(fx_ctx *x, const char *key, const int64_t *got, int64_t n) {
    const fx_field *f = need(x, key, 'i', n);
    if (!f) return;
    for (int64_t i = 0; i < n; i++) {
        if (got[i] != f->iv[i]) {
            fx_fail(x);
            CHECK_MSG(0, "%s: %s[%lld]: got %lld, want %lld (of %lld)", x->tag, key, (long long)i, (long long)got[i],
                      (long long)f->iv[i], (long long)n);
            return;
        }
    }
}

/* Outputs kept for the 1-thread vs 2-thread bit-identity check. */
typedef struct { const char *name; void *p; size_t bytes; } fx_buf;
typedef struct { fx_buf b[24]; int n; } fx_outs;

static void *outs_add(fx_outs *o, const char *name, size_t bytes) {
    void *p = calloc(bytes ? bytes : 1, 1);
    if (o->n < (int)(sizeof o->b / sizeof o->b[0])) o->b[o->n++] = (fx_buf){name, p, bytes};
    return p;
}

static void outs_free(fx_outs *o) {
    for (int i = 0; i < o->n; i++) free(o->b[i].p);
    o->n = 0;
}

/* Scratch that is not compared across threads. */
static void *scratch(size_t bytes) { return calloc(bytes ? bytes : 1, 1); }

static int32_t *to_i32(const int64_t *v, int64_t n) {
    int32_t *r = scratch((size_t)n * sizeof *r);
    for (int64_t i = 0; i < n; i++) r[i] = (int32_t)v[i];
    return r;
}

static float *copy_f32(const float *v, int64_t n) {
    float *r = scratch((size_t)n * sizeof *r);
    if (n) memcpy(r, v, (size_t)n * sizeof *r);
    return r;
}

#define ATOL 1e-5
#define RTOL 1e-5

/* A COO result (nnz entries of rows and D-wide values) against the fixture's `<prefix>_rows` and
 * `<prefix>_values`; returns whether nnz matched (the entries were then compared too). */
static int cmp_coo(fx_ctx *x, const char *prefix, const int64_t *rows, const float *values, int64_t nnz, int64_t D) {
    char rows_key[64], values_key[64];
    snprintf(rows_key, sizeof rows_key, "%s_rows", prefix);
    snprintf(values_key, sizeof values_key, "%s_values", prefix);
    const fx_field *fr = need(x, rows_key, 'i', -1);
    if (!fr) return 0;
    if (nnz != fr->count) {
        fx_fail(x);
        CHECK_MSG(0, "%s: %s nnz %lld, want %lld", x->tag, prefix, (long long)nnz, (long long)fr->count);
        return 0;
    }
    cmp_i64(x, rows_key, rows, nnz);
    cmp_f32(x, values_key, values, nnz * D, ATOL, RTOL);
    return 1;
}

/* ------------------------------------------------------------------------------------------------
 * Driver: every case, each index width, 1 and 2 threads
 * ---------------------------------------------------------------------------------------------- */

typedef void (*fx_runner)(fx_ctx *x, fx_outs *o);

static void run_family(const char *file, const char *family, int has_widths, fx_runner run) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", ek_test_fixture_dir(), file);
    fx_file fx;
    if (!fx_load(path, &fx)) return;
    int32_t saved = ek_get_num_threads();
    int nfailed = 0;
    char failed_names[4096] = "";
    for (int ci = 0; ci < fx.ncases; ci++) {
        fx_ctx x = {.c = &fx.cases[ci], .family = family, .has_widths = has_widths};
        for (int wide = 1; wide >= (has_widths ? 0 : 1); wide--) {
            fx_outs o[2] = {{.n = 0}, {.n = 0}};
            for (int t = 0; t < 2; t++) {
                x.threads = t + 1;
                x.wide = wide;
                fx_retag(&x);
                if (ek_set_num_threads(x.threads) != EK_OK) {
                    fx_fail(&x);
                    CHECK_MSG(0, "%s: ek_set_num_threads(%d) failed", x.tag, x.threads);
                }
                int case_failed = x.failed;
                x.failed = 0; /* a run starts clean, so that each run checks everything */
                run(&x, &o[t]);
                x.failed |= case_failed;
            }
            if (o[0].n != o[1].n) {
                fx_fail(&x);
                CHECK_MSG(0, "%s: different outputs at 1 and 2 threads", x.tag);
            } else {
                for (int i = 0; i < o[0].n; i++) {
                    if (o[0].b[i].bytes != o[1].b[i].bytes ||
                        memcmp(o[0].b[i].p, o[1].b[i].p, o[0].b[i].bytes) != 0) {
                        fx_fail(&x);
                        CHECK_MSG(0, "%s: %s differs between 1 and 2 threads", x.tag, o[0].b[i].name);
                    }
                }
            }
            outs_free(&o[0]);
            outs_free(&o[1]);
        }
        if (x.failed) {
            nfailed++;
            size_t len = strlen(failed_names);
            if (len + strlen(x.c->name) + 2 < sizeof failed_names)
                snprintf(failed_names + len, sizeof failed_names - len, " %s", x.c->name);
        }
    }
    ek_set_num_threads(saved > 0 ? saved : 1);
    if (nfailed) fprintf(stderr, "  fixtures %s: %d of %d cases failed:%s\n", family, nfailed, fx.ncases, failed_names);
    fx_free(&fx);
}

/* ------------------------------------------------------------------------------------------------
 * 1. embedding.txt
 * ---------------------------------------------------------------------------------------------- */

static void run_embedding(fx_ctx *x, fx_outs *o) {
    const fx_case *c = x->c;
    int64_t num = need_int(x, "num_embeddings"), D = need_int(x, "dim");
    const fx_field *fw = need(x, "weight", 'f', num * D);
    const fx_field *fi = need(x, "indices", 'i', -1);
    if (!fw || !fi || x->failed) return;
    int64_t N = fi->count;
    int64_t pad = opt_int(c, "padding_idx", EK_NO_PADDING);
    int32_t sgbf = (int32_t)need_int(x, "scale_grad_by_freq");
    const int64_t *i64 = fi->iv;
    int32_t *i32 = to_i32(i64, N);
    ek_status s;

    /* max_norm renorm, in place, then the forward */
    float *W = outs_add(o, "renormed weight", (size_t)(num * D) * sizeof(float));
    memcpy(W, fw->fv, (size_t)(num * D) * sizeof(float));
    const fx_field *fmn = fx_get(c, "max_norm");
    if (fmn) {
        double max_norm = need_flt(x, "max_norm"), p = need_flt(x, "norm_type");
        s = x->wide ? pos_embedding_renorm_i64(num, D, N, i64, max_norm, p, W)
                    : pos_embedding_renorm_i32(num, D, N, i32, max_norm, p, W);
        if (expect_ok(x, s, "pos_embedding_renorm")) cmp_f32(x, "renormed_weight", W, num * D, ATOL, RTOL);
    }
    float *out = outs_add(o, "out", (size_t)(N * D) * sizeof(float));
    s = x->wide ? pos_embedding_forward_i64(num, D, N, W, i64, out)
                : pos_embedding_forward_i32(num, D, N, W, i32, out);
    if (expect_ok(x, s, "pos_embedding_forward")) cmp_f32(x, "out", out, N * D, ATOL, RTOL);

    /* dense backward */
    const fx_field *fg = need(x, "grad_out", 'f', N * D);
    if (!fg) goto done;
    float *gw = outs_add(o, "grad_weight", (size_t)(num * D) * sizeof(float));
    s = x->wide ? pos_embedding_backward_dense_i64(num, D, N, i64, fg->fv, pad, sgbf, gw)
                : pos_embedding_backward_dense_i32(num, D, N, i32, fg->fv, pad, sgbf, gw);
    if (expect_ok(x, s, "pos_embedding_backward_dense")) cmp_f32(x, "grad_weight", gw, num * D, ATOL, RTOL);

    /* sparse backward: 1:1 with PyTorch's entries, coalesced, and scatter-added */
    int64_t *rows = outs_add(o, "sparse rows", (size_t)N * sizeof(int64_t));
    float *vals = outs_add(o, "sparse values", (size_t)(N * D) * sizeof(float));
    int64_t *nnz = outs_add(o, "sparse nnz", sizeof(int64_t));
    s = x->wide ? pos_embedding_backward_sparse_i64(num, D, N, i64, fg->fv, pad, sgbf, rows, vals, nnz)
                : pos_embedding_backward_sparse_i32(num, D, N, i32, fg->fv, pad, sgbf, rows, vals, nnz);
    if (!expect_ok(x, s, "pos_embedding_backward_sparse") || !cmp_coo(x, "sparse", rows, vals, *nnz, D)) goto done;

    int64_t *crows = outs_add(o, "coalesced rows", (size_t)*nnz * sizeof(int64_t));
    float *cvals = outs_add(o, "coalesced values", (size_t)(*nnz * D) * sizeof(float));
    int64_t *cnnz = outs_add(o, "coalesced nnz", sizeof(int64_t));
    s = ek_coo_coalesce_f32(num, D, *nnz, rows, vals, crows, cvals, cnnz);
    if (expect_ok(x, s, "ek_coo_coalesce_f32")) cmp_coo(x, "coalesced", crows, cvals, *cnnz, D);
    float *tbl = outs_add(o, "scatter-added sparse gradient", (size_t)(num * D) * sizeof(float));
    s = ek_coo_scatter_add_f32(num, D, *nnz, rows, vals, 1.0f, tbl);
    if (expect_ok(x, s, "ek_coo_scatter_add_f32")) cmp_f32(x, "grad_weight", tbl, num * D, ATOL, RTOL);
done:
    free(i32);
}

TEST(fixtures_embedding) { run_family("embedding.txt", "embedding", 1, run_embedding); }

/* ------------------------------------------------------------------------------------------------
 * 2. embedding_bag.txt
 * ---------------------------------------------------------------------------------------------- */

static void run_embedding_bag(fx_ctx *x, fx_outs *o) {
    const fx_case *c = x->c;
    int64_t num = need_int(x, "num_embeddings"), D = need_int(x, "dim");
    int64_t B = need_int(x, "num_bags");
    ek_bag_mode mode = (ek_bag_mode)need_int(x, "mode");
    int32_t ilo = (int32_t)need_int(x, "include_last_offset");
    int32_t sgbf = (int32_t)need_int(x, "scale_grad_by_freq");
    const fx_field *fw = need(x, "weight", 'f', num * D);
    const fx_field *fi = need(x, "indices", 'i', -1);
    if (!fw || !fi || x->failed) return;
    int64_t N = fi->count;
    const fx_field *foff = fx_get(c, "offsets");
    if (foff) {
        if (!need(x, "offsets", 'i', ilo ? B + 1 : B)) return;
    } else {
        int64_t L = need_int(x, "bag_len");
        if (x->failed) return;
        if (N != B * L) {
            fx_fail(x);
            CHECK_MSG(0, "%s: fixture has %lld indices for %lld bags of %lld", x->tag, (long long)N, (long long)B,
                      (long long)L);
            return;
        }
    }
    const fx_field *fpsw = fx_get(c, "per_sample_weights");
    if (fpsw && !need(x, "per_sample_weights", 'f', N)) return;
    const float *psw = fpsw ? fpsw->fv : NULL;
    int64_t nw = fpsw ? N : 0; /* num_weights */
    int64_t pad = opt_int(c, "padding_idx", EK_NO_PADDING);
    const int64_t *i64 = fi->iv, *o64 = foff ? foff->iv : NULL;
    int32_t *i32 = to_i32(i64, N);
    int32_t *o32 = foff ? to_i32(o64, foff->count) : NULL;
    ek_status s;

    /* forward */
    float *out = outs_add(o, "out", (size_t)(B * D) * sizeof(float));
    int64_t *bag_size = outs_add(o, "bag_size", (size_t)B * sizeof(int64_t));
    int64_t *maxi = mode == EK_BAG_MAX ? outs_add(o, "max_indices", (size_t)(B * D) * sizeof(int64_t)) : NULL;
    s = x->wide ? pos_embedding_bag_forward_i64(num, D, N, B, nw, fw->fv, i64, o64, ilo, psw, mode, pad, out, bag_size, maxi)
                : pos_embedding_bag_forward_i32(num, D, N, B, nw, fw->fv, i32, o32, ilo, psw, mode, pad, out, bag_size, maxi);
    if (!expect_ok(x, s, "pos_embedding_bag_forward")) goto done;
    cmp_f32(x, "out", out, B * D, ATOL, RTOL);
    cmp_i64(x, "bag_size", bag_size, B);
    if (maxi) cmp_i64(x, "max_indices", maxi, B * D);

    /* dense backward (max: with the forward's own max_indices) */
    const fx_field *fg = need(x, "grad_out", 'f', B * D);
    if (!fg) goto done;
    float *gw = outs_add(o, "grad_weight", (size_t)(num * D) * sizeof(float));
    s = x->wide ? pos_embedding_bag_backward_dense_i64(num, D, N, B, nw, i64, o64, ilo, psw, mode, pad, sgbf, maxi,
                                                          fg->fv, gw)
                : pos_embedding_bag_backward_dense_i32(num, D, N, B, nw, i32, o32, ilo, psw, mode, pad, sgbf, maxi,
                                                          fg->fv, gw);
    if (expect_ok(x, s, "pos_embedding_bag_backward_dense")) cmp_f32(x, "grad_weight", gw, num * D, ATOL, RTOL);

    /* sparse backward: 1:1 with the fixture's entries, and scatter-added into zeros */
    int64_t *rows = outs_add(o, "sparse rows", (size_t)N * sizeof(int64_t));
    float *vals = outs_add(o, "sparse values", (size_t)(N * D) * sizeof(float));
    int64_t *nnz = outs_add(o, "sparse nnz", sizeof(int64_t));
    s = x->wide ? pos_embedding_bag_backward_sparse_i64(num, D, N, B, nw, i64, o64, ilo, psw, mode, pad, sgbf, maxi,
                                                           fg->fv, rows, vals, nnz)
                : pos_embedding_bag_backward_sparse_i32(num, D, N, B, nw, i32, o32, ilo, psw, mode, pad, sgbf, maxi,
                                                           fg->fv, rows, vals, nnz);
    if (expect_ok(x, s, "pos_embedding_bag_backward_sparse")) {
        if (cmp_coo(x, "sparse", rows, vals, *nnz, D)) {
            float *tbl = outs_add(o, "scatter-added sparse gradient", (size_t)(num * D) * sizeof(float));
            s = ek_coo_scatter_add_f32(num, D, *nnz, rows, vals, 1.0f, tbl);
            if (expect_ok(x, s, "ek_coo_scatter_add_f32")) cmp_f32(x, "grad_weight", tbl, num * D, ATOL, RTOL);
        }
    }

    /* per-sample-weight gradient */
    if (psw && mode != EK_BAG_MAX) {
        float *gpsw = outs_add(o, "grad_per_sample_weights", (size_t)N * sizeof(float));
        s = x->wide ? pos_embedding_bag_per_sample_weights_backward_i64(num, D, N, B, nw, fw->fv, i64, o64, ilo, psw,
                                                                           mode, pad, fg->fv, gpsw)
                    : pos_embedding_bag_per_sample_weights_backward_i32(num, D, N, B, nw, fw->fv, i32, o32, ilo, psw,
                                                                           mode, pad, fg->fv, gpsw);
        if (expect_ok(x, s, "pos_embedding_bag_per_sample_weights_backward"))
            cmp_f32(x, "grad_per_sample_weights", gpsw, N, ATOL, RTOL);
    }
done:
    free(i32);
    free(o32);
}

TEST(fixtures_embedding_bag) { run_family("embedding_bag.txt", "embedding_bag", 1, run_embedding_bag); }

/* ------------------------------------------------------------------------------------------------
 * 3. softmax.txt
 * ---------------------------------------------------------------------------------------------- */

static void run_softmax(fx_ctx *x, fx_outs *o) {
    int64_t R = need_int(x, "rows"), C = need_int(x, "cols");
    const fx_field *fx_ = need(x, "x", 'f', R * C);
    const fx_field *fgy = need(x, "grad_y", 'f', R * C);
    if (!fx_ || !fgy || x->failed) return;
    size_t bytes = (size_t)(R * C) * sizeof(float);
    float *y = outs_add(o, "softmax", bytes), *ly = outs_add(o, "log_softmax", bytes);
    float *gx = outs_add(o, "softmax grad_x", bytes), *lgx = outs_add(o, "log_softmax grad_x", bytes);
    if (expect_ok(x, ek_softmax_forward_f32(R, C, fx_->fv, y), "ek_softmax_forward_f32"))
        cmp_f32(x, "softmax", y, R * C, ATOL, RTOL);
    if (expect_ok(x, ek_log_softmax_forward_f32(R, C, fx_->fv, ly), "ek_log_softmax_forward_f32"))
        cmp_f32(x, "log_softmax", ly, R * C, ATOL, RTOL);
    if (expect_ok(x, ek_softmax_backward_f32(R, C, y, fgy->fv, gx), "ek_softmax_backward_f32"))
        cmp_f32(x, "softmax_grad_x", gx, R * C, ATOL, RTOL);
    if (expect_ok(x, ek_log_softmax_backward_f32(R, C, ly, fgy->fv, lgx), "ek_log_softmax_backward_f32"))
        cmp_f32(x, "log_softmax_grad_x", lgx, R * C, ATOL, RTOL);

    /* in place: y may alias x, grad_x may alias grad_y */
    float *a = copy_f32(fx_->fv, R * C), *b = copy_f32(fx_->fv, R * C);
    float *ga = copy_f32(fgy->fv, R * C), *gb = copy_f32(fgy->fv, R * C);
    if (expect_ok(x, ek_softmax_forward_f32(R, C, a, a), "ek_softmax_forward_f32 in place"))
        cmp_f32(x, "softmax", a, R * C, ATOL, RTOL);
    if (expect_ok(x, ek_log_softmax_forward_f32(R, C, b, b), "ek_log_softmax_forward_f32 in place"))
        cmp_f32(x, "log_softmax", b, R * C, ATOL, RTOL);
    if (expect_ok(x, ek_softmax_backward_f32(R, C, a, ga, ga), "ek_softmax_backward_f32 in place"))
        cmp_f32(x, "softmax_grad_x", ga, R * C, ATOL, RTOL);
    if (expect_ok(x, ek_log_softmax_backward_f32(R, C, b, gb, gb), "ek_log_softmax_backward_f32 in place"))
        cmp_f32(x, "log_softmax_grad_x", gb, R * C, ATOL, RTOL);
    free(a);
    free(b);
    free(ga);
    free(gb);
}

TEST(fixtures_softmax) { run_family("softmax.txt", "softmax", 0, run_softmax); }

/* ------------------------------------------------------------------------------------------------
 * 4. cross_entropy.txt
 * ---------------------------------------------------------------------------------------------- */

static void run_cross_entropy(fx_ctx *x, fx_outs *o) {
    int64_t R = need_int(x, "rows"), C = need_int(x, "classes");
    int64_t ignore_index = need_int(x, "ignore_index");
    float ls = need_flt(x, "label_smoothing");
    ek_reduction red = (ek_reduction)need_int(x, "reduction");
    const fx_field *fl = need(x, "logits", 'f', R * C);
    const fx_field *ft = need(x, "targets", 'i', R);
    if (!fl || !ft || x->failed) return;
    int64_t nloss = red == EK_REDUCTION_NONE ? R : 1;
    int32_t *t32 = to_i32(ft->iv, R);
    float *loss = outs_add(o, "loss", (size_t)nloss * sizeof(float));
    float *grad = outs_add(o, "grad_logits", (size_t)(R * C) * sizeof(float));
    ek_status s = x->wide ? ek_cross_entropy_f32_i64(R, C, fl->fv, ft->iv, ignore_index, ls, red, loss, grad)
                          : ek_cross_entropy_f32_i32(R, C, fl->fv, t32, ignore_index, ls, red, loss, grad);
    if (expect_ok(x, s, "ek_cross_entropy")) {
        cmp_f32(x, "loss", loss, nloss, ATOL, RTOL);
        cmp_f32(x, "grad_logits", grad, R * C, ATOL, RTOL);
    }
    /* grad_logits is nullable: the loss alone */
    float *loss2 = scratch((size_t)nloss * sizeof(float));
    s = x->wide ? ek_cross_entropy_f32_i64(R, C, fl->fv, ft->iv, ignore_index, ls, red, loss2, NULL)
                : ek_cross_entropy_f32_i32(R, C, fl->fv, t32, ignore_index, ls, red, loss2, NULL);
    if (expect_ok(x, s, "ek_cross_entropy (grad_logits NULL)")) cmp_f32(x, "loss", loss2, nloss, ATOL, RTOL);
    free(loss2);
    free(t32);
}

TEST(fixtures_cross_entropy) { run_family("cross_entropy.txt", "cross_entropy", 1, run_cross_entropy); }

/* ------------------------------------------------------------------------------------------------
 * 5. optim.txt
 *
 * Tolerance: the kernels run their own trajectory over 3-5 steps (the state is not reset from the
 * fixture at each step) and Adam divides by sqrt(v) + eps, so a few float32 ulps of difference in
 * v become ~1e-6 relative in the update; 1e-5 absolute + 1e-4 relative covers that.
 * ---------------------------------------------------------------------------------------------- */

enum { OPT_SGD = 0, OPT_ADAGRAD = 1, OPT_ADAM = 2, OPT_SPARSE_ADAM = 3 };

static ek_status optim_step(fx_ctx *x, int opt, int64_t R, int64_t D, int64_t nnz, const int64_t *rows,
                            const float *vals, int64_t step, float *W, float *s1, float *s2) {
    float lr = need_flt(x, "lr");
    switch (opt) {
    case OPT_SGD: {
        float momentum = need_flt(x, "momentum");
        return ek_sgd_update_f32(R, D, nnz, rows, vals, lr, momentum, need_flt(x, "dampening"),
                                 need_flt(x, "weight_decay"), (int32_t)need_int(x, "nesterov"), W,
                                 momentum != 0.0f ? s1 : NULL);
    }
    case OPT_ADAGRAD:
        return ek_adagrad_update_f32(R, D, nnz, rows, vals, lr, need_flt(x, "eps"), need_flt(x, "weight_decay"), W, s1);
    case OPT_ADAM:
    case OPT_SPARSE_ADAM: {
        float b1 = need_flt(x, "beta1"), b2 = need_flt(x, "beta2"), eps = need_flt(x, "eps");
        if (opt == OPT_SPARSE_ADAM) /* SparseAdam's eps sits outside the bias correction (see the header) */
            eps = (float)((double)eps / sqrt(1.0 - pow((double)b2, (double)step)));
        return ek_adam_update_f32(R, D, nnz, rows, vals, lr, b1, b2, eps, need_flt(x, "weight_decay"), step, W, s1, s2);
    }
    default:
        fx_fail(x);
        CHECK_MSG(0, "%s: unknown optimizer %d", x->tag, opt);
        return EK_ERR_INVALID_ARGUMENT;
    }
}

static void run_optim(fx_ctx *x, fx_outs *o) {
    int opt = (int)need_int(x, "optimizer");
    int64_t R = need_int(x, "num_rows"), D = need_int(x, "dim"), steps = need_int(x, "steps");
    const fx_field *fw = need(x, "weight", 'f', R * D);
    if (!fw || x->failed) return;
    const char *s1name = NULL, *s2name = NULL;
    if (opt == OPT_SGD) s1name = need_flt(x, "momentum") != 0.0f ? "momentum_buffer" : NULL;
    else if (opt == OPT_ADAGRAD) s1name = "state_sum";
    else s1name = "exp_avg", s2name = "exp_avg_sq";
    size_t bytes = (size_t)(R * D) * sizeof(float);
    float *W = outs_add(o, "weight", bytes), *s1 = outs_add(o, "state 1", bytes), *s2 = outs_add(o, "state 2", bytes);
    memcpy(W, fw->fv, bytes);
    /* the same steps with rows == NULL where a step has every row (dense update of rows 0..<nnz) */
    float *Wn = scratch(bytes), *s1n = scratch(bytes), *s2n = scratch(bytes);
    memcpy(Wn, fw->fv, bytes);
    int null_ok = 1;
    char key[256];
    for (int64_t k = 1; k <= steps && !x->failed; k++) {
        snprintf(key, sizeof key, "step%lld_rows", (long long)k);
        const fx_field *fr = need(x, key, 'i', -1);
        if (!fr) break;
        snprintf(key, sizeof key, "step%lld_values", (long long)k);
        const fx_field *fv = need(x, key, 'f', fr->count * D);
        if (!fv) break;
        ek_status s = optim_step(x, opt, R, D, fr->count, fr->iv, fv->fv, k, W, s1, s2);
        snprintf(key, sizeof key, "optimizer step %lld", (long long)k);
        if (!expect_ok(x, s, key)) break;
        snprintf(key, sizeof key, "step%lld_weight", (long long)k);
        cmp_f32(x, key, W, R * D, 1e-5, 1e-4);
        if (s1name) {
            snprintf(key, sizeof key, "step%lld_%s", (long long)k, s1name);
            cmp_f32(x, key, s1, R * D, 1e-5, 1e-4);
        }
        if (s2name) {
            snprintf(key, sizeof key, "step%lld_%s", (long long)k, s2name);
            cmp_f32(x, key, s2, R * D, 1e-5, 1e-4);
        }
        int all_rows = 1;
        for (int64_t i = 0; i < fr->count; i++) all_rows &= fr->iv[i] == i;
        if (null_ok && all_rows) {
            s = optim_step(x, opt, R, D, fr->count, NULL, fv->fv, k, Wn, s1n, s2n);
            if (expect_ok(x, s, "optimizer step with rows == NULL") &&
                (memcmp(W, Wn, bytes) != 0 || memcmp(s1, s1n, bytes) != 0 || memcmp(s2, s2n, bytes) != 0)) {
                fx_fail(x);
                CHECK_MSG(0, "%s: step %lld with rows == NULL differs from rows 0..<%lld", x->tag, (long long)k,
                          (long long)fr->count);
            }
        } else {
            null_ok = 0;
        }
    }
    free(Wn);
    free(s1n);
    free(s2n);
}

TEST(fixtures_optim) { run_family("optim.txt", "optim", 0, run_optim); }
