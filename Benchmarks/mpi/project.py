#!/usr/bin/env python3
"""project.py W13_JSON — docs/DISTRIBUTED.md's projection of W13's row-wise step to more ranks.

Weak scaling: every rank keeps W13's share (b = 2,048 bags of L = 40 ids, D = 64, one table of
1M rows x 64 split over the ranks), so each owner's compute stays W13's. The step time on P ranks is

    t(P) = t_compute + n_a2a * (P - 1) * alpha + n_red * log2(P) * alpha + beta * bytes_per_rank(P)

with alpha, beta the medians of the W13 runs' MPI_Alltoallv fits (alpha: per message, beta: per
byte), n_a2a = 4 all-to-alls per step (ids, pooled, gradients, counts: P - 1 messages each, pairwise)
and n_red = 5 small agreements (Allgather / Allreduce: log2 P rounds). t_compute is W13's median
sharded step minus its own modelled communication at P = 2. Bytes each rank sends per step:

    lengths 8 b (P-1)  +  ids 8 b L (P-1)/P  +  pooled and gradients 2 * 4 D b * m(P)  +  control

m(P) = P - 1 as implemented (every owner returns a partial row for every bag); with empty partial
rows skipped, m(P) = (P - 1) (1 - (1 - 1/P)^L), the expected number of other owners a bag touches.
--net ALPHA_US BETA_NS_PER_BYTE prints the same table with another network's costs in place of the
measured ones (the measured pair is two processes on one machine). Uses only the standard library."""
import json
import math
import statistics
import sys

runs = json.load(open(sys.argv[1]))["runs"]
net = sys.argv[sys.argv.index("--net") + 1:sys.argv.index("--net") + 3] if "--net" in sys.argv else None
w13 = [r for r in runs if r["id"] == "W13"]
alpha = statistics.median(r["message_costs"]["fit_alpha_us"] for r in runs) * 1e-6
beta = statistics.median(r["message_costs"]["fit_beta_ns_per_byte"] for r in runs) * 1e-9
step2 = statistics.median(r["median_ms"] for r in w13) * 1e-3
ids_plain = statistics.median(r["bytes_per_step"]["ids"] for r in runs if r["ids"].startswith("zipf") and not r["dedup"])
ids_dedup = [r["bytes_per_step"]["ids"] for r in runs if r["ids"].startswith("zipf") and r["dedup"]]
dedup_ratio = statistics.median(ids_dedup) / ids_plain if ids_dedup else 1.0
b, L, D = 2048, 40, 64


def bytes_rank(P, skip_empty=False, dedup=False):
    m = (P - 1) * (1 - (1 - 1 / P) ** L) if skip_empty else P - 1
    ids = 8 * b * L * (P - 1) / P * (dedup_ratio if dedup else 1.0)
    control = 24 * (P - 1) + 8 * 4 * (P - 1) + 4 * 4 * math.log2(P)
    return 8 * b * (P - 1) + ids + 2 * 4 * D * b * m + control


def comm(P, **kw):
    return 4 * (P - 1) * alpha + 5 * math.log2(P) * alpha + beta * bytes_rank(P, **kw)


t_compute = step2 - comm(2)
if net:
    alpha, beta = float(net[0]) * 1e-6, float(net[1]) * 1e-9
    print(f"with --net: alpha {alpha * 1e6:.2f} us, beta {beta * 1e9:.4f} ns/byte in place of the fit")
print(f"fit (median of {len(runs)} runs): alpha {alpha * 1e6:.2f} us/message, beta {beta * 1e9:.4f} ns/byte "
      f"({1e-9 / beta:.2f} GB/s); W13 step {step2 * 1e3:.2f} ms on 2 ranks, of which compute {t_compute * 1e3:.2f} ms; "
      f"Zipf ids: dedup sends {dedup_ratio:.3f} of the id bytes")
print("| ranks | MB sent per rank | latency ms | bandwidth ms | step ms | compute share "
      "| skip empty partials: MB, step ms | + dedup (Zipf): MB, step ms |")
print("|---|---|---|---|---|---|---|---|")
for P in (2, 8, 64, 512):
    lat = 4 * (P - 1) * alpha + 5 * math.log2(P) * alpha
    bw = beta * bytes_rank(P)
    t = t_compute + lat + bw
    ts = t_compute + comm(P, skip_empty=True)
    td = t_compute + comm(P, skip_empty=True, dedup=True)
    print(f"| {P} | {bytes_rank(P) / 1e6:.2f} | {lat * 1e3:.2f} | {bw * 1e3:.2f} | {t * 1e3:.1f} | {t_compute / t:.0%} "
          f"| {bytes_rank(P, skip_empty=True) / 1e6:.2f}, {ts * 1e3:.1f} "
          f"| {bytes_rank(P, skip_empty=True, dedup=True) / 1e6:.2f}, {td * 1e3:.1f} |")
