# berthctl exec and org.berth1.Container.Exec: a new process in a running container, as docker exec: output
# and exit code, -e/-u/-w, -i, -ti through a real terminal (tmux inside the bed) with resize, -d, the
# container's cgroup, root and pid namespace, errors, the end of the container ending the session, a berthd
# restart keeping it, unprivileged callers refused. Cases run in order in one bed.

B() { echo "$BERTH_TEST_REGISTRY/busybox"; }
tm() { bed_exec env TERM=xterm tmux -S /tmp/exec-test.sock "$@"; }
screen() { tm capture-pane -p -t "$1"; }
screen_has() { screen "$1" | grep -qE -- "$2"; }
session() {
        tm new-session -d -s "$1" -x 80 -y 24 "$2; echo berthctl-exit=\$?; sleep 3600"
}
# type_until SESSION ERE KEYS… (as in test-attach.sh): for keys typed into a client that has just started.
type_until() {
        local s=$1 re=$2 i j
        shift 2
        for i in $(seq 30); do
                tm send-keys -t "$s" "$@"
                for j in $(seq 20); do
                        screen_has "$s" "$re" && return 0
                        sleep 0.1
                done
        done
        fail "session $s never showed /$re/ after typing $*:"$'\n'"$(screen "$s")"
}
# in_scope NAME ERE : a process of berth-NAME.scope's own cgroup (not the monitor's) has a command line
# matching ERE
in_scope() {
        bed_sh "for p in \$(cat /sys/fs/cgroup/machine.slice/berth-$1.scope/cgroup.procs); do
                        tr '\\0' ' ' </proc/\$p/cmdline 2>/dev/null | grep -qE -- '$2' && exit 0
                done; exit 1"
}
# The newest ExecSession object's path.
last_session() {
        bed_exec busctl tree --list org.berth1 | grep -E '^/org/berth1/exec/[0-9]+$' | sort -t/ -k5 -n | tail -1
}
exit_code_is() { [ "$(bed_exec busctl get-property org.berth1 "$1" org.berth1.ExecSession ExitCode)" = "i $2" ]; }
cstate() { bed_exec busctl get-property org.berth1 "/org/berth1/container/$1" org.berth1.Container "$2"; }

test_setup() {
        bed_exec berthctl pull "$(B)" >/dev/null
        bed_exec berthctl run -d --name box "$(B)" sleep 100000 >/dev/null
}

test_exec_output_and_exit_code() {
        local rc=0
        bed_exec berthctl exec box sh -c 'echo out-$((6*7)); echo err-1 >&2; exit 7' \
                >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
        assert_eq "$rc" 7 "exec's exit status"
        assert_eq "$(cat "$TEST_TMP/out")" out-42 "stdout"
        assert_eq "$(cat "$TEST_TMP/err")" err-1 "stderr"
        # The exec'd process's end is not the container's.
        assert_eq "$(cstate box State)" 's "running"' "state after exec"
        rc=0
        bed_exec berthctl exec box no-such-command >"$TEST_TMP/out" 2>&1 || rc=$?
        assert_eq "$rc" 127 "status of a missing command"
        assert_match "$(cat "$TEST_TMP/out")" 'executable file not found' "message of a missing command"
        echo hi | bed_exec berthctl exec -i box cat >"$TEST_TMP/out"
        assert_eq "$(cat "$TEST_TMP/out")" hi "echo hi | exec -i cat"
}

test_exec_env_user_workdir() {
        local out
        out=$(bed_exec berthctl exec -e FOO=bar -e HOME=/x -u nobody -w /tmp box sh -c 'echo $FOO $HOME $(id -u) $PWD')
        assert_eq "$out" "bar /x 65534 /tmp" "-e, -u, -w"
        # Without them: the container's user, directory and environment (PATH from the image).
        out=$(bed_exec berthctl exec box sh -c 'echo $(id -u) $PWD $PATH')
        assert_match "$out" '^0 / .*/bin' "defaults"
        assert_fails bed_exec berthctl exec -u no-such-user box true
        assert_match "$FAIL_OUTPUT" 'no-such-user' "unknown user"
}

test_exec_sees_the_container() {
        # The container's pid namespace (its init is pid 1), root and scope cgroup.
        assert_eq "$(bed_exec berthctl exec box cat /proc/1/cmdline | tr '\0' ' ')" "sleep 100000 " "pid 1"
        bed_exec berthctl exec box touch /made-by-exec
        assert_ok bed_exec berthctl exec box test -e /made-by-exec
        bed_sh '! test -e /made-by-exec' || fail "exec wrote into the host's root"
        bed_exec berthctl exec -d box sleep 4321
        wait_until 60 in_scope box 'sleep 4321'
        # Its session object, while it runs, is the contract's; nobody may not resize it.
        local path
        path=$(last_session)
        assert_match "$path" '^/org/berth1/exec/[0-9]+$' "an ExecSession object"
        bed_exec busctl introspect --xml-interface org.berth1 "$path" >"$TEST_TMP/exec.xml"
        python3 "$BERTH_SRC/tests/integration/introspect-compare.py" \
                "$BERTH_SRC/dbus/org.berth1.ExecSession.xml" "$TEST_TMP/exec.xml" org.berth1.ExecSession ||
                fail "ExecSession introspection differs from dbus/org.berth1.ExecSession.xml"
        assert_eq "$(bed_exec busctl get-property org.berth1 "$path" org.berth1.ExecSession Running)" "b true" "Running"
        assert_fails bed_nobody busctl call org.berth1 "$path" org.berth1.ExecSession Resize uu 10 10
        assert_match "$FAIL_OUTPUT" '[Aa]ccess|[Aa]uthori[sz]|[Aa]uthentication|[Pp]ermission' "unprivileged Resize"
        # Counted with the container: its process is killed with it, later (test_stop_ends_sessions).
        assert_match "$(bed_exec berthctl exec box cat /proc/self/cgroup)" '^0::/$' "cgroup namespace"
}

test_exec_ti_resize_and_exit_code() {
        session t1 "berthctl exec -ti box sh"
        type_until t1 '^/ # ?$' Enter
        tm send-keys -t t1 'tty' Enter
        wait_until 60 screen_has t1 '^/dev/pts/[0-9]+$'
        tm resize-window -t t1 -x 100 -y 40
        type_until t1 '^40 100$' 'stty size' Enter
        tm send-keys -t t1 'exit 5' Enter
        wait_until 60 screen_has t1 'berthctl-exit=5'
        # Detach keys leave the process running.
        session t2 "berthctl exec -ti box sh"
        type_until t2 '^ready-2$' 'echo ready-$((1+1))' Enter
        tm send-keys -t t2 C-p C-q
        wait_until 60 screen_has t2 'berthctl-exit=0'
        assert_match "$(screen t2)" 'read escape sequence'
}

test_dbus_exec_session_object() {
        # The D-Bus form: a stream and an ExecSession object; at the end one PropertiesChanged carries
        # Running false and the exit status, and the object stays (as Docker's exec inspect) with both.
        local out
        out=$(bed_exec /usr/bin/python3 -c '
import dbus, dbus.mainloop.glib, os, socket, struct, sys
from gi.repository import GLib
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
loop = GLib.MainLoop()
changes = []
def on_changed(interface, changed, invalidated, path=None):
    changes.append((str(path), dict(changed)))
    if "ExitCode" in changed:
        loop.quit()
bus.add_signal_receiver(on_changed, "PropertiesChanged", "org.freedesktop.DBus.Properties", "org.berth1",
                        path_keyword="path")
m = dbus.Interface(bus.get_object("org.berth1", "/org/berth1"), "org.berth1.Manager")
fd, path = m.ExecContainer("box", ["sh", "-c", "read x; echo got-$x; exit 9"], dbus.Dictionary({"stdin": True}, signature="sv"))
props = dbus.Interface(bus.get_object("org.berth1", path), "org.freedesktop.DBus.Properties")
print("path", path)
print("running", bool(props.Get("org.berth1.ExecSession", "Running")), int(props.Get("org.berth1.ExecSession", "Pid")) > 0,
      int(props.Get("org.berth1.ExecSession", "ExitCode")))
s = socket.socket(fileno=os.dup(fd.take()))
s.sendall(b"yes\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
while data:
    stream, n = struct.unpack(">BxxxI", data[:8])
    print("frame", stream, data[8:8 + n].decode().strip())
    data = data[8 + n:]
GLib.timeout_add_seconds(60, loop.quit)
if not any(p == path and "ExitCode" in c for p, c in changes):
    loop.run()
for p, c in changes:
    if p == path:
        print("changed", " ".join(sorted(c)), bool(c["Running"]), int(c["ExitCode"]))
print("after", bool(props.Get("org.berth1.ExecSession", "Running")), int(props.Get("org.berth1.ExecSession", "ExitCode")))
')
        assert_match "$out" '^running True True -1$' "the session object while it runs"
        assert_match "$out" '^frame 1 got-yes$' "output frame"
        assert_match "$out" '^frame 3 9$' "exit status frame"
        assert_match "$out" '^changed ExitCode Running False 9$' "PropertiesChanged at the end"
        assert_match "$out" '^after False 9$' "the ended session's properties"
        local path
        path=$(sed -n 's/^path //p' <<<"$out")
        assert_match "$path" '^/org/berth1/exec/[0-9]+$' "the session's path"
        assert_match "$(bed_exec busctl tree org.berth1)" "$path\$" "the ended session's object"
        # Its Container follows a rename.
        bed_exec berthctl rename box box-renamed
        assert_eq "$(bed_exec busctl get-property org.berth1 "$path" org.berth1.ExecSession Container)" \
                'o "/org/berth1/container/box_2drenamed"' "Container after a rename"
        bed_exec berthctl rename box-renamed box
        # berthctl's own status, and a signal's: 128+N.
        local rc=0
        bed_exec berthctl exec box sh -c 'kill -TERM $$' || rc=$?
        assert_eq "$rc" 143 "exec's status after SIGTERM"
        path=$(last_session)
        wait_until 60 exit_code_is "$path" 143
}

test_a_stuck_monitor_does_not_hold_up_berthd() {
        # The monitor answers an exec request on berthd's event loop, not in a blocking wait: with the
        # container's monitor stopped, an exec waits, and every other caller is answered meanwhile.
        local id monitor exec_pid
        id=$(cstate box Id | cut -d'"' -f2)
        monitor=$(scope_monitor box)
        [ "$(bed_exec cat /proc/"$monitor"/comm)" = berth-monitor ] || fail "no monitor in the supervisor cgroup"
        bed_exec kill -STOP "$monitor"
        trap 'bed_exec kill -CONT '"$monitor"' 2>/dev/null || true' EXIT
        bed_exec berthctl exec box true >"$TEST_TMP/exec.out" 2>&1 &
        exec_pid=$!
        # berthd has sent the request once a connection waits in the stopped monitor's listening socket (seen
        # from the monitor's network namespace, the container's).
        wait_until 60 bed_sh "nsenter -t $monitor -n ss -xln | awk '\$5 == \"/run/berth/containers/$id/attach\" && \$3 > 0 { f = 1 } END { exit !f }'"
        bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager ListContainers b true >/dev/null
        bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager ListImages >/dev/null
        kill -0 "$exec_pid" 2>/dev/null || fail "the exec ended while the monitor was stopped: $(cat "$TEST_TMP/exec.out")"
        bed_exec kill -CONT "$monitor"
        wait "$exec_pid" || fail "exec after the monitor went on: $(cat "$TEST_TMP/exec.out")"
}

test_berthd_restart_keeps_session() {
        session r1 "berthctl exec -ti box sh"
        type_until r1 '^before-3$' 'echo before-$((1+2))' Enter
        bed_exec systemctl restart berthd
        tm send-keys -t r1 'echo after-$((2+2))' Enter
        wait_until 60 screen_has r1 '^after-4$'
        tm send-keys -t r1 'exit 6' Enter
        wait_until 60 screen_has r1 'berthctl-exit=6'
}

test_stop_ends_sessions() {
        session s1 "berthctl exec -ti box sh"
        type_until s1 '^ready-s$' 'echo ready-s' Enter
        bed_exec berthctl stop -t 1 box >/dev/null
        # Killed with the container's pid namespace: SIGKILL, 137 as docker reports it, on the bus too.
        wait_until 60 screen_has s1 'berthctl-exit=137'
        local path
        path=$(last_session)
        wait_until 60 exit_code_is "$path" 137
        in_scope box 'sleep 4321' && fail "exec -d's process outlived the container"
        assert_fails bed_exec berthctl exec box true
        assert_match "$FAIL_OUTPUT" 'not running' "exec into a stopped container"
        assert_fails bed_exec busctl call org.berth1 /org/berth1/container/box org.berth1.Container Exec \
                'asa{sv}' 1 true 0
        assert_match "$FAIL_OUTPUT" 'not running' "Exec on a stopped container"
}

test_nobody_refused() {
        bed_exec berthctl start box >/dev/null
        assert_fails bed_nobody berthctl --no-ask-password exec box true
        assert_match "$FAIL_OUTPUT" '[Aa]ccess|[Aa]uthori[sz]|[Aa]uthentication|[Pp]ermission' "unprivileged berthctl exec"
        assert_fails bed_nobody busctl call org.berth1 /org/berth1 org.berth1.Manager ExecContainer 'sasa{sv}' \
                box 1 true 0
        assert_match "$FAIL_OUTPUT" '[Aa]ccess|[Aa]uthori[sz]|[Aa]uthentication|[Pp]ermission' "unprivileged ExecContainer"
        bed_exec berthctl kill box >/dev/null
}
