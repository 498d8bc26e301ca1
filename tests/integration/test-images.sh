# Images as the tutorial uses them: pull a base image, pull a child that shares its first layer ("Already
# exists", not fetched again), list, inspect, tag, remove; pulls by digest, of an index, of zstd layers and of a
# 100-layer image; and the errors a user meets. Cases run in order in one bed.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }

test_pull_base_image() {
        local out
        out=$(bed_exec berthctl pull "$(R busybox)")
        assert_match "$out" 'latest: Pulling from' "first line"
        assert_match "$out" ': Pull complete' "layer line"
        assert_match "$out" "Digest: $(image_digest busybox)" "Digest line"
        assert_match "$out" "Status: Downloaded newer image for $(R busybox):latest" "Status line"
        assert_match "$(bed_exec berthctl image ls)" "$(R busybox) +latest +[0-9a-f]{12} " "image ls row"
        # The journal has the structured pull event.
        assert_match "$(bed_journal -o json --no-pager MESSAGE_ID=54e978dde57d4c5f943d3b01985dc16a)" \
                "\"BERTH_IMAGE_DIGEST\":\"$(image_digest busybox)\"" "pull journal entry"
}

test_child_image_shares_base_layer() {
        local before after out base_layer
        base_layer=$(bed_exec busctl get-property org.berth1 "$(bed_exec busctl call org.berth1 /org/berth1 \
                org.berth1.Manager GetImage s "$(R busybox)" | awk '{print $2}' | tr -d '"')" org.berth1.Image Layers)
        before=$(registry_blob_gets busybox-child | wc -l)
        out=$(bed_exec berthctl pull "$(R busybox-child)")
        assert_match "$out" ': Already exists' "shared layer reported"
        assert_match "$out" "Status: Downloaded newer image for $(R busybox-child):latest" "Status line"
        # Exactly the child's own two layers and its config were fetched, not the shared one.
        after=$(registry_blob_gets busybox-child | wc -l)
        assert_eq "$((after - before))" 3 "blobs fetched for the child (2 layers + config)"
        # Pulling again fetches nothing and says so.
        out=$(bed_exec berthctl pull "$(R busybox-child)")
        assert_match "$out" "Status: Image is up to date for $(R busybox-child):latest" "second pull"
        assert_eq "$(registry_blob_gets busybox-child | wc -l)" "$after" "no blob fetched by the second pull"
}

test_whiteout_and_opaque_in_store() {
        # The child's layers are extracted in overlay form: a 0/0 char device for the deleted file, the opaque
        # xattr on the replaced dir; an overlay of the layers shows the merged tree.
        bed_sh 'cd /var/lib/berth/layers && find . -path "*/diff/etc/removeme" -type c | grep -q .' ||
                fail "no whiteout device for /etc/removeme"
        bed_sh "cd /var/lib/berth/layers && python3 -c 'import glob,os,sys; sys.exit(0 if any(os.getxattr(d, \"trusted.overlay.opaque\") == b\"y\" for d in glob.glob(\"*/diff/opt/data\") if \"trusted.overlay.opaque\" in os.listxattr(d)) else 1)'" ||
                fail "no opaque xattr on /opt/data"
}

test_image_object_introspection_matches_contract() {
        local path
        path=$(bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager GetImage s "$(R busybox)" |
                awk '{print $2}' | tr -d '"')
        bed_exec busctl introspect --xml-interface org.berth1 "$path" > "$TEST_TMP/image.xml"
        python3 "$BERTH_SRC/tests/integration/introspect-compare.py" \
                "$BERTH_SRC/dbus/org.berth1.Image.xml" "$TEST_TMP/image.xml" org.berth1.Image
        bed_exec cat /usr/share/dbus-1/interfaces/org.berth1.Image.xml | cmp - "$BERTH_SRC/dbus/org.berth1.Image.xml"
        bed_exec cat /usr/share/dbus-1/interfaces/org.berth1.Transfer.xml |
                cmp - "$BERTH_SRC/dbus/org.berth1.Transfer.xml"
}

test_inspect_and_history() {
        local json
        json=$(bed_exec berthctl image inspect "$(R busybox-child)")
        assert_match "$json" '"RepoDigests"' "inspect shows RepoDigests"
        assert_match "$json" "$(image_digest busybox-child)" "inspect shows the manifest digest"
        echo "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; assert len(d["RootFS"]["Layers"]) == 3, d' ||
                fail "three layers in RootFS"
        assert_match "$(bed_exec berthctl image history "$(R busybox-child)")" 'CREATED BY' "history header"
}

test_tag_and_remove_keep_shared_layers() {
        bed_exec berthctl tag "$(R busybox)" mybase:1
        assert_match "$(bed_exec berthctl image ls)" 'mybase +1 ' "new tag listed"
        # Removing one of two tags only untags.
        bed_exec berthctl image rm mybase:1 >/dev/null
        assert_no_match "$(bed_exec berthctl image ls)" 'mybase' "tag gone"
        # The journal says the tag went, not the image.
        assert_match "$(bed_journal -o cat --no-pager MESSAGE_ID=68181f2272354bb597f199244862f251)" \
                '^Untagged docker.io/library/mybase:1\.$' "untag journal entry"
        assert_no_match "$(bed_journal -o cat --no-pager MESSAGE_ID=8a165b99011d4dc39527df40195dd6b7)" \
                'mybase' "no removal entry for a tag"
        assert_match "$(bed_exec berthctl image ls)" "$(R busybox) " "image kept"
        # Removing the base image keeps the child usable: its layers stay.
        bed_exec berthctl image rm "$(R busybox)" >/dev/null
        assert_no_match "$(bed_exec berthctl image ls)" "$(R busybox) " "base removed"
        local n
        n=$(bed_sh 'ls -d /var/lib/berth/layers/*/diff | wc -l')
        assert_eq "$n" 3 "layers left for the child"
        # And pulling the base again needs no download at all.
        assert_match "$(bed_exec berthctl pull "$(R busybox)")" 'Already exists' "base layer still there"
}

test_pull_by_digest_index_and_zstd() {
        local d out
        d=$(image_digest busybox-zstd)
        out=$(bed_exec berthctl pull "$(R busybox-zstd)@$d")
        assert_match "$out" "Digest: $d" "pull by digest"
        # The zstd copy has busybox's config, so it is the same image; the digest names it all the same.
        assert_match "$(bed_exec berthctl image inspect "$(R busybox-zstd)@$d")" "busybox-zstd@$d" "RepoDigests"
        # A pull by digest adds no tag; as docker, image ls shows the repository with TAG <none>.
        assert_match "$(bed_exec berthctl image ls)" "^$(R busybox-zstd) +<none> +[0-9a-f]{12} " "digest-only row"
        assert_no_match "$(bed_exec berthctl image ls)" "busybox-zstd +latest" "no tag"
        out=$(bed_exec berthctl pull "$(R busybox-multi)")
        assert_match "$out" 'Status: Downloaded newer image' "multi-arch index"
        assert_match "$(bed_exec berthctl image inspect "$(R busybox-multi)")" '"Architecture" ?: "amd64"' "host platform picked"
}

test_pull_100_layers() {
        local out
        out=$(bed_exec berthctl pull "$(R layers-100)")
        assert_match "$out" 'Status: Downloaded newer image' "100-layer pull"
        # The overlay of all 100 layers mounts (short links keep the option under a page).
        local opt
        opt=$(bed_sh "cd /var/lib/berth/layers && python3 - <<'PY'
import json,os,glob
rec=[json.load(open(p)) for p in glob.glob('/var/lib/berth/images/*/image.json')]
r=[x for x in rec if len(x['chain_ids'])==100][0]
print(':'.join('l/'+open(c.split(':')[1]+'/link').read().strip() for c in reversed(r['chain_ids'])))
PY")
        bed_sh "mkdir -p /run/t100 && cd /var/lib/berth/layers && mount -t overlay overlay -o lowerdir=$opt /run/t100 && test -e /run/t100/layers/99 && test -x /run/t100/bin/busybox; rc=\$?; umount /run/t100; exit \$rc" ||
                fail "100-layer overlay did not mount"
}

test_errors() {
        local out
        out=$(bed_exec berthctl pull 'UPPER/case' 2>&1) && fail "bad reference accepted"
        assert_match "$out" 'Invalid image reference' "InvalidReference"
        out=$(bed_exec berthctl pull "$(R busybox):nosuchtag" 2>&1) && fail "missing tag accepted"
        assert_match "$out" 'Manifest unknown' "ManifestUnknown"
        out=$(bed_exec berthctl pull 127.0.0.1:1/nothing 2>&1) && fail "down registry accepted"
        assert_match "$out" 'Registry error' "RegistryError for a registry that is down"
        out=$(bed_exec berthctl image rm nosuchimage 2>&1) && fail "rm of a missing image"
        assert_match "$out" 'No such image' "NoSuchImage"
        out=$(bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager PullImage 'sa{sv}' x 1 bogus b true 2>&1) &&
                fail "unknown option accepted"
        assert_match "$out" "Unknown option 'bogus'" "unknown option refused by name"
}

test_polkit_denies_unprivileged_pull() {
        local out
        out=$(bed_nobody busctl call org.berth1 /org/berth1 org.berth1.Manager PullImage 'sa{sv}' "$(R busybox)" 0 2>&1) &&
                fail "nobody may pull"
        assert_match "$out" 'Access denied|Interactive authentication required|Permission denied' "denied"
        # Read-only calls are open to everyone.
        assert_ok bed_nobody busctl call org.berth1 /org/berth1 org.berth1.Manager ListImages
}

test_search() {
        local out
        out=$(bed_exec berthctl search "$BERTH_TEST_REGISTRY/busy")
        assert_match "$out" '^NAME +DESCRIPTION' "header"
        assert_match "$out" "^$(R busybox-child)\$|^$(R busybox-child) " "catalog match"
        assert_no_match "$out" 'layers-100' "non-matching repository"
        assert_eq "$(grep -c "^$BERTH_TEST_REGISTRY/busybox" <<<"$out")" 4 "busybox repositories found"
        out=$(bed_exec berthctl search --limit 2 "$BERTH_TEST_REGISTRY/busy")
        assert_eq "$(($(wc -l <<<"$out") - 1))" 2 "rows with --limit 2"
        bed_exec berthctl --json search "$BERTH_TEST_REGISTRY/layers" |
                python3 -c 'import json,sys; d=json.load(sys.stdin); assert [x["Name"] for x in d] == [sys.argv[1]], d' \
                        "$(R layers-100)" || fail "--json"
        # Over the bus, with the registry as an option; as a pull, it needs org.berth1.pull-image (root passes).
        out=$(bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager SearchImages 'sa{sv}' zstd 1 \
                registry s "$BERTH_TEST_REGISTRY")
        assert_eq "$out" "a(ss) 1 \"$(R busybox-zstd)\" \"\"" "SearchImages"
        out=$(bed_nobody busctl --allow-interactive-authorization=no call org.berth1 /org/berth1 org.berth1.Manager \
                SearchImages 'sa{sv}' zstd 1 registry s "$BERTH_TEST_REGISTRY" 2>&1) && fail "nobody may search"
        assert_match "$out" 'Interactive authentication required' "SearchImages as nobody"
        assert_fails bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager SearchImages 'sa{sv}' x 1 bogus b true
        assert_match "$FAIL_OUTPUT" "Unknown option 'bogus'" "unknown option refused by name"
        assert_fails bed_exec berthctl search 127.0.0.1:1/x
        assert_match "$FAIL_OUTPUT" 'Registry error' "registry that is down"
}

# serve_py SCRIPT : runs a python3 server on 127.0.0.1 of the bed's network namespace in the background (its PID in $srv, global for the EXIT
# trap) and waits for the port it prints.
serve_py() {
        rm -f "$TEST_TMP/port"
        nsenter --net="$(bed_netns)" python3 -c "$1" > "$TEST_TMP/port" &
        srv=$!
        trap 'kill "$srv" 2>/dev/null || true' EXIT
        wait_until 60 test -s "$TEST_TMP/port"
}

test_search_limits() {
        local port out pids=() i
        # The registry is a domain, nothing else: no userinfo, scheme or path for a URL parser to find another
        # host in ("127.0.0.1@10.1.2.3:8080" was a plain-HTTP request to 10.1.2.3).
        for out in '127.0.0.1@10.1.2.3:8080' 'https://127.0.0.1:1' '127.0.0.1:1/x' 'a b'; do
                assert_fails bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager SearchImages 'sa{sv}' x 1 \
                        registry s "$out"
                assert_match "$FAIL_OUTPUT" 'Invalid registry' "registry '$out'"
        done

        # An answer over 1 MiB is refused, not held.
        serve_py '
import http.server, sys
BODY = (b"{\"repositories\":[" + b",".join(b"\"r%07d\"" % i for i in range(200000)) + b"]}")
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", str(len(BODY))); self.end_headers()
        self.wfile.write(BODY)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
'
        port=$(cat "$TEST_TMP/port")
        assert_fails bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager SearchImages 'sa{sv}' r00 1 \
                registry s "127.0.0.1:$port"
        assert_match "$FAIL_OUTPUT" 'too large' "a 2 MiB catalog"
        kill "$srv"; wait "$srv" 2>/dev/null || true

        # A registry that accepts connections and never answers: at most 4 searches wait at once, each at most
        # 30 s.
        serve_py '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
'
        port=$(cat "$TEST_TMP/port")
        for i in 1 2 3 4; do
                bed_exec busctl --timeout=120 call org.berth1 /org/berth1 org.berth1.Manager SearchImages 'sa{sv}' \
                        x 1 registry s "127.0.0.1:$port" > "$TEST_TMP/search$i.out" 2>&1 &
                pids+=($!)
        done
        wait_until 60 bed_net bash -c "[ \$(ss -Htn state established '( dport = :$port )' | wc -l) -ge 4 ]"
        assert_fails bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager SearchImages 'sa{sv}' x 1 \
                registry s "127.0.0.1:$port"
        assert_match "$FAIL_OUTPUT" 'LimitsExceeded|searches are waiting' "a fifth search"
        for i in 1 2 3 4; do
                wait "${pids[$((i - 1))]}" && fail "search $i of a silent registry succeeded"
                assert_match "$(cat "$TEST_TMP/search$i.out")" 'no answer within 30 s' "search $i ends by its deadline"
        done
        # And the slots are free again.
        assert_ok bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager SearchImages 'sa{sv}' busy 1 \
                registry s "$BERTH_TEST_REGISTRY"
        kill "$srv"; wait "$srv" 2>/dev/null || true
}

test_search_does_not_block_the_bus() {
        # A "registry" that accepts connections and never answers: the search waits, other calls do not.
        nsenter --net="$(bed_netns)" python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' > "$TEST_TMP/port" &
        srv=$! # global: the EXIT trap runs after this function's locals are gone
        local port
        trap 'kill "$srv" 2>/dev/null || true' EXIT
        wait_until 60 test -s "$TEST_TMP/port"
        port=$(cat "$TEST_TMP/port")
        bed_exec busctl --timeout=60 call org.berth1 /org/berth1 org.berth1.Manager SearchImages 'sa{sv}' x 1 \
                registry s "127.0.0.1:$port" > "$TEST_TMP/search.out" 2>&1 &
        local search=$!
        # The search is in flight (the server got its connection) …
        wait_until 60 bed_net bash -c "ss -Htn state established '( dport = :$port )' | grep -q ."
        # … and berthd answers meanwhile, at once.
        local t0=$SECONDS
        assert_ok bed_exec busctl --timeout=2 call org.berth1 /org/berth1 org.berth1.Manager ListImages
        assert_ok bed_exec busctl --timeout=2 call org.berth1 /org/berth1 org.berth1.Manager SearchImages 'sa{sv}' \
                busy 1 registry s "$BERTH_TEST_REGISTRY"
        [ $((SECONDS - t0)) -le 3 ] || fail "calls took $((SECONDS - t0)) s while a search waited"
        kill "$srv"; wait "$srv" 2>/dev/null || true
        # With the server gone the search ends with an error, not a hang.
        wait "$search" && fail "search of a dead registry succeeded: $(cat "$TEST_TMP/search.out")"
        assert_match "$(cat "$TEST_TMP/search.out")" 'RegistryError|Registry|connect|reset' "search error"
}

test_image_object_methods() {
        # Tag and Remove on the Image object's path, as TagImage and RemoveImage do by name.
        local path out
        bed_exec berthctl pull "$(R busybox)" >/dev/null
        path=$(bed_exec busctl --json=short call org.berth1 /org/berth1 org.berth1.Manager GetImage s "$(R busybox)" |
                python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])')
        bed_exec busctl call org.berth1 "$path" org.berth1.Image Tag s objtag:1
        assert_match "$(bed_exec berthctl image ls)" 'objtag +1 ' "tagged on the object"
        assert_match "$(bed_exec busctl get-property org.berth1 "$path" org.berth1.Image RepoTags)" 'objtag:1' \
                "RepoTags has the new tag"
        out=$(bed_exec busctl call org.berth1 "$path" org.berth1.Image Tag s "objtag@sha256:$(printf '0%.0s' {1..64})" 2>&1) &&
                fail "a digest is no tag"
        assert_match "$out" 'InvalidReference|cannot contain a digest|not a valid' "digest refused"
        # Two tags: the object (an id) is removed only with force.
        out=$(bed_exec busctl call org.berth1 "$path" org.berth1.Image Remove b false 2>&1) &&
                fail "an image with two tags needs force"
        assert_match "$out" 'several tags' "refused without force"
        bed_exec busctl call org.berth1 "$path" org.berth1.Image Remove b true
        assert_no_match "$(bed_exec berthctl image ls)" 'objtag' "removed on the object"
        out=$(bed_exec busctl call org.berth1 "$path" org.berth1.Image Remove b true 2>&1) &&
                fail "the object is gone"
        assert_match "$out" 'Unknown object' "its object went with it"
}
