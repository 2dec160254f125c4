/* workloads.c — every family registered with BENCH_FAMILY (Benchmarks/workloads/<family>.c), gathered from
 * the linker section ek_bench_families and sorted by `order`. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

extern const bench_family *const __start_ek_bench_families[];
extern const bench_family *const __stop_ek_bench_families[];

int workload_measured_in_c(const bench_workload *w) {
    return w->api == BENCH_API_C && w->setup && w->call && w->check && w->release;
}
int workload_not_yet(const bench_workload *w) {
    return w->api == BENCH_API_C && !w->call && !w->reuse_ek;
}

static int by_order(const void *a, const void *b) {
    const bench_workload *x = *(const bench_workload *const *)a, *y = *(const bench_workload *const *)b;
    return (x->order > y->order) - (x->order < y->order);
}

int workloads_all(const bench_workload ***out) {
    int n = 0;
    for (const bench_family *const *f = __start_ek_bench_families; f < __stop_ek_bench_families; f++) n += (*f)->count;
    const bench_workload **all = ALLOC(const bench_workload *, n ? n : 1);
    int k = 0;
    for (const bench_family *const *f = __start_ek_bench_families; f < __stop_ek_bench_families; f++)
        for (int i = 0; i < (*f)->count; i++) {
            const bench_workload *w = &(*f)->list[i];
            if (!w->id || !w->work)
                bench_die(1, "%s: workload %d needs an id and a work function", (*f)->file, i);
            if (w->api == BENCH_API_C && w->call && !workload_measured_in_c(w))
                bench_die(1, "%s: %s has a call but not setup, check and release", (*f)->file, w->id);
            all[k++] = w;
        }
    qsort(all, (size_t)n, sizeof *all, by_order);
    for (int i = 1; i < n; i++) {
        if (all[i]->order == all[i - 1]->order)
            bench_die(1, "workloads %s and %s have the same order %d", all[i - 1]->id, all[i]->id, all[i]->order);
        for (int j = 0; j < i; j++)
            if (!strcmp(all[i]->id, all[j]->id)) bench_die(1, "two workloads are called %s", all[i]->id);
    }
    *out = all;
    return n;
}
