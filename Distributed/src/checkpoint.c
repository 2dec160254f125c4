/* checkpoint.c — sharded checkpoints in the safetensors format, complete or absent.
 *
 * A checkpoint of generation G in a directory:
 *   shard-G-<rank>.safetensors   one per rank of the saving job: tensors "t<i>.weight" (the rank's
 *                                rows x columns of table i) and "t<i>.<state>" (its optimizer state),
 *                                metadata "t<i>.region" = "r0 r1 c0 c1"
 *   manifest.safetensors         no tensors; metadata: format, generation, ranks, step, optimizer,
 *                                tables, "table.<i>" = "rows dim scheme". Written last.
 * Every file is written to a temporary name, fsynced and renamed, so a reader sees the manifest of
 * the last complete save, whose shards (other names than the save in progress) are all there.
 * Loading reads the manifest, recomputes the saving job's plan (ekd_plan is a pure function) and
 * copies, for each table, the intersection of this rank's new region with every old shard's. */
#define _POSIX_C_SOURCE 200809L /* fileno, fseeko, fsync */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FORMAT_NAME "embeddingkit-dist/1"

/* ---- a growing string -------------------------------------------------------------------------- */
typedef struct { char *s; size_t len, cap; int oom; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->oom = 1; return; }
        if (b->s && b->len + (size_t)n < b->cap) { b->len += (size_t)n; return; }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) { b->oom = 1; return; }
        b->s = s;
        b->cap = cap;
    }
}

/* ---- writing ------------------------------------------------------------------------------------ */
typedef struct { const char *name; const float *data; int64_t rows, cols; } tensor_out;

/* Writes a safetensors file atomically: tmp, fsync, rename. The header is padded with spaces to a
 * multiple of 8 (as the safetensors library does) so that the data is aligned. */
static ek_status write_safetensors(const char *path, const char *meta_json, const tensor_out *ts, int n) {
    sbuf h = {0};
    sb_printf(&h, "{\"__metadata__\":{%s}", meta_json);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        int64_t bytes = ts[i].rows * ts[i].cols * 4;
        if (ts[i].cols < 0) bytes = ts[i].rows * 4;
        if (ts[i].cols < 0)
            sb_printf(&h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%" PRId64 "],\"data_offsets\":[%" PRId64 ",%" PRId64 "]}",
                      ts[i].name, ts[i].rows, off, off + bytes);
        else
            sb_printf(&h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%" PRId64 ",%" PRId64 "],\"data_offsets\":[%" PRId64 ",%" PRId64 "]}",
                      ts[i].name, ts[i].rows, ts[i].cols, off, off + bytes);
        off += bytes;
    }
    sb_printf(&h, "}");
    while (!h.oom && h.len % 8 != 0) sb_printf(&h, " ");
    if (h.oom) { free(h.s); return ekd_fail(EK_ERR_ALLOC, "save: out of memory building the header of %s", path); }

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ek_status st = EK_OK;
    FILE *f = fopen(tmp, "wb");
    if (!f) { free(h.s); return ekd_fail(EK_ERR_INVALID_ARGUMENT, "save: cannot create %s: %s", tmp, strerror(errno)); }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i)); /* little-endian */
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(h.s, 1, h.len, f) == h.len;
    for (int i = 0; ok && i < n; i++) {
        size_t cnt = (size_t)(ts[i].cols < 0 ? ts[i].rows : ts[i].rows * ts[i].cols);
        ok = fwrite(ts[i].data, sizeof(float), cnt, f) == cnt; /* x86-64 and arm64 are little-endian */
    }
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) != 0) ok = 0;
    if (!ok) {
        st = ekd_fail(EK_ERR_INVALID_ARGUMENT, "save: writing %s failed: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(h.s);
    return st;
}

static void sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) { fsync(fd); close(fd); }
}

/* ---- reading ------------------------------------------------------------------------------------- */
typedef struct { FILE *f; ek_safetensors *st; } shard_file;

static ek_status open_safetensors(const char *path, shard_file *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return ekd_fail(EK_ERR_INVALID_ARGUMENT, "load: cannot open %s: %s", path, strerror(errno));
    unsigned char first[8];
    fseeko(f, 0, SEEK_END);
    int64_t size = (int64_t)ftello(f);
    fseeko(f, 0, SEEK_SET);
    size_t got = fread(first, 1, 8, f);
    int64_t hsize = 0;
    ek_status st = ek_safetensors_header_size(got == 8 ? first : NULL, size, &hsize);
    unsigned char *head = NULL;
    if (st == EK_OK) {
        head = malloc((size_t)(8 + hsize));
        if (!head) st = EK_ERR_ALLOC;
        else {
            fseeko(f, 0, SEEK_SET);
            if (fread(head, 1, (size_t)(8 + hsize), f) != (size_t)(8 + hsize)) st = EK_ERR_SHAPE;
            else st = ek_safetensors_parse_header(head, 8 + hsize, size, &out->st);
        }
    }
    free(head);
    if (st != EK_OK) {
        fclose(f);
        return ekd_fail(st, "load: %s: %s", path, ek_last_error());
    }
    out->f = f;
    return EK_OK;
}

static void close_safetensors(shard_file *s) {
    if (s->f) fclose(s->f);
    ek_safetensors_free(s->st);
    s->f = NULL;
    s->st = NULL;
}

static const char *meta_get(const ek_safetensors *st, const char *key) {
    for (int64_t i = 0; i < ek_safetensors_metadata_count(st); i++) {
        const char *k, *v;
        if (ek_safetensors_metadata(st, i, &k, &v) == EK_OK && !strcmp(k, key)) return v;
    }
    return NULL;
}

/* Reads rows [i0, i1) x columns [j0, j1) of tensor `name` (a region `reg` of its table; cols < 0: a
 * per-row vector) into dst (row stride dst_w, starting at dst's (i0, j0)). */
static ek_status read_block(shard_file *s, const char *path, const char *name, ekd_region reg, int rowvec,
                            int64_t i0, int64_t i1, int64_t j0, int64_t j1, float *dst, int64_t dst_w) {
    int64_t idx = -1;
    ek_safetensors_find(s->st, name, &idx);
    if (idx < 0) return ekd_fail(EK_ERR_SHAPE, "load: %s has no tensor \"%s\"", path, name);
    ek_safetensors_tensor tt;
    ek_safetensors_get(s->st, idx, &tt);
    int64_t rows = reg.r1 - reg.r0, cols = rowvec ? 1 : reg.c1 - reg.c0;
    if (tt.num_elements != rows * cols || tt.rank != (rowvec ? 1 : 2))
        return ekd_fail(EK_ERR_SHAPE, "load: %s: tensor \"%s\" has %lld elements, the plan says %lld x %lld", path, name,
                        (long long)tt.num_elements, (long long)rows, (long long)cols);
    int64_t w = rowvec ? 1 : j1 - j0;
    unsigned char *buf = malloc((size_t)(w * 8) + 8);
    if (!buf) return ekd_fail(EK_ERR_ALLOC, "load: out of memory");
    ek_status st = EK_OK;
    for (int64_t i = i0; i < i1 && st == EK_OK; i++) {
        int64_t first = (i - reg.r0) * cols + (rowvec ? 0 : j0 - reg.c0);
        int64_t bytes = w * ek_safetensors_dtype_size(tt.dtype);
        if (fseeko(s->f, (off_t)(tt.offset + first * ek_safetensors_dtype_size(tt.dtype)), SEEK_SET) != 0 ||
            fread(buf, 1, (size_t)bytes, s->f) != (size_t)bytes) {
            st = ekd_fail(EK_ERR_SHAPE, "load: %s: tensor \"%s\" is truncated", path, name);
            break;
        }
        st = ek_safetensors_convert_f32(s->st, idx, first, w, buf, dst + i * dst_w + (rowvec ? 0 : j0));
        if (st != EK_OK) st = ekd_fail(st, "load: %s: \"%s\": %s", path, name, ek_last_error());
    }
    free(buf);
    return st;
}

/* ---- save ---------------------------------------------------------------------------------------- */
static int64_t read_generation(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.safetensors", dir);
    shard_file m = {0};
    if (access(path, F_OK) != 0 || open_safetensors(path, &m) != EK_OK) return 0;
    const char *g = meta_get(m.st, "generation");
    int64_t gen = g ? strtoll(g, NULL, 10) : 0;
    close_safetensors(&m);
    return gen;
}

ek_status ekd_save(ekd_collection *c, const char *dir) {
    if (c == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "collection is NULL");
    ek_status st = dir == NULL ? ekd_fail(EK_ERR_NULL_POINTER, "dir is NULL")
                 : strlen(dir) > 3000 ? ekd_fail(EK_ERR_INVALID_ARGUMENT, "dir is longer than 3000 bytes") : EK_OK;
    if ((st = ekd_agree(c->comm, st)) != EK_OK) return st;
    int64_t gen = c->rank == 0 ? read_generation(dir) + 1 : 0;
    if ((st = ekd_mpi(MPI_Bcast(&gen, 1, MPI_INT64_T, 0, c->comm), "MPI_Bcast (generation)")) != EK_OK) return st;

    /* this rank's shard */
    int nstate = ekd_state_count(&c->opt);
    int n = (int)c->num_tables * (1 + nstate);
    tensor_out *ts = ekd_alloc(sizeof(tensor_out) * (size_t)n, &st);
    char *names = ekd_alloc((size_t)n * 64, &st);
    sbuf meta = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s/shard-%" PRId64 "-%d.safetensors", dir, gen, c->rank);
    if (st == EK_OK) {
        sb_printf(&meta, "\"format\":\"%s\",\"generation\":\"%" PRId64 "\",\"rank\":\"%d\"", FORMAT_NAME, gen, c->rank);
        int k = 0;
        for (int64_t t = 0; t < c->num_tables; t++) {
            ekd_table *tb = &c->tables[t];
            ekd_region r = tb->shard;
            sb_printf(&meta, ",\"t%lld.region\":\"%lld %lld %lld %lld\"", (long long)t, (long long)r.r0, (long long)r.r1,
                      (long long)r.c0, (long long)r.c1);
            snprintf(names + 64 * k, 64, "t%lld.weight", (long long)t);
            ts[k] = (tensor_out){names + 64 * k, tb->weight, r.r1 - r.r0, r.c1 - r.c0};
            k++;
            for (int i = 0; i < nstate; i++, k++) {
                snprintf(names + 64 * k, 64, "t%lld.%s", (long long)t, ekd_state_name(&c->opt, i));
                int rv = ekd_state_rowwise(&c->opt, i);
                ts[k] = (tensor_out){names + 64 * k, *ekd_state_ptr(tb, &c->opt, i), r.r1 - r.r0, rv ? -1 : r.c1 - r.c0};
            }
        }
        st = meta.oom ? ekd_fail(EK_ERR_ALLOC, "save: out of memory") : write_safetensors(path, meta.s, ts, n);
    }
    free(ts); free(names); free(meta.s);
    if ((st = ekd_agree(c->comm, st)) != EK_OK) {
        unlink(path); /* this generation is not named by any manifest: the previous one stands */
        return st;
    }

    /* every shard is on disk: rank 0 names them in the manifest */
    if (c->rank == 0) {
        sbuf m = {0};
        sb_printf(&m, "\"format\":\"%s\",\"generation\":\"%" PRId64 "\",\"ranks\":\"%d\",\"step\":\"%" PRId64
                      "\",\"optimizer\":\"%d\",\"tables\":\"%lld\"",
                  FORMAT_NAME, gen, c->size, c->step, (int)c->opt.kind, (long long)c->num_tables);
        for (int64_t t = 0; t < c->num_tables; t++)
            sb_printf(&m, ",\"table.%lld\":\"%lld %lld %d\"", (long long)t, (long long)c->tables[t].cfg.rows,
                      (long long)c->tables[t].cfg.dim, (int)c->tables[t].cfg.scheme);
        char mpath[4096];
        snprintf(mpath, sizeof mpath, "%s/manifest.safetensors", dir);
        st = m.oom ? ekd_fail(EK_ERR_ALLOC, "save: out of memory") : write_safetensors(mpath, m.s, NULL, 0);
        free(m.s);
        sync_dir(dir);
    }
    if ((st = ekd_agree(c->comm, st)) != EK_OK) {
        unlink(path);
        return st;
    }
    /* older generations are now unreferenced */
    if (c->rank == 0) {
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            long long g;
            int r, used = 0;
            /* shards of other generations, and what a save that died left (.tmp) */
            if (sscanf(e->d_name, "shard-%lld-%d.safetensors%n", &g, &r, &used) == 2 &&
                ((e->d_name[used] == '\0' && g != gen) || !strcmp(e->d_name + used, ".tmp"))) {
                char old[4096 + 256];
                snprintf(old, sizeof old, "%s/%s", dir, e->d_name);
                unlink(old);
            }
        }
        if (d) closedir(d);
    }
    return EK_OK;
}

/* ---- load ---------------------------------------------------------------------------------------- */
typedef struct { float *weight; float *state[2]; } new_shard;

static ek_status load_local(ekd_collection *c, const char *dir, new_shard *ns, int64_t *out_step) {
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.safetensors", dir);
    shard_file m = {0};
    ek_status st = open_safetensors(path, &m);
    if (st != EK_OK) return st;
    const char *fmt = meta_get(m.st, "format"), *gs = meta_get(m.st, "generation"), *ps = meta_get(m.st, "ranks"),
               *ss = meta_get(m.st, "step"), *os = meta_get(m.st, "optimizer"), *ts = meta_get(m.st, "tables");
    if (!fmt || strcmp(fmt, FORMAT_NAME) || !gs || !ps || !ss || !os || !ts) {
        close_safetensors(&m);
        return ekd_fail(EK_ERR_INVALID_ARGUMENT, "load: %s is not an EmbeddingKit distributed manifest", path);
    }
    int64_t gen = strtoll(gs, NULL, 10), step = strtoll(ss, NULL, 10), T = strtoll(ts, NULL, 10);
    int oldP = (int)strtol(ps, NULL, 10), okind = (int)strtol(os, NULL, 10);
    if (T != c->num_tables) st = ekd_fail(EK_ERR_SHAPE, "load: the checkpoint has %lld tables, the collection %lld", (long long)T, (long long)c->num_tables);
    else if (okind != (int)c->opt.kind || oldP < 1 || gen < 1 || step < 0)
        st = ekd_fail(EK_ERR_INVALID_ARGUMENT, "load: the checkpoint's optimizer=%d (ranks=%d, generation=%lld) does not fit the collection's optimizer=%d",
                      okind, oldP, (long long)gen, (int)c->opt.kind);
    ekd_table_config *old = st == EK_OK ? ekd_alloc(sizeof(ekd_table_config) * (size_t)T, &st) : NULL;
    for (int64_t t = 0; st == EK_OK && t < T; t++) {
        char key[64];
        snprintf(key, sizeof key, "table.%lld", (long long)t);
        const char *v = meta_get(m.st, key);
        long long rows = 0, dim = 0;
        int scheme = -1;
        if (!v || sscanf(v, "%lld %lld %d", &rows, &dim, &scheme) != 3 || scheme < 0 || scheme > 2)
            st = ekd_fail(EK_ERR_INVALID_ARGUMENT, "load: %s: \"%s\" is missing or malformed", path, key);
        else if (rows != c->tables[t].cfg.rows || dim != c->tables[t].cfg.dim)
            st = ekd_fail(EK_ERR_SHAPE, "load: checkpoint table %lld is %lld x %lld, the collection's %lld x %lld", (long long)t, rows, dim,
                          (long long)c->tables[t].cfg.rows, (long long)c->tables[t].cfg.dim);
        else old[t] = (ekd_table_config){.rows = rows, .dim = dim, .scheme = (ekd_scheme)scheme};
    }
    close_safetensors(&m);

    /* new buffers for this rank's shards, filled from every old shard that overlaps */
    int nstate = ekd_state_count(&c->opt);
    for (int64_t t = 0; st == EK_OK && t < T; t++) {
        ekd_region r = c->tables[t].shard;
        int64_t elems = (r.r1 - r.r0) * (r.c1 - r.c0);
        ns[t].weight = ekd_alloc(sizeof(float) * (size_t)elems, &st);
        for (int i = 0; i < nstate; i++)
            ns[t].state[i] = ekd_alloc(sizeof(float) * (size_t)(ekd_state_rowwise(&c->opt, i) ? r.r1 - r.r0 : elems), &st);
    }
    for (int s = 0; st == EK_OK && s < oldP; s++) {
        shard_file f = {0};
        snprintf(path, sizeof path, "%s/shard-%lld-%d.safetensors", dir, (long long)gen, s);
        int opened = 0;
        for (int64_t t = 0; st == EK_OK && t < T; t++) {
            ekd_region o = ekd_plan(&old[t], t, s, oldP), n = c->tables[t].shard;
            int64_t i0 = o.r0 > n.r0 ? o.r0 : n.r0, i1 = o.r1 < n.r1 ? o.r1 : n.r1;
            int64_t j0 = o.c0 > n.c0 ? o.c0 : n.c0, j1 = o.c1 < n.c1 ? o.c1 : n.c1;
            if (i0 >= i1 || j0 >= j1) continue;
            if (!opened && (st = open_safetensors(path, &f)) != EK_OK) break;
            opened = 1;
            char name[96];
            int64_t nw = n.c1 - n.c0;
            /* dst is addressed in table coordinates shifted by the new region's origin */
            snprintf(name, sizeof name, "t%lld.weight", (long long)t);
            st = read_block(&f, path, name, o, 0, i0, i1, j0, j1, ns[t].weight - n.r0 * nw - n.c0, nw);
            for (int i = 0; st == EK_OK && i < nstate; i++) {
                snprintf(name, sizeof name, "t%lld.%s", (long long)t, ekd_state_name(&c->opt, i));
                int rv = ekd_state_rowwise(&c->opt, i);
                st = rv ? read_block(&f, path, name, o, 1, i0, i1, 0, 1, ns[t].state[i] - n.r0, 1)
                        : read_block(&f, path, name, o, 0, i0, i1, j0, j1, ns[t].state[i] - n.r0 * nw - n.c0, nw);
            }
        }
        close_safetensors(&f);
    }
    free(old);
    *out_step = step;
    return st;
}

ek_status ekd_load(ekd_collection *c, const char *dir) {
    if (c == NULL) return ekd_fail(EK_ERR_NULL_POINTER, "collection is NULL");
    ek_status st = dir == NULL ? ekd_fail(EK_ERR_NULL_POINTER, "dir is NULL")
                 : strlen(dir) > 3000 ? ekd_fail(EK_ERR_INVALID_ARGUMENT, "dir is longer than 3000 bytes") : EK_OK;
    new_shard *ns = st == EK_OK ? ekd_alloc(sizeof(new_shard) * (size_t)c->num_tables, &st) : NULL;
    int64_t step = 0;
    if (st == EK_OK) st = load_local(c, dir, ns, &step);
    st = ekd_agree(c->comm, st);
    int nstate = ekd_state_count(&c->opt);
    for (int64_t t = 0; ns && t < c->num_tables; t++) {
        ekd_table *tb = &c->tables[t];
        if (st == EK_OK) { /* every rank has its new shard: swap them in */
            float *w = tb->weight;
            tb->weight = ns[t].weight;
            ns[t].weight = w;
            for (int i = 0; i < nstate; i++) {
                float **p = ekd_state_ptr(tb, &c->opt, i), *q = *p;
                *p = ns[t].state[i];
                ns[t].state[i] = q;
            }
        }
        free(ns[t].weight); free(ns[t].state[0]); free(ns[t].state[1]);
    }
    free(ns);
    if (st == EK_OK) {
        c->step = step;
        ekd_clear_ctx(c);
    }
    return st;
}
