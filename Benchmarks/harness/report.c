/* report.c — a row's derived figures (ratio, throughput, bandwidth share, target met), the printed
 * tables and the JSON file (Benchmarks/results/bench-<date>-<time>.json; fields: Benchmarks/README.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <stdlib.h>

#include "harness.h"

void finish_row(row *r, const bandwidth *bw, const gather_limit *gather) {
    const bench_workload *w = r->w;
    r->ratio = r->have_ek && r->pt.have ? r->pt.s.median_ms / r->ek.median_ms : NAN;
    double work = w->work(w);
    r->throughput = r->have_ek ? work / (r->ek.median_ms * 1e-3) : NAN;
    if (w->unit == UNIT_BYTES) r->throughput *= 1e-9;
    r->share = NAN;
    if (r->have_ek && w->share != SHARE_NONE && !(r->bw_ref > 0))
        r->bw_ref = w->share == SHARE_COPY ? bw->copy_gbs[r->threads] : bw->read_gbs[r->threads];
    if (r->have_ek && w->share == SHARE_COPY) /* rows read + the same bytes written to out */
        r->share = 2.0 * work / (r->ek.median_ms * 1e-3) * 1e-9 / r->bw_ref;
    if (r->have_ek && w->share == SHARE_READ) r->share = work / (r->ek.median_ms * 1e-3) * 1e-9 / r->bw_ref;
    /* W2-like rows: the share of the gather limit (limits.c), the limit the targets use */
    r->gather_share = NAN;
    r->gather_broken = 0;
    if (r->have_ek && w->share == SHARE_READ) {
        if (!(r->gather_ref > 0)) r->gather_ref = gather[r->threads].gbs;
        if (r->gather_ref > 0) r->gather_share = work / (r->ek.median_ms * 1e-3) * 1e-9 / r->gather_ref;
        r->gather_broken = r->gather_share > 1.0;
    }
    r->met = -1;
    r->met_by = "";
    if (w->target_ratio > 0 && r->have_ek) {
        if (w->target_share > 0 && !r->gather_broken && r->gather_share >= w->target_share)
            r->met = 1, r->met_by = "gather limit";
        else if (!isnan(r->ratio)) {
            r->met = r->ratio >= w->target_ratio;
            r->met_by = r->met ? "ratio" : "";
        }
    }
}

static void fmt_ms(char *buf, size_t cap, double ms) {
    if (isnan(ms)) snprintf(buf, cap, "-");
    else if (ms >= 100) snprintf(buf, cap, "%.1f", ms);
    else if (ms >= 1) snprintf(buf, cap, "%.3f", ms);
    else snprintf(buf, cap, "%.4f", ms);
}

static void print_row(const row *r, int with_peer) {
    const bench_workload *w = r->w;
    char ek[32], pt[32], ratio[32] = "-", thr[32] = "-", share[32] = "", gshare[32] = "", met[32] = "";
    fmt_ms(ek, sizeof ek, r->have_ek ? r->ek.median_ms : NAN);
    fmt_ms(pt, sizeof pt, r->pt.have ? r->pt.s.median_ms : NAN);
    if (!isnan(r->ratio)) snprintf(ratio, sizeof ratio, "%.2fx", r->ratio);
    if (!isnan(r->throughput)) {
        if (w->unit == UNIT_BYTES) snprintf(thr, sizeof thr, "%.2f GB/s", r->throughput);
        else snprintf(thr, sizeof thr, "%.1f Melem/s", r->throughput * 1e-6);
    }
    if (!isnan(r->share)) snprintf(share, sizeof share, "%.0f%% of %.1f", 100 * r->share, r->bw_ref);
    if (!isnan(r->gather_share))
        snprintf(gshare, sizeof gshare, "%.0f%% of %.1f%s", 100 * r->gather_share, r->gather_ref, r->gather_broken ? "!" : "");
    if (workload_not_yet(w)) snprintf(met, sizeof met, "not yet");
    else if (w->api == BENCH_API_SWIFT && !r->have_ek) snprintf(met, sizeof met, "- (no Swift)");
    else if (r->met == 1) snprintf(met, sizeof met, "met%s", !strcmp(r->met_by, "gather limit") ? " (gather)" : "");
    else if (r->met == 0) snprintf(met, sizeof met, "NOT MET");
    else if (w->target_ratio > 0) snprintf(met, sizeof met, with_peer ? "?" : "- (no PyTorch)");
    if (r->gather_broken) snprintf(met + strlen(met), sizeof met - strlen(met), " BROKEN PROBE");
    const char *noisy = (r->have_ek && r->ek.foreign_cpu > 0.15) || (r->pt.have && r->pt.s.foreign_cpu > 0.15) ? " *" : "";
    if (with_peer)
        printf("%-9s %3d %10s %10s %8s %15s %13s %13s  %-30s %s%s\n", w->id, r->threads, ek, pt, ratio, thr, share,
               gshare, w->target_text, met, noisy);
    else
        printf("%-9s %3d %10s %15s %13s %13s  %-30s %s%s\n", w->id, r->threads, ek, thr, share, gshare, w->target_text,
               met, noisy);
}

void print_tables(const row *rows, int nrows, int with_peer) {
    printf("\n%s\n", with_peer ? "ms/call = median; ratio = PyTorch time / EK time (EK speed-up); throughput = EK's"
                               : "ms/call = median; throughput = EK's");
    printf("(GB/s of table rows read for W1-W4/W7, elements/s otherwise); BW share: W1 = rows read + written vs copy\n"
           "bandwidth, W2-like = rows read vs sequential read bandwidth (kept for comparison: the wrong limit for a\n"
           "gather); each against that bandwidth (\"of\", GB/s, median of 7 passes) measured right before the row's EK\n"
           "figure at its thread count. Gather share: W2-like rows read vs the gather limit (best prefetch distance)\n"
           "measured right before the row's EK figure; the limit the W2-W4 targets use; \"!\" above 100 %% = broken probe.\n\n");
    if (with_peer)
        printf("%-9s %3s %10s %10s %8s %15s %13s %13s  %-30s %s\n", "workload", "thr", "EK ms", "PyTorch ms", "EK/PT",
               "throughput", "BW share", "gather share", "target (WORKLOADS.md)", "status");
    else
        printf("%-9s %3s %10s %15s %13s %13s  %-30s %s\n", "workload", "thr", "EK ms", "throughput", "BW share",
               "gather share", "target (WORKLOADS.md)", "status");
    for (int i = 0; i < nrows; i++)
        if (!rows[i].w->scaling) print_row(&rows[i], with_peer);
    int any_scaling = 0;
    for (int i = 0; i < nrows; i++) any_scaling |= rows[i].w->scaling;
    if (any_scaling) {
        printf("\nW2 scaling over table size (bag sum, 4,096 bags x 40, dim 64):\n");
        if (with_peer)
            printf("%-9s %3s %10s %10s %8s %15s %13s\n", "table", "thr", "EK ms", "PyTorch ms", "EK/PT", "throughput",
                   "BW share");
        else
            printf("%-9s %3s %10s %15s %13s\n", "table", "thr", "EK ms", "throughput", "BW share");
        for (int i = 0; i < nrows; i++)
            if (rows[i].w->scaling) {
                row r = rows[i];
                char ek[32], pt[32], ratio[32] = "-";
                fmt_ms(ek, sizeof ek, r.have_ek ? r.ek.median_ms : NAN);
                fmt_ms(pt, sizeof pt, r.pt.have ? r.pt.s.median_ms : NAN);
                if (!isnan(r.ratio)) snprintf(ratio, sizeof ratio, "%.2fx", r.ratio);
                const char *size = strchr(r.w->id, '@') + 1;
                if (with_peer)
                    printf("%-9s %3d %10s %10s %8s %10.2f GB/s %5.0f%% of %4.1f\n", size, r.threads, ek, pt, ratio,
                           r.throughput, 100 * r.share, r.bw_ref);
                else
                    printf("%-9s %3d %10s %10.2f GB/s %5.0f%% of %4.1f\n", size, r.threads, ek, r.throughput,
                           100 * r.share, r.bw_ref);
            }
    }
}

/* ---- JSON: a writer that knows where commas and line breaks go ---- */

typedef struct {
    FILE *f;
    int depth;
    int fresh[8];        /* nothing written yet at this depth */
    const char *sep[8];  /* between members at this depth */
    const char *wrap;    /* replaces the next separator once (a line break inside a row) */
} json_writer;

static void json_escaped(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f), fputc(*s, f);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

/* The separator, then `"key": ` (key NULL: an array element). */
static void j_key(json_writer *j, const char *key) {
    if (!j->fresh[j->depth]) fputs(j->wrap ? j->wrap : j->sep[j->depth], j->f);
    j->wrap = NULL;
    j->fresh[j->depth] = 0;
    if (key) {
        json_escaped(j->f, key);
        fputs(": ", j->f);
    }
}
/* Opens an object or array; `open` and `close` carry the brackets and any line breaks around them. */
static void j_open(json_writer *j, const char *key, const char *open, const char *sep) {
    j_key(j, key);
    fputs(open, j->f);
    j->depth++;
    j->fresh[j->depth] = 1, j->sep[j->depth] = sep;
}
static void j_close(json_writer *j, const char *close) {
    j->depth--;
    fputs(close, j->f);
}
static void j_str(json_writer *j, const char *key, const char *s) {
    j_key(j, key);
    json_escaped(j->f, s);
}
static void j_str_or_null(json_writer *j, const char *key, const char *s) {
    j_key(j, key);
    if (s) json_escaped(j->f, s);
    else fputs("null", j->f);
}
static void j_num(json_writer *j, const char *key, double v) { /* NaN and inf: null */
    j_key(j, key);
    if (isnan(v) || isinf(v)) fputs("null", j->f);
    else fprintf(j->f, "%.6g", v);
}
static void j_int(json_writer *j, const char *key, long v) {
    j_key(j, key);
    fprintf(j->f, "%ld", v);
}

/* One side's timing fields, "<side>_ms", "<side>_min_ms", ... (null when that side has no figure). */
static void j_timing(json_writer *j, const char *side, const stats *t) {
    char key[64];
    snprintf(key, sizeof key, "%s_ms", side), j_num(j, key, t ? t->median_ms : NAN);
    snprintf(key, sizeof key, "%s_min_ms", side), j_num(j, key, t ? t->min_ms : NAN);
    snprintf(key, sizeof key, "%s_p25_ms", side), j_num(j, key, t ? t->p25_ms : NAN);
    snprintf(key, sizeof key, "%s_p75_ms", side), j_num(j, key, t ? t->p75_ms : NAN);
    snprintf(key, sizeof key, "%s_repeats", side), j_int(j, key, t ? t->repeats : 0);
    snprintf(key, sizeof key, "%s_foreign_cpu", side), j_num(j, key, t ? t->foreign_cpu : NAN);
}

static void j_bool(json_writer *j, const char *key, int v) {
    j_key(j, key);
    fputs(v < 0 ? "null" : v ? "true" : "false", j->f);
}
static void j_raw(json_writer *j, const char *key, const char *text) {
    j_key(j, key);
    fputs(text, j->f);
}

#define ROW_BREAK ",\n     "

static void json_row(json_writer *j, const row *r) {
    const bench_workload *w = r->w;
    const stats *ek = r->have_ek ? &r->ek : NULL, *pt = r->pt.have ? &r->pt.s : NULL;
    j_open(j, NULL, "{", ", ");
    j_str(j, "id", w->id);
    j_str(j, "name", w->name);
    j_str(j, "params", w->params);
    j_str(j, "pytorch_call", w->peer_call);
    j_bool(j, "scaling", w->scaling != 0);
    j_int(j, "threads", r->threads);
    j_str(j, "status", workload_not_yet(w) ? "not yet" : r->have_ek ? "measured" : "no EK figure");
    j_str(j, "api", w->api == BENCH_API_SWIFT ? "Swift" : "C");
    j->wrap = ROW_BREAK;
    j_timing(j, "ek", ek);
    j->wrap = ROW_BREAK;
    j_timing(j, "pytorch", pt);
    j->wrap = ROW_BREAK;
    j_num(j, "ratio", r->ratio);
    j_num(j, "throughput", r->throughput);
    j_str(j, "throughput_unit", w->unit == UNIT_BYTES ? "GB/s" : "elements/s");
    j_num(j, "bandwidth_share", r->share);
    double pt_thr = pt ? w->work(w) / (pt->median_ms * 1e-3) * (w->unit == UNIT_BYTES ? 1e-9 : 1.0) : NAN;
    j_num(j, "pytorch_throughput", pt_thr);
    j_num(j, "pytorch_bandwidth_share",
          r->bw_ref > 0 && pt ? (w->share == SHARE_COPY ? 2 : 1) * pt_thr / r->bw_ref : NAN);
    j_num(j, "bandwidth_ref_gbs", r->bw_ref > 0 ? r->bw_ref : NAN);
    j_str_or_null(j, "bandwidth_share_of", w->share == SHARE_NONE ? NULL : w->share == SHARE_COPY ? "copy" : "read");
    j->wrap = ROW_BREAK;
    j_num(j, "gather_share", r->gather_share);
    j_num(j, "pytorch_gather_share", r->gather_ref > 0 && pt && w->share == SHARE_READ ? pt_thr / r->gather_ref : NAN);
    j_num(j, "gather_limit_gbs", r->gather_ref > 0 ? r->gather_ref : NAN);
    j_bool(j, "gather_share_broken", isnan(r->gather_share) ? -1 : r->gather_broken);
    j->wrap = ROW_BREAK;
    j_str(j, "target", w->target_text);
    j_num(j, "target_ratio", w->target_ratio > 0 ? w->target_ratio : NAN);
    j_num(j, "target_share", w->target_share > 0 ? w->target_share : NAN);
    j_bool(j, "met", r->met == 1 ? 1 : r->met == 0 ? 0 : -1);
    j_str_or_null(j, "met_by", r->met == 1 ? r->met_by : NULL);
    j_str_or_null(j, "note", w->note);
    j_close(j, "}");
}

void write_json(const char *path, const run_info *run, const row *rows, int nrows) {
    FILE *f = fopen(path, "w");
    if (!f) bench_die(1, "cannot write %s: %s", path, strerror(errno));
    json_writer jw = {.f = f, .fresh = {1}, .sep = {""}}, *j = &jw;
    j_open(j, NULL, "{\n  ", ",\n  ");
    j_str(j, "date", run->date);
    j_open(j, "machine", "{", ", ");
    j_str(j, "cpu", run->model);
    j_int(j, "cpus", run->ncpu);
    j_str(j, "transparent_hugepage", run->thp);
    j_str(j, "loadavg_at_start", run->loadavg_start);
    j_num(j, "foreign_cpu_during_run", run->foreign);
    j_close(j, "}");
    j_str(j, "embeddingkit", ek_version_string());
    j_str(j, "compiler", "gcc " __VERSION__);
    j_str(j, "openblas_core", openblas_get_corename());
    j_str_or_null(j, "openblas_coretype_env", getenv("OPENBLAS_CORETYPE"));
    j_str(j, "isa", ek_isa_name(ek_get_isa()));
    { /* the machine-dependent constants in effect (tuning.c), and where each comes from */
        int64_t pf = -1, stream = -1, scatter = -1;
        ek_get_tuning(EK_TUNE_BAG_PREFETCH_ROWS, &pf), ek_get_tuning(EK_TUNE_STREAM_MIN_BYTES, &stream);
        ek_get_tuning(EK_TUNE_SCATTER_MIN_WORK, &scatter);
        j_open(j, "tuning", "{", ", ");
        j_int(j, "bag_prefetch_rows", (long)pf);
        j_int(j, "stream_min_bytes", (long)stream);
        j_int(j, "scatter_min_work", (long)scatter);
        j_str(j, "summary", ek_tuning_summary());
        j_close(j, "}");
    }
    if (swift_isa[0]) {
        j_open(j, "swift_api", "{", ", ");
        j_str(j, "binary", run->swift_bench);
        j_str(j, "isa", swift_isa);
        j_close(j, "}");
    } else {
        j_str(j, "swift_api", swift_absent[0] ? swift_absent : "not run");
    }
    if (run->with_peer) {
        j_open(j, "pytorch", "{", ", ");
        j_str(j, "version", peer_torch);
        j_str(j, "numpy", peer_numpy);
        j_str(j, "cpu_capability", peer_capability);
        j_close(j, "}");
    } else {
        j_raw(j, "pytorch", "null");
    }
    j_str_or_null(j, "pytorch_absent_reason", run->with_peer ? NULL : peer_absent);
    j_open(j, "method", "{", ", ");
    j_int(j, "batches", NBATCH);
    j_int(j, "min_repeats", g_min_repeats);
    j_key(j, "seconds_per_figure");
    fprintf(f, "%g", g_seconds);
    j_str(j, "statistic", "median");
    j_str(j, "interleaving", "per workload and thread count: EK, then PyTorch");
    j_close(j, "}");
    j_open(j, "bandwidth_gbs", "{", ", ");
    for (int k = 0; k < run->nthreads; k++) {
        int T = run->threads[k];
        char key[16];
        snprintf(key, sizeof key, "%d", T);
        j_open(j, key, "{", ", ");
        j_num(j, "read", run->bw.read_gbs[T]);
        j_num(j, "read_best", run->bw.read_best_gbs[T]);
        j_num(j, "copy", run->bw.copy_gbs[T]);
        j_num(j, "copy_best", run->bw.copy_best_gbs[T]);
        j_num(j, "read_at_end", run->bw_end.read_gbs[T]);
        j_num(j, "copy_at_end", run->bw_end.copy_gbs[T]);
        j_close(j, "}");
    }
    j_close(j, "}");
    j_open(j, "gather_limit", "{", ", "); /* at the start, per thread count (limits.c) */
    for (int k = 0; k < run->nthreads; k++) {
        int T = run->threads[k];
        char key[16];
        snprintf(key, sizeof key, "%d", T);
        j_open(j, key, "{", ", ");
        j_num(j, "gbs", run->gather[T].gbs);
        j_int(j, "best_prefetch_rows", run->gather[T].best_pf);
        j_open(j, "sweep_gbs", "{", ", ");
        for (int p = 0; p < GATHER_NPF; p++) {
            snprintf(key, sizeof key, "%d", gather_pf[p]);
            j_num(j, key, run->gather[T].sweep_gbs[p]);
        }
        j_close(j, "}");
        j_close(j, "}");
    }
    j_close(j, "}");
    j_open(j, "rows", "[\n    ", ",\n    ");
    for (int i = 0; i < nrows; i++) json_row(j, &rows[i]);
    j_close(j, "\n  ]");
    j_key(j, "run_seconds");
    fprintf(f, "%.1f", run->run_s);
    j_close(j, "\n}\n");
    fclose(f);
}
