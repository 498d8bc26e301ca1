# Disk use and prunes with berthctl, as a Docker user types them: system df [-v] (sizes shared between images
# through a common base layer, a container's writable layer), container prune and image prune [-a]; plus the
# D-Bus methods' option checks. Cases run in order in one bed.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
M() { bed_exec busctl --json=short -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }
# df_json PYTHON-EXPR : evaluates EXPR with d = `berthctl --json system df`, img(repo) = that image's entry and
# ctr(name) = that container's entry
df_json() {
        bed_exec berthctl --json system df | python3 -c '
import json, sys
d = json.load(sys.stdin)
def img(repo):
    return [i for i in d["Images"] if any(t.rsplit(":", 1)[0].endswith("/" + repo) for t in i["RepoTags"])][0]
def ctr(name):
    return [c for c in d["Containers"] if c["Names"] == name][0]
print(eval(sys.argv[1]))' "$1"
}

test_setup_pull() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
        bed_exec berthctl pull "$(R busybox-child)" >/dev/null
}

test_shared_size_is_the_common_base_layer() {
        local base child out
        base=$(df_json 'img("busybox")["Size"]')
        child=$(df_json 'img("busybox-child")["Size"]')
        assert_ne "$base" 0 "busybox size"
        assert_eq "$(df_json 'img("busybox")["SharedSize"]')" "$base" "busybox: shared = its one layer"
        assert_eq "$(df_json 'img("busybox")["UniqueSize"]')" 0 "busybox: nothing unique"
        assert_eq "$(df_json 'img("busybox-child")["SharedSize"]')" "$base" "child: shared = the base layer"
        assert_eq "$(df_json 'img("busybox-child")["UniqueSize"]')" "$((child - base))" "child: unique = its own"
        # The store holds the base once: the Images row is busybox plus the child's own layers.
        assert_eq "$(df_json 'd["LayersSize"]')" "$child" "layers counted once"
        out=$(bed_exec berthctl system df -v)
        assert_match "$out" 'REPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS' "-v header"
        assert_match "$out" 'Containers space usage:' "-v containers part"
        out=$(bed_exec berthctl system df)
        assert_match "$out" '^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE' "df header"
        assert_match "$out" 'Images +2 +0 .*\(100%\)' "Images row: nothing in use, all reclaimable"
        assert_match "$out" 'Containers +0 +0 +0B +0B' "Containers row"
        assert_match "$out" 'Local Volumes +0 +0 +0B +0B' "Local Volumes row"
        assert_match "$out" 'Build Cache +0 +0 +0B +0B' "Build Cache row"
}

test_container_writable_layer_size() {
        local size out
        bed_exec berthctl run --name writer "$(R busybox-child)" dd if=/dev/zero of=/megabyte bs=1024 count=1024 \
                >/dev/null 2>&1
        size=$(df_json 'ctr("writer")["SizeRw"]')
        # 1 MiB of file, and whatever else the container's start left in its upper dir (a few small files)
        [ "$size" -ge 1048576 ] && [ "$size" -lt $((1048576 + 65536)) ] || fail "writer SizeRw $size"
        out=$(bed_exec berthctl system df -v)
        assert_match "$out" "[0-9a-f]{12} +$(R busybox-child) +0 +1.0[5-9]MB .* Exited +writer" "writer row"
        out=$(bed_exec berthctl system df)
        assert_match "$out" 'Images +2 +1 ' "Images row: one in use"
        assert_match "$out" 'Containers +1 +0 +1.0[5-9]MB +1.0[5-9]MB \(100%\)' "Containers row"
}

test_container_prune_keeps_running_ones() {
        local writer keeper out
        writer=$(df_json 'ctr("writer")["Id"]')
        keeper=$(bed_exec berthctl run -d --name keeper "$(R busybox)" sleep 1000)
        bed_exec berthctl create --name fresh "$(R busybox)" true >/dev/null
        # Without -f it asks, and anything but y keeps everything.
        out=$(echo n | bed_exec berthctl container prune)
        assert_match "$out" 'WARNING! This will remove all stopped containers.' "warning"
        assert_match "$out" 'Are you sure you want to continue\? \[y/N\]' "prompt"
        assert_eq "$(df_json 'len(d["Containers"])')" 3 "nothing removed after n"
        out=$(bed_exec berthctl container prune -f)
        assert_match "$out" '^Deleted Containers:' "heading"
        assert_match "$out" "$writer" "writer removed"
        assert_match "$out" 'Total reclaimed space: 1.0[5-9]MB' "reclaimed"
        assert_no_match "$out" "$keeper" "keeper not listed"
        assert_eq "$(df_json '[c["Names"] for c in d["Containers"]]')" "['keeper']" "only keeper left"
        assert_eq "$(bed_exec berthctl container prune -f)" "Total reclaimed space: 0B" "nothing left to prune"
}

test_image_prune_removes_only_dangling() {
        local dangling out
        # An untagged image: a commit without a name.
        dangling=$(bed_exec berthctl commit keeper)
        assert_match "$dangling" '^sha256:[0-9a-f]{64}$' "commit id"
        out=$(bed_exec berthctl image prune -f)
        assert_match "$out" '^Deleted Images:' "heading"
        assert_match "$out" "deleted: $dangling" "dangling removed"
        assert_eq "$(echo "$out" | grep -c '^deleted:')" 1 "only the dangling one"
        assert_match "$out" 'Total reclaimed space: ' "reclaimed line"
        assert_eq "$(df_json 'len(d["Images"])')" 2 "tagged images kept"
}

test_image_prune_all_keeps_images_in_use_and_their_layers() {
        local base child_unique child_id out
        base=$(df_json 'img("busybox")["Size"]')
        child_unique=$(df_json 'img("busybox-child")["UniqueSize"]')
        child_id=$(df_json 'img("busybox-child")["Id"]')
        out=$(echo | bed_exec berthctl image prune -a)
        assert_match "$out" 'without at least one container associated to them' "-a warning"
        assert_eq "$(df_json 'len(d["Images"])')" 2 "nothing removed without an answer"
        out=$(bed_exec berthctl image prune -a -f)
        assert_match "$out" "deleted: $child_id" "child removed"
        assert_eq "$(echo "$out" | grep -c '^deleted:')" 1 "only the child"
        # Only the child's own layers went: the base is busybox's, which keeper uses.
        assert_eq "$(df_json 'd["LayersSize"]')" "$base" "base layer kept"
        assert_match "$(bed_exec berthctl --json image prune -a -f)" '"SpaceReclaimed" : 0' "nothing more"
        assert_match "$(bed_exec berthctl images)" busybox "busybox listed"
        bed_exec berthctl stop -t 1 keeper >/dev/null
        assert_eq "$(bed_exec berthctl run --rm "$(R busybox)" cat /etc/passwd | head -1 | cut -d: -f1)" root \
                "busybox still runs"
        # reclaimed = the child's unique bytes, checked through the D-Bus reply of a fresh prune
        bed_exec berthctl pull "$(R busybox-child)" >/dev/null
        out=$(M PruneImages a{sv} 1 all b true)
        assert_match "$out" "\"data\":\\[\\[\"$child_id\"\\],$child_unique\\]" "PruneImages reply"
}

test_unknown_options_are_refused_by_name() {
        assert_match "$(M PruneImages a{sv} 1 bogus b true 2>&1)" "Unknown option 'bogus'" "PruneImages"
        assert_match "$(M PruneContainers a{sv} 1 all b true 2>&1)" "Unknown option 'all'" "PruneContainers"
        assert_match "$(M GetDiskUsage a{sv} 1 x s y 2>&1)" "Unknown option 'x'" "GetDiskUsage"
        assert_match "$(M PruneImages a{sv} 1 all s yes 2>&1)" "must be a boolean" "wrong type"
}

# A writable layer of many files takes seconds to walk or delete; neither may hold up berthd's other callers.
# `busctl monitor` shows when the slow call reached berthd (the bus delivers in order: it is then ahead of
# any later call in berthd's queue); a later call must still come back first.
MANY_MONITOR=/run/test-disk-calls.json
NOBODY_CALL=(setpriv --reuid=65534 --regid=65534 --clear-groups busctl call org.berth1 /org/berth1 org.berth1.Manager)
monitor_sees() {
        M ListContainers b true >/dev/null
        bed_exec grep -q "\"member\":\"$1\"" "$MANY_MONITOR"
}

test_big_writable_layer_does_not_stall_the_daemon() {
        local id order=$TEST_TMP/order
        id=$(bed_exec berthctl create --name many "$(R busybox)" true)
        # 300,000 empty files in 300 dirs, made directly in the upper dir.
        bed_exec python3 -c '
import os, sys
for d in range(300):
    p = os.path.join(sys.argv[1], "d%d" % d)
    os.mkdir(p)
    for f in range(1000):
        open(os.path.join(p, str(f)), "w").close()' "/var/lib/berth/containers/$id/diff"
        bed_sh "busctl monitor --json=short --match \"type='method_call',interface='org.berth1.Manager'\" \
                > $MANY_MONITOR 2>/dev/null & echo \$! > $MANY_MONITOR.pid"
        wait_until 60 monitor_sees ListContainers

        # GetDiskUsage (anyone may call it) walks the layer; ListContainers, sent after it, answers first.
        { bed_exec "${NOBODY_CALL[@]}" GetDiskUsage a{sv} 0 >/dev/null; echo usage >>"$order"; } &
        wait_until 60 bed_exec grep -q '"member":"GetDiskUsage"' "$MANY_MONITOR"
        bed_exec "${NOBODY_CALL[@]}" ListContainers b true >/dev/null
        echo list >>"$order"
        wait
        assert_eq "$(cat "$order")" $'list\nusage' "answer order"
        assert_eq "$(df_json 'ctr("many")["SizeRw"]')" 0 "empty files"

        # Removal deletes the files after its reply, in a child: a call made after it answers while they
        # are still being deleted, and they do go.
        M RemoveContainer sb many false >/dev/null
        bed_exec "${NOBODY_CALL[@]}" ListContainers b true >/dev/null
        # The child deleting them is the fork server's, not a fork of berthd (whose page tables a fork
        # copies, and every page of which berthd then writes faults once): one berthd, two fork servers.
        assert_eq "$(bed_sh 'cat /proc/[0-9]*/comm 2>/dev/null | grep -cx berthd')" 1 "no fork of berthd deletes"
        assert_eq "$(bed_sh 'cat /proc/[0-9]*/comm 2>/dev/null | grep -cx berth-fork-serv')" 2 "the server's child deletes"
        bed_exec test -d "/var/lib/berth/containers/.tmp-rm-$id" || fail "deleted before the next call answered"
        wait_until 120 bed_exec test ! -e "/var/lib/berth/containers/.tmp-rm-$id"
        bed_exec kill -TERM "$(bed_exec cat "$MANY_MONITOR.pid")"
}

test_prune_needs_authorisation() {
        assert_fails bed_nobody busctl call org.berth1 /org/berth1 org.berth1.Manager PruneImages a{sv} 0
        assert_fails bed_nobody busctl call org.berth1 /org/berth1 org.berth1.Manager PruneContainers a{sv} 0
        # Reading disk use is open to all.
        bed_nobody busctl call org.berth1 /org/berth1 org.berth1.Manager GetDiskUsage a{sv} 0 >/dev/null
}
