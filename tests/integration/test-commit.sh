# berthctl commit / CommitContainer: a container's writable layer becomes an image layer on top of its image's.
# The committed image's tree is the container's view, its first layers are the parent's, it outlives the
# parent's tag, its history has every layer; a running container is frozen for the copy and keeps running.
# Cases run in order in one bed.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
CHILD() { R busybox-child; }
# The listing both containers print: every path of the root file system, and what the touched files hold.
LIST='find / -xdev | sort; md5sum /new-file /etc/passwd /opt/data/d /newdir/hard; readlink /newdir/link;
stat -c "%n %h %a %u:%g" /new-file /newdir/hard /opt/data /etc/passwd'
# layers REF : the image's Layers property (diff ids, bottom first), one per line
layers() {
        local path
        path=$(bed_exec busctl --json=short call org.berth1 /org/berth1 org.berth1.Manager GetImage s "$1" |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])')
        bed_exec busctl --json=short get-property org.berth1 "$path" org.berth1.Image Layers |
                python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["data"]))'
}
n_layer_dirs() { bed_sh 'ls /var/lib/berth/layers | grep -c "^[0-9a-f]\{64\}$"'; }

# counter_above NAME N : the container's /counter holds a number above N
counter_above() { [ "$(bed_exec berthctl exec "$1" cat /counter)" -gt "$2" ]; }

test_setup_pull() {
        bed_exec berthctl pull "$(CHILD)" >/dev/null
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

test_commit_gives_the_containers_view() {
        local before after id
        # Created, changed and deleted files: one from the base layer, one from busybox-child's own layer, a
        # whole directory, a directory replaced (opaque), a hardlink and a symlink.
        bed_exec berthctl run --name changer "$(CHILD)" sh -c 'echo created > /new-file; echo changed >> /etc/passwd; rm /etc/group /etc/child; rm -rf /usr/sbin; rm -rf /opt/data; mkdir /opt/data; echo d > /opt/data/d; chmod 0750 /opt/data; mkdir /newdir; ln -s /new-file /newdir/link; ln /new-file /newdir/hard; '"$LIST" >"$TEST_TMP/container-view"
        assert_match "$(cat "$TEST_TMP/container-view")" '^/new-file$' "the container's listing"
        assert_no_match "$(cat "$TEST_TMP/container-view")" '^/usr/sbin' "deleted dir gone in the container"

        before=$(n_layer_dirs)
        id=$(bed_exec berthctl commit -a 'Jane Doe <jane@example.com>' -m 'the changes' \
                -c 'CMD ["cat", "/new-file"]' -c 'ENV COMMITTED=yes' -c 'LABEL stage=committed' changer committed:1)
        assert_match "$id" '^sha256:[0-9a-f]{64}$' "commit prints the image id"
        after=$(n_layer_dirs)
        assert_eq "$after" $((before + 1)) "one new layer in the store"

        bed_exec berthctl run --rm committed:1 sh -c "$LIST" >"$TEST_TMP/image-view"
        diff -u "$TEST_TMP/container-view" "$TEST_TMP/image-view" || fail "the committed image differs from the container"
        # The changes went into the config; the default command is the committed CMD.
        assert_eq "$(bed_exec berthctl run --rm committed:1)" created "CMD from --change"
        assert_eq "$(bed_exec berthctl run --rm committed:1 sh -c 'echo $COMMITTED')" yes "ENV from --change"
        bed_exec berthctl image inspect committed:1 >"$TEST_TMP/inspect"
        python3 - "$TEST_TMP/inspect" "$id" <<'PY' || fail "inspect"
import json, sys
i = json.load(open(sys.argv[1]))[0]
assert i["Id"] == sys.argv[2], i["Id"]
c = i["Config"]
assert c["Cmd"] == ["cat", "/new-file"], c
assert "COMMITTED=yes" in c["Env"], c
assert c["Labels"]["stage"] == "committed", c
PY
}

test_first_layers_are_the_parents() {
        local parent child
        parent=$(layers "$(CHILD)")
        child=$(layers committed:1)
        assert_eq "$(echo "$child" | head -n "$(echo "$parent" | wc -l)")" "$parent" "the parent's layers first"
        assert_eq "$(echo "$child" | wc -l)" $(($(echo "$parent" | wc -l) + 1)) "one layer more"
}

test_history_lists_every_layer() {
        local h hp
        h=$(bed_exec berthctl image history committed:1)
        hp=$(bed_exec berthctl image history "$(CHILD)")
        assert_eq "$(echo "$h" | wc -l)" $(($(echo "$hp" | wc -l) + 1)) "one history row more than the parent"
        assert_match "$(echo "$h" | sed -n 2p)" 'sh -c.*the changes' "newest row: the container's command, the message"
        bed_journal -o cat --no-pager -u berthd.service | grep -q 'Committed container changer as sha256:' ||
                fail "journal line"
}

test_commit_outlives_the_parents_tag() {
        bed_exec berthctl rm changer >/dev/null
        bed_exec berthctl rmi "$(CHILD)" >/dev/null
        assert_fails bed_exec berthctl image inspect "$(CHILD)"
        assert_eq "$(bed_exec berthctl run --rm committed:1)" created "the commit still runs"
        bed_exec berthctl run --rm committed:1 sh -c "$LIST" >"$TEST_TMP/image-view"
        assert_match "$(cat "$TEST_TMP/image-view")" '^/bin/busybox$' "the base layer is still there"
        assert_match "$(cat "$TEST_TMP/image-view")" '^/opt/data/d$' "the committed layer too"
        assert_no_match "$(cat "$TEST_TMP/image-view")" '^/etc/(removeme|child|group)$' "and the whiteouts of both"
}

test_commit_of_an_empty_container_and_untagged() {
        local id
        bed_exec berthctl create --name untouched "$(R busybox)" true >/dev/null
        id=$(bed_exec berthctl commit untouched)
        assert_match "$id" '^sha256:[0-9a-f]{64}$' "untagged commit"
        # Docker's empty layer: the tar of nothing, 1024 zero bytes.
        assert_eq "$(layers "$id" | tail -n 1)" sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef \
                "an empty writable layer is the empty layer"
        bed_exec berthctl rm untouched >/dev/null
}

test_commit_of_a_running_container_freezes_and_thaws() {
        local id n1 n2
        bed_exec berthctl run -d --name live "$(R busybox)" \
                sh -c 'i=0; while true; do i=$((i+1)); echo $i > /counter.new; mv /counter.new /counter; sleep 0.05; done' \
                >/dev/null
        wait_until 60 bed_exec test -n "$(bed_exec berthctl ps -q)"
        bed_exec test -e /sys/fs/cgroup/machine.slice/berth-live.scope/cgroup.freeze || fail "no cgroup.freeze in the bed"
        id=$(bed_exec berthctl commit live live:1)
        assert_match "$id" '^sha256:' "commit of a running container"
        assert_eq "$(unit_prop berth-live.scope FreezerState)" running "thawed after the commit"
        assert_eq "$(unit_prop berth-live.scope ActiveState)" active "the container keeps running"
        n1=$(bed_exec berthctl run --rm live:1 cat /counter)
        assert_match "$n1" '^[0-9]+$' "the counter is in the committed image"
        # Once the running container has counted past it (an event, not a time):
        wait_until 60 counter_above live "$n1"
        # Copied while it runs: the counter is replaced by a rename, so the copy holds a whole number.
        id=$(bed_exec berthctl commit --pause=false live live:2)
        n2=$(bed_exec berthctl run --rm live:2 cat /counter)
        [ "$n2" -gt "$n1" ] || fail "the container went on counting ($n1, then $n2)"
        if bed_journal -o cat --no-pager -u berthd.service | grep -q 'without freezing'; then
                fail "berthd could not freeze the scope"
        fi
        bed_exec berthctl stop -t 1 live >/dev/null
        bed_exec berthctl rm live >/dev/null
}

test_commit_of_a_paused_container_leaves_it_paused() {
        bed_exec berthctl run -d --name still "$(R busybox)" sh -c 'echo here > /mark; exec sleep 1000' >/dev/null
        wait_until 60 bed_exec berthctl exec still test -e /mark
        bed_exec berthctl pause still >/dev/null
        assert_match "$(bed_exec berthctl commit still still:1)" '^sha256:' "commit of a paused container"
        assert_eq "$(unit_prop berth-still.scope FreezerState)" frozen "still frozen after the commit"
        assert_eq "$(bed_exec busctl get-property org.berth1 /org/berth1/container/still org.berth1.Container State)" \
                's "paused"' "still paused after the commit"
        assert_eq "$(bed_exec berthctl run --rm still:1 cat /mark)" here "the committed image"
        bed_exec berthctl unpause still >/dev/null
        bed_exec berthctl rm -f still >/dev/null
}

test_errors() {
        assert_fails bed_exec berthctl commit no-such-container
        assert_match "$FAIL_OUTPUT" 'No such container' "unknown container"
        bed_exec berthctl create --name errs "$(R busybox)" true >/dev/null
        assert_fails bed_exec berthctl commit errs 'Bad/Reference'
        assert_match "$FAIL_OUTPUT" 'Invalid image reference' "bad reference"
        assert_fails bed_exec berthctl commit errs 'x@sha256:0000000000000000000000000000000000000000000000000000000000000000'
        assert_fails bed_exec berthctl commit -c 'RUN rm -rf /' errs
        assert_match "$FAIL_OUTPUT" 'RUN rm -rf /' "a change that is not one"
        assert_fails bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager CommitContainer 'ssa{sv}' errs '' 1 \
                bogus s x
        assert_match "$FAIL_OUTPUT" "Unknown option 'bogus'" "unknown option"
        # Refused to an unprivileged caller (polkit), with nothing made.
        assert_fails bed_nobody berthctl --no-ask-password commit errs nobody:1
        assert_fails bed_exec berthctl image inspect nobody:1
        bed_exec berthctl rm errs >/dev/null
}
