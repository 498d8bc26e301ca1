# berthctl push / login / logout (PushImage, Login, Logout): a pulled image pushed to another repository of its
# registry is mounted there and keeps its manifest digest; a second tag finds every layer already there; a
# committed image's new layer is compressed as it uploads (gzip, or zstd) and pulls back as the same image; an
# htpasswd-protected registry refuses a push without credentials, login checks the password before it stores
# anything, and logout forgets it; unprivileged callers are refused by each new action.
#
# Each case starts its own registry (Debian's docker-registry, in the bed's network namespace) on a copy of the
# fixture registry's storage (hard links: instant, and the shared fixture registry is never written to).

# push_registry_start [--auth USER:PASSWORD] : sets PUSH_REGISTRY (host:port) and PUSH_REGISTRY_LOG
push_registry_start() {
        local d
        d=$(mktemp -d "$TEST_TMP/auth-registry.push-XXXXXX")
        cp -al "$BERTH_TEST_REGISTRY_DIR/storage" "$d/storage"
        _BERTH_AUTH_REGISTRIES+=("$d")
        trap '_berth_case_cleanup' EXIT
        PUSH_REGISTRY=$(bed_net "$BERTH_REGISTRY_SH" start "$d" --storage "$d/storage" "$@")
        PUSH_REGISTRY_LOG=$d/registry.log
        PUSH_REGISTRY_DIR=$d
}

image_id() { bed_exec berthctl image inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }
# layer_digests REF : the compressed digests the registry lists for REF's manifest, one per line
layer_digests() {
        bed_exec curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' \
                "http://$1/v2/$2/manifests/$3" | python3 -c 'import json,sys; print("\n".join(l["digest"] for l in json.load(sys.stdin)["layers"]))'
}
remove_all_images() {
        local id
        for id in $(bed_exec berthctl image ls -q --no-trunc | sort -u); do
                bed_exec berthctl image rm -f "$id" >/dev/null
        done
        assert_eq "$(bed_exec berthctl image ls -q)" "" "images left"
}

test_push_pulled_image_mounts_and_keeps_its_digest() {
        local R out id digest
        push_registry_start
        R=$PUSH_REGISTRY
        out=$(bed_exec berthctl pull "$R/busybox")
        digest=$(sed -n 's/^Digest: //p' <<<"$out")
        id=$(image_id "$R/busybox")

        bed_exec berthctl tag "$R/busybox" "$R/copy/busybox:1"
        out=$(bed_exec berthctl push "$R/copy/busybox:1")
        assert_match "$out" "^The push refers to repository \[$R/copy/busybox\]$" "first line"
        assert_match "$out" '^[0-9a-f]{12}: Mounted from busybox$' "the layer is mounted from its source repository"
        assert_match "$out" "^1: digest: $digest size: [0-9]+$" "the original manifest, digest kept"
        assert_match "$(cat "$PUSH_REGISTRY_LOG")" '"POST /v2/copy/busybox/blobs/uploads/\?mount=sha256:[0-9a-f]{64}&from=busybox HTTP/1.1" 201' "a cross-repository mount"
        assert_no_match "$(cat "$PUSH_REGISTRY_LOG")" '"PATCH ' "no layer uploaded"

        # A second tag: everything is there.
        bed_exec berthctl tag "$R/busybox" "$R/copy/busybox:2"
        out=$(bed_exec berthctl push "$R/copy/busybox:2")
        assert_match "$out" '^[0-9a-f]{12}: Layer already exists$' "second tag"
        assert_no_match "$out" 'Mounted|Pushed' "nothing sent for the second tag"
        assert_match "$out" "^2: digest: $digest size: [0-9]+$" "second tag's digest"

        # Docker's RepoDigests gain the pushed one.
        assert_match "$(bed_exec berthctl image inspect "$R/busybox" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)[0]["RepoDigests"]))')" \
                "^$R/copy/busybox@$digest$" "RepoDigests"

        # Every tag of the repository, one push each.
        out=$(bed_exec berthctl push --all-tags "$R/copy/busybox")
        assert_eq "$(grep -cE '^[12]: digest: ' <<<"$out")" 2 "--all-tags pushes both tags:"$'\n'"$out"

        # Gone from the store, pulled back: the same image, the same layers.
        remove_all_images
        out=$(bed_exec berthctl pull "$R/copy/busybox:1")
        assert_match "$out" "^Digest: $digest$" "pulled back under the same digest"
        assert_eq "$(image_id "$R/copy/busybox:1")" "$id" "same image id"
        assert_eq "$(layer_digests "$R" copy/busybox 1)" "$(layer_digests "$R" busybox latest)" "same layer digests"
}

test_push_to_another_registry_recompresses_the_exact_layers() {
        local R out id n
        push_registry_start
        R=$PUSH_REGISTRY
        # From the fixture registry: another registry than R, so every layer is compressed again from the
        # store's exact tars (the diff ids must match the config's, or the push fails).
        bed_exec berthctl pull "$BERTH_TEST_REGISTRY/busybox-child" >/dev/null
        id=$(image_id "$BERTH_TEST_REGISTRY/busybox-child")
        n=$(bed_exec berthctl image inspect "$BERTH_TEST_REGISTRY/busybox-child" |
                python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["RootFS"]["Layers"]))')
        bed_exec berthctl tag "$BERTH_TEST_REGISTRY/busybox-child" "$R/elsewhere:1"
        out=$(bed_exec berthctl push "$R/elsewhere:1")
        assert_eq "$(grep -cE '^[0-9a-f]{12}: Pushed$' <<<"$out")" "$n" "every layer uploaded:"$'\n'"$out"
        remove_all_images
        bed_exec berthctl pull "$R/elsewhere:1" >/dev/null
        assert_eq "$(image_id "$R/elsewhere:1")" "$id" "same image id after the round trip"
}

test_push_committed_image_gzip_and_zstd() {
        local R out id
        push_registry_start
        R=$PUSH_REGISTRY
        bed_exec berthctl pull "$R/busybox" >/dev/null
        bed_exec berthctl run --name maker "$R/busybox" sh -c 'echo committed > /hello; mkdir -p /d; seq 1 20000 > /d/numbers; rm /bin/true' >/dev/null
        id=$(bed_exec berthctl commit maker "$R/committed:1")
        bed_exec berthctl rm maker >/dev/null

        # zstd first: it compresses its own layer with zstd and mounts the gzip base.
        bed_exec berthctl tag "$R/committed:1" "$R/committed-zstd:1"
        out=$(bed_exec berthctl push --compression-format zstd "$R/committed-zstd:1")
        assert_match "$out" '^[0-9a-f]{12}: Pushed$' "zstd: the committed layer is uploaded"
        assert_match "$out" '^[0-9a-f]{12}: Mounted from busybox$' "zstd: the base layer is mounted"
        assert_match "$(bed_exec curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/committed-zstd/manifests/1")" \
                'application/vnd.oci.image.layer.v1.tar\+zstd' "an OCI manifest with a zstd layer"

        # gzip: the zstd blob is not for every client, so the layer goes up again, as gzip.
        out=$(bed_exec berthctl push "$R/committed:1")
        assert_match "$out" '^[0-9a-f]{12}: Pushed$' "the committed layer is uploaded"
        assert_match "$out" '^[0-9a-f]{12}: Mounted from (busybox|committed-zstd)$' "the base layer is mounted"
        assert_match "$out" '^1: digest: sha256:[0-9a-f]{64} size: [0-9]+$' "digest line"
        assert_match "$(cat "$PUSH_REGISTRY_LOG")" '"PATCH /v2/committed/blobs/uploads/[^ ]* HTTP/1.1" 202' "a streamed upload"
        assert_match "$(bed_exec curl -sfI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$R/v2/committed/manifests/1")" \
                'application/vnd.docker.distribution.manifest.v2\+json' "a Docker schema 2 manifest for gzip"

        remove_all_images
        for ref in "$R/committed:1" "$R/committed-zstd:1"; do
                bed_exec berthctl pull "$ref" >/dev/null
                assert_eq "$(image_id "$ref")" "$id" "$ref pulls back as the committed image"
                assert_eq "$(bed_exec berthctl run --rm "$ref" cat /hello)" committed "$ref: the committed file"
                assert_eq "$(bed_exec berthctl run --rm "$ref" sh -c 'test -e /bin/true || echo gone')" gone "$ref: the deletion"
        done
}

test_push_errors() {
        local R
        push_registry_start
        R=$PUSH_REGISTRY
        assert_fails bed_exec berthctl push "$R/nothing-here:1"
        assert_match "$FAIL_OUTPUT" 'An image does not exist locally with the tag: .*nothing-here:1' "unknown tag"
        assert_fails bed_exec berthctl push --compression-format lzma "$R/x"
        assert_match "$FAIL_OUTPUT" 'gzip or zstd' "bad compression"
        # A registry that refuses writes (distribution's read-only maintenance mode): the push fails with the
        # registry's word, and no tag appears there.
        bed_exec berthctl pull "$R/busybox" >/dev/null
        bed_exec berthctl run --name ro-maker "$R/busybox" sh -c 'echo x > /x' >/dev/null
        REGISTRY_STORAGE_MAINTENANCE_READONLY='{"enabled": true}' push_registry_start
        bed_exec berthctl commit ro-maker "$PUSH_REGISTRY/ro:1" >/dev/null
        bed_exec berthctl rm ro-maker >/dev/null
        assert_fails bed_exec berthctl push "$PUSH_REGISTRY/ro:1"
        assert_match "$FAIL_OUTPUT" '^Error: Registry error: .*ro:1: .*\(HTTP 405\)' "read-only registry"
        assert_fails bed_exec curl -sf "http://$PUSH_REGISTRY/v2/ro/manifests/1"

        # A registry that refuses: nothing listens there.
        bed_exec berthctl tag "$R/busybox" 127.0.0.1:1/busybox:x
        assert_fails bed_exec berthctl push 127.0.0.1:1/busybox:x
        assert_match "$FAIL_OUTPUT" '^Error: ' "unreachable registry"
}

test_login_push_logout() {
        local A out
        push_registry_start --auth berth:s3cret
        A=$PUSH_REGISTRY
        # The base comes from the open fixture registry; the protected one shares its blobs (a copy of its
        # storage), so only the committed layer goes up.
        bed_exec berthctl pull "$BERTH_TEST_REGISTRY/busybox" >/dev/null
        bed_exec berthctl run --name maker "$BERTH_TEST_REGISTRY/busybox" sh -c 'echo secret > /s' >/dev/null
        bed_exec berthctl commit maker "$A/busybox:mine" >/dev/null
        bed_exec berthctl rm maker >/dev/null

        assert_fails bed_exec berthctl push "$A/busybox:mine"
        assert_match "$FAIL_OUTPUT" "^Error: Unauthorized: .*berthctl login $A" "push without credentials"

        assert_fails bed_sh "echo wrong | berthctl login -u berth --password-stdin $A"
        assert_match "$FAIL_OUTPUT" '^Error: Unauthorized: Login to .* failed' "wrong password"
        bed_exec test ! -e /var/lib/berth/auth.json || fail "a refused login stored something"

        out=$(bed_sh "echo s3cret | berthctl login -u berth --password-stdin $A")
        assert_eq "$out" "Login Succeeded" "login"
        assert_eq "$(bed_exec stat -c %a /var/lib/berth/auth.json)" 600 "credentials file mode"
        bed_exec python3 -c "import json,base64; a=json.load(open('/var/lib/berth/auth.json'))['auths']['$A']['auth']; assert base64.b64decode(a) == b'berth:s3cret'" ||
                fail "Docker's auth file format"

        out=$(bed_exec berthctl push "$A/busybox:mine")
        assert_match "$out" '^[0-9a-f]{12}: Layer already exists$' "base layer there already"
        assert_match "$out" '^[0-9a-f]{12}: Pushed$' "committed layer pushed with credentials"
        assert_match "$out" '^mine: digest: sha256:' "digest line"
        # Pull uses them too.
        bed_exec berthctl image rm "$A/busybox:mine" >/dev/null
        bed_exec berthctl pull "$A/busybox:mine" >/dev/null

        assert_eq "$(bed_exec berthctl logout "$A")" "Removing login credentials for $A" "logout"
        assert_eq "$(bed_exec berthctl logout "$A")" "Not logged in to $A" "second logout"
        assert_fails bed_exec berthctl push "$A/busybox:mine"
        assert_match "$FAIL_OUTPUT" '^Error: Unauthorized' "push after logout"
}

# Registries and credentials that are no such thing are refused at once, before any lookup or request.
test_login_refuses_bad_input() {
        local bad out before
        before=$(bed_sh 'cat /var/lib/berth/auth.json 2>/dev/null || echo none')
        for bad in . .. a/../b a//b _x -rf 'sha256:' "sha256:$(printf '0%.0s' $(seq 64))" example.org:70000 \
                "$(printf 'a%.0s' $(seq 70)).example"; do
                out=$(bed_exec busctl --timeout=5 -- call org.berth1 /org/berth1 org.berth1.Manager Login sss "$bad" u p 2>&1) &&
                        fail "Login to '$bad' succeeded"
                assert_match "$out" "is not a registry" "Login to '$bad'"
        done
        out=$(bed_exec busctl --timeout=5 call org.berth1 /org/berth1 org.berth1.Manager Login sss \
                "$BERTH_TEST_REGISTRY" "$(printf 'u\tx')" p 2>&1) && fail "a user name with a tab was taken"
        assert_match "$out" "control characters" "user name with a control character"
        assert_eq "$(bed_sh 'cat /var/lib/berth/auth.json 2>/dev/null || echo none')" "$before" "credentials after refused logins"
}

transfer_gone() { ! bed_exec busctl introspect org.berth1 "$1" >/dev/null 2>&1; }

test_cancel_push() {
        local R path out
        push_registry_start
        R=$PUSH_REGISTRY
        bed_exec berthctl pull "$R/busybox" >/dev/null
        bed_exec berthctl tag "$R/busybox" "$R/cancelled:1"
        # The registry frozen: the push's first request waits for an answer, so the push is surely running.
        kill -STOP "$(cat "$PUSH_REGISTRY_DIR/pid")"
        path=$(bed_exec busctl --json=short call org.berth1 /org/berth1 org.berth1.Manager PushImage 'sa{sv}' \
                "$R/cancelled:1" 0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])')
        out=$(bed_nobody busctl --allow-interactive-authorization=no call org.berth1 "$path" org.berth1.Transfer \
                Cancel 2>&1) && { kill -CONT "$(cat "$PUSH_REGISTRY_DIR/pid")"; fail "nobody cancelled a push"; }
        assert_eq "$(bed_exec busctl get-property org.berth1 "$path" org.berth1.Transfer Status)" 's "pushing"' "still running"
        bed_exec busctl call org.berth1 "$path" org.berth1.Transfer Cancel
        wait_until 10 transfer_gone "$path"
        kill -CONT "$(cat "$PUSH_REGISTRY_DIR/pid")"
        assert_match "$(bed_journal -o cat -u berthd --no-pager)" "Push of $R/cancelled:1 failed: the push was cancelled" "journal"
        assert_fails bed_exec curl -sf "http://$R/v2/cancelled/manifests/1"
}

test_unprivileged_callers_refused() {
        local out
        bed_exec berthctl pull "$BERTH_TEST_REGISTRY/busybox" >/dev/null
        for call in "PushImage sa{sv} $BERTH_TEST_REGISTRY/busybox:latest 0" "Login sss 127.0.0.1:5000 u p" \
                "Logout s 127.0.0.1:5000"; do
                # shellcheck disable=SC2086
                out=$(bed_nobody busctl --allow-interactive-authorization=no call org.berth1 /org/berth1 \
                        org.berth1.Manager $call 2>&1) && fail "nobody may call ${call%% *}"
                assert_match "$out" 'Access denied|Interactive authentication required|not authorized' "${call%% *} as nobody"
        done
}
