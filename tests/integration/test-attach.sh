# Interactive containers through a real terminal (tmux inside the bed): run -ti, detach with ctrl-p ctrl-q,
# attach, resize, several clients, attach after a restart of berthd, a D-Bus client that is not berthctl,
# piped run -i, signals passed on while output stalls, plain run's whole output (past journald's rate limit,
# and held for a reader that stalls; run -i with both ways full; a reader gone), and the errors. Cases run in
# order in one bed.

B() { echo "$BERTH_TEST_REGISTRY/busybox"; }
tm() { bed_exec env TERM=xterm tmux -S /tmp/attach-test.sock "$@"; }
screen() { tm capture-pane -p -t "$1"; }
screen_has() { screen "$1" | grep -qE -- "$2"; }
# session NAME CMD : a detached 80x24 tmux session running CMD in the bed, then "berthctl-exit=<status>"
session() {
        tm new-session -d -s "$1" -x 80 -y 24 "$2; echo berthctl-exit=\$?; sleep 3600"
}
# type_until SESSION ERE KEYS… : type KEYS, and again every 2 s, until the screen shows ERE (60 s at most): for
# what is typed into a client that has just started, whose stream may not be connected yet. Only for keys that
# do no harm twice.
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
# running_in NAME COMM : a process called COMM runs in berth-NAME.scope (to type into it once it reads)
running_in() {
        bed_sh "for p in \$(cat \$(find /sys/fs/cgroup/machine.slice/berth-$1.scope -name cgroup.procs)); do
                        [ \"\$(cat /proc/\$p/comm 2>/dev/null)\" = $2 ] && exit 0
                done; exit 1"
}
cstate() { bed_exec busctl get-property org.berth1 "/org/berth1/container/$1" org.berth1.Container "$2"; }
cexited() { [ "$(cstate "$1" State)" = 's "exited"' ]; }

test_setup_pull() {
        bed_exec berthctl pull "$(B)" >/dev/null
}

test_run_ti_detach_attach_resize_exit() {
        session run "berthctl run -ti --name mydebian $(B) sh"
        wait_until 60 screen_has run '^/ # ?$'
        tm send-keys -t run 'touch test-file; ls' Enter
        wait_until 60 screen_has run 'test-file'
        tm send-keys -t run C-p C-q
        wait_until 60 screen_has run 'berthctl-exit=0'
        assert_match "$(screen run)" 'read escape sequence'
        assert_eq "$(cstate mydebian State)" 's "running"' "state after detach"

        session att "berthctl attach mydebian"
        type_until att '^/ # ?$' Enter
        # The file written before the detach is there: the same container, the same shell.
        tm send-keys -t att 'ls test-file' Enter
        wait_until 60 screen_has att '^test-file$'
        # The terminal follows the client's window (SIGWINCH through ResizeContainer).
        tm resize-window -t att -x 100 -y 40
        type_until att '^40 100$' 'stty size' Enter
        # A ctrl-p that is not followed by ctrl-q is the container's.
        tm send-keys -t att 'cat -v' Enter
        wait_until 60 running_in mydebian cat
        tm send-keys -t att C-p x Enter
        wait_until 60 screen_has att '^\^Px$'
        # (busybox's plain `exit` keeps the last status, and cat died of SIGINT: 130, as in docker.)
        tm send-keys -t att C-c
        tm send-keys -t att 'true' Enter
        tm send-keys -t att 'exit' Enter
        wait_until 60 screen_has att 'berthctl-exit='
        assert_match "$(screen att)" 'berthctl-exit=0$' "berthctl attach's status after exit"
        assert_eq "$(cstate mydebian State)" 's "exited"' "state after exit"
        assert_eq "$(cstate mydebian ExitCode)" 'u 0' "exit code"
}

# run -ti --rm, detached from: nobody waits for its end, so berthd removes it when it exits.
test_run_ti_rm_detached_is_removed_at_exit() {
        session rmti "berthctl run -ti --rm --name rmti $(B) sh"
        wait_until 60 screen_has rmti '^/ # ?$'
        tm send-keys -t rmti C-p C-q
        wait_until 60 screen_has rmti 'berthctl-exit=0'
        assert_eq "$(cstate rmti State)" 's "running"' "running after the detach"
        bed_exec berthctl stop -t 1 rmti >/dev/null
        wait_until 60 bash -c "! $BERTH_BED exec $BED_DIR berthctl container inspect rmti"
}

test_run_ti_exit_code() {
        session three "berthctl run -ti --rm $(B) sh"
        wait_until 60 screen_has three '^/ # ?$'
        tm send-keys -t three 'exit 3' Enter
        wait_until 60 screen_has three 'berthctl-exit=3'
}

test_start_a_i_and_a_ctrl_p_passed_through() {
        # A created -ti container started attached, as docker start -a -i: the prompt, typing, a ctrl-p that
        # is not followed by ctrl-q reaching the shell (cat -v shows it), and the exit code coming back.
        bed_exec berthctl create -ti --name startai "$(B)" sh >/dev/null
        session four "berthctl start -a -i startai"
        wait_until 60 screen_has four '^/ # ?$'
        tm send-keys -t four 'cat -v' Enter
        wait_until 60 running_in startai cat
        tm send-keys -t four C-p x Enter C-d
        wait_until 60 screen_has four '\^Px'
        tm send-keys -t four 'exit 4' Enter
        wait_until 60 screen_has four 'berthctl-exit=4'
        [ "$(cstate startai ExitCode)" = "u 4" ] || fail "ExitCode of startai"
}

test_two_clients_see_the_same_output() {
        bed_exec berthctl run -d -ti --name two "$(B)" sh >/dev/null
        session a "berthctl attach two"
        session b "berthctl attach two"
        # Both connected: each has had its own input through.
        type_until a '^ready-a$' 'echo ready-a' Enter
        type_until b '^ready-b$' 'echo ready-b' Enter
        tm send-keys -t a 'echo hello-$((6*7))' Enter
        wait_until 60 screen_has a '^hello-42$'
        wait_until 60 screen_has b '^hello-42$'
        # b types, a sees it.
        tm send-keys -t b 'echo from-$((2+3))' Enter
        wait_until 60 screen_has a '^from-5$'
        tm send-keys -t a C-p C-q
        tm send-keys -t b C-p C-q
        wait_until 60 screen_has a 'berthctl-exit=0'
        wait_until 60 screen_has b 'berthctl-exit=0'
}

test_attach_after_berthd_restart() {
        bed_exec systemctl restart berthd
        session c "berthctl attach two"
        type_until c '^after-2$' 'echo after-$((1+1))' Enter
        tm send-keys -t c C-p C-q
        wait_until 60 screen_has c 'berthctl-exit=0'
        assert_eq "$(cstate two State)" 's "running"' "state"
}

test_a_plain_dbus_client_attaches() {
        # The D-Bus API alone is enough: python3-dbus, the fd from AttachContainer, and nothing of berthctl.
        local out
        out=$(bed_exec /usr/bin/python3 -c '
import dbus, os, socket, sys
m = dbus.Interface(dbus.SystemBus().get_object("org.berth1", "/org/berth1"), "org.berth1.Manager")
fd = m.AttachContainer("two", dbus.Dictionary({}, signature="sv"))
s = socket.socket(fileno=os.dup(fd.take()))
s.sendall(b"echo py-$((40+2)); exit 5\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
sys.stdout.write(data.decode(errors="replace"))
')
        assert_match "$out" 'py-42' "output through the stream"
        wait_until 60 cexited two
        assert_eq "$(cstate two ExitCode)" 'u 5' "exit code"
}

test_piped_run_i() {
        assert_eq "$(echo hi | bed_exec berthctl run -i --rm "$(B)" cat)" hi "echo hi | run -i cat"
        # Without a terminal stdout and stderr stay apart.
        local rc=0
        echo zz | bed_exec berthctl run -i --rm "$(B)" sh -c 'read x; echo out-$x; echo err-$x >&2; exit 4' \
                >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
        assert_eq "$rc" 4 "exit status"
        assert_eq "$(cat "$TEST_TMP/out")" out-zz "stdout"
        assert_eq "$(cat "$TEST_TMP/err")" err-zz "stderr"
}

# Bytes waiting in the pipe whose reader is PID's stdin.
pipe_pending() {
        bed_exec python3 -c 'import fcntl, os, struct, sys, termios
fd = os.open("/proc/%s/fd/0" % sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
print(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0])' "$1"
}
pipe_nearly_full() { [ "$(pipe_pending "$1")" -gt 61440 ]; }

# attach passes TERM to the container (docker's --sig-proxy) also while its own stdout will not take more:
# here a pipe to a sleep that never reads, with the container writing on.
test_signals_reach_the_container_while_output_stalls() {
        local pids reader ctl
        bed_exec berthctl run -d --name stall "$(B)" \
                sh -c 'trap "exit 7" TERM; while :; do cat /bin/busybox; sleep 1 & wait; done' >/dev/null
        pids=$(bed_exec bash -c 'rm -f /run/stall.fifo && mkfifo /run/stall.fifo
                sleep 3600 </run/stall.fifo >/dev/null 2>&1 & reader=$!
                berthctl attach stall >/run/stall.fifo 2>/dev/null & echo "$reader $!"')
        read -r reader ctl <<<"$pids"
        wait_until 60 pipe_nearly_full "$reader"
        bed_exec kill -TERM "$ctl"
        wait_until 60 cexited stall
        assert_eq "$(cstate stall ExitCode)" 'u 7' "the container's trap ran"
        # The reader goes; berthctl's writes fail, and it ends with the stream.
        bed_exec kill "$reader"
        wait_until 60 bash -c "! \"$BERTH_BED\" exec \"$BED_DIR\" test -e /proc/$ctl"
        bed_exec rm /run/stall.fifo
        bed_exec berthctl rm stall >/dev/null
}

# And while what it reads from its stdin waits: here the container's monitor is stopped and takes nothing
# from attach's socket. berthd signals the container's init itself, so the init dies (a zombie until the
# monitor, continued, reaps it).
test_signals_reach_the_container_while_input_stalls() {
        local monitor ctl init
        bed_exec berthctl run -d -i --name stallin "$(B)" \
                sh -c 'trap "exit 7" TERM; while :; do sleep 1 & wait; done' >/dev/null
        init=$(cstate stallin Pid | cut -d' ' -f2)
        monitor=$(scope_monitor stallin)
        [ "$(bed_exec cat /proc/"$monitor"/comm)" = berth-monitor ] || fail "no monitor in the supervisor cgroup"
        bed_exec kill -STOP "$monitor"
        trap 'bed_exec kill -CONT '"$monitor"' 2>/dev/null || true' EXIT
        ctl=$(bed_exec bash -c 'head -c 64M /dev/zero | berthctl attach stallin >/dev/null 2>&1 & echo $!')
        wait_until 60 pipe_nearly_full "$ctl"
        bed_exec kill -TERM "$ctl"
        wait_until 60 bash -c "[ \"\$(\"$BERTH_BED\" exec \"$BED_DIR\" awk '/^State:/ {print \$2}' /proc/$init/status)\" = Z ]"
        bed_exec kill -CONT "$monitor"
        trap - EXIT
        wait_until 60 cexited stallin
        assert_eq "$(cstate stallin ExitCode)" 'u 7' "the container's trap ran"
        wait_until 60 bash -c "! \"$BERTH_BED\" exec \"$BED_DIR\" test -e /proc/$ctl"
        bed_exec berthctl rm stallin >/dev/null
}

# run without -t or -i prints the container's output from its stream, not from the journal: all of it, though
# journald's rate limit (10,000 entries a unit in 30 s, scaled by free space) keeps far fewer lines there.
test_run_prints_all_output_past_the_journal_rate_limit() {
        local rc=0
        bed_exec berthctl run --rm --name chatty "$(B)" sh -c 'seq 1 200000; echo bye >&2; exit 3' \
                >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
        assert_eq "$rc" 3 "exit status"
        assert_eq "$(wc -l <"$TEST_TMP/out")" 200000 "lines printed"
        assert_eq "$(tail -n 1 "$TEST_TMP/out")" 200000 "the last line"
        assert_eq "$(cat "$TEST_TMP/err")" bye "stderr apart"
        assert_fails bed_exec berthctl inspect chatty
}

# The stream of run is lossless: a reader that stalls holds the container's writes (docker's back-pressure)
# instead of being dropped once 4 MiB wait for it. Here run's stdout is a fifo whose reader reads nothing
# until the container is seen blocked in a write to its output pipe (wchan pipe_write, or anon_pipe_write).
container_running() { [ "$(cstate "$1" State)" = 's "running"' ]; }
container_blocked_writing() { bed_exec cat /proc/"$1"/wchan | grep -qx '[a-z_]*pipe_write'; }
test_run_output_waits_for_a_stalled_reader() {
        local ctl init
        ctl=$(bed_exec bash -c 'rm -f /run/whole.fifo /run/whole.go && mkfifo /run/whole.fifo /run/whole.go
                (read -r _ </run/whole.go; wc -c >/run/whole.count) </run/whole.fifo >/dev/null 2>&1 &
                berthctl run --name whole "$1" head -c 16777216 /dev/zero >/run/whole.fifo 2>/run/whole.err &
                echo $!' x "$(B)")
        wait_until 60 container_running whole
        init=$(cstate whole Pid | cut -d' ' -f2)
        wait_until 60 container_blocked_writing "$init"
        bed_exec bash -c 'echo go >/run/whole.go'
        wait_until 60 bash -c "! \"$BERTH_BED\" exec \"$BED_DIR\" test -e /proc/$ctl"
        assert_eq "$(bed_exec cat /run/whole.count)" 16777216 "bytes the reader got ($(bed_exec cat /run/whole.err))"
        assert_eq "$(cstate whole ExitCode)" 'u 0' "exit code"
        bed_exec berthctl rm whole >/dev/null
}

# A reader that takes nothing holds the container while it runs, but not its end: once the container is
# killed, the monitor gives the stalled run rounds of 5 s to take the rest, then lets it go and exits, and
# the exit is recorded.
test_a_stalled_reader_does_not_hold_a_dead_container() {
        local reader
        reader=$(bed_exec bash -c 'rm -f /run/never.fifo && mkfifo /run/never.fifo
                sleep 3600 </run/never.fifo >/dev/null 2>&1 & echo $!
                berthctl run --name never "$1" head -c 16777216 /dev/zero >/run/never.fifo 2>/dev/null &' \
                x "$(B)")
        wait_until 60 container_running never
        wait_until 60 container_blocked_writing "$(cstate never Pid | cut -d' ' -f2)"
        bed_exec berthctl kill never >/dev/null
        wait_until 120 bash -c "[ \"\$(\"$BERTH_BED\" exec \"$BED_DIR\" busctl get-property org.berth1 \
                /org/berth1/container/never org.berth1.Container State)\" = 's \"exited\"' ]"
        bed_exec kill "$reader"
        bed_exec berthctl rm never >/dev/null
}

# run -i: the container writes 20 MB before it reads a byte of the 20 MB it is sent. berthctl goes on reading
# output while its input waits for the stream to take it; had it waited on its input, the held output would
# never be read, and neither side would move.
test_run_i_reads_output_while_its_input_waits() {
        local rc=0
        bed_exec bash -c 'head -c 20000000 /dev/zero | berthctl run -i --rm "$1" \
                sh -c "head -c 20000000 /dev/zero; wc -c" >/run/both.out' x "$(B)" || rc=$?
        assert_eq "$rc" 0 "exit status"
        assert_eq "$(bed_exec stat -c %s /run/both.out)" 20000009 "output bytes"
        assert_eq "$(bed_exec tail -c 9 /run/both.out)" 20000000 "what the container read"
        bed_exec rm /run/both.out
}

# run -i whose container exits with input of ours unread: the monitor resets the stream after the last
# output, which ends the session as its close would, with the container's code.
test_run_i_ends_with_the_code_when_input_is_left_unread() {
        assert_eq "$(bed_exec bash -c 'yes | berthctl run -i --rm "$1" head -n 1; echo "${PIPESTATUS[1]}"' \
                x "$(B)")" $'y\n0' "head's line and berthctl's status"
}

# When what reads run's output is gone (`| head -n 1`), berthctl ends as a writer into a broken pipe would,
# with 141, and the container runs on, as under Docker.
test_run_ends_when_its_reader_is_gone() {
        assert_eq "$(bed_exec bash -c 'berthctl run --name unread "$1" yes | head -n 1; echo "${PIPESTATUS[0]}"' \
                x "$(B)")" $'y\n141' "head's line and berthctl's status"
        assert_eq "$(cstate unread State)" 's "running"' "the container runs on"
        bed_exec berthctl rm -f unread >/dev/null
}

test_errors() {
        assert_fails bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager AttachContainer 'sa{sv}' \
                mydebian 0
        assert_match "$FAIL_OUTPUT" 'not running' "attach to an exited container"
        assert_fails bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager AttachContainer 'sa{sv}' \
                mydebian 1 bogus b true
        assert_match "$FAIL_OUTPUT" "Unknown option 'bogus'" "unknown option"
        assert_fails bed_exec berthctl attach mydebian
        bed_exec berthctl run -d -ti --name priv "$(B)" sh >/dev/null
        assert_fails bed_nobody busctl call org.berth1 /org/berth1 org.berth1.Manager AttachContainer 'sa{sv}' \
                priv 0
        assert_match "$FAIL_OUTPUT" '[Aa]ccess|[Aa]uthoriz|[Pp]ermission' "unprivileged caller"
        assert_fails bed_nobody busctl call org.berth1 /org/berth1 org.berth1.Manager ResizeContainer suu \
                priv 10 10
        bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager ResizeContainer suu priv 33 77
        bed_exec berthctl kill priv >/dev/null
}
