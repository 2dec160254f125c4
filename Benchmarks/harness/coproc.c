/* coproc.c — the two co-processes, speaking one protocol on stdin/stdout: PyTorch's
 * Benchmarks/peers.py --serve and the Swift API's ek-swift-bench --serve (W5-swift, W9).
 * Each says hello (a JSON line), then answers `run ID T1,T2 SECONDS MIN_REPEATS` with one JSON line
 * per figure and a `done` line. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define die bench_die

coproc peer, swift;
/* The second PyTorch co-process: peers.py with THP_MEM_ALLOC_ENABLE=1 (PyTorch's CPU allocator then
 * asks for transparent huge pages for blocks of 2 MiB and up, as ek_alloc does from 4 MiB), for the
 * informational rows whose peer id ends in "+thp"; started at its first use. */
static coproc peer_thp;
static const char *peer_python, *peer_script;
static int peer_thp_tried;
char peer_torch[64] = "", peer_numpy[64] = "", peer_capability[64] = "", peer_absent[512] = "";
char swift_absent[512] = "", swift_isa[32] = "";

void coproc_kill_all(void) {
    if (peer.pid > 0) kill(peer.pid, SIGTERM);
    if (peer_thp.pid > 0) kill(peer_thp.pid, SIGTERM);
    if (swift.pid > 0) kill(swift.pid, SIGTERM);
}

/* The value of "key" in a flat JSON object line (numbers and strings without escapes). */
static int json_get(const char *line, const char *key, char *buf, size_t cap) {
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p) return 0;
    p += strlen(pat);
    while (*p == ' ') p++;
    size_t k = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"' && k + 1 < cap) {
            if (*p == '\\' && p[1]) p++;
            buf[k++] = *p++;
        }
    } else {
        while (*p && *p != ',' && *p != '}' && k + 1 < cap) buf[k++] = *p++;
    }
    buf[k] = 0;
    return 1;
}
static double json_num(const char *line, const char *key, double fallback) {
    char buf[64];
    if (!json_get(line, key, buf, sizeof buf)) return fallback;
    char *end;
    double v = strtod(buf, &end);
    return end == buf ? fallback : v;
}

static void coproc_close(coproc *c) {
    fclose(c->in), fclose(c->out);
    waitpid(c->pid, NULL, 0);
    c->in = c->out = NULL;
    c->pid = 0;
}

/* Starts argv[0] with its stdin and stdout piped to *c and reads its first line (its hello) into
 * `line`; returns 0, or -1 (and closes *c) when it exits without a line. */
static int coproc_spawn(coproc *c, char *const argv[], const char *env, char *line, int cap) {
    int to_child[2], from_child[2];
    if (pipe(to_child) || pipe(from_child)) die(1, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) die(1, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        close(to_child[0]), close(to_child[1]), close(from_child[0]), close(from_child[1]);
        if (env) putenv((char *)env); /* "NAME=VALUE", for this child only */
        execv(argv[0], argv);
        fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(to_child[0]), close(from_child[1]);
    c->pid = pid;
    c->in = fdopen(to_child[1], "w");
    c->out = fdopen(from_child[0], "r");
    if (fgets(line, cap, c->out)) return 0;
    coproc_close(c);
    return -1;
}

void coproc_stop(coproc *c) {
    if (!c->in) return;
    fprintf(c->in, "quit\n");
    fflush(c->in);
    coproc_close(c);
}

void peer_start(const char *python, const char *script) {
    if (access(python, X_OK) != 0) {
        snprintf(peer_absent, sizeof peer_absent, "%s not found (run `make bench-peers`)", python);
        return;
    }
    peer_python = python, peer_script = script;
    char line[4096];
    if (coproc_spawn(&peer, (char *const[]){(char *)python, (char *)script, "--serve", NULL}, NULL, line, sizeof line)) {
        snprintf(peer_absent, sizeof peer_absent, "%s %s exited before saying hello", python, script);
    } else if (strstr(line, "\"ok\": true") || strstr(line, "\"ok\":true")) {
        json_get(line, "torch", peer_torch, sizeof peer_torch);
        json_get(line, "numpy", peer_numpy, sizeof peer_numpy);
        json_get(line, "capability", peer_capability, sizeof peer_capability);
    } else {
        char err[400] = "";
        json_get(line, "error", err, sizeof err);
        snprintf(peer_absent, sizeof peer_absent, "%s cannot import torch (%s); run `make bench-peers`", python, err);
        coproc_close(&peer);
    }
}

coproc *peer_for(const char *peer_id, char *base, size_t cap) {
    snprintf(base, cap, "%s", peer_id);
    char *suffix = strstr(base, "+thp");
    if (!suffix || suffix[4]) return &peer;
    *suffix = 0;
    if (!peer_thp_tried && peer.in) {
        peer_thp_tried = 1;
        char line[4096];
        if (coproc_spawn(&peer_thp, (char *const[]){(char *)peer_python, (char *)peer_script, "--serve", NULL},
                         "THP_MEM_ALLOC_ENABLE=1", line, sizeof line) == 0 &&
            !strstr(line, "\"ok\": true") && !strstr(line, "\"ok\":true"))
            coproc_close(&peer_thp);
        if (!peer_thp.in) fprintf(stderr, "bench: the THP_MEM_ALLOC_ENABLE=1 PyTorch co-process did not start\n");
    }
    return &peer_thp;
}

void peers_stop(void) {
    coproc_stop(&peer);
    coproc_stop(&peer_thp);
}

/* Runs one workload in a co-process (same protocol for PyTorch's peers.py and ek-swift-bench) at each
 * thread count; fills res[k] for threads[k]. A co-process that ends is closed (*in = NULL). An error
 * line with "check": true (a wrong result) fails the bench. */
void coproc_run(coproc *c, const char *who, const char *id, const int *threads, int nthreads,
                       peer_result *res) {
    for (int k = 0; k < nthreads; k++) memset(&res[k], 0, sizeof res[k]);
    if (!c->in) return;
    fprintf(c->in, "run %s ", id);
    for (int k = 0; k < nthreads; k++) fprintf(c->in, "%s%d", k ? "," : "", threads[k]);
    fprintf(c->in, " %g %d\n", g_seconds, g_min_repeats);
    fflush(c->in);
    char line[4096];
    while (fgets(line, sizeof line, c->out)) {
        char kind[32] = "";
        json_get(line, "kind", kind, sizeof kind);
        if (!strcmp(kind, "done")) return;
        int T = (int)json_num(line, "threads", -1);
        if (!strcmp(kind, "error") && strstr(line, "\"check\": true")) {
            char msg[600] = "";
            json_get(line, "message", msg, sizeof msg);
            die(2, "%s: %s's result differs from the plain computation: %s", id, who, msg);
        }
        for (int k = 0; k < nthreads; k++) {
            if (threads[k] != T) continue;
            if (!strcmp(kind, "result")) {
                res[k].have = 1;
                res[k].s.median_ms = json_num(line, "median_ms", NAN);
                res[k].s.min_ms = json_num(line, "min_ms", NAN);
                res[k].s.p25_ms = json_num(line, "p25_ms", NAN);
                res[k].s.p75_ms = json_num(line, "p75_ms", NAN);
                res[k].s.repeats = (int)json_num(line, "repeats", 0);
                res[k].s.foreign_cpu = json_num(line, "foreign_cpu", 0);
            } else if (!strcmp(kind, "error")) {
                json_get(line, "message", res[k].error, sizeof res[k].error);
                fprintf(stderr, "  %-9s %s failed at %d thread(s): %s\n", id, who, T, res[k].error);
            }
        }
        if (!strcmp(kind, "error") && T < 0) {
            char msg[300] = "";
            json_get(line, "message", msg, sizeof msg);
            fprintf(stderr, "  %-9s %s failed: %s\n", id, who, msg);
        }
    }
    fprintf(stderr, "bench: the %s co-process ended unexpectedly; continuing without it\n", who);
    coproc_close(c);
}

void swift_start(const char *path) {
    if (access(path, X_OK) != 0) {
        snprintf(swift_absent, sizeof swift_absent, "%s not found (make bench builds it with swift build)", path);
        return;
    }
    char line[4096];
    if (coproc_spawn(&swift, (char *const[]){(char *)path, "--serve", NULL}, NULL, line, sizeof line) == 0 &&
        strstr(line, "\"ok\": true")) {
        json_get(line, "isa", swift_isa, sizeof swift_isa);
        return;
    }
    snprintf(swift_absent, sizeof swift_absent, "%s did not say hello", path);
    if (swift.in) coproc_close(&swift);
}
