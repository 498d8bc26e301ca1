# Device access (docs/security.md): every container's scope carries Docker's default device rules
# (DevicePolicy=strict with DeviceAllow=), so a node a container makes, or finds in a layer, cannot be opened
# unless it is one of the pseudo devices, a terminal or tun; --privileged lifts the rules, --device maps one host
# device, and both need org.berth1.manage-containers-privileged, as do scope properties that favour a container
# over the host. A loop device over a file in the bed's private /tmp stands for "a block device of the host's";
# each case that makes one detaches it on exit (trap), so nothing outlives the case.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
M() { bed_exec busctl --json=short -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }
state() { bed_exec busctl get-property org.berth1 "/org/berth1/container/$1" org.berth1.Container State | cut -d' ' -f2- | tr -d '"'; }
is_state() { [ "$(state "$1")" = "$2" ]; }
MARKER=berth-device-marker-5f1c

# inside NAME NOPTS OPTS… -- SCRIPT : RunContainer sh -c SCRIPT with the options, wait for its exit, print its
# output (from the journal).
inside() {
        local name=$1; shift
        local opts=()
        while [ "$1" != -- ]; do opts+=("$1"); shift; done
        shift
        M RunContainer ssasa{sv} "$(R busybox)" "$name" 3 sh -c "$1" "${opts[@]}" >/dev/null
        wait_until 60 is_state "$name" exited
        # The monitor sent all output before it recorded the exit; bed_journal waits until journald has it.
        bed_journal -o cat --no-pager CONTAINER_NAME="$name" SYSLOG_IDENTIFIER="$name"
}

# loop_make VAR : attach a loop device over a file holding $MARKER (in the bed's /tmp) and set VAR to its
# minor; it is detached and the file removed when the case ends.
LOOPS=()
loop_cleanup() {
        local l
        for l in "${LOOPS[@]}"; do bed_exec losetup -d "$l" || true; done
        bed_exec rm -f /tmp/berth-loop.*
}
loop_make() {
        local file dev
        file=$(bed_exec mktemp /tmp/berth-loop.XXXXXX)
        bed_sh "printf '%s' $MARKER >$file && truncate -s 1M $file"
        dev=$(bed_exec losetup --find --show "$file")
        LOOPS+=("$dev")
        trap loop_cleanup EXIT
        printf -v "$1" '%s' "$(bed_exec cat "/sys/class/block/${dev#/dev/}/dev" | cut -d: -f2)"
        printf -v "${1}_DEV" '%s' "$dev"
}

as_nobody() { bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }

test_setup() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

test_scope_has_dockers_device_rules() {
        local allow
        M RunContainer ssasa{sv} "$(R busybox)" rules 2 sleep 60 0 >/dev/null
        assert_eq "$(unit_prop berth-rules.scope DevicePolicy)" strict "DevicePolicy"
        allow=$(unit_prop berth-rules.scope DeviceAllow | tr ' ' '\n' | paste -d' ' - - | sort)
        assert_eq "$allow" "$(sort <<'RULES'
/dev/char/1:3 rwm
/dev/char/1:5 rwm
/dev/char/1:7 rwm
/dev/char/1:8 rwm
/dev/char/1:9 rwm
/dev/char/5:0 rwm
/dev/char/5:1 rwm
/dev/char/5:2 rwm
/dev/char/10:200 rwm
block-* m
char-* m
char-pts rwm
RULES
)" "DeviceAllow"
        M KillContainer si rules 9 >/dev/null
        wait_until 60 is_state rules exited
}

test_made_block_node_cannot_be_opened() {
        local minor out
        loop_make minor
        out=$(bed_exec berthctl run --rm "$(R busybox)" sh -c "mknod /d b 7 $minor && echo made && head -c 64 /d" 2>&1) &&
                fail "reading the block device succeeded:"$'\n'"$out"
        assert_match "$out" '^made$' "mknod itself is allowed"
        assert_match "$out" 'Operation not permitted' "open fails with EPERM"
        assert_no_match "$out" "$MARKER" "the device's contents"
}

test_block_node_from_a_layer_cannot_be_opened() {
        local minor out
        loop_make minor
        # A layer with a mode-0666 block node: made in a container, committed into an image.
        bed_exec berthctl run --name nodemaker "$(R busybox)" sh -c "mknod -m 0666 /d b 7 $minor" >/dev/null
        bed_exec berthctl commit nodemaker local/blocknode:1 >/dev/null
        bed_exec berthctl rm nodemaker >/dev/null
        out=$(bed_exec berthctl run --rm --user 1000 --cap-drop ALL local/blocknode:1 sh -c 'ls -l /d; head -c 64 /d' 2>&1) &&
                fail "reading the layer's block device succeeded:"$'\n'"$out"
        assert_match "$out" '^brw-rw-rw-' "the node is in the image"
        assert_match "$out" 'Operation not permitted' "open fails with EPERM"
        assert_no_match "$out" "$MARKER" "the device's contents"
}

test_pseudo_devices_and_terminal_still_work() {
        local out
        out=$(bed_exec berthctl run --rm "$(R busybox)" sh -c '
                echo "urandom $(head -c 16 /dev/urandom | wc -c)"
                echo "zero $(head -c 16 /dev/zero | wc -c)"
                echo "random $(head -c 4 /dev/random | wc -c)"
                echo x >/dev/null && echo "null ok"
                echo x >/dev/full 2>/dev/null || echo "full ENOSPC"')
        assert_match "$out" '^urandom 16$' "/dev/urandom"
        assert_match "$out" '^zero 16$' "/dev/zero"
        assert_match "$out" '^random 4$' "/dev/random"
        assert_match "$out" '^null ok$' "/dev/null"
        assert_match "$out" '^full ENOSPC$' "/dev/full"
        # With a terminal: the pts slave is stdio, /dev/tty and /dev/console open, a new pty can be made;
        # the output reaching the journal shows the monitor (in the same scope) still reads the pty master.
        out=$(inside term 1 tty b true -- '
                tty
                echo to-tty >/dev/tty && echo "tty ok"
                echo to-console >/dev/console && echo "console ok"
                ls /dev/pts/
                exec 3<>/dev/ptmx && echo "ptmx ok"')
        assert_match "$out" '^/dev/pts/0' "stdio is the container's pts"
        assert_match "$out" '^tty ok' "/dev/tty"
        assert_match "$out" '^console ok' "/dev/console"
        assert_match "$out" '^ptmx ok' "/dev/ptmx"
}

test_privileged_lifts_the_rules() {
        local minor out
        loop_make minor
        M RunContainer ssasa{sv} "$(R busybox)" privrules 2 sleep 60 1 privileged b true >/dev/null
        assert_eq "$(unit_prop berth-privrules.scope DeviceAllow)" "" "no DeviceAllow"
        assert_ne "$(unit_prop berth-privrules.scope DevicePolicy)" strict "no strict policy"
        M KillContainer si privrules 9 >/dev/null
        out=$(bed_exec berthctl run --rm --privileged "$(R busybox)" sh -c "mknod /d b 7 $minor && head -c 64 /d")
        assert_match "$out" "^$MARKER" "privileged reads the device"
}

test_device_option_maps_exactly_one() {
        local minor other out
        loop_make minor
        loop_make other
        out=$(inside devmap 1 devices as 1 "${minor_DEV}:/dev/xvdc:r" -- "
                ls -l /dev/xvdc
                head -c 64 /dev/xvdc; echo
                echo x >/dev/xvdc 2>&1 || echo 'write denied'
                mknod /e b 7 $other && head -c 64 /e 2>&1 || echo 'other denied'")
        assert_match "$out" '^brw' "the node is made"
        assert_match "$out" "^$MARKER" "the mapped device reads"
        assert_match "$out" '^write denied$' "PERMS r: no write"
        assert_match "$out" '^other denied$' "another block device stays closed"
        M CreateContainer ssasa{sv} "$(R busybox)" devrules 2 sleep 60 1 devices as 1 "${minor_DEV}" >/dev/null
        M StartContainer s devrules >/dev/null
        assert_match "$(unit_prop berth-devrules.scope DeviceAllow)" "/dev/block/7:$minor rwm" "its rule"
        M KillContainer si devrules 9 >/dev/null
        wait_until 60 is_state devrules exited
        # berthctl spells it as Docker does.
        out=$(bed_exec berthctl run --rm --device "${minor_DEV}:/dev/sdz" "$(R busybox)" head -c 64 /dev/sdz)
        assert_match "$out" "^$MARKER" "berthctl --device"
        assert_fails M CreateContainer ssasa{sv} "$(R busybox)" baddev 1 true 1 devices as 1 /dev/null:/etc/null
        assert_match "$FAIL_OUTPUT" 'HOST\[:CONTAINER\]' "a bad device is refused"
}

test_privileged_action_for_devices_and_host_hurting_properties() {
        local out call
        bed_sh 'groupadd -f berth && usermod -a -G berth nobody'
        bed_sh 'mkdir -p /etc/polkit-1/rules.d && cat >/etc/polkit-1/rules.d/50-berth.rules' <<'RULES'
polkit.addRule(function(action, subject) {
        if (action.id == "org.berth1.manage-containers" && subject.isInGroup("berth"))
                return polkit.Result.YES;
});
RULES
        wait_until 60 as_nobody CreateContainer ssasa{sv} "$(R busybox)" okgrp 1 true 0
        while read -r call; do
                # shellcheck disable=SC2086
                out=$(as_nobody CreateContainer ssasa{sv} "$(R busybox)" pkdev 1 true 1 $call 2>&1) &&
                        fail "the group may: $call"
                assert_match "$out" 'Interactive authentication required' "$call"
        done <<CALLS
devices as 1 /dev/null
properties a(sv) 1 OOMScoreAdjust i -500
properties a(sv) 1 Nice i -5
properties a(sv) 1 MemoryMin t 1048576
properties a(sv) 1 MemoryLow t 1048576
properties a(sv) 1 CPUWeight t 1000
properties a(sv) 1 StartupCPUWeight t 1000
properties a(sv) 1 IOWeight t 1000
properties a(sv) 1 StartupIOWeight t 1000
properties a(sv) 1 Delegate b false
properties a(sv) 1 DevicePolicy s auto
properties a(sv) 1 DeviceAllow a(ss) 1 /dev/loop0 rwm
CALLS
        # What only costs the container itself stays ordinary.
        assert_ok as_nobody CreateContainer ssasa{sv} "$(R busybox)" pkok 1 true 1 properties a\(sv\) 5 \
                OOMScoreAdjust i 500 Nice i 5 CPUWeight t 50 IOWeight t 100 MemoryMax t 67108864
        # An admin may: the rules reach the scope.
        M RunContainer ssasa{sv} "$(R busybox)" pkadmin 2 sleep 60 1 properties a\(sv\) 2 DevicePolicy s auto \
                DeviceAllow a\(ss\) 1 /dev/loop0 r >/dev/null
        assert_match "$(unit_prop berth-pkadmin.scope DeviceAllow)" '/dev/loop0 r' "an admin's DeviceAllow"
        assert_eq "$(unit_prop berth-pkadmin.scope DevicePolicy)" auto "an admin's DevicePolicy"
        M KillContainer si pkadmin 9 >/dev/null
        # A container an admin made with such properties is not the group's to start.
        M CreateContainer ssasa{sv} "$(R busybox)" pkstart 1 true 1 properties a\(sv\) 1 OOMScoreAdjust i -900 >/dev/null
        out=$(as_nobody StartContainer s pkstart 2>&1) && fail "group may start a container with OOMScoreAdjust=-900"
        assert_match "$out" 'Interactive authentication required' "start with host-hurting properties"
}

# Docker's view on a cgroup2 host: a cgroup namespace rooted at the container's own cgroup (its scope) and a
# read-only cgroup2 mount of it; berth-monitor, which shares the scope, sits in a "supervisor" child cgroup so
# that the scope's cgroup.procs lists the container's processes only. The bed's scopes get no memory
# controller (design.md), so memory.max is checked where it exists.
test_container_sees_its_own_cgroup() {
        local out
        out=$(inside cgview 1 properties a\(sv\) 1 MemoryMax t 67108864 -- '
                echo "self $(cat /proc/self/cgroup)"
                grep " /sys/fs/cgroup " /proc/self/mountinfo | sed "s/^/mount /"
                echo "procs $(tr "\n" " " </sys/fs/cgroup/cgroup.procs)"
                ls /sys/fs/cgroup | sed "s/^/entry /"
                mkdir /sys/fs/cgroup/x 2>/dev/null && echo "write ok" || echo "write denied"
                [ -e /sys/fs/cgroup/memory.max ] && echo "memory.max $(cat /sys/fs/cgroup/memory.max)" || echo "memory.max absent"')
        # (On these hybrid hosts the v1 hierarchies are listed too, each at "/" in the namespace.)
        assert_match "$out" '^(self )?0::/$' "the container's cgroup is its namespace's root"
        assert_match "$out" '^mount .* /sys/fs/cgroup ro,.* - cgroup2 ' "a read-only cgroup2 mount"
        assert_match "$out" '^procs 1( [0-9]+)* $' "cgroup.procs: container processes only"
        assert_no_match "$out" '^procs .*(^| )0 ' "no process from outside the namespace"
        assert_match "$out" '^entry cgroup.procs$' "the cgroup's files"
        assert_match "$out" '^write denied$' "not writable"
        assert_match "$out" '^memory.max (67108864|absent)$' "memory.max is MemoryMax where the controller exists"
        # The monitor writes the output from its supervisor cgroup: journald still files it under the scope.
        assert_match "$(bed_journal -o cat --no-pager _SYSTEMD_UNIT=berth-cgview.scope)" '^self ' \
                "output attributed to the scope"
        # Privileged: writable, as in Docker.
        out=$(inside cgpriv 1 privileged b true -- 'grep " /sys/fs/cgroup " /proc/self/mountinfo | sed "s/^/mount /"')
        assert_match "$out" '^mount .* /sys/fs/cgroup rw,.* - cgroup2 ' "privileged: writable"
}

test_monitor_in_supervisor_cgroup_survives_daemon_restart() {
        local scope=/sys/fs/cgroup/machine.slice/berth-cgrun.scope pid
        M RunContainer ssasa{sv} "$(R busybox)" cgrun 2 sleep 120 0 >/dev/null
        pid=$(bed_exec busctl get-property org.berth1 /org/berth1/container/cgrun org.berth1.Container Pid | cut -d' ' -f2)
        assert_eq "$(bed_exec cat $scope/cgroup.procs)" "$pid" "the scope holds the container's init"
        assert_match "$(bed_exec cat $scope/supervisor/cgroup.procs)" '^[0-9]+$' "the monitor is in supervisor"
        # berthd re-adopts the monitor where it now lives.
        bed_exec systemctl restart berthd.service
        wait_until 60 bed_exec busctl get-property org.berth1 /org/berth1/container/cgrun org.berth1.Container State
        assert_eq "$(state cgrun)" running "still running after berthd restarted"
        M KillContainer si cgrun 9 >/dev/null
        wait_until 60 is_state cgrun exited
}
