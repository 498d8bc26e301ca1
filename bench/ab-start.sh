# bench/ab-start.sh : where two builds differ in one start, phase by phase. Not a test: run it through the
# integration runner, as root, with the other build's directory:
#     sudo OLD_BUILD=/path/to/other/build tests/integration/run BUILD bench/ab-start.sh
# In one bed, berthd, berth-monitor and berthctl of OLD_BUILD ("old") and of BUILD ("new") take turns in
# blocks (berthd through a drop-in, the monitor through BERTH_MONITOR, berthctl by name; bench/ab-lib.sh),
# BLOCKS pairs of blocks of RUNS `berthctl run --rm REG/busybox true` on the bridge each (PAUSE seconds apart,
# 0.2), the order turning every pair. A few perf tracepoints (exec, fork, exit, sendmsg, recvmsg: cheap,
# unlike strace) mark in each run:
#   before job   berthctl's exec to berthd's StartTransientUnit (its first sendmsg of 700 bytes or more
#                after it spawned the monitor)
#   job          StartTransientUnit sent to the monitor's receipt of "G": systemd's work, and the wait for
#                machined when there is one
#   after go     "G" to the exec of `true`: the container's set-up
#   tail         the exec of `true` to berthctl's exit: the exit, its record and the removal
# and prints the medians per build, with "outside the job" (the whole run less the job): the part of a start
# that is berth's own. The job moves with the machine's minute far more than berth does, so compare that.
# Writes TRACE_OUT/ab.txt (default: the case's TEST_TMP). Needs perf (linux-perf) and tracefs.
B() { echo "$BERTH_TEST_REGISTRY/busybox"; }

source "$BERTH_SRC/bench/ab-lib.sh"

test_ab_start() {
        local out=${TRACE_OUT:-$TEST_TMP} perf v b
        mkdir -p "$out"
        rm -f "$out/old.txt" "$out/new.txt"
        ab_berthd_dropin
        ab_binary src/monitor/berth-monitor /usr/libexec/berth-monitor
        ab_binary src/berthctl/berthctl /usr/bin/berthctl
        ab_use new BERTH_MONITOR=/usr/libexec/berth-monitor-new
        bed_exec berthctl pull -q "$(B)" >/dev/null
        for b in $(seq "${BLOCKS:-6}"); do
                # Which build goes first turns every block: each leaves its deletions to the next.
                order="old new"
                [ $((b % 2)) = 1 ] || order="new old"
                for v in $order; do
                        ab_use "$v" "BERTH_MONITOR=/usr/libexec/berth-monitor-$v"
                        bed_exec "berthctl-$v" run --rm "$(B)" true >/dev/null
                        perf record -q -a -k CLOCK_MONOTONIC -o "$out/perf.data" \
                                -e sched:sched_process_exec -e sched:sched_process_fork -e sched:sched_process_exit \
                                -e syscalls:sys_exit_sendmsg -e syscalls:sys_exit_recvmsg -- sleep 1000 &
                        perf=$!
                        # perf is recording once its first event is in; a run of true makes one.
                        sleep 1
                        bed_exec bash -c 'for i in $(seq "$2"); do "berthctl-$3" run --rm "$1" true >/dev/null || exit 1; sleep "$4"; done' \
                                x "$(B)" "${RUNS:-10}" "$v" "${PAUSE:-0.2}"
                        kill -INT "$perf"
                        wait "$perf" || true
                        perf script -i "$out/perf.data" -F comm,pid,tid,time,event,trace 2>/dev/null >>"$out/$v.txt"
                done
        done
        python3 - "$out" >"$out/ab.txt" <<'PY'
import re, statistics, sys
out = sys.argv[1]
line_re = re.compile(r'\s*(\S+)\s+(\d+)/(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)')
print("medians in ms; n runs; " + out)
for v in ("old", "new"):
    runs, cur = [], None
    for line in open(f"{out}/{v}.txt"):
        m = line_re.match(line)
        if not m:
            continue
        comm, pid, _, t, ev, rest = m.groups()
        t, pid = float(t), int(pid)
        if ev == "sched:sched_process_exec" and rest.startswith("filename=/usr/bin/berthctl"):
            cur = {"ctl": t, "ctl_pid": pid}
        elif cur is None:
            continue
        # The monitor's spawn: berthd's clone for an exec, or the monitor server's clone (berth-monitor --serve).
        elif ev == "sched:sched_process_fork" and comm.startswith(("berthd", "berth-monitor")) and "fork" not in cur:
            cur["fork"] = t
        elif ev == "syscalls:sys_exit_sendmsg" and comm.startswith("berthd") and "fork" in cur and "stu" not in cur:
            if int(rest.split("0x")[-1], 16) >= 700:
                cur["stu"] = t
        elif ev == "syscalls:sys_exit_recvmsg" and comm.startswith("berth-monitor") and "stu" in cur:
            cur["go"] = t
        elif ev == "sched:sched_process_exec" and "filename=/bin/true" in rest and "go" in cur:
            cur["true"] = t
        elif ev == "sched:sched_process_exit" and pid == cur["ctl_pid"] and "true" in cur:
            cur["end"] = t
            runs.append(cur)
            cur = None
    if not runs:
        print(f"{v}: no complete run")
        continue
    med = lambda f: statistics.median(f(r) * 1000 for r in runs)
    print(f"{v}: n={len(runs)}  whole {med(lambda r: r['end'] - r['ctl']):.2f}"
          f"  before job {med(lambda r: r['stu'] - r['ctl']):.2f}"
          f"  job {med(lambda r: r['go'] - r['stu']):.2f}"
          f"  after go {med(lambda r: r['true'] - r['go']):.2f}"
          f"  tail {med(lambda r: r['end'] - r['true']):.2f}"
          f"  outside the job {med(lambda r: (r['end'] - r['ctl']) - (r['go'] - r['stu'])):.2f}")
PY
        cat "$out/ab.txt" >&2
        grep -q '^new: n=' "$out/ab.txt"
}
