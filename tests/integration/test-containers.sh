# Containers through the D-Bus API alone (busctl, as any client would): create, run, stop, start, kill, remove;
# each run a berth-<name>.scope in machine.slice with its output in the journal; the writable layer surviving
# stop and start; berthd restarted under a running container; the errors a user meets. Cases run in order in one
# bed. (berthctl's container verbs have their own test file.)

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
M() { bed_exec busctl --json=short -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }
# cprop NAME PROPERTY : a Container property, busctl's plain form ("s \"exited\"" → exited)
cprop() {
        bed_exec busctl get-property org.berth1 "$(cpath "$1")" org.berth1.Container "$2" | cut -d' ' -f2- | tr -d '"'
}
# cpath NAME : the object path, escaped as sd_bus_path_encode() does
cpath() {
        # (a leading digit is escaped too)
        python3 -c 'import sys; print("/org/berth1/container/" + "".join(c if c.isascii() and c.isalnum() and not (i == 0 and c.isdigit()) else "_%02x" % ord(c) for i, c in enumerate(sys.argv[1])))' "$1"
}
is_state() { [ "$(state "$1")" = "$2" ]; }
is_inactive() { ! bed_exec systemctl is-active -q "$1"; }
# create IMAGE NAME CMD… : CreateContainer with no options; prints the id
create() {
        local image=$1 name=$2; shift 2
        M CreateContainer ssasa{sv} "$image" "$name" $# "$@" 0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])'
}
run_opts() { # run_opts IMAGE NAME NCMD CMD… NOPTS OPTS… : RunContainer with options
        local image=$1 name=$2; shift 2
        M RunContainer ssasa{sv} "$image" "$name" "$@"
}
state() { cprop "$1" State; }
exit_code() { cprop "$1" ExitCode; }

test_setup_pull() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

test_run_to_completion_with_output_in_journal() {
        local id out
        id=$(create "$(R busybox)" hello sh -c 'echo to-stdout; echo to-stderr >&2; exit 3')
        assert_match "$id" '^[0-9a-f]{64}$' "id"
        assert_eq "$(state hello)" created "state after create"
        M StartContainer s hello >/dev/null
        wait_until 60 is_state hello exited
        assert_eq "$(exit_code hello)" 3 "exit code"
        # The output is in the journal with the container's fields, stdout at 6 and stderr at 3, found by unit.
        wait_until 60 bash -c "$BERTH_BED exec $BED_DIR journalctl -u berth-hello.scope -o cat | grep -q to-stderr"
        out=$(bed_journal -o json --no-pager CONTAINER_NAME=hello)
        assert_match "$out" '"MESSAGE":"to-stdout".*"PRIORITY":"6"|"PRIORITY":"6".*"MESSAGE":"to-stdout"' "stdout entry"
        echo "$out" | python3 -c '
import json, sys
e = [json.loads(l) for l in sys.stdin if l.strip()]
out = [x for x in e if x.get("MESSAGE") == "to-stdout"][0]
err = [x for x in e if x.get("MESSAGE") == "to-stderr"][0]
assert out["PRIORITY"] == "6" and err["PRIORITY"] == "3", (out, err)
assert out["CONTAINER_ID"] == "'"${id:0:12}"'" and out["CONTAINER_ID_FULL"] == "'"$id"'", out
assert out["SYSLOG_IDENTIFIER"] == "hello" and out["IMAGE_NAME"] == "'"$(R busybox)"'", out
assert out["OBJECT_SYSTEMD_UNIT"] == "berth-hello.scope", out
' || fail "journal fields"
        # The scope is gone with the container.
        wait_until 60 is_inactive berth-hello.scope
}

# journalctl -u finds a short-lived container's output every time. journald 252 learns a datagram's unit from its
# sender's cgroup in /proc, which a monitor that has exited no longer has: a busy journald that reads the
# datagrams late gave them no _SYSTEMD_UNIT. Made certain here by stopping journald until the containers have
# exited; each entry must name its scope itself.
test_journal_unit_of_short_lived_containers() {
        local i
        for i in 1 2 3; do
                create "$(R busybox)" "short$i" echo "output-of-short$i" >/dev/null
        done
        # Global, for the trap: journald must not stay stopped whatever happens.
        journald=$(bed_exec systemctl show -P MainPID systemd-journald.service)
        trap 'bed_exec kill -CONT "$journald"' EXIT
        bed_exec kill -STOP "$journald"
        for i in 1 2 3; do
                M StartContainer s "short$i" >/dev/null
                wait_until 60 is_state "short$i" exited
        done
        bed_exec kill -CONT "$journald"
        bed_exec journalctl --sync
        for i in 1 2 3; do
                assert_match "$(bed_journal -u "berth-short$i.scope" -o cat)" "^output-of-short$i\$" \
                        "journalctl -u berth-short$i.scope"
                M RemoveContainer sb "short$i" false >/dev/null
        done
}

test_running_container_is_a_scope_in_machine_slice() {
        local pid
        create "$(R busybox)" sleeper sleep 1000 >/dev/null
        M StartContainer s sleeper >/dev/null
        assert_eq "$(state sleeper)" running "state"
        assert_eq "$(unit_prop berth-sleeper.scope ActiveState)" active "scope active"
        assert_eq "$(unit_prop berth-sleeper.scope Slice)" machine.slice "slice"
        assert_match "$(unit_prop berth-sleeper.scope Description)" "sleeper.*busybox" "description"
        pid=$(cprop sleeper Pid)
        assert_ne "$pid" 0 "Pid"
        assert_match "$(bed_exec cat /proc/$pid/cgroup)" 'berth-sleeper\.scope' "init in the scope"
        assert_eq "$(bed_exec cat /proc/$pid/comm)" sleep "init is the command"
        # The monitor mounts the overlay in a namespace of its own before the go and goes back to berthd's once
        # it has answered: in the end it is in berthd's, which holds no mount of the container.
        local monitor berthd id
        monitor=$(scope_monitor sleeper)
        berthd=$(bed_exec systemctl show -P MainPID berthd.service)
        id=$(cprop sleeper Id)
        # (It returns right after its answer, so only eventually.)
        wait_until 30 same_mount_namespace "$monitor" "$berthd"
        assert_ne "$(bed_exec readlink /proc/$pid/ns/mnt)" "$(bed_exec readlink /proc/$berthd/ns/mnt)" \
                "the init has a mount namespace of its own"
        assert_no_match "$(bed_exec cat /proc/$berthd/mountinfo)" "$id" "no mount of the container in berthd's"
        assert_match "$(bed_exec cat /proc/$pid/mountinfo)" "^[0-9]+ [0-9]+ [0-9:]+ / / .* - overlay " \
                "the overlay is the init's root"
        assert_match "$(M ListContainers b false)" '"sleeper"' "listed as running"
        assert_no_match "$(M ListContainers b false)" '"hello"' "exited not listed without all"
        assert_match "$(M ListContainers b true)" '"hello"' "exited listed with all"
}

same_mount_namespace() { [ "$(bed_exec readlink "/proc/$1/ns/mnt")" = "$(bed_exec readlink "/proc/$2/ns/mnt")" ]; }

test_stop_escalates_to_sigkill_after_timeout() {
        # sleep as PID 1 of its namespace ignores SIGTERM: after the timeout, SIGKILL.
        M StopContainer st sleeper 500000 >/dev/null
        assert_eq "$(state sleeper)" exited "state after stop"
        assert_eq "$(exit_code sleeper)" 137 "killed by SIGKILL"
        assert_ne "$(cprop sleeper FinishedUSec)" 0 "finish time"
        wait_until 60 is_inactive berth-sleeper.scope
}

test_start_waits_for_its_own_scope_job() {
        local pid
        # A scope of the same name still on its way out, as the previous run's may be: one that ignores SIGTERM,
        # stopped without waiting (its stop job ends after TimeoutStopSec, with SIGKILL). berthd retries while
        # the name is taken; the stop job's end on that name is not its own start job's. systemd sends every
        # JobRemoved once anyone subscribed, as systemd-machined does: started here, whatever ran before.
        bed_exec machinectl list >/dev/null
        bed_exec sh -c 'systemd-run --quiet --scope --unit=berth-late.scope -p TimeoutStopSec=1 -p CollectMode=inactive-or-failed \
                sh -c "trap \"\" TERM; exec sleep 1000" </dev/null >/dev/null 2>&1 &'
        wait_until 30 bed_exec systemctl is-active -q berth-late.scope
        bed_exec systemctl stop --no-block berth-late.scope
        create "$(R busybox)" late sleep 1000 >/dev/null
        M StartContainer s late >/dev/null
        # Answered once systemd ran berth's own job: the init is in the new scope, which has no job queued.
        pid=$(cprop late Pid)
        assert_match "$(bed_exec cat /proc/$pid/cgroup)" 'berth-late\.scope$' "init in the scope at once"
        assert_eq "$(unit_prop berth-late.scope Job)" "" "no job left on the scope"
        assert_eq "$(unit_prop berth-late.scope Description)" "berth container late ($(R busybox))" "berth's scope"
        M RemoveContainer sb late true >/dev/null
}

test_inside_the_container() {
        local out
        out=$(run_opts "$(R busybox)" inside 3 sh -c 'hostname; cat /proc/1/cmdline | tr "\0" " "; echo; ls /dev; cat /proc/net/dev | tail -n +3 | cut -d: -f1; id; pwd; echo "FOO=$FOO"; mount | grep " / "' \
                2 workdir s /tmp env as 1 FOO=bar)
        wait_until 60 is_state inside exited
        out=$(bed_journal -o cat --no-pager CONTAINER_NAME=inside)
        local id; id=$(cprop inside Id)
        assert_match "$out" "^${id:0:12}\$" "hostname is the short id"
        assert_match "$out" '^sh -c ' "PID 1 is the command"
        for d in null zero full random urandom tty pts shm mqueue; do
                assert_match "$out" "^$d\$" "/dev/$d"
        done
        assert_match "$out" '^ *lo$' "lo in its own network namespace"
        assert_match "$out" '^ *eth0$' "eth0 on berth's bridge (the default network)"
        assert_no_match "$out" '^ *(en|wl|berth|veth)' "no host interface"
        assert_match "$out" '^uid=0\(root\) gid=0\(root\)' "root by default"
        assert_match "$out" '^/tmp$' "workdir"
        assert_match "$out" '^FOO=bar$' "env"
        assert_match "$out" '^overlay on / type overlay' "overlay root"
}

test_user_and_host_network() {
        local out
        run_opts "$(R busybox)" nobodyc 3 sh -c 'id -u; id -g; ls /sys/class/net | sort | tr "\n" " "; echo' \
                2 user s nobody network s host >/dev/null
        wait_until 60 is_state nobodyc exited
        out=$(bed_journal -o cat --no-pager CONTAINER_NAME=nobodyc)
        assert_match "$out" '^65534$' "uid and gid of nobody"
        assert_match "$out" "$(bed_exec ls /sys/class/net | sort | tr '\n' ' ' | sed 's/ *$//')" "the host's interfaces"
}

test_writable_layer_survives_stop_and_start() {
        create "$(R busybox)" keeper sh -c 'cat /data 2>/dev/null; date +%s%N >> /data; rm -f /etc/removeme' >/dev/null
        M StartContainer s keeper >/dev/null
        wait_until 60 is_state keeper exited
        M StartContainer s keeper >/dev/null
        wait_until 60 is_state keeper exited
        local id; id=$(cprop keeper Id)
        assert_eq "$(bed_exec cat /var/lib/berth/containers/$id/diff/data | wc -l)" 2 "two runs appended to one file"
        # The deletion is a whiteout in the container's upper, the image's layer untouched.
        bed_sh "test -c /var/lib/berth/containers/$id/diff/etc/removeme" || fail "whiteout in the upper"
        bed_sh 'ls /var/lib/berth/layers/*/diff/etc/removeme | grep -q .' || fail "image layer unchanged"
}

test_exec_failure_is_docker_127() {
        create "$(R busybox)" nocmd no-such-command >/dev/null
        assert_fails M StartContainer s nocmd
        assert_match "$FAIL_OUTPUT" 'StartFailed|no-such-command' "start error"
        assert_eq "$(state nocmd)" exited "state"
        assert_eq "$(exit_code nocmd)" 127 "exit code"
        assert_match "$(cprop nocmd Error)" 'no-such-command' "Error property"
}

# RunContainer's failed start names the container it made (an error reply has no other way to say which),
# by name and id; the container stays, exited 127. A name berthd chose too. StartContainer's caller named the
# container itself: its message is the reason alone.
test_run_container_failure_names_the_container() {
        local id name
        assert_fails run_opts "$(R busybox)" runfails 1 no-such-command 0
        assert_match "$FAIL_OUTPUT" 'Container runfails \([0-9a-f]{64}\): .*no-such-command' \
                "the error names the container"
        id=$(grep -oE '\([0-9a-f]{64}\)' <<<"$FAIL_OUTPUT" | tr -d '()' || true)
        assert_eq "$(cprop runfails Id)" "$id" "the id in the error is the container's"
        assert_eq "$(exit_code runfails)" 127 "exit code"
        assert_fails M StartContainer s runfails
        assert_match "$FAIL_OUTPUT" 'no-such-command' "StartContainer's error"
        assert_no_match "$FAIL_OUTPUT" 'Container runfails' "StartContainer's error names no container"

        assert_fails run_opts "$(R busybox)" "" 1 no-such-command 0
        name=$(grep -oE 'Container [^ ]+ \([0-9a-f]{64}\)' <<<"$FAIL_OUTPUT" | cut -d' ' -f2 || true)
        [ -n "$name" ] || fail "no container named in: $FAIL_OUTPUT"
        assert_eq "$(state "$name")" exited "the unnamed container, found by the name in the error"
        M RemoveContainer sb "$name" false >/dev/null || fail "removable by that name"
        M RemoveContainer sb runfails false >/dev/null || fail "removable"
}

# A start that fails inside the container's setup, after the monitor was forked (here the kernel refuses the
# overlay: the upper dir is a file). The StartFailed reply comes once the monitor is gone, so right after it
# the container is exited with its Error, removable without force, and nothing of it is left mounted.
test_failed_start_after_the_fork_leaves_nothing_behind() {
        local id i rc before
        id=$(create "$(R busybox)" badupper true)
        bed_sh "rm -rf /var/lib/berth/containers/$id/diff && : > /var/lib/berth/containers/$id/diff"
        assert_fails M StartContainer s badupper
        assert_match "$FAIL_OUTPUT" "cannot mount the container's root" "start error"
        assert_eq "$(state badupper)" exited "state right after the reply"
        assert_eq "$(exit_code badupper)" 125 "exit code"
        assert_match "$(cprop badupper Error)" 'cannot mount the container.*root' "Error property"
        M RemoveContainer sb badupper false >/dev/null || fail "not removable right after the failed start"
        wait_until 60 is_inactive berth-badupper.scope
        assert_eq "$(unit_prop berth-badupper.scope LoadState)" not-found "the scope is gone"
        assert_no_match "$(bed_exec cat /proc/mounts)" "$id" "no mount of the container left"

        # systemd refuses the scope (CPUWeight is at most 10000) after the monitor was forked: the Error is
        # systemd's reason, not the monitor's end.
        create_opts() { M CreateContainer ssasa{sv} "$(R busybox)" "$1" 1 true 1 properties 'a(sv)' 1 CPUWeight t "$2"; }
        create_opts badscope 1000000 >/dev/null
        assert_fails M StartContainer s badscope
        assert_eq "$(state badscope)" exited "state right after the refused scope"
        assert_match "$(cprop badscope Error)" 'CPUWeight|[Ii]nvalid|range' "Error property of the refused scope"
        M RemoveContainer sb badscope false >/dev/null || fail "not removable right after the refused scope"

        # berthctl run --rm of a container whose user exists only in its setup: nothing stays, every time.
        before=$(bed_exec berthctl ps -aq | wc -l)
        for i in 1 2 3 4 5 6 7 8; do
                rc=0
                bed_exec berthctl run --rm --user no-such-user "$(R busybox)" true > "$TEST_TMP/out" 2>&1 || rc=$?
                assert_ne "$rc" 0 "run --rm of a failing start, round $i"
                assert_no_match "$(cat "$TEST_TMP/out")" 'running|stop it first' "round $i: $(cat "$TEST_TMP/out")"
                assert_match "$(cat "$TEST_TMP/out")" 'no-such-user' "round $i: the reason"
        done
        assert_eq "$(bed_exec berthctl ps -aq | wc -l)" "$before" "--rm removed every failed container"
}

test_errors() {
        assert_match "$(M GetContainer s hello)" '"/org/berth1/container/hello"' "GetContainer by name"
        assert_fails M GetContainer s no-such-container
        assert_match "$FAIL_OUTPUT" 'No such container' "GetContainer of an unknown name"
        assert_fails M CreateContainer ssasa{sv} "$(R busybox)" hello 0 0
        assert_match "$FAIL_OUTPUT" 'NameInUse|already used' "name clash"
        assert_fails M CreateContainer ssasa{sv} "$(R busybox)" '../x' 0 0
        assert_match "$FAIL_OUTPUT" 'Invalid container name' "invalid name"
        # A name may not be 64 hex digits: it would shadow the container with that id. Ids resolve first.
        local hello_id
        hello_id=$(cprop hello Id)
        assert_fails M CreateContainer ssasa{sv} "$(R busybox)" "$hello_id" 0 0
        assert_match "$FAIL_OUTPUT" 'InvalidName|64 hex digits' "a full id as a name"
        assert_match "$(M GetContainer s "$hello_id")" '"/org/berth1/container/hello"' "GetContainer by full id"
        assert_fails M CreateContainer ssasa{sv} "$(R no-such-image)" x1 0 0
        assert_match "$FAIL_OUTPUT" 'No such image' "unknown image"
        assert_fails M StartContainer s no-such-container
        assert_match "$FAIL_OUTPUT" 'No such container' "unknown container"
        assert_fails M KillContainer si hello 15
        assert_match "$FAIL_OUTPUT" 'not running' "kill of an exited container"
        assert_fails M CreateContainer ssasa{sv} "$(R busybox)" x2 0 1 bogus b true
        assert_match "$FAIL_OUTPUT" "Unknown option 'bogus'" "unknown option"
        assert_fails M CreateContainer ssasa{sv} "$(R busybox)" x3 0 1 properties 'a(sv)' 1 ExecStart s /bin/sh
        assert_match "$FAIL_OUTPUT" 'ExecStart' "scope property refused"
        assert_fails M RemoveImage sb "$(R busybox)" false
        assert_match "$FAIL_OUTPUT" 'used by a container' "image in use"
        # An unprivileged caller may list but not create.
        assert_ok bed_nobody busctl call org.berth1 /org/berth1 org.berth1.Manager ListContainers b true
        assert_fails bed_nobody busctl call org.berth1 /org/berth1 org.berth1.Manager CreateContainer ssasa{sv} \
                "$(R busybox)" x4 0 0
}

test_generated_name_and_properties() {
        local out name
        out=$(M CreateContainer ssasa{sv} "$(R busybox)" "" 2 sleep 1000 1 properties 'a(sv)' 2 MemoryMax t 268435456 TasksMax t 64)
        name=$(bed_exec busctl get-property org.berth1 "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][1])')" org.berth1.Container Name | cut -d'"' -f2)
        assert_match "$name" '^[a-z]+_[a-z]+$' "generated name"
        M StartContainer s "$name" >/dev/null
        assert_eq "$(unit_prop "berth-$name.scope" MemoryMax)" 268435456 "MemoryMax on the scope"
        assert_eq "$(unit_prop "berth-$name.scope" TasksMax)" 64 "TasksMax on the scope"
        M KillContainer si "$name" 9 >/dev/null
        wait_until 60 is_state "$name" exited
        assert_eq "$(exit_code "$name")" 137 "killed"
        M RemoveContainer sb "$name" false >/dev/null
}

test_systemctl_stop_of_the_scope_is_recorded() {
        create "$(R busybox)" trapper sh -c 'trap "exit 42" TERM; while :; do sleep 0.1; done' >/dev/null
        M StartContainer s trapper >/dev/null
        bed_exec systemctl stop berth-trapper.scope
        wait_until 60 is_state trapper exited
        assert_eq "$(exit_code trapper)" 42 "the container's own exit code"
}

test_container_outlives_berthd_restart() {
        local pid
        create "$(R busybox)" survivor sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' >/dev/null
        M StartContainer s survivor >/dev/null
        pid=$(cprop survivor Pid)
        bed_exec systemctl restart berthd
        assert_eq "$(bed_exec cat /proc/$pid/comm)" sh "still running after the restart"
        assert_eq "$(state survivor)" running "adopted as running"
        M StopContainer st survivor 5000000 >/dev/null
        assert_eq "$(state survivor)" exited "stopped by the new berthd"
        assert_eq "$(exit_code survivor)" 7 "exit code recorded"
        # And an exit while berthd is down is recorded by the monitor.
        M StartContainer s survivor >/dev/null
        pid=$(cprop survivor Pid)
        bed_exec systemctl stop berthd
        bed_exec kill -TERM "$pid"
        wait_until 60 is_inactive berth-survivor.scope
        assert_eq "$(state survivor)" exited "exit recorded while berthd was down"
        assert_eq "$(exit_code survivor)" 7 "its code"
}

# The monitor mounts the overlay before the go only when the previous run is known to be over. A monitor
# killed alone leaves its init running in the old scope, on the writable layer: berthd records the end as
# unrecorded, and the next start's monitor waits for the go (which needs the old scope gone) before it mounts
# anything, so the running init's overlay is never mounted twice.
new_monitor() { # the berth-monitor child of berthd that is not in a scope yet (not the monitor server)
        local berthd p
        berthd=$(bed_exec systemctl show -P MainPID berthd.service)
        for p in $(bed_exec pgrep -P "$berthd" -x berth-monitor); do
                bed_exec grep -q -- '--serve' "/proc/$p/cmdline" 2>/dev/null && continue
                bed_exec grep -q 'berthd\.service' "/proc/$p/cgroup" 2>/dev/null && { echo "$p"; return 0; }
        done
        return 1
}
no_new_monitor() { ! new_monitor >/dev/null; }
test_a_start_over_a_lingering_run_mounts_nothing_before_the_go() {
        local id pid monitor berthd
        id=$(create "$(R busybox)" linger sleep 1000)
        M StartContainer s linger >/dev/null
        pid=$(cprop linger Pid)
        bed_exec kill -KILL "$(scope_monitor linger)"
        wait_until 30 is_state linger exited
        bed_exec grep -q '"unrecorded_end" : true' "/var/lib/berth/containers/$id/state.json" ||
                fail "the end is recorded as unrecorded"
        bed_exec kill -0 "$pid" || fail "the init outlives its monitor"

        # systemd refuses the new scope while the old one holds the init; berthd retries for a few seconds.
        bed_sh "busctl call org.berth1 /org/berth1 org.berth1.Manager StartContainer s linger >/dev/null 2>&1 &"
        wait_until 30 new_monitor >/dev/null
        monitor=$(new_monitor)
        berthd=$(bed_exec systemctl show -P MainPID berthd.service)
        assert_eq "$(bed_exec readlink "/proc/$monitor/ns/mnt")" "$(bed_exec readlink "/proc/$berthd/ns/mnt")" \
                "the new monitor waits in berthd's mount namespace, nothing mounted"
        wait_until 60 no_new_monitor
        bed_exec kill -0 "$pid" || fail "the lingering init is untouched by the failed start"

        bed_exec kill -KILL "$pid"
        wait_until 60 is_inactive berth-linger.scope
        M StartContainer s linger >/dev/null
        assert_eq "$(state linger)" running "started once the old run is gone"
        assert_fails bed_exec grep -q unrecorded_end "/var/lib/berth/containers/$id/state.json"
        M RemoveContainer sb linger true >/dev/null
}

# berthd signals a container's init through a pidfd that it checked to be the monitor's child, never by the
# number in state.json alone: by the time of the signal that number may belong to another process (the init
# exited, the monitor reaped it, the PID was reused). Here the recorded pid of a running container is pointed
# at another process while berthd is down; the adopting berthd must not send that process anything.
test_signals_never_reach_a_recycled_pid() {
        local id decoy state_file
        create "$(R busybox)" recycled sleep 1000 >/dev/null
        M StartContainer s recycled >/dev/null
        id=$(cprop recycled Id)
        state_file=/var/lib/berth/containers/$id/state.json
        bed_exec systemctl stop berthd
        bed_exec systemd-run --unit=berth-test-decoy sleep 1000 >/dev/null 2>&1
        decoy=$(unit_prop berth-test-decoy.service MainPID)
        bed_exec python3 -c 'import json, sys
s = json.load(open(sys.argv[1])); s["pid"] = int(sys.argv[2]); json.dump(s, open(sys.argv[1], "w"))' \
                "$state_file" "$decoy"
        assert_eq "$(state recycled)" running "adopted as running"
        assert_fails M KillContainer si recycled 9
        assert_eq "$(unit_prop berth-test-decoy.service ActiveState)" active "the other process"
        bed_exec systemctl stop berth-test-decoy
        bed_exec systemctl kill -s KILL berth-recycled.scope
        wait_until 60 is_state recycled exited
}

# Monitors are clones of berthd's monitor server (berth-monitor --serve, monitor/monitor-server.h), which
# has libsystemd loaded already; without the server, berthd executes berth-monitor as before.
monitor_server() { # the berth-monitor --serve child of berthd
        local berthd p
        berthd=$(bed_exec systemctl show -P MainPID berthd.service)
        for p in $(bed_exec pgrep -P "$berthd" -x berth-monitor); do
                bed_exec grep -q -- '--serve' "/proc/$p/cmdline" 2>/dev/null && { echo "$p"; return 0; }
        done
        return 1
}
netns() { bed_exec readlink "/proc/$1/ns/net"; }
test_monitors_are_clones_of_the_monitor_server() {
        local server monitor berthd other
        server=$(monitor_server) || fail "no monitor server under berthd"
        berthd=$(bed_exec systemctl show -P MainPID berthd.service)
        create "$(R busybox)" cloned sleep 1000 >/dev/null
        M StartContainer s cloned >/dev/null
        monitor=$(scope_monitor cloned)
        assert_eq "$(bed_exec ps -o ppid= -p "$monitor" | tr -d ' ')" "$berthd" "the monitor is berthd's child"
        assert_no_match "$(bed_sh "tr '\\0' ' ' </proc/$monitor/cmdline")" '--spec=' "a clone: no exec's arguments"
        assert_eq "$(bed_exec readlink "/proc/$monitor/exe")" "$(bed_exec readlink "/proc/$server/exe")" "the same program"
        # On the bridge, each monitor has a network namespace of its own (the server's spare, made ahead);
        # the server stays in berthd's, and so does a monitor on the host's network.
        create "$(R busybox)" cloned2 sleep 1000 >/dev/null
        M StartContainer s cloned2 >/dev/null
        other=$(scope_monitor cloned2)
        assert_ne "$(netns "$monitor")" "$(netns "$berthd")" "the bridge monitor's own namespace"
        assert_ne "$(netns "$other")" "$(netns "$berthd")" "the second one's own namespace"
        assert_ne "$(netns "$other")" "$(netns "$monitor")" "not the first one's"
        assert_eq "$(netns "$server")" "$(netns "$berthd")" "the server in berthd's"
        M RemoveContainer sb cloned2 true >/dev/null
        run_opts "$(R busybox)" hostnet 2 sleep 1000 1 network s host >/dev/null
        assert_eq "$(netns "$(scope_monitor hostnet)")" "$(netns "$berthd")" "--network host: berthd's namespace"
        M RemoveContainer sb hostnet true >/dev/null
        M RemoveContainer sb cloned true >/dev/null

        # Without the server (killed here by its PID), berthd finds it gone and executes the monitor.
        bed_exec kill -KILL "$server"
        create "$(R busybox)" execd sleep 1000 >/dev/null
        M StartContainer s execd >/dev/null
        monitor=$(scope_monitor execd)
        assert_match "$(bed_sh "tr '\\0' ' ' </proc/$monitor/cmdline")" '^berth-monitor --spec=/' "an exec of berth-monitor"
        assert_eq "$(cprop execd State)" running "the container runs"
        M RemoveContainer sb execd true >/dev/null
        # berthd's next start has a server again.
        bed_exec systemctl restart berthd.service
        wait_until 30 monitor_server >/dev/null
}

test_remove() {
        local id
        create "$(R busybox)" doomed sleep 1000 >/dev/null
        M StartContainer s doomed >/dev/null
        id=$(cprop doomed Id)
        assert_fails M RemoveContainer sb doomed false
        assert_match "$FAIL_OUTPUT" 'ContainerRunning|is running' "running refused"
        M RemoveContainer sb doomed true >/dev/null
        assert_fails bed_exec test -e "/var/lib/berth/containers/$id"
        assert_no_match "$(M ListContainers b true)" '"doomed"' "gone from the list"
        wait_until 60 is_inactive berth-doomed.scope
        # By id prefix, an exited one.
        id=$(cprop hello Id)
        M RemoveContainer sb "${id:0:12}" false >/dev/null
        assert_no_match "$(M ListContainers b true)" '"hello"' "removed by id prefix"
}

test_multi_layer_image_with_whiteouts() {
        local out
        bed_exec berthctl pull "$(R busybox-child)" >/dev/null
        create "$(R busybox-child)" layered sh -c 'ls /etc; ls /opt/data' >/dev/null
        M StartContainer s layered >/dev/null || { bed_journal -u berthd --no-pager | tail -20; false; }
        wait_until 60 is_state layered exited
        out=$(bed_journal -o cat --no-pager CONTAINER_NAME=layered)
        assert_match "$out" '^child$' "file of the top layers"
        assert_no_match "$out" '^removeme$' "file deleted by a whiteout"
        assert_match "$out" '^c$' "opaque dir content"
        assert_no_match "$out" '^a$' "lower content hidden by the opaque dir"
}

test_a_name_never_shadows_an_id() {
        # New names cannot be 64 hex digits (test_errors), but a record may already carry one: edit a record
        # while berthd is down so that one container is named after the other's id. The id still wins.
        local owner impostor
        owner=$(create "$(R busybox)" id-owner true)
        impostor=$(create "$(R busybox)" impostor true)
        bed_exec systemctl stop berthd
        bed_exec python3 -c '
import json, sys
p = "/var/lib/berth/containers/%s/config.json" % sys.argv[1]
r = json.load(open(p)); r["name"] = sys.argv[2]; json.dump(r, open(p, "w"))' "$impostor" "$owner"
        assert_match "$(M GetContainer s "$owner")" '"/org/berth1/container/id_2downer"' "the full id names its owner"
        assert_match "$(M GetContainer s "${impostor:0:12}")" "\"$(cpath "$owner")\"" "the impostor by its id prefix"
        M RemoveContainer sb "$owner" false >/dev/null
        assert_match "$(M ListContainers b true)" "\"$owner\"" "the impostor, named after the id, stays"
        assert_no_match "$(M ListContainers b true)" '"id-owner"' "the owner is gone"
        M RemoveContainer sb "${impostor:0:12}" false >/dev/null
}

# C NAME METHOD SIG ARGS… : a method of the Container object itself, on its path
C() {
        local name=$1; shift
        bed_exec busctl --json=short -- call org.berth1 "$(cpath "$name")" org.berth1.Container "$@"
}

test_object_methods() {
        # The same verbs on the object path as by name on the Manager.
        local image_id
        create "$(R busybox)" objc sleep 1000 >/dev/null
        C objc Start >/dev/null
        assert_eq "$(state objc)" running "started on the object"
        assert_ok bed_exec systemctl is-active -q berth-objc.scope
        C objc Kill i 9 >/dev/null
        wait_until 60 is_state objc exited
        assert_eq "$(exit_code objc)" 137 "killed on the object"
        assert_fails C objc Kill i 15
        assert_match "$FAIL_OUTPUT" 'ContainerNotRunning|not running' "kill of an exited one"
        assert_fails C objc Kill i 100000
        assert_match "$FAIL_OUTPUT" 'Invalid signal' "bad signal refused"
        C objc Start >/dev/null
        assert_eq "$(state objc)" running "started again"
        C objc Stop t 500000 >/dev/null
        assert_eq "$(state objc)" exited "stopped on the object"
        assert_eq "$(exit_code objc)" 137 "sleep ignores SIGTERM: killed after the timeout"
        # No terminal, not running: the object refuses as the Manager does.
        assert_fails C objc Resize uu 24 80
        assert_match "$FAIL_OUTPUT" 'no terminal' "resize without a terminal"
        assert_fails C objc Attach a{sv} 0
        assert_match "$FAIL_OUTPUT" 'not running' "attach to an exited one"
        image_id=$(C objc Commit sa{sv} objc-image:1 0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])')
        assert_match "$image_id" '^sha256:[0-9a-f]{64}$' "committed on the object"
        assert_match "$(M GetImage s objc-image:1)" '/org/berth1/image/' "the commit is tagged"
        C objc Remove b false >/dev/null
        assert_no_match "$(M ListContainers b true)" '"objc"' "removed on the object"
        assert_fails C objc Start
        assert_match "$FAIL_OUTPUT" 'Unknown object|UnknownObject' "its object went with it"
}
