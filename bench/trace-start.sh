# bench/trace-start.sh : where one start goes. Not a test: run it through the integration runner, as root,
#     sudo tests/integration/run BUILD bench/trace-start.sh
# It records perf tracepoints system-wide (exec, fork, exit, sendmsg/recvmsg, connect, clone3, mounts,
# pivot_root, seccomp, inotify, cgroup mkdir/attach/rmdir; cheap, unlike strace) around three rounds of
# `berthctl run --rm REG/busybox true` on the bridge, `systemd-run --scope --quiet true`, `berthctl run -d`
# and `systemd-run --scope --no-block --quiet true` in the bed, and prints for each run the ms from the
# client's exec to each marker into TRACE_OUT/phases.txt (default: the case's TEST_TMP, kept under
# BUILD/integration/tmp/). Only the runs timed in this bed are picked out (by their time windows), so other
# work on the machine does not mix in. Needs perf (linux-perf) and tracefs.
B() { echo "$BERTH_TEST_REGISTRY/busybox"; }

test_trace_start() {
        local out=${TRACE_OUT:-$TEST_TMP} perf i
        mkdir -p "$out"
        bed_exec berthctl pull -q "$(B)" >/dev/null
        for i in 1 2 3; do bed_exec berthctl run --rm "$(B)" true; bed_exec systemd-run --scope --quiet true; done
        perf record -q -a -k CLOCK_MONOTONIC -o "$out/perf.data" \
                -e sched:sched_process_exec -e sched:sched_process_fork -e sched:sched_process_exit \
                -e syscalls:sys_enter_sendmsg -e syscalls:sys_exit_recvmsg -e syscalls:sys_enter_connect \
                -e syscalls:sys_enter_pivot_root -e syscalls:sys_enter_seccomp -e syscalls:sys_enter_inotify_init1 \
                -e syscalls:sys_enter_exit_group -e syscalls:sys_enter_mount -e syscalls:sys_enter_clone3 \
                -e cgroup:cgroup_mkdir -e cgroup:cgroup_rmdir -e cgroup:cgroup_attach_task -- sleep 6 &
        perf=$!
        sleep 1.5
        # perf's clock is CLOCK_MONOTONIC, the bed's timings are wall time: the offset between them.
        bed_exec python3 -c 'import time; print(time.time_ns() - time.monotonic_ns())' >"$out/clock-offset.txt"
        bed_exec bash -c 'for i in 1 2 3; do
                s=${EPOCHREALTIME/./}; berthctl run --rm "$1" true; e=${EPOCHREALTIME/./}; echo "bridge $s $e"; sleep 0.2
                s=${EPOCHREALTIME/./}; systemd-run --scope --quiet true; e=${EPOCHREALTIME/./}; echo "scope $s $e"; sleep 0.2
                s=${EPOCHREALTIME/./}; berthctl run -d "$1" true >/dev/null; e=${EPOCHREALTIME/./}; echo "detach $s $e"; sleep 0.2
                s=${EPOCHREALTIME/./}; systemd-run --scope --no-block --quiet true; e=${EPOCHREALTIME/./}; echo "nbscope $s $e"; sleep 0.2
                done' trace "$(B)" >"$out/times.txt"
        wait "$perf"
        perf script -i "$out/perf.data" -F comm,pid,time,event,trace 2>/dev/null >"$out/perf.txt"
        python3 - "$out" <<'PY' >"$out/phases.txt"
import os, re, sys
out = sys.argv[1]
rows = []
for line in open(os.path.join(out, "perf.txt")):
    m = re.match(r"\s*(.+?)\s+(\d+)\s+(\d+\.\d+):\s+(\S+):\s*(.*)", line)
    if m:
        rows.append((m[1], int(m[2]), float(m[3]), m[4].replace("syscalls:", ""), m[5]))
offset = int(open(os.path.join(out, "clock-offset.txt")).read()) / 1e9
windows = []
for line in open(os.path.join(out, "times.txt")):
    what, s, e = line.split()
    windows.append((what, int(s) / 1e6 - offset, int(e) / 1e6 - offset))
for what, a, b in windows:
    client = "berthctl" if what in ("bridge", "detach") else "systemd-run"
    ex = [r for r in rows if r[3] == "sched:sched_process_exec" and a <= r[2] <= b
          and r[4].startswith(f"filename=/usr/bin/{client} ")]
    if not ex:
        continue
    pid, t0 = ex[0][1], ex[0][2]
    ev = [r for r in rows if t0 <= r[2] <= b + 0.001]
    def at(pred):
        for r in ev:
            if pred(r):
                return "%5.1f" % ((r[2] - t0) * 1000)
        return "    -"
    sends = " ".join("%.1f" % ((r[2] - t0) * 1000) for r in ev if r[1] == pid and r[3] == "sys_enter_sendmsg")
    print(f"{what:8} client exec 0, connect {at(lambda r: r[1] == pid and r[3] == 'sys_enter_connect')}"
          f", monitor exec {at(lambda r: r[3] == 'sched:sched_process_exec' and 'berth-monitor' in r[4])}"
          f", scope cgroup {at(lambda r: r[3] == 'cgroup:cgroup_mkdir' and '.scope' in r[4])}"
          f", moved in {at(lambda r: r[3] == 'cgroup:cgroup_attach_task' and '.scope' in r[4])}"
          f", pivot_root {at(lambda r: r[3] == 'sys_enter_pivot_root')}"
          f", true exec {at(lambda r: r[3] == 'sched:sched_process_exec' and r[4].endswith('/true pid=%d old_pid=%d' % (r[1], r[1])))}"
          f", true exit {at(lambda r: r[0] == 'true' and r[3] == 'sched:sched_process_exit')}"
          f", monitor exit {at(lambda r: r[0] == 'berth-monitor' and r[3] == 'sched:sched_process_exit')}"
          f", inotify {at(lambda r: r[1] == pid and r[3] == 'sys_enter_inotify_init1')}"
          f", client exit {at(lambda r: r[1] == pid and r[3] == 'sched:sched_process_exit')}"
          f"; the client's sendmsg at {sends}")
PY
        rm -f "$out/perf.txt"
        cat "$out/phases.txt" >&2
}
