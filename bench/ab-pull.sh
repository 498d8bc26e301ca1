# bench/ab-pull.sh : two builds' cold pulls of one many-layer image, alternating in one bed. Not a test: run it
# through the integration runner, as root, with the other build's directory:
#     sudo OLD_BUILD=/path/to/other/build tests/integration/run BUILD bench/ab-pull.sh
# berthd and berth-fork-server of OLD_BUILD ("old") and of BUILD ("new") take turns (berthd through a drop-in,
# the fork server through BERTH_FORK_SERVER), ROUNDS rounds (8), the order turning every round. Each pull goes
# into a store of its own (BERTH_STATE_DIR), so that nothing is deleted between pulls: extraction right after a
# delete is slower here for minutes (shared/research/perf-limits.md). The stores (under berthd's StateDirectory,
# the only place it may write) go with the bed.
# IMAGE is the test registry's layers-100 (busybox and 99 tiny layers) unless set. Prints, per build, the
# median wall time of `berthctl pull -q` and the CPU time of berthd.service (berthd and its children: the
# extractions) per pull, and new/old for both; writes TRACE_OUT/ab-pull.txt (default: the case's TEST_TMP).
ab_pull_use() { # ab_pull_use BUILD RUN
        bed_exec systemctl set-environment "BERTHD_AB=$1" "BERTH_FORK_SERVER=/usr/libexec/berth-fork-server-$1" \
                "BERTH_STATE_DIR=/var/lib/berth/ab-$2"
        bed_exec systemctl restart berthd
        bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager ListImages >/dev/null
}

test_ab_pull() {
        local out=${TRACE_OUT:-$TEST_TMP} image=${IMAGE:-$BERTH_TEST_REGISTRY/layers-100} run=0 v r c0 t0 t1 c1 order
        [ -d "${OLD_BUILD:-}" ] || fail "OLD_BUILD must name the other build directory"
        mkdir -p "$out"
        bed_exec cp "$OLD_BUILD/src/daemon/berthd" /usr/libexec/berthd-old
        bed_exec cp /usr/sbin/berthd /usr/libexec/berthd-new
        bed_exec cp "$OLD_BUILD/src/store/berth-fork-server" /usr/libexec/berth-fork-server-old
        bed_exec cp /usr/libexec/berth-fork-server /usr/libexec/berth-fork-server-new
        bed_exec mkdir -p /run/systemd/system/berthd.service.d
        printf '[Service]\nExecStart=\nExecStart=/bin/sh -c "exec /usr/libexec/berthd-$$BERTHD_AB"\n' |
                bed_exec tee /run/systemd/system/berthd.service.d/ab.conf >/dev/null
        bed_exec systemctl daemon-reload
        : >"$out/ab-pull.raw"
        for r in $(seq "${ROUNDS:-8}"); do
                order="old new"
                [ $((r % 2)) = 1 ] || order="new old"
                for v in $order; do
                        run=$((run + 1))
                        ab_pull_use "$v" "$run"
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
        # The bed's berthd as it was: its own binaries and store.
        bed_exec systemctl unset-environment BERTHD_AB BERTH_FORK_SERVER BERTH_STATE_DIR
        bed_exec rm /run/systemd/system/berthd.service.d/ab.conf
        bed_exec systemctl daemon-reload
        bed_exec systemctl restart berthd
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
