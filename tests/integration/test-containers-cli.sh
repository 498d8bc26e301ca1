# berthctl's container verbs as a docker user types them: run (exit codes, output order, --rm, a pull of a
# missing image), -d, ps, stop/start/kill/rm, logs, inspect, --property on the scope. Cases run in order in one
# bed. (The D-Bus API itself is covered by test-containers.sh.)

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
B() { R busybox; }
cstate() { bed_exec berthctl container inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["Status"])'; }
is_state() { [ "$(cstate "$1")" = "$2" ]; }
# run_split OUTFILE ERRFILE ARGS… : berthctl ARGS… in the bed with stdout and stderr apart; prints the exit status
run_split() {
        local out=$1 err=$2 rc=0; shift 2
        bed_exec berthctl "$@" >"$out" 2>"$err" || rc=$?
        echo "$rc"
}

test_setup_pull() {
        bed_exec berthctl pull "$(B)" >/dev/null
}

test_run_streams_output_and_exits_with_the_containers_code() {
        local rc
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run --name streams "$(B)" \
                sh -c 'echo one; echo two >&2; echo three; exit 3')
        assert_eq "$rc" 3 "exit status of run"
        assert_eq "$(cat "$TEST_TMP/out")" $'one\nthree' "stdout"
        assert_eq "$(cat "$TEST_TMP/err")" "two" "stderr"
        # Both on one pipe: in the order the journal has them. (The container's stdout and stderr are two pipes,
        # so lines written in the same instant may reach the journal in either order, as with docker; written
        # apart in time, they keep theirs.)
        rc=0
        bed_sh "berthctl run --rm $(B) sh -c 'echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c; sleep 0.2; echo d >&2'" \
                >"$TEST_TMP/both" 2>&1 || rc=$?
        assert_eq "$rc" 0 "exit status"
        assert_eq "$(cat "$TEST_TMP/both")" $'a\nb\nc\nd' "interleaved output"
        assert_eq "$(bed_exec berthctl run --rm "$(B)" true; echo $?)" 0 "true"
        # When run returns, berthd has recorded the exit: --rm never meets a "running" container, and the
        # next command sees it exited.
        local i
        for i in 1 2 3 4 5 6 7 8; do
                rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run --rm "$(B)" true)
                assert_eq "$rc:$(cat "$TEST_TMP/err")" "0:" "run --rm true, round $i"
        done
        bed_exec berthctl run --name quick "$(B)" true
        assert_eq "$(cstate quick)" exited "state right after run"
}

test_run_exit_codes_as_docker() {
        local rc
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run --rm "$(B)" /no/such/command)
        assert_eq "$rc" 127 "command not found"
        assert_match "$(cat "$TEST_TMP/err")" '^Error: ' "error line"
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run --rm "$(B)" /etc/passwd)
        assert_eq "$rc" 126 "command not executable"
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run -d --name detached127 "$(B)" no-such-command)
        assert_eq "$rc" 127 "run -d of a command not found"
        assert_match "$(bed_exec berthctl ps -a)" 'Exited \(127\) .* detached127$' "the failed container stays"
        bed_exec berthctl rm detached127 >/dev/null
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run --rm "$BERTH_TEST_REGISTRY/no-such-image" true)
        assert_eq "$rc" 125 "unknown image"
        assert_match "$(cat "$TEST_TMP/err")" "Unable to find image '$BERTH_TEST_REGISTRY/no-such-image:latest' locally"
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run --no-such-flag "$(B)" true)
        assert_eq "$rc" 125 "unknown flag"
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run --property Bogus=1 "$(B)" true)
        assert_eq "$rc" 125 "unknown property"
        assert_match "$(cat "$TEST_TMP/err")" "unknown property 'Bogus'"
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run -ti "$(B)" sh)
        assert_eq "$rc" 1 "-ti without a terminal, as docker"
        assert_eq "$(cat "$TEST_TMP/err")" 'the input device is not a TTY'
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run --name streams "$(B)" true)
        assert_eq "$rc" 125 "name in use"
        # --rm took its containers with it; the failed start without --rm stays, exited with its code.
        assert_no_match "$(bed_exec berthctl ps -a)" ' /no/such/command' "--rm removed the 127 container"
}

# run --rm's overlay is mounted "volatile" (no sync of the upper file system when the container ends: its exit
# waited for that); a container kept afterwards is not. The kernel leaves a marker in the work dir that refuses
# the next mount; within the same boot berth removes it first, so such a container starts again.
root_mount_options() { bed_exec berthctl run "$@" "$(B)" awk '$5 == "/" { print $NF }' /proc/self/mountinfo; }
test_run_rm_mounts_a_volatile_overlay() {
        assert_match "$(root_mount_options --rm)" '(^|,)(fsync=)?volatile(,|$)' "run --rm"
        assert_no_match "$(root_mount_options --name kept)" 'volatile' "run without --rm"
        bed_exec berthctl rm kept >/dev/null
        # As berthctl run --rm creates it (auto_remove), started twice by hand.
        local id
        id=$(bed_exec busctl --json=short call org.berth1 /org/berth1 org.berth1.Manager CreateContainer \
                ssasa{sv} "$(B)" twice 1 true 1 auto_remove b true |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])')
        bed_exec berthctl start -a twice
        assert_ok bed_exec test -d "/var/lib/berth/containers/$id/work/work/incompat/volatile"
        bed_exec berthctl start -a twice
        bed_exec berthctl rm twice >/dev/null
}

# run --rm removes the container's anonymous volumes with it (read from the Config of its last state), not a
# named one.
test_run_rm_takes_its_anonymous_volumes() {
        local before
        before=$(volume_names)
        bed_exec berthctl run --rm -v /scratch -v keptvol:/kept "$(B)" sh -c 'echo x > /scratch/f'
        assert_eq "$(volume_names)" "$(echo $before keptvol | tr ' ' '\n' | sort | tr '\n' ' ')" "volumes left"
        bed_exec berthctl volume rm keptvol >/dev/null
}

auto_removed() {
        [ "$(bed_exec berthctl container inspect "$1" | python3 -c \
                'import json,sys; print(json.load(sys.stdin)[0]["HostConfig"]["AutoRemove"])')" = True ]
}

# An attached run --rm hands its container to berthd once it started (Docker's AutoRemove): the container
# is gone when berthctl returns, and goes when it exits also after berthctl was killed.
test_attached_rm_is_removed_by_berthd() {
        local i rc before
        for i in 1 2 3 4 5; do
                rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run --rm --name "rmatt$i" "$(B)" sh -c "echo out$i; exit $i")
                assert_eq "$rc:$(cat "$TEST_TMP/out"):$(cat "$TEST_TMP/err")" "$i:out$i:" "run --rm, round $i"
                assert_ok container_gone "rmatt$i"
        done
        before=$(volume_names)
        bed_exec bash -c 'berthctl run --rm --name rmorphan -v /scratch "$1" sleep 1000 >/dev/null 2>&1 &
                echo $! >/run/rmorphan.pid' x "$(B)"
        wait_until 60 auto_removed rmorphan
        assert_ne "$(volume_names)" "$before" "an anonymous volume made"
        bed_exec bash -c 'kill -9 "$(cat /run/rmorphan.pid)" && rm /run/rmorphan.pid'
        assert_eq "$(bed_exec berthctl stop -t 1 rmorphan)" rmorphan "stop"
        wait_until 60 container_gone rmorphan
        assert_eq "$(volume_names)" "$before" "its anonymous volume went with it"

        # Three ctrl-c (sleep as init ignores them): berthctl stops waiting, berthd still removes it.
        local ctl
        bed_exec bash -c '(berthctl run --rm --name rmint "$1" sleep 1000 >/dev/null 2>/run/rmint.err
                echo $? >/run/rmint.rc) & echo $! >/run/rmint.pid' x "$(B)"
        wait_until 60 auto_removed rmint
        ctl=$(bed_exec pgrep -P "$(bed_exec cat /run/rmint.pid)" -x berthctl)
        wait_until 60 interrupted_until_gone "$ctl"
        wait_until 60 bed_exec test -s /run/rmint.rc
        assert_eq "$(bed_exec cat /run/rmint.rc)" 130 "berthctl's status after ctrl-c"
        assert_match "$(bed_exec cat /run/rmint.err)" "no longer waiting" "berthctl says so"
        assert_eq "$(cstate rmint)" running "the container runs on"
        bed_exec rm /run/rmint.pid /run/rmint.rc /run/rmint.err
        assert_eq "$(bed_exec berthctl stop -t 1 rmint)" rmint "stop"
        wait_until 60 container_gone rmint
}
# One SIGINT at each look, until the process is gone.
interrupted_until_gone() {
        bed_exec kill -INT "$1" 2>/dev/null || true
        ! bed_exec test -e "/proc/$1"
}

test_run_pulls_a_missing_image() {
        local rc
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run --rm "$(R busybox-child)" cat /etc/child)
        assert_eq "$rc" 0 "exit status"
        assert_match "$(cat "$TEST_TMP/err")" "^Unable to find image '$(R busybox-child):latest' locally" "notice"
        assert_match "$(cat "$TEST_TMP/err")" "Status: Downloaded newer image for $(R busybox-child):latest" "pull"
        assert_no_match "$(cat "$TEST_TMP/out")" 'Pull complete|Digest' "stdout is the container's alone"
}

test_detached_ps_stop_start_kill_rm() {
        local id out
        id=$(bed_exec berthctl run -d --name sleeper "$(B)" sleep 1000)
        assert_match "$id" '^[0-9a-f]{64}$' "run -d prints the full id"
        out=$(bed_exec berthctl ps)
        assert_match "$(head -n1 <<<"$out")" '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$' "header"
        assert_match "$out" "^${id:0:12} +$(B) +\"sleep 1000\" +(Less than a second|[0-9]+ seconds) ago +Up .* +sleeper$" "row"
        assert_eq "$(bed_exec berthctl ps -q)" "${id:0:12}" "ps -q"
        assert_eq "$(bed_exec berthctl ps -q --no-trunc)" "$id" "ps -q --no-trunc"

        # sleep is PID 1 and ignores SIGTERM: stop kills it after the timeout.
        assert_eq "$(bed_exec berthctl stop -t 1 sleeper)" sleeper "stop prints the name"
        assert_eq "$(bed_exec berthctl ps -q)" "" "ps without -a"
        assert_match "$(bed_exec berthctl ps -a)" "^${id:0:12} .* Exited \(137\) .* ago +sleeper$" "ps -a"
        assert_eq "$(bed_exec berthctl start sleeper)" sleeper "start prints the name"
        assert_match "$(bed_exec berthctl ps)" "Up .* sleeper$" "running again"
        assert_eq "$(bed_exec berthctl kill -s SIGKILL sleeper)" sleeper "kill prints the name"
        wait_until 60 is_state sleeper exited
        assert_eq "$(bed_exec berthctl start sleeper)" sleeper "start again"
        assert_fails bed_exec berthctl kill -s NOSUCH sleeper
        assert_fails bed_exec berthctl rm sleeper
        assert_match "$FAIL_OUTPUT" 'Container is running' "rm of a running container"
        assert_eq "$(bed_exec berthctl rm -f sleeper)" sleeper "rm -f"
        assert_no_match "$(bed_exec berthctl ps -a)" sleeper "gone"
        assert_fails bed_exec berthctl rm sleeper
        assert_match "$FAIL_OUTPUT" 'No such container' "rm of a removed container"
        # A created container: "Created".
        bed_exec berthctl create --name fresh "$(B)" true >/dev/null
        assert_match "$(bed_exec berthctl container ls -a)" '"true" .* Created +fresh$' "created"
}

scope_gone() { ! bed_exec systemctl is-active --quiet "berth-$1.scope"; }
container_gone() { ! bed_exec berthctl container inspect "$1"; }
volume_names() { bed_exec berthctl volume ls -q | sort | tr '\n' ' '; }

# run -d --rm (Docker's AutoRemove): berthd removes the container, with its anonymous volumes, once it exits,
# on its own or stopped; a restart keeps it; one that exits while berthd is down goes at berthd's next start.
test_detached_rm_is_removed_by_berthd_when_it_exits() {
        local before rc
        before=$(volume_names)
        bed_exec berthctl run -d --rm --name rmd -v /scratch -v keepme:/kept "$(B)" sleep 1000 >/dev/null
        assert_eq "$(bed_exec berthctl container inspect rmd | python3 -c \
                'import json,sys; print(json.load(sys.stdin)[0]["HostConfig"]["AutoRemove"])')" True "AutoRemove"
        assert_ne "$(volume_names)" "$before" "an anonymous volume and keepme made"
        # A restart restarts it; it is not removed by the stop within.
        assert_eq "$(bed_exec berthctl restart -t 1 rmd)" rmd "restart"
        assert_eq "$(cstate rmd)" running "running after restart"
        assert_eq "$(bed_exec berthctl stop -t 1 rmd)" rmd "stop"
        wait_until 60 container_gone rmd
        # The anonymous volume went with it; the named one stays, as Docker's.
        assert_eq "$(volume_names)" "$(echo $before keepme | tr ' ' '\n' | sort | tr '\n' ' ')" "volumes left"
        bed_exec berthctl volume rm keepme >/dev/null

        # Exiting on its own, also before berthctl hands the removal to berthd (its scope may be gone by
        # then): every round succeeds.
        local i
        for i in 1 2 3 4 5 6 7 8 9 10; do
                rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run -d --rm --name "rmquick$i" "$(B)" true)
                assert_eq "$rc:$(cat "$TEST_TMP/err")" "0:" "run -d --rm true, round $i"
        done
        for i in 1 2 3 4 5 6 7 8 9 10; do wait_until 60 container_gone "rmquick$i"; done
        # A failed start: Docker's exit code, and no container left.
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run -d --rm --name rmfailed "$(B)" no-such-command)
        assert_eq "$rc" 127 "run -d --rm of a command not found"
        assert_ok container_gone rmfailed
        # create --rm: removed once its run ends.
        bed_exec berthctl create --rm --name rmcreated "$(B)" true >/dev/null
        assert_eq "$(cstate rmcreated)" created "created --rm stays until it runs"
        bed_exec berthctl start rmcreated >/dev/null
        wait_until 60 container_gone rmcreated

        # Exited while berthd was not running: removed at its next start.
        bed_exec berthctl run -d --rm --name rmdown "$(B)" sleep 1000 >/dev/null
        local pid
        pid=$(bed_exec berthctl container inspect rmdown | python3 -c \
                'import json,sys; print(json.load(sys.stdin)[0]["State"]["Pid"])')
        bed_exec systemctl stop berthd
        bed_exec kill -KILL "$pid"
        wait_until 60 scope_gone rmdown
        bed_exec systemctl start berthd
        assert_ok container_gone rmdown

        # Update's remove_on_exit (what berthctl sends when a run -ti --rm is detached from): on a container
        # that has exited already, it goes at once; with a restart policy it is refused.
        bed_exec berthctl run --name rmlater "$(B)" true
        bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager UpdateContainer 'sa(sv)a{sv}' \
                rmlater 0 1 remove_on_exit b true
        assert_ok container_gone rmlater
        bed_exec berthctl create --name rmpolicy --restart always "$(B)" true >/dev/null
        assert_fails bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager UpdateContainer \
                'sa(sv)a{sv}' rmpolicy 0 1 remove_on_exit b true
        assert_match "$FAIL_OUTPUT" 'has a restart policy' "refused with a policy"
        bed_exec berthctl rm rmpolicy >/dev/null

        # Docker's "Conflicting options: --restart and --rm", attached or not; berthd refuses the pair too.
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run -d --rm --restart always "$(B)" true)
        assert_eq "$rc:$(cat "$TEST_TMP/err")" "125:berthctl run: conflicting options: --restart and --rm." "-d"
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" run --rm --restart on-failure "$(B)" true)
        assert_eq "$rc" 125 "attached"
        assert_fails bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager CreateContainer 'ssasa{sv}' \
                "$(B)" rmrestart 1 true 2 remove_on_exit b true restart s always
        assert_match "$FAIL_OUTPUT" 'cannot have a restart policy' "berthd's reason"
        assert_ok container_gone rmrestart
}

test_start_attach_shows_only_this_run() {
        local rc
        bed_exec berthctl create --name twice "$(B)" sh -c 'echo run; exit 4' >/dev/null
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" start -a twice)
        assert_eq "$rc" 4 "start -a exits with the container's code"
        assert_eq "$(cat "$TEST_TMP/out")" run "output of the first run"
        rc=$(run_split "$TEST_TMP/out" "$TEST_TMP/err" start -a twice)
        assert_eq "$rc" 4 "second start -a"
        assert_eq "$(cat "$TEST_TMP/out")" run "only the second run's output"
        assert_eq "$(bed_exec berthctl logs twice)" $'run\nrun' "logs has both runs"
}

test_logs() {
        local out t
        bed_exec berthctl run --name chatty "$(B)" sh -c 'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2' >/dev/null 2>&1
        out=$(bed_exec berthctl logs chatty 2>/dev/null)
        assert_eq "$out" $'line1\nline2\nline3\nline4\nline5' "stdout of logs"
        assert_eq "$(bed_exec berthctl logs chatty 2>&1 >/dev/null)" oops "stderr of logs"
        assert_eq "$(bed_exec berthctl logs -n 2 chatty 2>&1)" $'line5\noops' "--tail 2"
        assert_eq "$(bed_exec berthctl logs -n 1 chatty 2>&1 >/dev/null)" oops "--tail 1 is the stderr line"
        assert_eq "$(bed_exec berthctl logs --tail 0 chatty 2>&1)" "" "--tail 0"
        assert_eq "$(bed_exec berthctl logs --since 10m chatty 2>/dev/null | wc -l)" 5 "--since 10m"
        t=$(($(date +%s) + 60))
        assert_eq "$(bed_exec berthctl logs --since "$t" chatty 2>&1)" "" "--since the future"
        assert_eq "$(bed_exec berthctl logs --since "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" chatty 2>/dev/null | wc -l)" 5 \
                "--since RFC 3339"
        assert_match "$(bed_exec berthctl logs -t -n 2 chatty 2>/dev/null)" \
                '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z line5$' "--timestamps"
        assert_fails bed_exec berthctl logs --since yesterday chatty
        # -f on a running container ends when it exits, with everything it wrote.
        bed_exec berthctl run -d --name follower "$(B)" sh -c 'echo first; sleep 2; echo second' >/dev/null
        out=$(timeout 60 "$BERTH_BED" exec "$BED_DIR" berthctl logs -f follower) || fail "logs -f did not end ($?)"
        assert_eq "$out" $'first\nsecond' "logs -f"
        # -f on an exited container prints and returns.
        assert_eq "$(timeout 60 "$BERTH_BED" exec "$BED_DIR" berthctl logs -f chatty 2>/dev/null | wc -l)" 5 "-f of exited"
}

test_inspect_and_json() {
        local json
        bed_exec berthctl create --name looked -e FOO=bar -w /tmp -h lookedhost "$(B)" sh -c 'exit 0' >/dev/null
        json=$(bed_exec berthctl container inspect looked)
        python3 - "$json" "$(B)" <<'EOF' || fail "inspect: $json"
import json, sys
d = json.loads(sys.argv[1])[0]
assert len(d["Id"]) == 64, d
assert d["Name"] == "/looked", d
assert d["State"]["Status"] == "created" and d["State"]["Running"] is False, d
assert d["State"]["StartedAt"] == "0001-01-01T00:00:00Z", d
assert d["Image"].startswith("sha256:"), d
assert d["Config"]["Image"] == sys.argv[2], d
assert "FOO=bar" in d["Config"]["Env"], d
assert d["Config"]["WorkingDir"] == "/tmp", d
assert d["Unit"] == "berth-looked.scope", d
assert d["Path"] == "sh" and d["Args"] == ["-c", "exit 0"], d
EOF
        bed_exec berthctl start -a looked
        json=$(bed_exec berthctl container inspect looked)
        python3 -c 'import json,sys; s=json.loads(sys.argv[1])[0]["State"]; assert s["Status"]=="exited" and s["ExitCode"]==0 and s["FinishedAt"].endswith("Z") and not s["FinishedAt"].startswith("0001"), s' "$json" ||
                fail "inspect after the run: $json"
        assert_fails bed_exec berthctl container inspect no-such-container
        assert_match "$FAIL_OUTPUT" 'No such container' "inspect error"
        json=$(bed_exec berthctl --json ps -a)
        python3 -c 'import json,sys; l=json.loads(sys.argv[1]); c=[x for x in l if x["Names"]==["/looked"]][0]; assert c["State"]=="exited" and c["Status"].startswith("Exited (0)") and c["Command"]=="sh -c exit 0", c' "$json" ||
                fail "ps --json: $json"
}

test_properties_land_on_the_scope() {
        bed_exec berthctl run -d --name limited --property MemoryMax=512M --property CPUQuota=50% \
                --property TasksMax=64 --property CPUWeight=200 "$(B)" sleep 100 >/dev/null
        assert_eq "$(unit_prop berth-limited.scope MemoryMax)" 536870912 "MemoryMax"
        assert_eq "$(unit_prop berth-limited.scope CPUQuotaPerSecUSec)" 500ms "CPUQuota"
        assert_eq "$(unit_prop berth-limited.scope TasksMax)" 64 "TasksMax"
        assert_eq "$(unit_prop berth-limited.scope CPUWeight)" 200 "CPUWeight"
        bed_exec berthctl rm -f limited >/dev/null
        # docker's spellings.
        bed_exec berthctl run -d --name dockerish -m 1g --cpus 1.5 "$(B)" sleep 100 >/dev/null
        assert_eq "$(unit_prop berth-dockerish.scope MemoryMax)" 1073741824 "--memory"
        assert_eq "$(unit_prop berth-dockerish.scope CPUQuotaPerSecUSec)" 1.500000s "--cpus"
        bed_exec berthctl rm -f dockerish >/dev/null
}

test_run_forwards_a_signal() {
        # A trap in the container sees berthctl's SIGTERM (docker's sig-proxy), and its exit code comes back.
        local pid rc=0
        bed_sh "berthctl run --name trapper $(B) sh -c 'trap \"echo got-term; exit 7\" TERM; echo ready; while :; do sleep 0.1; done' > /tmp/trapper.out 2>&1 & echo \$! > /tmp/trapper.pid; wait \$!; echo \$? > /tmp/trapper.rc" &
        pid=$!
        wait_until 60 bed_sh 'grep -q ready /tmp/trapper.out'
        bed_sh 'kill -TERM $(cat /tmp/trapper.pid)'
        wait "$pid" || rc=$?
        assert_eq "$(bed_exec cat /tmp/trapper.rc)" 7 "exit code after the forwarded signal"
        assert_match "$(bed_exec cat /tmp/trapper.out)" got-term "the container's trap ran"
}
