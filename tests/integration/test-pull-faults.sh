# Pulls that go wrong, against the real fixture registry: a damaged blob, wrong and right credentials, berthd
# killed in the middle, two pulls racing for one layer, a cancelled transfer, hostile layers; and the merged
# tree of an image compared with umoci's unpack of the same OCI layout. Cases run in order in one bed.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }

# store_listing : the store's layers, short links and images, one name a line (the trash of removed layers is
# left out: it empties in the background)
store_listing() {
        bed_sh 'cd /var/lib/berth && for d in layers layers/l images; do
                        [ -d "$d" ] && ls -A "$d" | grep -vx -e l -e .trash | grep -v "^\.tmp-" | sed "s|^|$d/|"
                done | sort; true'
}
# leftovers : half-made layers or images (temp dirs), one a line
leftovers() { bed_sh 'ls -d /var/lib/berth/layers/.tmp-* /var/lib/berth/images/.tmp-* 2>/dev/null; true'; }

# manifest_layers REPO : the layer digests of REPO:latest as the registry serves it, bottom first
# (Its readers take the first line with sed, which reads to the end: with `head -n 1` a python3 that writes
# unbuffered, under PYTHONUNBUFFERED=1, could print its second line into a closed pipe and fail the case.)
manifest_layers() {
        curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
                -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
                "http://$BERTH_TEST_REGISTRY/v2/$1/manifests/latest" |
                python3 -c 'import json,sys; [print(l["digest"]) for l in json.load(sys.stdin)["layers"]]'
}
# blob_file DIGEST : where the registry keeps a blob
blob_file() {
        local h=${1#sha256:}
        echo "$BERTH_TEST_REGISTRY_DIR/storage/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data"
}
# last_error_name : the D-Bus error name of the last failed pull, from berthd's structured journal entry
last_error_name() {
        # berthd logs the entry before it replies, but journald may not have read it yet: --sync waits for that.
        bed_exec journalctl --sync
        bed_journal -o json --no-pager _SYSTEMD_UNIT=berthd.service |
                python3 -c 'import json,sys
names = [json.loads(l).get("BERTH_ERROR_NAME") for l in sys.stdin if "BERTH_ERROR_NAME" in l]
print(names[-1] if names else "")'
}
remove_all_images() {
        local id
        for id in $(bed_exec berthctl image ls -q --no-trunc | sort -u); do
                bed_exec berthctl image rm -f "$id" >/dev/null
        done
        assert_eq "$(bed_exec berthctl image ls -q)" "" "images left"
}
# stall_start : a proxy to the fixture registry (tests/fixtures/stall-proxy.py) that holds the first download of
# big's own layer half-way until stall_release, so that a pull through it ($STALL/big) is certainly still
# running; stall_held waits until it holds it. Stopped by PID when the case ends.
stall_start() {
        STALL_DIR=$(mktemp -d "$TEST_TMP/stall.XXXXXX")
        exec {STALL_FD}< <(exec nsenter --net="$(bed_netns)" python3 "$BERTH_SRC/tests/fixtures/stall-proxy.py" \
                "$BERTH_TEST_REGISTRY" \
                "$STALL_DIR" "$(manifest_layers big | tail -n 1)")
        STALL_PID=$!
        trap 'kill "$STALL_PID" 2>/dev/null || true' EXIT
        read -r -u "$STALL_FD" STALL || fail "the stalling proxy did not start"
        STALL=127.0.0.1:$STALL
}
stall_held() { timeout 120 cat "$STALL_DIR/held" >/dev/null || fail "the pull never reached the held layer"; }
stall_release() { timeout 60 bash -c 'echo > "$1/release"' _ "$STALL_DIR" || fail "the proxy did not take the release"; }
# wait_for_big_extraction : inside the bed, until the big layer is being extracted into a temp dir
wait_for_big_extraction() {
        bed_sh 'for i in $(seq 3000); do
                        compgen -G "/var/lib/berth/layers/.tmp-*/diff/big/0*" >/dev/null && exit 0
                        sleep 0.005
                done; exit 1' || fail "the big layer was never seen half-extracted"
}

test_credentials() {
        local out
        auth_registry_start berth:s3cret
        # No credentials: the registry's 401 stands.
        assert_fails bed_exec berthctl pull "$AUTH_REGISTRY/busybox"
        assert_match "$FAIL_OUTPUT" '^Error: Unauthorized' "no credentials"
        assert_eq "$(last_error_name)" org.berth1.Error.Unauthorized "error name without credentials"

        # Wrong password in berth's auth file (Docker's format, root-only).
        bed_sh "umask 077 && printf '{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}' '$AUTH_REGISTRY' '$(printf berth:wrong | base64)' > /etc/berth/auth.json"
        bed_exec systemctl restart berthd
        assert_fails bed_exec berthctl pull "$AUTH_REGISTRY/busybox"
        assert_match "$FAIL_OUTPUT" '^Error: Unauthorized' "wrong password"
        assert_eq "$(last_error_name)" org.berth1.Error.Unauthorized "error name with a wrong password"
        assert_no_match "$(bed_exec berthctl image ls)" busybox "nothing pulled"

        # The right one.
        bed_sh "umask 077 && printf '{\"auths\":{\"%s\":{\"username\":\"berth\",\"password\":\"s3cret\"}}}' '$AUTH_REGISTRY' > /etc/berth/auth.json"
        bed_exec systemctl restart berthd
        out=$(bed_exec berthctl pull "$AUTH_REGISTRY/busybox")
        assert_match "$out" "Status: Downloaded newer image for $AUTH_REGISTRY/busybox:latest" "pull with credentials"
        # The registry saw the credentials: authenticated GETs of the manifest.
        assert_match "$(cat "$TEST_TMP"/auth-registry.*/registry.log)" \
                '"GET /v2/busybox/manifests/latest HTTP/1.1" 200' "authenticated manifest GET"
        bed_exec rm /etc/berth/auth.json
        bed_exec systemctl restart berthd
        remove_all_images
}

test_corrupt_blob_is_digest_mismatch() {
        local digest file before after
        digest=$(manifest_layers corrupt | tail -n 1)
        file=$(blob_file "$digest")
        [ -f "$file" ] || fail "no blob file $file"
        cp -p "$file" "$TEST_TMP/blob.orig"
        trap 'cp -p "$TEST_TMP/blob.orig" "'"$file"'"' EXIT
        # Change the gzip header's MTIME byte: same size, still a valid stream, another digest.
        printf '\x5a' | dd of="$file" bs=1 seek=4 conv=notrunc status=none
        cmp -s "$file" "$TEST_TMP/blob.orig" && fail "blob unchanged"

        before=$(store_listing)
        assert_fails bed_exec berthctl pull "$(R corrupt)"
        assert_match "$FAIL_OUTPUT" '^Error: Digest mismatch' "pull of a damaged blob"
        assert_eq "$(last_error_name)" org.berth1.Error.DigestMismatch "error name"
        after=$(store_listing)
        assert_eq "$after" "$before" "store after the failed pull"
        assert_eq "$(leftovers)" "" "temp dirs left"
        assert_no_match "$(bed_exec berthctl image ls)" corrupt "image listed"

        # Repaired, the same pull works: nothing of the failure was kept.
        cp -p "$TEST_TMP/blob.orig" "$file"
        assert_match "$(bed_exec berthctl pull "$(R corrupt)")" 'Status: Downloaded newer image' "pull after repair"
        bed_exec berthctl image rm "$(R corrupt)" >/dev/null
}

test_concurrent_pulls_fetch_shared_layer_once() {
        local base before after
        remove_all_images
        base=$(manifest_layers busybox | sed -n 1p)
        [ "$(manifest_layers busybox-child | sed -n 1p)" = "$base" ] || fail "busybox-child does not share busybox's layer"
        [ "$(manifest_layers layers-100 | sed -n 1p)" = "$base" ] || fail "layers-100 does not share busybox's layer"
        count() { { registry_blob_gets busybox-child; registry_blob_gets layers-100; } | grep -c "$base" || true; }
        before=$(count)
        bed_sh "berthctl pull $(R busybox-child) > /run/a.out 2>&1 & a=\$!
                berthctl pull $(R layers-100) > /run/b.out 2>&1 & b=\$!
                wait \$a && wait \$b" || fail "a concurrent pull failed: $(bed_exec cat /run/a.out /run/b.out)"
        after=$(count)
        assert_eq "$((after - before))" 1 "GETs of the shared layer by the two pulls"
        assert_match "$(bed_exec berthctl image ls)" "$(R busybox-child) " "first image"
        assert_match "$(bed_exec berthctl image ls)" "$(R layers-100) " "second image"
        # One copy of the base layer in the store, used by both.
        assert_eq "$(bed_sh 'ls -d /var/lib/berth/layers/*/diff/bin/busybox | wc -l')" 1 "copies of the base layer"
}

test_kill_berthd_mid_pull() {
        local before pid out
        before=$(store_listing)
        pid=$(unit_prop berthd.service MainPID)
        stall_start
        bed_sh "berthctl pull $STALL/big > /run/kill.out 2>&1; echo \$? > /run/kill.rc" &
        stall_held
        wait_for_big_extraction
        bed_exec systemctl kill -s KILL berthd
        stall_release
        wait_until 60 bed_exec test -s /run/kill.rc
        assert_ne "$(bed_exec cat /run/kill.rc)" 0 "berthctl's exit status after the kill"
        assert_no_match "$(bed_exec cat /run/kill.out)" 'Status: Downloaded' "pull finished before the kill"

        # Restarted by Restart=on-failure, berthd sweeps what was half-made. (Wait for it: a bus activation
        # that lands in the 100 ms of auto-restart is lost between dbus-daemon and systemd, and times out.)
        wait_until 60 bed_sh '[ "$(systemctl show -P SubState berthd)" = running ]'
        assert_match "$(bed_exec berthctl image ls)" 'REPOSITORY' "berthd answers again"
        assert_ne "$(unit_prop berthd.service MainPID)" "$pid" "a new berthd"
        assert_eq "$(leftovers)" "" "temp dirs after the restart"
        assert_eq "$(store_listing)" "$before" "store after the restart"
        assert_no_match "$(bed_exec berthctl image ls)" "$STALL/big " "half-pulled image listed"

        out=$(bed_exec berthctl pull "$(R big)")
        assert_match "$out" "Status: Downloaded newer image for $(R big):latest" "repeated pull"
        assert_eq "$(bed_sh 'find /var/lib/berth/layers/*/diff/big -type f | wc -l')" 2000 "files of the big layer"
}

test_cancel_transfer() {
        local before path
        bed_exec berthctl image rm "$(R big)" >/dev/null
        before=$(store_listing)
        stall_start
        bed_sh "berthctl pull $STALL/big > /run/cancel.out 2>&1; echo \$? > /run/cancel.rc" &
        stall_held
        wait_for_big_extraction
        path=$(bed_exec busctl tree --list org.berth1 | grep -E '^/org/berth1/transfer/_[0-9]+$' | head -n 1)
        [ -n "$path" ] || fail "no transfer object while pulling"
        # While it runs, the live Transfer object is what the contract says.
        bed_exec busctl introspect --xml-interface org.berth1 "$path" > "$TEST_TMP/transfer.xml"
        python3 "$BERTH_SRC/tests/integration/introspect-compare.py" \
                "$BERTH_SRC/dbus/org.berth1.Transfer.xml" "$TEST_TMP/transfer.xml" org.berth1.Transfer
        # Its properties, read over the bus while it runs: the manifest is resolved, the layers are coming.
        local props
        props=$(bed_exec busctl get-property org.berth1 "$path" org.berth1.Transfer Reference Status ManifestDigest \
                ImageId Progress)
        echo "$props"
        assert_match "$(sed -n 1p <<<"$props")" "^s \"$STALL/big:latest\"\$" "Reference"
        assert_match "$(sed -n 2p <<<"$props")" '^s "pulling"$' "Status"
        assert_match "$(sed -n 3p <<<"$props")" '^s "sha256:[0-9a-f]{64}"$' "ManifestDigest"
        assert_match "$(sed -n 4p <<<"$props")" '^s "(sha256:)?[0-9a-f]{64}"$' "ImageId"
        assert_match "$(sed -n 5p <<<"$props")" '^d (0|0?\.[0-9]+|1)(e-?[0-9]+)?$' "Progress, 0 to 1"
        bed_exec busctl call org.berth1 "$path" org.berth1.Transfer Cancel
        stall_release
        wait_until 60 bed_exec test -s /run/cancel.rc
        assert_ne "$(bed_exec cat /run/cancel.rc)" 0 "berthctl's exit status"
        assert_match "$(bed_exec cat /run/cancel.out)" '^Error: Cancelled' "berthctl's last line"
        assert_eq "$(last_error_name)" org.berth1.Error.TransferCancelled "error name"
        assert_eq "$(leftovers)" "" "temp dirs after the cancel"
        assert_eq "$(store_listing)" "$before" "store after the cancel"
        assert_no_match "$(bed_exec busctl tree --list org.berth1)" "$path" "transfer object gone"
}

# transfer_paths : the live Transfer objects, oldest first
transfer_paths() {
        bed_exec busctl tree --list org.berth1 | grep -E '^/org/berth1/transfer/_[0-9]+$' | sort -t_ -k2 -n || true
}

# Layers a pull has extracted wait, unpublished, while another of its layers still downloads (one syncfs for
# all of them later), until another pull waits for one of them. A second pull of the same layers waits for
# the first rather than fetching them again; when the first is cancelled, the second fetches what it still
# lacks itself and ends.
test_waiting_pull_fetches_when_the_other_is_cancelled() {
        local base a b
        remove_all_images
        base=$(manifest_layers big | sed -n 1p)
        stall_start
        bed_sh "berthctl pull $STALL/big > /run/wa.out 2>&1; echo \$? > /run/wa.rc" &
        stall_held
        # berthctl prints each line as it comes, into a file too.
        wait_until 60 bed_sh "grep -q '^${base:7:12}: Download complete' /run/wa.out"
        # Verified and prepared (its metadata written) in its temp dir, but not published.
        wait_until 60 bed_sh 'compgen -G "/var/lib/berth/layers/.tmp-*/diff-id" >/dev/null'
        assert_eq "$(bed_sh 'ls -d /var/lib/berth/layers/[0-9a-f]*/diff 2>/dev/null | wc -l')" 0 \
                "layers published while big's layer downloads"

        bed_sh "berthctl pull $(R big) > /run/wb.out 2>&1; echo \$? > /run/wb.rc" &
        wait_until 60 bed_sh '[ "$(busctl tree --list org.berth1 | grep -cE "^/org/berth1/transfer/_[0-9]+$")" = 2 ]'
        a=$(transfer_paths | head -n 1)
        b=$(transfer_paths | tail -n 1)
        # Resolved and advanced in one step of berthd's loop: once "pulling", it has found the layers taken.
        wait_until 60 bed_sh "[ \"\$(busctl get-property org.berth1 $b org.berth1.Transfer Status)\" = 's \"pulling\"' ]"
        assert_eq "$(bed_exec busctl get-property org.berth1 "$b" org.berth1.Transfer Reference)" \
                "s \"$(R big):latest\"" "the second transfer"
        # The first pull publishes the base layer the second now waits for, without waiting for big's.
        wait_until 60 bed_sh 'compgen -G "/var/lib/berth/layers/[0-9a-f]*/diff" >/dev/null'
        # (berthd gives a held download up after 60 s without data, and resumes it past the proxy's hold.)
        assert_eq "$(bed_exec busctl get-property org.berth1 "$a" org.berth1.Transfer Status)" 's "pulling"' \
                "the first pull, still held"
        bed_exec busctl call org.berth1 "$a" org.berth1.Transfer Cancel
        wait_until 120 bed_exec test -s /run/wb.rc
        stall_release
        wait_until 60 bed_exec test -s /run/wa.rc
        assert_ne "$(bed_exec cat /run/wa.rc)" 0 "the cancelled pull's status"
        assert_eq "$(bed_exec cat /run/wb.rc)" 0 "the waiting pull's status: $(bed_exec cat /run/wb.out)"
        assert_match "$(bed_exec cat /run/wb.out)" "Status: Downloaded newer image for $(R big):latest" "its end"
        assert_eq "$(leftovers)" "" "temp dirs"
        assert_eq "$(bed_sh 'find /var/lib/berth/layers/*/diff/big -type f | wc -l')" 2000 "files of the big layer"
}

# A pull that found its base layer "Already exists" still needs it when it records the image: removing the
# image that brought the layer must leave it to the pull. A proxy in front of the fixture registry holds the
# pull's next layer until the removal is done.
test_image_removal_leaves_layers_of_running_pulls() {
        local base held port out
        remove_all_images
        bed_exec berthctl pull "$(R busybox)" >/dev/null
        base=$(manifest_layers busybox | sed -n 1p)
        held=$(manifest_layers busybox-child | sed -n 2p)
        cat > "$TEST_TMP/proxy.py" <<'PY'
import http.client, http.server, os, sys, time
upstream, held, flag_dir = sys.argv[1], sys.argv[2], sys.argv[3]
class Proxy(http.server.BaseHTTPRequestHandler):
    def forward(self, body):
        if held in self.path:
            open(os.path.join(flag_dir, "holding"), "w").close()
            while not os.path.exists(os.path.join(flag_dir, "release")):
                time.sleep(0.05)
        c = http.client.HTTPConnection(upstream)
        c.request(self.command, self.path, headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)
    def do_GET(self):
        self.forward(True)
    def do_HEAD(self):
        self.forward(False)
    def log_message(self, *args):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
        nsenter --net="$(bed_netns)" python3 "$TEST_TMP/proxy.py" "$BERTH_TEST_REGISTRY" "$held" "$TEST_TMP" > "$TEST_TMP/port" &
        proxy=$! # global: the EXIT trap runs after this function's locals are gone
        trap 'touch "$TEST_TMP/release"; kill "$proxy" 2>/dev/null || true' EXIT
        wait_until 60 test -s "$TEST_TMP/port"
        port=$(cat "$TEST_TMP/port")

        bed_sh "berthctl pull 127.0.0.1:$port/busybox-child > /run/held.out 2>&1; echo \$? > /run/held.rc" &
        # The layers are asked for once the config is read: the base layer is then "Already exists".
        wait_until 60 test -e "$TEST_TMP/holding"
        # The pull now waits for its second layer; busybox, the only image on the base layer, goes.
        bed_exec berthctl image rm "$(R busybox)" >/dev/null
        touch "$TEST_TMP/release"
        wait_until 60 bed_exec test -s /run/held.rc
        out=$(bed_exec cat /run/held.out)
        assert_eq "$(bed_exec cat /run/held.rc)" 0 "pull status: $out"
        assert_match "$out" "${base:7:12}: Already exists" "base layer found"
        assert_eq "$(bed_sh 'ls -d /var/lib/berth/layers/*/diff/bin/busybox | wc -l')" 1 "copies of the base layer"
        assert_eq "$(bed_exec berthctl run --rm "127.0.0.1:$port/busybox-child" cat /etc/child)" child "image runs"
        bed_exec berthctl image rm "127.0.0.1:$port/busybox-child" >/dev/null
}

test_hostile_layers_touch_nothing() {
        local kind out host_passwd bed_passwd bed_etc
        host_passwd=$(sha256sum /etc/passwd)
        bed_passwd=$(bed_exec sha256sum /etc/passwd)
        bed_etc=$(bed_exec ls -A /etc)
        for kind in traversal symlink hardlink; do
                if out=$(bed_exec berthctl pull "$(R hostile-$kind)" 2>&1); then
                        # Neutralised rather than refused: then whatever it wrote is inside its own layer.
                        echo "hostile-$kind: pulled (neutralised)"
                        bed_exec berthctl image rm "$(R hostile-$kind)" >/dev/null
                else
                        assert_match "$out" '^Error: (Invalid image|Digest mismatch)' "hostile-$kind refused"
                        echo "hostile-$kind: refused: $(grep "^Error" <<<"$out")"
                fi
                assert_eq "$(leftovers)" "" "temp dirs after hostile-$kind"
        done
        assert_eq "$(sha256sum /etc/passwd)" "$host_passwd" "host /etc/passwd"
        assert_eq "$(bed_exec sha256sum /etc/passwd)" "$bed_passwd" "bed /etc/passwd"
        assert_eq "$(bed_exec ls -A /etc)" "$bed_etc" "bed /etc entries"
        [ -z "$(ls -d /etc/berth-hostile-* 2>/dev/null)" ] || fail "host /etc has a hostile file"
        assert_eq "$(bed_sh 'ls -d /berth-hostile-* /var/berth-hostile-* /var/lib/berth-hostile-* /var/lib/berth/berth-hostile-* /var/lib/berth/layers/berth-hostile-* /var/lib/berth/layers/*/berth-hostile-* /etc/berth-hostile-* 2>/dev/null; true')" "" \
                "hostile files outside the layers"
}

# The merged tree of an image in berth's store (an overlay of its layers) against umoci's unpack of the same OCI
# layout: every path with its type, mode, owner, symlink target and content, whiteouts and opaque dirs applied.
test_merged_tree_matches_umoci() {
        local id lower
        bed_exec berthctl pull "$(R busybox-child)" >/dev/null
        id=$(bed_exec berthctl image inspect "$(R busybox-child)" |
                python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"].split(":")[1])')
        lower=$(bed_exec python3 -c '
import json, sys
rec = json.load(open("/var/lib/berth/images/%s/image.json" % sys.argv[1]))
print(":".join("l/" + open("/var/lib/berth/layers/%s/link" % c.split(":")[1]).read().strip()
               for c in reversed(rec["chain_ids"])))' "$id")
        cat > "$TEST_TMP/walk.py" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
for dirpath, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(dirs + files):
        p = os.path.join(dirpath, name)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        kind = stat.S_IFMT(st.st_mode)
        extra = ""
        if stat.S_ISLNK(st.st_mode):
            extra = "-> " + os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            extra = "%d %s mtime=%d" % (st.st_size, hashlib.sha256(open(p, "rb").read()).hexdigest()[:16],
                                         int(st.st_mtime))
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            extra = "dev %d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        print("%s %o %04o %d:%d %s" % (rel, kind >> 12, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, extra))
PY
        bed_sh "mkdir -p /run/merged && cd /var/lib/berth/layers && mount -t overlay overlay -o ro,lowerdir=$lower /run/merged"
        local rc=0
        bed_exec python3 - /run/merged < "$TEST_TMP/walk.py" > "$TEST_TMP/berth.txt" || rc=$?
        bed_exec umount /run/merged
        [ "$rc" = 0 ] || fail "walking the merged tree failed"

        umoci unpack --image "$BERTH_TEST_LAYOUT:busybox-child" "$TEST_TMP/bundle" >/dev/null
        python3 "$TEST_TMP/walk.py" "$TEST_TMP/bundle/rootfs" > "$TEST_TMP/umoci.txt"
        diff -u "$TEST_TMP/umoci.txt" "$TEST_TMP/berth.txt" || fail "merged tree differs from umoci unpack"
        # The fixture's whiteout and opaque dir did act, in both.
        assert_no_match "$(cat "$TEST_TMP/berth.txt")" '^etc/removeme |^opt/data/a ' "deleted paths"
        assert_match "$(cat "$TEST_TMP/berth.txt")" '^opt/data/c ' "opaque dir's new content"
        assert_match "$(cat "$TEST_TMP/berth.txt")" '^bin/sh 12 0777 0:0 -> /bin/busybox' "symlink"
        echo "$(wc -l < "$TEST_TMP/berth.txt") paths identical"
}

# fork_server_pid : the PID of berthd's berth-fork-server, empty when none runs
fork_server_pid() {
        bed_sh 'main=$(systemctl show -P MainPID berthd)
                for s in /proc/[0-9]*/status; do
                        d=${s%/status}
                        [ "$(awk "/^PPid:/{print \$2}" "$s" 2>/dev/null)" = "$main" ] || continue
                        [ "$(tr "\0" "\n" < "$d/cmdline" 2>/dev/null | head -n 1)" = berth-fork-server ] && echo "${d#/proc/}"
                done; true'
}

# berthd forks no layer child from itself: berth-fork-server makes them, as berthd's children (berthd reaps
# them) that are no copy of berthd (they do not map libcurl, which berthd links and the server does not). If
# the server dies, berthd says so and forks the next layers itself.
test_fork_server_makes_extraction_children() {
        local main server child out
        bed_exec berthctl image rm -f "$(R big)" >/dev/null 2>&1 || true
        main=$(unit_prop berthd.service MainPID)
        server=$(fork_server_pid)
        [ -n "$server" ] || fail "no berth-fork-server under berthd ($main)"

        stall_start
        bed_sh "berthctl pull $STALL/big > /run/fork.out 2>&1; echo \$? > /run/fork.rc" &
        stall_held
        wait_for_big_extraction
        # The extraction child: chrooted into the layer's temp dir.
        child=$(bed_sh 'for d in /proc/[0-9]*; do
                        case "$(readlink "$d/root" 2>/dev/null)" in
                        /var/lib/berth/layers/.tmp-*/diff) echo "${d#/proc/}"; break;;
                        esac
                done; true')
        [ -n "$child" ] || fail "no extraction child found"
        assert_eq "$(bed_sh "awk '/^PPid:/{print \$2}' /proc/$child/status")" "$main" "the extraction child's parent"
        assert_no_match "$(bed_exec cat "/proc/$child/maps")" 'libcurl' "the extraction child's libraries"
        assert_match "$(bed_exec cat "/proc/$child/maps")" 'libarchive' "the extraction child's libraries"
        stall_release
        wait_until 120 bed_exec test -s /run/fork.rc
        assert_eq "$(bed_exec cat /run/fork.rc)" 0 "the pull through the fork server"

        bed_exec kill -KILL "$server"
        bed_exec berthctl image rm -f "$STALL/big" >/dev/null
        out=$(bed_exec berthctl pull "$(R big)")
        assert_match "$out" "Status: Downloaded newer image for $(R big):latest" "the pull after the server died"
        assert_match "$(bed_journal -u berthd --no-pager -o cat)" 'fork server of the store failed' "berthd's warning"
        bed_exec test ! -e "/proc/$server" || fail "the dead fork server was not reaped"
        assert_eq "$(unit_prop berthd.service MainPID)" "$main" "berthd itself"
}
