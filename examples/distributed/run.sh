#!/usr/bin/env bash
# examples/distributed/run.sh BIN — make demo-distributed: the click model on 1 rank, then on 2 ranks
# (the users table row-wise sharded across them); both must print the same test accuracy.
set -eu
BIN=$(realpath "$1")
RUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader,tcp)
echo "==> one process"
one=$("${RUN[@]}" -np 1 "$BIN" | tee /dev/stderr | grep '^test accuracy')
echo "==> two ranks"
two=$("${RUN[@]}" -np 2 "$BIN" | tee /dev/stderr | grep '^test accuracy')
a1=$(echo "$one" | awk '{print $3}')
a2=$(echo "$two" | awk '{print $3}')
echo "accuracy: 1 process $a1, 2 ranks $a2"
[ "$a1" = "$a2" ] || { echo "demo-distributed: the accuracies differ" >&2; exit 1; }
echo "demo-distributed: the same accuracy on 1 and 2 ranks"
