#!/usr/bin/env bash
# Tests/mpi/run.sh BIN — the MPI tests of libembeddingkit_dist (make test-mpi).
#
#   1. BIN unit on 1, 2, 3 and 4 ranks (oversubscribed: this machine may have fewer cores)
#   2. run to run: two runs of BIN digest on 3 ranks print the same hash
#   3. checkpoints: saved on 3 ranks, loaded on 1, 2 and 4; a rank that dies during a later save ends
#      the job (mpirun, no hang) and the checkpoint still loads
#   4. two "hosts": two network namespaces joined by a veth pair, 2 ranks over Open MPI's TCP
#      transport on those addresses only (launch and out-of-band included); the hash must equal the
#      one-machine 2-rank run's. Needs root and `ip netns`; otherwise SKIPPED with the reason.
set -u
BIN=$(realpath "$1")
MPIRUN=${MPIRUN:-mpirun}
RUN=("$MPIRUN" --allow-run-as-root --oversubscribe --mca btl self,vader,tcp)
TMP=$(mktemp -d /tmp/ek-mpi-test.XXXXXX)
NS_A=ekmpiA$$ NS_B=ekmpiB$$ VETH_A=ekva$$ VETH_B=ekvb$$
cleanup() {
    ip netns del "$NS_A" 2>/dev/null
    ip netns del "$NS_B" 2>/dev/null   # deleting a namespace deletes its end of the veth pair
    rm -rf "$TMP"
}
trap cleanup EXIT
failed=()
fail() { echo "test-mpi: FAIL: $*" >&2; failed+=("$1"); }

# 1. every scheme against the core, on 1..4 ranks
for np in 1 2 3 4; do
    echo "==> [${SECONDS}s] mpirun -np $np $BIN unit"
    timeout 120 "${RUN[@]}" -np "$np" "$BIN" unit > "$TMP/unit$np.log" 2>&1 || { cat "$TMP/unit$np.log"; fail "unit-np$np"; }
    grep -E "passed|FAIL" "$TMP/unit$np.log" | head -20
done

# 2. bit-identical run to run
d1=$(timeout 60 "${RUN[@]}" -np 3 "$BIN" digest 2>&1 | grep '^digest [0-9]')
d2=$(timeout 60 "${RUN[@]}" -np 3 "$BIN" digest 2>&1 | grep '^digest [0-9]')
echo "==> [${SECONDS}s] run to run on 3 ranks: '$d1' / '$d2'"
[ -n "$d1" ] && [ "$d1" = "$d2" ] || fail "digest" "two runs on 3 ranks differ or failed"

# 3. checkpoints across rank counts, and a rank that dies mid-save
mkdir -p "$TMP/ckpt"
echo "==> [${SECONDS}s] checkpoint: save on 3 ranks"
timeout 60 "${RUN[@]}" -np 3 "$BIN" save "$TMP/ckpt" 2>&1 | grep -E "passed|FAIL" || true
[ -f "$TMP/ckpt/manifest.safetensors" ] || fail "save" "no manifest written"
for np in 1 2 4; do
    echo "==> checkpoint: load on $np rank(s)"
    timeout 60 "${RUN[@]}" -np "$np" "$BIN" load "$TMP/ckpt" > "$TMP/load$np.log" 2>&1 || { cat "$TMP/load$np.log"; fail "load-np$np"; }
    grep -E "passed|FAIL" "$TMP/load$np.log"
done
echo "==> [${SECONDS}s] a rank dies during a save (mpirun must end the job)"
timeout 60 "${RUN[@]}" -np 3 "$BIN" die "$TMP/ckpt" > "$TMP/die.log" 2>&1
rc=$?
grep -E "on purpose|exited|returned although" "$TMP/die.log" | head -3
echo "files after the failed save: $(cd "$TMP/ckpt" && echo *)"
if [ "$rc" -eq 124 ]; then fail "die" "the job hung after a rank died";
elif [ "$rc" -eq 0 ]; then fail "die" "mpirun returned 0 although a rank died";
elif grep -q "returned although" "$TMP/die.log"; then fail "die" "a save completed without every rank"; fi
timeout 60 "${RUN[@]}" -np 2 "$BIN" load "$TMP/ckpt" > "$TMP/reload.log" 2>&1 || { cat "$TMP/reload.log"; fail "reload" "the checkpoint does not load after the failed save"; }
echo "after the failed save: $(grep passed "$TMP/reload.log")"
# the next save replaces the orphaned generation and removes the dead rank's temporary file
timeout 60 "${RUN[@]}" -np 2 "$BIN" save "$TMP/ckpt" > "$TMP/resave.log" 2>&1 || { cat "$TMP/resave.log"; fail "resave" "saving after the failed save"; }
leftover=$(cd "$TMP/ckpt" && ls | grep -E '\.tmp$|^shard-[0-9]+-2\.' || true)
echo "files after the next save (2 ranks): $(cd "$TMP/ckpt" && echo *)"
[ -z "$leftover" ] || fail "resave" "files left from older saves: $leftover"

# 4. two network namespaces, TCP only
netns_test() {
    local why
    if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED two-host test: not root (ip netns needs CAP_SYS_ADMIN)"; return 0; fi
    if ! command -v ip >/dev/null; then echo "SKIPPED two-host test: no 'ip' (iproute2)"; return 0; fi
    if ! why=$(ip netns add "$NS_A" 2>&1); then echo "SKIPPED two-host test: 'ip netns add' failed: $why"; return 0; fi
    ip netns add "$NS_B" || { fail "netns" "second namespace"; return 1; }
    if ! why=$(ip link add "$VETH_A" type veth peer name "$VETH_B" 2>&1); then
        echo "SKIPPED two-host test: cannot create a veth pair: $why"; return 0
    fi
    ip link set "$VETH_A" netns "$NS_A" && ip link set "$VETH_B" netns "$NS_B" &&
    ip -n "$NS_A" addr add 10.213.7.1/24 dev "$VETH_A" && ip -n "$NS_B" addr add 10.213.7.2/24 dev "$VETH_B" &&
    ip -n "$NS_A" link set "$VETH_A" up && ip -n "$NS_B" link set "$VETH_B" up &&
    ip -n "$NS_A" link set lo up && ip -n "$NS_B" link set lo up || { fail "netns" "configuring the veth pair"; return 1; }
    # the launcher mpirun uses instead of ssh: "host command..." -> the command in that host's namespace
    cat > "$TMP/agent.sh" <<AGENT
#!/bin/sh
host=\$1; shift
case "\$host" in
    10.213.7.2) exec ip netns exec $NS_B sh -c "\$*" ;;
    *) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
AGENT
    chmod +x "$TMP/agent.sh"
    printf '10.213.7.1 slots=1\n10.213.7.2 slots=1\n' > "$TMP/hosts"
    local two=("$MPIRUN" --allow-run-as-root -np 2 --hostfile "$TMP/hosts" --mca plm_rsh_agent "$TMP/agent.sh"
               --mca plm_rsh_no_tree_spawn 1 --mca btl tcp,self --mca btl_tcp_if_include 10.213.7.0/24
               --mca oob_tcp_if_include 10.213.7.0/24)
    echo "==> [${SECONDS}s] two hosts: ip netns exec $NS_A ${two[*]} ..."
    # each rank's network namespace and addresses: two different namespaces, one address each
    local where
    where=$(timeout 60 ip netns exec "$NS_A" "${two[@]}" sh -c 'echo "rank $OMPI_COMM_WORLD_RANK: $(readlink /proc/self/ns/net) $(ip -o -4 addr show scope global | awk "{print \$4}")"' 2>&1 | grep '^rank')
    echo "$where"
    [ "$(echo "$where" | awk '{print $3}' | sort -u | wc -l)" -eq 2 ] || { fail "netns" "the ranks did not run in two namespaces"; return 1; }
    local dn d2
    dn=$(timeout 60 ip netns exec "$NS_A" "${two[@]}" "$BIN" digest 2>&1 | grep -v setpgid | tee "$TMP/netns.log" | grep '^digest [0-9]')
    d2=$(timeout 60 "${RUN[@]}" -np 2 "$BIN" digest 2>&1 | grep '^digest [0-9]')
    echo "[${SECONDS}s] two hosts over TCP: '$dn'; one machine: '$d2'"
    [ -n "$dn" ] && [ "$dn" = "$d2" ] || { cat "$TMP/netns.log"; fail "netns" "the two-host run failed or differs from one machine"; }
}
netns_test

if [ ${#failed[@]} -gt 0 ]; then echo "test-mpi: FAILED: ${failed[*]}" >&2; exit 1; fi
echo "test-mpi: OK (${SECONDS}s)"
