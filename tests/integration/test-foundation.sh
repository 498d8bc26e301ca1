# The foundation, as a user meets it: berthd started by D-Bus activation under a real systemd, its API as the
# contract says, its journal entries and catalog, a clean stop and a restart on the next call, and the D-Bus
# policy. Cases run in this order in one fresh bed (see lib.sh).

version_call=(busctl call org.berth1 /org/berth1 org.freedesktop.DBus.Properties Get ss org.berth1.Manager Version)
start_id=74668267a41b46da96214f267c6d8f40
stop_id=cbcf9a8681d9465aa48ce6cc61280b24

test_bus_activation() {
        # Nothing has called org.berth1 yet in this bed.
        assert_eq "$(unit_prop berthd.service ActiveState)" inactive "berthd before the first call"
        local out
        out=$(bed_exec "${version_call[@]}")
        assert_match "$out" '^v s "[0-9]+\.[0-9]+' "Version"
        assert_eq "$(bed_exec systemctl is-active berthd)" active "berthd after the first call"
        assert_eq "$(unit_prop berthd.service Type)" notify "berthd.service Type"
        # Activated through the bus, by the name the unit declares.
        assert_eq "$(unit_prop berthd.service BusName)" org.berth1 "BusName"
        assert_match "$(bed_exec busctl status org.berth1)" '^Unit=berthd\.service' "owner of org.berth1"
}

test_introspection_matches_contract() {
        bed_exec busctl introspect --xml-interface org.berth1 /org/berth1 > "$TEST_TMP/live.xml"
        python3 "$BERTH_SRC/tests/integration/introspect-compare.py" \
                "$BERTH_SRC/dbus/org.berth1.Manager.xml" "$TEST_TMP/live.xml" org.berth1.Manager
        # The installed copy of the contract is the tree's.
        bed_exec cat /usr/share/dbus-1/interfaces/org.berth1.Manager.xml | cmp - "$BERTH_SRC/dbus/org.berth1.Manager.xml"
}

test_journal_start_message() {
        bed_exec systemctl start berthd
        local json
        json=$(bed_journal -o json --no-pager MESSAGE_ID=$start_id)
        assert_match "$json" '"BERTH_VERSION":"[0-9]+\.[0-9]+' "structured start entry"
        assert_match "$json" '"_SYSTEMD_UNIT":"berthd\.service"' "start entry's unit"
        # journalctl -x explains it with berth's catalog (installed to the bed, catalog database updated).
        local x
        x=$(bed_journal -x --no-pager MESSAGE_ID=$start_id)
        assert_match "$x" 'Subject: berthd started' "journalctl -x"
        assert_match "$(bed_exec journalctl --list-catalog $start_id)" 'berthd started' "journalctl --list-catalog"
}

test_sigterm_stops_cleanly_and_reactivates() {
        bed_exec systemctl start berthd
        local pid1 pid2 stops
        pid1=$(unit_prop berthd.service MainPID)
        assert_ne "$pid1" 0 "MainPID"
        stops=$(bed_journal -o cat --no-pager MESSAGE_ID=$stop_id | wc -l)
        bed_exec systemctl kill -s TERM berthd
        wait_until 60 test "$(unit_prop berthd.service ActiveState)" = inactive
        assert_eq "$(unit_prop berthd.service ActiveState)" inactive "after SIGTERM"
        assert_eq "$(unit_prop berthd.service Result)" success "Result after SIGTERM"
        if bed_exec systemctl is-failed --quiet berthd; then fail "berthd.service is failed after SIGTERM"; fi
        wait_until 60 test "$(bed_journal -o cat --no-pager MESSAGE_ID=$stop_id | wc -l)" -gt "$stops"
        assert_match "$(bed_journal -o json --no-pager MESSAGE_ID=$stop_id)" '"_SYSTEMD_UNIT":"berthd\.service"' \
                "stop entry's unit"

        # The next call starts it again.
        assert_match "$(bed_exec "${version_call[@]}")" '^v s "' "Version after the restart"
        assert_eq "$(bed_exec systemctl is-active berthd)" active "after the next call"
        pid2=$(unit_prop berthd.service MainPID)
        assert_ne "$pid2" "$pid1" "MainPID after reactivation"

        # kill(1) of the main process by its PID behaves the same.
        bed_exec kill -TERM "$pid2"
        wait_until 60 test "$(unit_prop berthd.service ActiveState)" = inactive
        assert_eq "$(unit_prop berthd.service Result)" success "Result after kill"
        assert_match "$(bed_exec "${version_call[@]}")" '^v s "' "Version after the second restart"
}

test_bus_policy() {
        bed_exec systemctl start berthd
        # Only root may own org.berth1.
        assert_fails bed_nobody busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                RequestName su org.berth1 0
        assert_match "$FAIL_OUTPUT" 'not allowed to own|Access denied|AccessDenied' "nobody's RequestName"
        # Anyone may call it: root and nobody read Version.
        assert_match "$(bed_exec "${version_call[@]}")" '^v s "' "root reads Version"
        assert_match "$(bed_nobody "${version_call[@]}")" '^v s "' "nobody reads Version"
        # And the service kept its name.
        assert_match "$(bed_exec busctl status org.berth1)" '^Unit=berthd\.service' "owner of org.berth1"
}

# The bed works from a checkout anywhere, /var/tmp included (README): a second bed whose directory lies under /var
# runs a container (its state must not be reached through the bed's /var overlay, where the kernel refuses a
# container's upper dir) and sees the files the host shares with it.
test_a_bed_under_var_tmp() {
        local dead
        # Global, for the trap.
        d=$(mktemp -d /var/tmp/berth-bed-test.XXXXXX)
        # A bed's cgroup whose run was killed outright (its creator gone, no process in it) is removed by the
        # next start; one whose creator lives (a bed starting) is not.
        sleep 0 &
        dead=$!
        wait "$dead"
        stale=/sys/fs/cgroup/unified/berth-bed-$dead-stale-test
        starting=/sys/fs/cgroup/unified/berth-bed-$BASHPID-starting-test
        trap '"$BERTH_SRC/tests/bed/bed" stop "$d/bed" >/dev/null 2>&1; rm -rf "$d"
                rmdir "$stale/system.slice" "$stale" "$starting" 2>/dev/null || true' EXIT
        mkdir -p "$stale/system.slice" "$starting"
        "$BERTH_SRC/tests/bed/bed" start "$d/bed" "$BERTH_BUILD/integration/destdir" > "$d/boot.log" 2>&1 ||
                fail "the bed under /var/tmp did not boot: $(tail -n 5 "$d/boot.log")"
        assert_fails test -d "$stale"
        assert_match "$(cat "$d/boot.log")" "removing $stale, left by a bed that was never stopped" "said so"
        assert_ok test -d "$starting"
        rmdir "$starting"
        echo from-the-host > "$d/bed/share/note"
        assert_eq "$("$BERTH_SRC/tests/bed/bed" exec "$d/bed" cat /run/bed-share/note)" from-the-host "shared file"
        assert_ne "$("$BERTH_SRC/tests/bed/bed" exec "$d/bed" stat -f -c %T /var/lib/berth)" overlayfs "state dir"
        "$BERTH_SRC/tests/bed/bed" exec "$d/bed" berthctl run --rm "$BERTH_TEST_REGISTRY/busybox" \
                echo ran-under-var-tmp > "$d/run.out" 2>&1 || fail "run in the bed under /var/tmp: $(cat "$d/run.out")"
        assert_match "$(cat "$d/run.out")" '^ran-under-var-tmp$' "the container's output"
}

# systemctl reload berthd reads berth.conf again, in place: a new [Store] limit holds for the next pull (the
# reload returns once it is in use), berthd keeps its PID, and a broken file leaves the settings in use.
test_reload_rereads_berth_conf() {
        local pid
        pid=$(unit_prop berthd.service MainPID)
        bed_sh "mkdir -p /etc/berth && printf '[Store]\nMaxLayerSize=1K\n' > /etc/berth/berth.conf"
        bed_exec systemctl reload berthd
        assert_fails bed_exec berthctl pull "$BERTH_TEST_REGISTRY/busybox"
        assert_match "$FAIL_OUTPUT" '^Error: .*MaxLayerSize=' "the reloaded limit"

        bed_sh "printf '[Store]\nMaxLayerSize=bogus\n' > /etc/berth/berth.conf"
        bed_exec systemctl reload berthd
        assert_fails bed_exec berthctl pull "$BERTH_TEST_REGISTRY/busybox"
        assert_match "$FAIL_OUTPUT" '^Error: .*MaxLayerSize=' "the limit in use, kept over a broken file"

        bed_exec rm /etc/berth/berth.conf
        bed_exec systemctl reload berthd
        assert_match "$(bed_exec berthctl pull "$BERTH_TEST_REGISTRY/busybox")" 'Status: Downloaded newer image' \
                "pull with the defaults again"
        assert_eq "$(unit_prop berthd.service MainPID)" "$pid" "berthd's PID"
        assert_eq "$(unit_prop berthd.service ActiveState)" active "berthd's state"
        bed_exec berthctl image rm "$BERTH_TEST_REGISTRY/busybox" >/dev/null
}
