# bench/ab-pull.sh : two builds' cold pulls of one many-layer image, alternating in one bed. Not a test: run it
# through the integration runner, as root, with the other build's directory:
#     sudo OLD_BUILD=/path/to/other/build tests/integration/run BUILD bench/ab-pull.sh
# berthd and berth-fork-server of OLD_BUILD ("old") and of BUILD ("new") take turns (berthd through a drop-in,
# the fork server through BERTH_FORK_SERVER; bench/ab-lib.sh), ROUNDS rounds (8), the order turning every
# round. Each pull goes into a store of its own (BERTH_STATE_DIR), so that nothing is deleted between pulls:
# extraction right after a delete is slower here for minutes (shared/research/perf-limits.md). The stores
# (under berthd's StateDirectory, the only place it may write) go with the bed.
# IMAGE is layers-100 (busybox and 99 tiny layers) of a registry in the bed's namespace on the fixture
# registry's storage, unless set. Prints, per build, the median wall time of `berthctl pull -q` and the CPU
# time of berthd.service (berthd and its children: the extractions) per pull, and new/old for both; writes
# TRACE_OUT/ab-pull.txt (default: the case's TEST_TMP).
source "$BERTH_SRC/bench/ab-lib.sh"

test_ab_pull() {
        local out=${TRACE_OUT:-$TEST_TMP} image=${IMAGE:-} run=0 v r c0 t0 t1 c1 order
        mkdir -p "$out"
        if [ -z "$image" ]; then
                # A registry of the bed's own namespace, on the fixture's storage: no forwarder in between.
                AB_REGISTRY=$TEST_TMP/registry # global: the trap runs after this function returned
                trap '"$BERTH_REGISTRY_SH" stop "$AB_REGISTRY"' EXIT
                image=$(bed_net "$BERTH_REGISTRY_SH" start "$AB_REGISTRY" \
                        --storage "$BERTH_TEST_REGISTRY_DIR/storage")/layers-100
        fi
        ab_berthd_dropin
        ab_binary src/store/berth-fork-server /usr/libexec/berth-fork-server
        : >"$out/ab-pull.raw"
        for r in $(seq "${ROUNDS:-8}"); do
                order="old new"
                [ $((r % 2)) = 1 ] || order="new old"
                for v in $order; do
                        run=$((run + 1))
                        ab_use "$v" "BERTH_FORK_SERVER=/usr/libexec/berth-fork-server-$v" \
                                "BERTH_STATE_DIR=/var/lib/berth/ab-$run"
                        bed_exec sync
                        sleep "${PAUSE:-1}"
                        c0=$(bed_exec systemctl show -P CPUUsageNSec berthd.service)
                        t0=$(date +%s%N)
                        bed_exec berthctl pull -q "$image" >/dev/null
                        t1=$(date +%s%N)
                        c1=$(bed_exec systemctl show -P CPUUsageNSec berthd.service)
                        echo "$v $(((t1 - t0) / 1000)) $(((c1 - c0) / 1000))" >>"$out/ab-pull.raw"
                done
        done
        ab_restore BERTH_FORK_SERVER BERTH_STATE_DIR # its own binaries and store
        python3 - "$out" "$image" >"$out/ab-pull.txt" <<'PY'
import statistics, sys
out, image = sys.argv[1], sys.argv[2]
runs = {"old": [], "new": []}
for line in open(f"{out}/ab-pull.raw"):
    v, wall, cpu = line.split()
    runs[v].append((int(wall) / 1000, int(cpu) / 1000))
med = {v: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for v, r in runs.items()}
print(f"cold pulls of {image}, alternating; medians in ms")
for v in ("old", "new"):
    w = sorted(x for x, _ in runs[v])
    print(f"{v}: n={len(runs[v])}  wall {med[v][0]:.0f} ({w[0]:.0f}-{w[-1]:.0f})  berthd.service CPU {med[v][1]:.0f}")
print(f"new/old: wall {med['new'][0] / med['old'][0]:.2f}  CPU {med['new'][1] / med['old'][1]:.2f}")
PY
        cat "$out/ab-pull.txt" >&2
        grep -q '^new: n=' "$out/ab-pull.txt"
}
