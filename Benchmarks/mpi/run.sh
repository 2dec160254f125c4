#!/bin/sh
# Benchmarks/mpi/run.sh BIN RESULTS_DIR [--rounds N] [--study] — bench W13 (Benchmarks/mpi/w13.c).
# Each round: W5's step unsharded at 2 threads (no MPI), then row-wise sharded on 2 ranks x 1 thread
# against it (the row W13), then the same with ids deduplicated (W13-dedup, information). --study adds
# Zipf-distributed ids with and without dedup (docs/DISTRIBUTED.md's dedup figures). Rows go to stdout;
# the figures to RESULTS_DIR/w13-<date>-<time>.json. Without mpirun: "NOT AVAILABLE", exit 0.
set -u
bin=$1 results=$2
shift 2
rounds=1 study=0
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) rounds=$2; shift 2 ;;
        --study) study=1; shift ;;
        *) echo "run.sh: bad option $1" >&2; exit 1 ;;
    esac
done
mpirun=${MPIRUN:-mpirun}
if ! command -v "$mpirun" >/dev/null 2>&1 || [ ! -x "$bin" ]; then
    echo "W13  sharded train step: NOT AVAILABLE (no $mpirun or no $bin: make deps-mpi installs Open MPI)"
    exit 0
fi
mkdir -p "$results"
json=$results/w13-$(date +%Y-%m-%d-%H%M%S).json
lines=$(mktemp) || exit 1
trap 'rm -f "$lines"' EXIT
# Waiting politely on both sides: on a machine shared with other work, a rank (or an OpenMP thread)
# that spins while waiting takes the CPU from the one it waits for; Open MPI spins by default, and so
# does libgomp for a while. yield_when_idle / OMP_WAIT_POLICY=passive make both sides yield.
run() {
    timeout 300 "$mpirun" --allow-run-as-root --oversubscribe --bind-to none --mca mpi_yield_when_idle 1 -np 2 \
        "$bin" --sharded --json "$lines" "$@"
}
baseline() { OMP_WAIT_POLICY=passive timeout 300 "$bin" --baseline --threads 2 "$@" | awk '/^baseline_ms/ {print $2}'; }

r=1
while [ "$r" -le "$rounds" ]; do
    echo "W13 round $r of $rounds (the machine may be shared: see 'load' in the JSON)"
    base=$(baseline)
    [ -n "$base" ] || { echo "W13: the unsharded baseline failed" >&2; exit 3; }
    run --baseline-ms "$base" --label W13 || exit $?
    run --dedup --baseline-ms "$base" --label W13-dedup || exit $?
    if [ "$study" = 1 ]; then
        zbase=$(baseline --ids zipf)
        run --ids zipf --baseline-ms "$zbase" --label W13-zipf || exit $?
        run --ids zipf --dedup --baseline-ms "$zbase" --label W13-zipf-dedup || exit $?
    fi
    r=$((r + 1))
done
{
    printf '{"workload": "W13", "date": "%s", "host": "%s", "cpus": %s, "load": "%s",\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf ' "note": "step times are medians; the baseline is the unsharded W5 step at 2 threads in one process (OMP_WAIT_POLICY=passive), measured just before; the ranks run with mpi_yield_when_idle=1, --bind-to none; other processes may share the CPUs (load)",\n'
    printf ' "runs": [\n'
    sed '$!s/$/,/' "$lines"
    printf ']}\n'
} > "$json"
echo "W13: figures written to $json"
