# A full disk under berth's store: /var/lib/berth inside the bed is a small tmpfs (mounted in the bed's own mount
# namespace, so it vanishes with the bed and the host never sees it; a tmpfs fills up like any filesystem and
# `mount -o remount,size=` grows it without touching what is on it). A pull that does not fit, a container
# writing until the disk is full, and berthd's own metadata writes meanwhile: each fails with a readable "no
# space" error, leaves nothing half-made, and works again once there is room. Cases run in order in one bed.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }

# store_size SIZE : grow or shrink the store's tmpfs (never below what it holds)
store_size() { bed_exec mount -o "remount,size=$1" /var/lib/berth; }
# store_avail : free bytes in the store
store_avail() { echo $(( $(bed_exec stat -f -c '%a*%S' /var/lib/berth) )); }
# leftovers : half-made layers, images or containers (temp dirs and temp files), one a line
leftovers() {
        bed_sh 'cd /var/lib/berth && { ls -d layers/.tmp-* images/.tmp-* containers/.tmp-* 2>/dev/null
                find . -xdev -name ".#*" 2>/dev/null; }; true'
}
berthd_pid() { unit_prop berthd.service MainPID; }
is_state() { [ "$(bed_exec berthctl container inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["Status"])')" = "$2" ]; }
# json_ok FILE : FILE inside the bed is whole JSON; prints its "status" member if it has one
json_ok() {
        bed_exec python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(d.get("status", "") if isinstance(d, dict) else "")' "$1" ||
                fail "$1 is not whole JSON: $(bed_exec head -c 300 "$1")"
}
cid() { bed_exec berthctl container inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }

test_store_on_small_tmpfs() {
        # berthd is not running yet (the bed starts it on the first call): mount before it opens the store.
        assert_eq "$(bed_exec systemctl show -P ActiveState berthd.service)" inactive "berthd before the test"
        bed_exec mount -t tmpfs -o size=24M,mode=0700 berth-full-test /var/lib/berth
        assert_match "$(bed_exec findmnt -n -o FSTYPE /var/lib/berth)" '^tmpfs$' "store filesystem"
        # …and only inside the bed.
        assert_no_match "$(cat /proc/self/mountinfo)" 'berth-full-test' "host mount table"
        bed_exec berthctl pull "$(R busybox)" >/dev/null
        bed_exec berthctl run --rm "$(R busybox)" true
        echo "free after busybox: $(store_avail) bytes"
}

test_pull_bigger_than_free_space() {
        local pid out
        pid=$(berthd_pid)
        # big's own layer is 64 MB of incompressible files: it cannot fit in the ~20 MB left.
        assert_fails bed_exec berthctl pull "$(R big)"
        echo "$FAIL_OUTPUT" | tail -n 3
        assert_match "$FAIL_OUTPUT" '^Error: .*[Nn]o space left' "error names the lack of space"
        assert_eq "$(berthd_pid)" "$pid" "berthd's PID"
        assert_eq "$(leftovers)" "" "half-made things in the store"
        assert_no_match "$(bed_exec berthctl image ls)" "$(R big) " "half-pulled image listed"
        # The failed layer's space is given back: as much free as before, give or take the metadata pages.
        [ "$(store_avail)" -gt $((16 * 1024 * 1024)) ] || fail "space not given back: $(store_avail) bytes free"
        # The error is in the journal with its D-Bus name.
        out=$(bed_journal -o json --no-pager _SYSTEMD_UNIT=berthd.service)
        assert_match "$out" '"BERTH_ERROR_NAME":"org.berth1.Error.NoSpace"' "error name in the journal"

        # Room made: the same pull succeeds, and the earlier image still runs.
        store_size 256M
        out=$(bed_exec berthctl pull "$(R big)")
        assert_match "$out" "Status: Downloaded newer image for $(R big):latest" "pull after growing the store"
        assert_eq "$(bed_sh 'find /var/lib/berth/layers/*/diff/big -type f | wc -l')" 2000 "files of the big layer"
        bed_exec berthctl run --rm "$(R busybox)" true
        assert_eq "$(berthd_pid)" "$pid" "berthd's PID at the end"
}

test_container_fills_the_disk() {
        local pid id out
        pid=$(berthd_pid)
        bed_exec berthctl image rm "$(R big)" >/dev/null
        # Removed layers go to a trash dir that empties in the background: wait for the space to come back.
        wait_until 60 bash -c '[ "$(($('"$BERTH_BED"' exec '"$BED_DIR"' stat -f -c "%a*%S" /var/lib/berth)))" -gt $((200 * 1024 * 1024)) ]'
        store_size 40M
        # The output goes to the journal (another filesystem), so the container can report after filling.
        bed_exec berthctl run -d --name filler "$(R busybox)" sh -c \
                'dd if=/dev/zero of=/fill bs=65536; echo "dd-exit=$?"; echo x > /after || echo "after-write-failed"; exec sleep 100000' >/dev/null
        wait_until 60 bash -c "$BERTH_BED exec $BED_DIR journalctl -o cat --no-pager CONTAINER_NAME=filler | grep -q after-write"
        out=$(bed_journal -o cat --no-pager CONTAINER_NAME=filler)
        echo "$out"
        assert_match "$out" 'No space left on device' "dd's error inside the container"
        assert_match "$out" '^dd-exit=1$' "dd's exit status"
        assert_match "$out" '^after-write-failed$' "a later write fails too"
        assert_eq "$(store_avail)" 0 "free bytes with the disk full"
        id=$(cid filler)

        # The container's own files are whole, and it is still running.
        assert_eq "$(json_ok /var/lib/berth/containers/$id/state.json)" running "state.json"
        json_ok "/var/lib/berth/containers/$id/config.json" >/dev/null
        assert_eq "$(berthd_pid)" "$pid" "berthd's PID"

        # berthd's metadata writes fail cleanly while the disk is full.
        assert_fails bed_exec berthctl tag "$(R busybox)" "$(R busybox):full"
        echo "tag: $FAIL_OUTPUT"
        assert_match "$FAIL_OUTPUT" '[Nn]o space left' "tag's error"
        assert_no_match "$(bed_exec berthctl image ls)" ' full ' "tag made"
        assert_fails bed_exec berthctl create --name other "$(R busybox)" true
        echo "create: $FAIL_OUTPUT"
        assert_match "$FAIL_OUTPUT" '[Nn]o space left' "create's error"
        assert_no_match "$(bed_exec berthctl ps -a)" ' other$' "container listed"
        assert_eq "$(leftovers)" "" "half-made things in the store"
        assert_eq "$(berthd_pid)" "$pid" "berthd's PID after the failed writes"

        # stop and start work on a full disk, and the container's files stay whole.
        bed_exec berthctl stop -t 1 filler >/dev/null
        wait_until 60 is_state filler exited
        assert_eq "$(json_ok /var/lib/berth/containers/$id/state.json)" exited "state.json after stop"
        # The monitor recorded the real end (SIGTERM ignored by sh as PID 1, then SIGKILL), not "no exit recorded".
        assert_match "$(bed_exec berthctl container inspect filler | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["ExitCode"])')" \
                '^(137|143)$' "exit code after stop"
        bed_exec berthctl start filler >/dev/null
        wait_until 60 is_state filler running
        bed_exec berthctl stop -t 1 filler >/dev/null
        wait_until 60 is_state filler exited
        json_ok "/var/lib/berth/containers/$id/config.json" >/dev/null
        assert_eq "$(berthd_pid)" "$pid" "berthd's PID after stop and start"

        # rm frees the space; then the same metadata writes succeed.
        bed_exec berthctl rm filler >/dev/null
        wait_until 60 bash -c '[ "$(($('"$BERTH_BED"' exec '"$BED_DIR"' stat -f -c "%a*%S" /var/lib/berth)))" -gt $((30 * 1024 * 1024)) ]'
        bed_exec berthctl tag "$(R busybox)" "$(R busybox):full"
        assert_match "$(bed_exec berthctl image ls)" ' full ' "tag after freeing"
        bed_exec berthctl create --name other "$(R busybox)" true >/dev/null
        bed_exec berthctl start -a other
        assert_eq "$(leftovers)" "" "half-made things at the end"
        assert_eq "$(berthd_pid)" "$pid" "berthd's PID at the end"
}
