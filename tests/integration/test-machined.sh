# Containers registered with systemd-machined (bus-activated in the bed, as on a host with systemd-container):
# `machinectl list` and `machinectl status` show a running container as class container, service berth, with its
# scope, leader and address; the machine goes when the container ends, comes back with a restarted berthd, and is never
# one berth did not register. Registration is best effort: with machined masked, containers run as before.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
M() { bed_exec busctl --json=short -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }
cprop() {
        bed_exec busctl get-property org.berth1 "/org/berth1/container/$1" org.berth1.Container "$2" |
                cut -d' ' -f2- | tr -d '"'
}
# machine NAME PROPERTY : a property of machined's machine (machinectl show --value)
machine() { bed_exec machinectl show --value -p "$2" "$1"; }
machines() { bed_exec machinectl list --no-legend --no-pager; }
is_machine() { bed_exec machinectl show -p Name "$1"; }
machine_gone() { ! is_machine "$1"; }
is_state() { [ "$(cprop "$1" State)" = "$2" ]; }

test_setup_pull() {
        bed_exec berthctl pull -q "$(R busybox)" >/dev/null
}

test_running_container_is_listed() {
        bed_exec berthctl run -d --name web "$(R busybox)" sleep 1000 >/dev/null
        # Registered before RunContainer answered: machined has the RegisterMachine call before any later one.
        assert_match "$(machines)" '^web +container +berth ' "machinectl list"
        assert_eq "$(machine web Class)" container "class"
        assert_eq "$(machine web Service)" berth "service"
        assert_eq "$(machine web Unit)" berth-web.scope "unit"
        assert_eq "$(machine web Leader)" "$(cprop web Pid)" "leader is the container's init"
        # The machine id is the container id's first 128 bits.
        assert_eq "$(machine web Id)" "$(cprop web Id | cut -c1-32)" "machine id"
}

test_status_shows_scope_and_leader() {
        local out pid
        pid=$(cprop web Pid)
        out=$(bed_exec machinectl status --no-pager web)
        assert_match "$out" "^web\\($(cprop web Id | cut -c1-32)\\)" "name and id"
        assert_match "$out" "Leader: $pid \\(sleep\\)" "leader"
        assert_match "$out" "Service: berth; class container" "service and class"
        assert_match "$out" "Unit: berth-web\\.scope" "unit"
        # A clone of berthd's monitor server (monitor/monitor-server.h): its command line is blanked to the name.
        assert_match "$out" "[0-9]+ berth-monitor *\$" "the monitor in the scope's tree"
        assert_match "$out" "$pid sleep 1000" "the container's init in the scope's tree"
        # machined's GetMachineAddresses enters the leader's network namespace: the container's address.
        assert_match "$(cprop web IPAddress)" '^10\.87\.' "web's address on the bridge"
        assert_match "$out" "Address: $(cprop web IPAddress | sed 's/\./\\./g')\$" "the address in machinectl status"
        assert_match "$(bed_exec busctl call org.freedesktop.machine1 /org/freedesktop/machine1 \
                org.freedesktop.machine1.Manager GetMachineAddresses s web)" \
                "^a\\(iay\\) [0-9]+ 2 4 $(cprop web IPAddress | tr . ' ') " "GetMachineAddresses: the IPv4 one first"
}

test_machine_goes_when_the_container_stops() {
        bed_exec berthctl stop -t 1 web >/dev/null
        # Unregistered before StopContainer answered: no stale machine right after.
        assert_no_match "$(machines)" '^web ' "machinectl list after stop"
        assert_fails is_machine web
        # Back with a new leader on the next start.
        bed_exec berthctl start web >/dev/null
        assert_eq "$(machine web Leader)" "$(cprop web Pid)" "new leader after start"
        bed_exec berthctl kill web >/dev/null
        wait_until 60 is_state web exited
        assert_fails is_machine web
}

test_restart_waits_until_machined_dropped_the_old_machine() {
        local machined pid1 pid2 restart waited=0
        bed_exec berthctl run -d --name again "$(R busybox)" sleep 1000 >/dev/null
        pid1=$(cprop again Pid)
        assert_eq "$(machine again Leader)" "$pid1" "registered"
        # machined collects a machine whose scope has gone by stopping the unit of that name. Had it not yet
        # taken berthd's UnregisterMachine when the next run's scope of the same name starts, that stop would
        # end the new container; so the new scope waits for machined's answer, here while machined is stopped.
        machined=$(unit_prop systemd-machined.service MainPID)
        [ "$machined" -gt 1 ] || fail "no systemd-machined to stop ($machined)"
        bed_exec kill -STOP "$machined"
        bed_exec berthctl restart -t 0 again >/dev/null &
        restart=$!
        # (machined goes on whatever happens, so that the cases after this one have it)
        (wait_until 60 is_state again created) && waited=1
        bed_exec kill -CONT "$machined"
        wait "$restart"
        [ "$waited" = 1 ] || fail "the restart did not wait for machined"
        assert_eq "$(cprop again State)" running "running once machined answered"
        pid2=$(cprop again Pid)
        assert_ne "$pid2" "$pid1" "a new init"
        assert_eq "$(machine again Leader)" "$pid2" "the new machine's leader"
        assert_eq "$(unit_prop berth-again.scope Job)" "" "no job on the new scope"
        bed_exec berthctl rm -f again >/dev/null
}

test_a_start_failing_while_it_waits_for_machined_stays_failed() {
        local machined waited=0
        bed_exec berthctl run -d --name porta -p 18080:80 "$(R busybox)" sleep 1000 >/dev/null
        assert_ok is_machine porta
        machined=$(unit_prop systemd-machined.service MainPID)
        [ "$machined" -gt 1 ] || fail "no systemd-machined to stop ($machined)"
        bed_exec kill -STOP "$machined"
        # porta's machine is being dropped while machined is stopped; another container takes its port; porta's
        # start then waits for machined's answer before its scope, and fails meanwhile on the port.
        bed_exec berthctl stop -t 0 porta >/dev/null
        bed_exec berthctl run -d --name portb -p 18080:80 "$(R busybox)" sleep 1000 >/dev/null
        assert_fails bed_exec berthctl start porta
        assert_match "$FAIL_OUTPUT" "18080.* already in use" "the start's own failure"
        (assert_eq "$(cprop porta State)" exited "failed while it waited") && waited=1
        bed_exec kill -CONT "$machined"
        [ "$waited" = 1 ] || fail "porta's failed start did not end"
        # machined answers berthd before it answers us: once porta's machine is gone, berthd has heard.
        wait_until 60 machine_gone porta
        assert_fails bed_exec systemctl is-active -q berth-porta.scope
        assert_no_match "$(bed_journal -u berthd -p warning --no-pager -o cat)" 'berth-porta\.scope|scope of porta' "no scope asked for later"
        bed_exec berthctl rm -f portb >/dev/null
        bed_exec berthctl start porta >/dev/null
        assert_eq "$(machine porta Leader)" "$(cprop porta Pid)" "started and registered once the port is free"
        bed_exec berthctl rm -f porta >/dev/null
}

test_generated_name_becomes_a_hostname() {
        local name
        bed_exec berthctl run -d "$(R busybox)" sleep 1000 >/dev/null
        name=$(M ListContainers b false | python3 -c '
import json, sys
print(next(c[1] for c in json.load(sys.stdin)["data"][0] if c[1] != "web"))')
        assert_match "$name" '^[a-z]+_[a-z]+$' "generated name"
        # machined takes hostnames only: adjective_noun is registered as adjective-noun.
        assert_eq "$(machine "${name/_/-}" Unit)" "berth-$name.scope" "machine of a generated name"
        bed_exec berthctl rm -f "$name" >/dev/null
        assert_fails is_machine "${name/_/-}"
}

test_machinectl_terminate_is_recorded() {
        bed_exec berthctl run -d --name term "$(R busybox)" sh -c 'trap "exit 9" TERM; while :; do sleep 0.1; done' >/dev/null
        bed_exec machinectl terminate term
        wait_until 60 is_state term exited
        assert_eq "$(cprop term ExitCode)" 9 "the container's own exit code"
        assert_fails is_machine term
}

test_registration_survives_berthd_restart() {
        local pid
        bed_exec berthctl run -d --name lasting "$(R busybox)" sleep 1000 >/dev/null
        pid=$(cprop lasting Pid)
        bed_exec systemctl restart berthd
        assert_eq "$(machine lasting Leader)" "$pid" "still registered"
        # The restarted berthd knows the machine as its own and drops it when the container ends.
        bed_exec berthctl stop -t 1 lasting >/dev/null
        assert_fails is_machine lasting
}

test_foreign_machine_of_the_same_name_is_left_alone() {
        local leader
        # Someone else's machine called "clash" (a service's process as leader, registered by hand).
        bed_exec systemd-run --quiet --unit=foreign-clash sleep 1000
        leader=$(unit_prop foreign-clash.service MainPID)
        bed_exec busctl call org.freedesktop.machine1 /org/freedesktop/machine1 org.freedesktop.machine1.Manager \
                RegisterMachine sayssus clash 0 other container "$leader" ""
        # berth's container of that name runs all the same, unregistered,
        bed_exec berthctl run -d --name clash "$(R busybox)" sleep 1000 >/dev/null
        assert_eq "$(cprop clash State)" running "container runs"
        assert_eq "$(machine clash Service)" other "the foreign machine stays"
        # and its end does not take the other machine with it.
        bed_exec berthctl rm -f clash >/dev/null
        assert_eq "$(machine clash Leader)" "$leader" "the foreign machine outlives berth's container"
        bed_exec systemctl stop foreign-clash.service
}

test_containers_run_without_machined() {
        bed_exec systemctl mask --runtime --now systemd-machined.service >/dev/null 2>&1
        assert_fails bed_exec machinectl list
        bed_exec berthctl run -d --name solo "$(R busybox)" sleep 1000 >/dev/null
        assert_eq "$(cprop solo State)" running "runs without machined"
        assert_match "$(bed_exec systemctl show -P ActiveState berth-solo.scope)" '^active$' "scope"
        assert_eq "$(bed_exec berthctl run --rm "$(R busybox)" sh -c 'echo ok')" ok "run --rm without machined"
        # Nothing above warning level about it.
        assert_no_match "$(bed_journal -u berthd -p warning --no-pager -o cat)" 'machine' "berthd's warnings"
        # Once machined is back, a restarted berthd registers what runs.
        bed_exec systemctl unmask --runtime systemd-machined.service >/dev/null 2>&1
        bed_exec systemctl restart berthd
        wait_until 60 is_machine solo
        assert_eq "$(machine solo Leader)" "$(cprop solo Pid)" "registered on adoption"
        bed_exec berthctl stop -t 1 solo >/dev/null
        assert_fails is_machine solo
        # And stop with machined gone again still works.
        bed_exec berthctl start solo >/dev/null
        bed_exec systemctl mask --runtime --now systemd-machined.service >/dev/null 2>&1
        bed_exec berthctl stop -t 1 solo >/dev/null
        assert_eq "$(cprop solo State)" exited "stopped without machined"
}
