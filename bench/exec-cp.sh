# bench/exec-cp.sh: exec and cp, berth against podman; sourced by bench/run once its bed, berth, podman and the
# image are up (it uses their inbed, podman, image, runs, pause, time_in_bed, die and log).
#
# exec: start to exit of `true` run in a running container (busybox `sleep`, no network), alternating:
#   berth    berthctl exec BENCH true
#   podman   podman exec BENCH true
# cp: a 100 MB tree (10 directories of 10 files of 1 MiB from /dev/urandom, written into each container's
# writable layer first) copied out of the running container into the bed's /run (a tmpfs, emptied between
# runs, untimed), alternating:
#   berth    berthctl cp BENCH:/data /run/bench-cp
#   podman   podman cp BENCH:/data /run/bench-cp
# RUNS rounds each, the order swapped every round, PAUSE between runs. Medians (min-max) and berth/podman.
# Goals (issue 14): exec at most 0.5x podman, cp at most podman's time.

log "exec and cp: one running container each"
inbed berthctl run -d --network none --name bench-exec "$image" sleep 100000 >/dev/null
inbed "${podman[@]}" run -d --network none --pids-limit=-1 --ulimit "nofile=$nofile:$nofile" \
        --ulimit "nproc=$nproc:$nproc" --name bench-exec "$image" sleep 100000 >/dev/null
fill='i=0; while [ $i -lt 10 ]; do j=0; mkdir -p /data/d$i
        while [ $j -lt 10 ]; do head -c 1048576 /dev/urandom >/data/d$i/f$j; j=$((j+1)); done; i=$((i+1)); done'
inbed berthctl exec bench-exec sh -c "$fill"
inbed "${podman[@]}" exec bench-exec sh -c "$fill"

cmd_exec_berth=(berthctl exec bench-exec true)
cmd_exec_podman=("${podman[@]}" exec bench-exec true)
cmd_cp_berth=(berthctl cp bench-exec:/data /run/bench-cp)
cmd_cp_podman=("${podman[@]}" cp bench-exec:/data /run/bench-cp)
declare -A xtimes=([exec_berth]="" [exec_podman]="" [cp_berth]="" [cp_podman]="")
xtime() { # exec|cp berth|podman → µs
        local -n c=cmd_$1_$2
        inbed rm -rf /run/bench-cp
        time_in_bed "${c[@]}" || die "$1 $2: '${c[*]}' failed in the bed"
}
for what in exec cp; do
        for tool in berth podman; do xtime "$what" "$tool" >/dev/null; done
        if [ "$what" = cp ]; then
                bytes=$(inbed du -sb /run/bench-cp | cut -f1)
                [ "$bytes" -ge 104857600 ] || die "podman cp copied $bytes bytes, not 100 MiB"
                inbed rm -rf /run/bench-cp
                xtime cp berth >/dev/null
                bytes=$(inbed du -sb /run/bench-cp | cut -f1)
                [ "$bytes" -ge 104857600 ] || die "berthctl cp copied $bytes bytes, not 100 MiB"
        fi
        log "$what: $runs rounds, alternating"
        for i in $(seq "$runs"); do
                order="berth podman"
                [ $((i % 2)) = 0 ] && order="podman berth"
                for tool in $order; do
                        sleep "$pause"
                        t=$(xtime "$what" "$tool")
                        xtimes[${what}_$tool]+="$t "
                        echo "run $i $what $tool $((t / 1000)).$(((t % 1000) / 100)) ms" >&2
                done
        done
done
inbed rm -rf /run/bench-cp
inbed berthctl rm -f bench-exec >/dev/null
inbed "${podman[@]}" rm -f -t 0 bench-exec >/dev/null

python3 - "$runs" "${xtimes[exec_berth]}" "${xtimes[exec_podman]}" "${xtimes[cp_berth]}" "${xtimes[cp_podman]}" \
        <<'PY' | tee -a "$build/bench/run-results.txt"
import statistics, sys
runs = sys.argv[1]
def s(x):
    v = [int(t) / 1000 for t in x.split()]
    return statistics.median(v), min(v), max(v)
eb, ep, cb, cp = (s(a) for a in sys.argv[2:6])
f = lambda m: "%7.1f ms (%.1f-%.1f)" % m
print(f"bench/run: exec and cp in a running busybox, {runs} alternating runs each, medians (min-max)")
print(f"  berth   berthctl exec C true                  {f(eb)}")
print(f"  podman  podman exec C true                    {f(ep)}   berth/podman {eb[0] / ep[0]:.2f} (goal <= 0.5)")
print(f"  berth   berthctl cp C:/data (100 MB tree)     {f(cb)}")
print(f"  podman  podman cp C:/data                     {f(cp)}   berth/podman {cb[0] / cp[0]:.2f} (goal <= 1)")
PY
