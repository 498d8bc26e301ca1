# restart, pause / unpause and wait as a docker user types them, and their bus forms.
# Pause is checked without timing: once pause returns, the scope's cgroup says "frozen 1" and the kernel runs none
# of its tasks, so a counter the container writes into its upper dir must read the same before and after a
# bus round trip, and a signal sent while frozen (kill -s USR1 does not thaw, as in Docker) must stay
# unanswered until unpause, when the answer (a file) must come. Files are read in the upper dir from the
# host; the container is never signalled through a file there (overlay caches its own negative lookups).

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
B() { R busybox; }
M() { bed_exec busctl -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }
state() { bed_exec busctl get-property org.berth1 "/org/berth1/container/$1" org.berth1.Container State; }
is_state() { [ "$(state "$1")" = "s \"$2\"" ]; }
cprop_pid() { bed_exec busctl get-property org.berth1 "/org/berth1/container/$1" org.berth1.Container Pid | sed 's/^u //'; }
container_id() { bed_exec busctl get-property org.berth1 "/org/berth1/container/$1" org.berth1.Container Id | sed 's/^s "\(.*\)"$/\1/'; }

# The scope's cgroup directory as the bed sees it.
scope_cgroup() { echo "/sys/fs/cgroup$(bed_exec systemctl show -P ControlGroup "berth-$1.scope")"; }

counter_moved() { local v; v=$(bed_exec cat "$1") && [ -n "$v" ] && [ "$v" != "$2" ]; }

test_setup_pull() {
        bed_exec berthctl pull -q "$(B)" >/dev/null
}

test_pause_freezes_and_unpause_resumes() {
        local d before after
        # Counts about every millisecond, and answers SIGUSR1 with /pong.
        bed_exec berthctl run -d --name frozen "$(B)" sh -c \
                'n=0; trap "echo \$n > /pong" USR1; while :; do n=$((n+1)); echo $n > /count; usleep 1000; done' >/dev/null
        d=/var/lib/berth/containers/$(container_id frozen)/diff
        wait_until 30 bed_exec test -s "$d/count"

        assert_eq "$(bed_exec berthctl pause frozen)" frozen "pause prints the name"
        # berthd answers once the cgroup is frozen, and once systemd has taken note of it (systemd 252 may
        # have answered FreezeUnit earlier, in the middle of the change, with FreezerState=running).
        assert_eq "$(bed_exec cat "$(scope_cgroup frozen)/cgroup.events" | grep frozen)" "frozen 1" \
                "the scope's cgroup when pause returns"
        assert_eq "$(unit_prop berth-frozen.scope FreezerState)" frozen "the scope's freezer"
        assert_eq "$(state frozen)" 's "paused"' "State"
        assert_match "$(bed_exec berthctl ps)" 'Up .* \(Paused\) .*frozen$' "ps"
        assert_eq "$(bed_exec berthctl container inspect frozen | python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["State"]; print(s["Status"], s["Running"], s["Paused"])')" \
                "paused True True" "inspect's State"

        bed_exec berthctl kill -s USR1 frozen >/dev/null
        before=$(bed_exec cat "$d/count")
        # A round trip through berthd and systemd: anything the container could do, it would have had time for.
        M GetContainer s frozen >/dev/null
        assert_eq "$(unit_prop berth-frozen.scope FreezerState)" frozen "still frozen"
        after=$(bed_exec cat "$d/count")
        assert_eq "$after" "$before" "the counter while paused"
        bed_exec test ! -e "$d/pong" || fail "a frozen container answered a signal"
        assert_fails bed_exec berthctl pause frozen
        assert_match "$FAIL_OUTPUT" "already paused" "a second pause"

        assert_eq "$(bed_exec berthctl unpause frozen)" frozen "unpause prints the name"
        assert_eq "$(bed_exec cat "$(scope_cgroup frozen)/cgroup.events" | grep frozen)" "frozen 0" \
                "the scope's cgroup when unpause returns"
        assert_eq "$(unit_prop berth-frozen.scope FreezerState)" running "thawed"
        assert_eq "$(state frozen)" 's "running"' "State after unpause"
        wait_until 30 bed_exec test -e "$d/pong"
        # Where the counter stopped (unless the freeze came between its truncation and its write: then empty).
        if [ -n "$before" ]; then
                assert_eq "$(bed_exec cat "$d/pong")" "$before" "the signal was handled where the counter stopped"
        fi
        wait_until 30 counter_moved "$d/count" "$before"
        assert_fails bed_exec berthctl unpause frozen

        # A paused container stops: the stop thaws it so its init can die.
        bed_exec berthctl pause frozen >/dev/null
        bed_exec berthctl stop -t 1 frozen >/dev/null
        assert_eq "$(state frozen)" 's "exited"' "a paused container stopped"
        assert_fails bed_exec berthctl pause frozen
        assert_match "$FAIL_OUTPUT" "not running" "pause of a stopped container"
        bed_exec berthctl rm frozen >/dev/null
}

test_paused_survives_a_berthd_restart() {
        # systemd keeps the scope frozen while berthd is away; the restarted berthd reads its FreezerState.
        bed_exec berthctl run -d --name asleep "$(B)" sleep 100000 >/dev/null
        bed_exec berthctl pause asleep >/dev/null
        bed_exec systemctl restart berthd
        wait_until 60 is_state asleep paused
        assert_match "$(bed_exec berthctl ps)" 'Up .* \(Paused\) .*asleep$' "ps after the restart"
        assert_eq "$(unit_prop berth-asleep.scope FreezerState)" frozen "still frozen"
        assert_fails bed_exec berthctl pause asleep
        assert_match "$FAIL_OUTPUT" "already paused" "pause after the restart"
        assert_eq "$(bed_exec berthctl unpause asleep)" asleep "unpause after the restart"
        assert_eq "$(state asleep)" 's "running"' "State after unpause"
        # And a running one stays running.
        bed_exec systemctl restart berthd
        wait_until 60 is_state asleep running
        bed_exec berthctl rm -f asleep >/dev/null
}

test_wait_prints_the_exit_code() {
        bed_exec berthctl run -d --name waited "$(B)" sh -c 'trap "exit 7" USR1; touch /ready; while :; do sleep 0.1; done' >/dev/null
        # An init ignores a signal it has no handler for: signal only once the trap is set.
        wait_until 30 bed_exec test -e "/var/lib/berth/containers/$(container_id waited)/diff/ready"
        bed_sh "berthctl wait waited > /run/wait.out 2>&1; echo \$? >> /run/wait.out" &
        local waiter=$!
        # Whether the call is already waiting or comes after the exit, the answer is the same code.
        bed_exec berthctl kill -s USR1 waited >/dev/null
        wait "$waiter"
        assert_eq "$(bed_exec cat /run/wait.out)" $'7\n0' "wait's output and status"
        # On an exited container: at once, the last code; over the bus too, and for anyone.
        assert_eq "$(bed_exec berthctl wait waited)" 7 "wait on an exited container"
        assert_eq "$(bed_nobody busctl call org.berth1 /org/berth1/container/waited org.berth1.Container Wait a{sv} 0)" \
                "i 7" "Container.Wait by nobody"
        assert_fails bed_exec berthctl wait no-such-container
        bed_exec berthctl rm waited >/dev/null
}

test_restart() {
        local d pid1 pid2
        bed_exec berthctl run -d --name again "$(B)" sh -c 'echo started >> /starts; exec sleep 1000' >/dev/null
        d=/var/lib/berth/containers/$(container_id again)/diff
        wait_until 30 bed_exec test -s "$d/starts"
        pid1=$(bed_exec busctl get-property org.berth1 /org/berth1/container/again org.berth1.Container Pid)

        # Returns when it runs again (sleep as PID 1 ignores SIGTERM: killed after 1 s).
        assert_eq "$(bed_exec berthctl restart -t 1 again)" again "restart prints the name"
        assert_eq "$(state again)" 's "running"' "State after restart"
        pid2=$(bed_exec busctl get-property org.berth1 /org/berth1/container/again org.berth1.Container Pid)
        assert_ne "$pid2" "$pid1" "a new init"
        wait_until 30 bash -c "[ \"\$($BERTH_BED exec $BED_DIR cat $d/starts | wc -l)\" = 2 ]"

        # Paused: thawed by the stop, then started again; by the bus form.
        bed_exec berthctl pause again >/dev/null
        M RestartContainer st again 1 >/dev/null
        assert_eq "$(state again)" 's "running"' "State after a restart of a paused container"
        wait_until 30 bash -c "[ \"\$($BERTH_BED exec $BED_DIR cat $d/starts | wc -l)\" = 3 ]"

        # Stopped: restart just starts it.
        bed_exec berthctl stop -t 1 again >/dev/null
        bed_exec berthctl restart again >/dev/null
        assert_eq "$(state again)" 's "running"' "restart of a stopped container"
        bed_exec berthctl rm -f again >/dev/null
}

test_update_lands_on_the_scope_and_stays() {
        bed_exec berthctl run -d --name limited "$(B)" sleep 1000 >/dev/null
        assert_eq "$(bed_exec berthctl update --memory 64m --pids-limit 50 --cpus 0.5 limited)" limited "update prints the name"
        assert_eq "$(unit_prop berth-limited.scope MemoryMax)" 67108864 "MemoryMax on the running scope"
        assert_eq "$(unit_prop berth-limited.scope TasksMax)" 50 "TasksMax on the running scope"
        assert_eq "$(unit_prop berth-limited.scope CPUQuotaPerSecUSec)" 500ms "CPU quota on the running scope"
        # Recorded: the next run's scope has them too; a second update replaces one and keeps the rest.
        bed_exec berthctl restart -t 1 limited >/dev/null
        assert_eq "$(unit_prop berth-limited.scope MemoryMax)" 67108864 "MemoryMax after restart"
        bed_exec berthctl stop -t 1 limited >/dev/null
        bed_exec busctl call org.berth1 /org/berth1/container/limited org.berth1.Container Update 'a(sv)a{sv}' \
                1 MemoryMax t 134217728 0
        bed_exec berthctl start limited >/dev/null
        assert_eq "$(unit_prop berth-limited.scope MemoryMax)" 134217728 "an update of a stopped container, at its start"
        assert_eq "$(unit_prop berth-limited.scope TasksMax)" 50 "the other limits kept"
        assert_match "$(bed_exec berthctl container inspect limited)" '"MemoryMax"' "inspect shows the properties"
        # Favouring the container over the host needs the privileged action; nobody gets neither.
        assert_fails bed_nobody berthctl --no-ask-password update --memory 1g limited
        assert_fails bed_nobody busctl -- call org.berth1 /org/berth1 org.berth1.Manager UpdateContainer 'sa(sv)a{sv}' \
                limited 1 OOMScoreAdjust i -500 0
        assert_match "$FAIL_OUTPUT" "Access denied|not authorized|Interactive authentication required" "UpdateContainer by nobody"
        assert_fails bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager UpdateContainer 'sa(sv)a{sv}' \
                limited 1 ExecStart s /bin/sh 0
        assert_match "$FAIL_OUTPUT" "cannot be set" "a property a scope must not get"
        assert_eq "$(unit_prop berth-limited.scope MemoryMax)" 134217728 "unchanged by the refused ones"
        bed_exec berthctl rm -f limited >/dev/null
}

test_top_lists_the_processes() {
        local out
        bed_exec berthctl run -d --name busy "$(B)" sh -c 'sleep 1001 & sleep 1002 & wait' >/dev/null
        # The two children are started by the shell: wait for them, then list.
        wait_until 30 bash -c "$BERTH_BED exec $BED_DIR berthctl top busy | grep -q 'sleep 1002'"
        out=$(bed_exec berthctl top busy)
        assert_match "$out" '^UID +PID +PPID +CMD$' "the header"
        assert_match "$out" '^root +[0-9]+ +[0-9]+ +sleep 1001$' "a child"
        assert_match "$out" "^root +$(cprop_pid busy) +[0-9]+ +sh -c" "the init"
        assert_no_match "$out" "berth-monitor" "the monitor"
        assert_eq "$(echo "$out" | wc -l)" 4 "header and three processes"
        assert_match "$(bed_nobody busctl call org.berth1 /org/berth1/container/busy org.berth1.Container Top a{sv} 0)" \
                '^a\(us\) 3 ' "Top by nobody"
        bed_exec berthctl rm -f busy >/dev/null
        assert_fails bed_exec berthctl top busy
}

stats_value() {
        bed_exec busctl --json=short call org.berth1 "/org/berth1/container/$1" org.berth1.Container GetStats a{sv} 0 |
                python3 -c "import json,sys; print(json.load(sys.stdin)['data'][0]['$2']['data'])"
}
cpu_moved() { [ "$(stats_value "$1" CPUUsageNSec)" -gt "$2" ]; }

# The bed's cgroup2 has no memory, pids or io controller for the scopes (docs/design.md): systemd reports
# those counters as unknown, and so does stats ("--"); CPU time is in every cgroup2's cpu.stat.
test_stats() {
        local out first
        bed_exec berthctl run -d --name hot "$(B)" sh -c 'while :; do :; done' >/dev/null
        first=$(stats_value hot CPUUsageNSec)
        [ "$first" -ge 0 ] && [ "$first" != 18446744073709551615 ] || fail "CPUUsageNSec: $first"
        wait_until 30 cpu_moved hot "$first"
        out=$(bed_exec berthctl stats --no-stream hot)
        assert_match "$out" '^NAME +CPU % +MEM USAGE / LIMIT +PIDS +NET I/O +BLOCK I/O' "the header"
        assert_match "$out" '^hot +[0-9]+\.[0-9]{2}% ' "a CPU percentage"
        if bed_exec grep -qw memory /sys/fs/cgroup/machine.slice/cgroup.subtree_control; then
                assert_ne "$(stats_value hot MemoryCurrent)" 18446744073709551615 "memory known"
        else
                assert_eq "$(stats_value hot MemoryCurrent)" 18446744073709551615 "memory unknown without the controller"
                assert_match "$out" '^hot +[0-9.]+% +-- / unlimited +-- +[0-9.]+k?B / [0-9.]+k?B +-- / --' \
                        "unknown counters shown as --, network counters known"
        fi
        # NET I/O: the bytes of the container's eth0 (its namespace's links but lo), moved by a ping of the
        # bridge's gateway.
        local rx tx
        rx=$(stats_value hot NetRxBytes) tx=$(stats_value hot NetTxBytes)
        [ "$rx" != 18446744073709551615 ] && [ "$tx" != 18446744073709551615 ] || fail "network counters unknown"
        bed_exec berthctl exec hot ping -c 2 -W 5 10.87.0.1 >/dev/null
        [ "$(stats_value hot NetTxBytes)" -ge $((tx + 2 * 84)) ] || fail "NetTxBytes did not count two pings"
        [ "$(stats_value hot NetRxBytes)" -ge $((rx + 2 * 84)) ] || fail "NetRxBytes did not count two replies"
        bed_exec berthctl run -d --name hostnet --network host "$(B)" sleep 1000 >/dev/null
        assert_eq "$(stats_value hostnet NetRxBytes)" 18446744073709551615 "no counters of its own on the host's network"
        assert_match "$(bed_exec berthctl stats --no-stream hostnet)" '^hostnet .* -- / -- ' "shown as --"
        bed_exec berthctl run -d --name nonet --network none "$(B)" sleep 1000 >/dev/null
        assert_eq "$(stats_value nonet NetTxBytes)" 0 "no network: loopback is not counted"
        bed_exec berthctl rm -f hostnet nonet >/dev/null
        bed_exec berthctl update --memory 64m hot >/dev/null
        assert_match "$(bed_exec berthctl stats --no-stream hot)" '-- / 67.1MB' "the limit after update (MemoryMax, docker's decimal units)"
        assert_ok bed_nobody busctl call org.berth1 /org/berth1/container/hot org.berth1.Container GetStats a{sv} 0
        bed_exec berthctl rm -f hot >/dev/null
        assert_fails bed_exec berthctl stats --no-stream hot
}

test_rename() {
        local id
        bed_exec berthctl run -d --name before "$(B)" sh -c 'echo run >> /runs; echo said-$((40+2)); exec sleep 1000' >/dev/null
        bed_exec berthctl create --name taken "$(B)" true >/dev/null
        id=$(container_id before)
        assert_fails bed_exec berthctl rename before taken
        assert_match "$FAIL_OUTPUT" "already used" "a name in use"
        assert_fails bed_exec berthctl rename before 'bad/name'
        assert_fails bed_nobody berthctl --no-ask-password rename before after

        # Running, as Docker allows: the scope (a unit cannot be renamed), machine and the monitor's journal
        # name stay "before" until it stops; everything berth shows says "after".
        assert_ok bed_exec berthctl rename before after
        assert_eq "$(container_id after)" "$id" "the same container under the new name"
        assert_fails bed_exec busctl get-property org.berth1 /org/berth1/container/before org.berth1.Container Id
        assert_match "$(bed_exec berthctl ps)" ' after$' "ps"
        assert_eq "$(bed_exec busctl get-property org.berth1 /org/berth1/container/after org.berth1.Container Unit)" \
                's "berth-before.scope"' "Unit while it runs"
        assert_match "$(bed_exec berthctl top after)" 'sleep 1000' "top through the old scope"
        bed_exec berthctl update --pids-limit 77 after >/dev/null
        assert_eq "$(unit_prop berth-before.scope TasksMax)" 77 "update lands on the old scope"
        bed_exec berthctl pause after >/dev/null
        assert_eq "$(unit_prop berth-before.scope FreezerState)" frozen "pause freezes the old scope"
        bed_exec berthctl unpause after >/dev/null
        assert_match "$(bed_exec berthctl logs after)" '^said-42$' "logs under the new name"
        assert_match "$(bed_journal -q -o cat CONTAINER_NAME=before)" '^said-42$' "the journal's name of this run"
        # The old name is the scope's until it stops: a new container cannot take it yet.
        assert_fails bed_exec berthctl create --name before "$(B)" true
        assert_match "$FAIL_OUTPUT" "still used by the running scope" "the scope's name"
        # A restarted berthd finds the monitor in the old scope.
        bed_exec systemctl restart berthd
        wait_until 60 is_state after running
        assert_eq "$(bed_exec busctl get-property org.berth1 /org/berth1/container/after org.berth1.Container Unit)" \
                's "berth-before.scope"' "Unit after a restart of berthd"
        bed_exec berthctl stop -t 1 after >/dev/null
        assert_eq "$(state after)" 's "exited"' "stopped through the old scope"
        assert_ok bed_exec berthctl create --name before "$(B)" true
        bed_exec berthctl start after >/dev/null
        assert_eq "$(unit_prop berth-after.scope ActiveState)" active "the new run's scope has the new name"
        assert_eq "$(bed_exec cat /var/lib/berth/containers/$id/diff/runs | wc -l)" 2 "its writable layer kept"
        bed_exec berthctl rm -f after taken before >/dev/null
}

test_nobody_refused() {
        bed_exec berthctl run -d --name guarded "$(B)" sleep 1000 >/dev/null
        for verb in pause unpause restart; do
                assert_fails bed_nobody berthctl --no-ask-password "$verb" guarded
        done
        local c=(org.berth1 /org/berth1/container/guarded org.berth1.Container)
        assert_fails bed_nobody busctl call "${c[@]}" Pause
        assert_match "$FAIL_OUTPUT" "Access denied|not authorized|Interactive authentication required" "Pause by nobody"
        assert_fails bed_nobody busctl call "${c[@]}" Restart t 1
        assert_fails bed_nobody busctl call org.berth1 /org/berth1 org.berth1.Manager PauseContainer s guarded
        assert_eq "$(state guarded)" 's "running"' "nothing changed"
        assert_eq "$(unit_prop berth-guarded.scope FreezerState)" running "not frozen"
        bed_exec berthctl rm -f guarded >/dev/null
}
