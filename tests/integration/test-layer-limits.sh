# Layers that cost far more to extract than to download: a tar bomb (a 200 KB gzip of one 200 MiB file of zeros)
# against berth.conf's [Store] MaxLayerSize=, and a layer of 1,000,000 empty files (7 MB of gzip) against
# MaxLayerEntries= and then in full. Each refused pull fails with an error naming the limit, leaves nothing in
# the store, and berthd keeps its PID. The fixtures are written by Python's tarfile straight into gzip (no
# million files on disk), as an OCI layout cached in the build's test-cache, and pushed to the fixture registry.
# Cases run in order in one bed.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
berthd_pid() { unit_prop berthd.service MainPID; }
# leftovers : half-made layers or images (temp dirs), one a line
leftovers() { bed_sh 'ls -d /var/lib/berth/layers/.tmp-* /var/lib/berth/images/.tmp-* 2>/dev/null; true'; }
# store_listing : the store's layers and images (not the trash, which empties in the background)
store_listing() {
        bed_sh 'cd /var/lib/berth && for d in layers layers/l images; do
                        [ -d "$d" ] && ls -A "$d" | grep -vx -e l -e .trash | grep -v "^\.tmp-" | sed "s|^|$d/|"
                done | sort; true'
}
# store_conf TEXT : /etc/berth/berth.conf in the bed, then berthd restarted to read it
store_conf() {
        bed_sh "mkdir -p /etc/berth && printf '%s\n' '$1' > /etc/berth/berth.conf"
        bed_exec systemctl restart berthd
}

# The generator: an OCI layout with the images "bomb" and "files-1m", one gzip layer each, tar written entry by
# entry into gzip while both digests are computed on the way.
fixture_py() {
        cat <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile

layout = sys.argv[1]
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)

class Hashing(io.RawIOBase):
        def __init__(self, out):
                self.out, self.h, self.n = out, hashlib.sha256(), 0
        def writable(self):
                return True
        def write(self, b):
                self.h.update(b); self.n += len(b); self.out.write(b)
                return len(b)

class Zeros(io.RawIOBase):
        def __init__(self, n):
                self.left = n
        def readable(self):
                return True
        def readinto(self, b):
                k = min(len(b), self.left)
                b[:k] = bytes(k); self.left -= k
                return k

def blob(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, d), "wb") as f:
                f.write(data)
        return "sha256:" + d, len(data)

def layer(fill):
        tmp = os.path.join(blobs, "layer.tmp")
        with open(tmp, "wb") as f:
                comp = Hashing(f)
                gz = gzip.GzipFile(fileobj=comp, mode="wb", mtime=0, compresslevel=6)
                diff = Hashing(gz)
                with tarfile.open(fileobj=diff, mode="w|", format=tarfile.USTAR_FORMAT) as tf:
                        fill(tf)
                gz.close()
        os.rename(tmp, os.path.join(blobs, comp.h.hexdigest()))
        return "sha256:" + comp.h.hexdigest(), comp.n, "sha256:" + diff.h.hexdigest()

def bomb(tf):
        ti = tarfile.TarInfo("bomb"); ti.size = 200 << 20; ti.mode = 0o644; ti.mtime = 1700000000
        tf.addfile(ti, Zeros(ti.size))

def million(tf):
        for d in range(1000):
                ti = tarfile.TarInfo("m/%03d" % d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; ti.mtime = 1700000000
                tf.addfile(ti)
                for i in range(1000):
                        ti = tarfile.TarInfo("m/%03d/%03d" % (d, i)); ti.mode = 0o644; ti.mtime = 1700000000
                        tf.addfile(ti)

index = {"schemaVersion": 2, "manifests": []}
for tag, fill in (("bomb", bomb), ("files-1m", million)):
        digest, size, diff_id = layer(fill)
        config = {"architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
                  "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
        cdigest, csize = blob(json.dumps(config).encode())
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size}]}
        mdigest, msize = blob(json.dumps(manifest).encode())
        index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest,
                                   "size": msize, "annotations": {"org.opencontainers.image.ref.name": tag}})
        print(tag, "layer", size, "bytes of gzip", file=sys.stderr)
with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
PY
}

# skopeo as root keeps a blob-info cache in /var/lib/containers: give it a private empty one (as images.sh does).
skopeo_private() {
        unshare --mount --propagation private sh -c 'mount -t tmpfs skopeo-varlib /var/lib && exec skopeo "$@"' \
                skopeo "$@"
}

test_push_fixtures() {
        local cache out tag start
        cache=${BERTH_TEST_CACHE:-$BERTH_BUILD/test-cache}
        out=$cache/layer-limits-$(fixture_py | sha256sum | cut -c1-16)
        if [ ! -f "$out/done" ]; then
                start=$SECONDS
                rm -rf "$out.tmp" && mkdir -p "$out.tmp"
                fixture_py > "$out.tmp/gen.py"
                python3 "$out.tmp/gen.py" "$out.tmp/oci"
                touch "$out.tmp/done"
                rm -rf "$out" && mv "$out.tmp" "$out"
                find "$cache" -mindepth 1 -maxdepth 1 -name 'layer-limits-*' ! -name "$(basename "$out")" -exec rm -rf {} +
                echo "fixtures written in $((SECONDS - start)) s"
        fi
        for tag in bomb files-1m; do
                skopeo_private copy --quiet --dest-tls-verify=false --preserve-digests "oci:$out/oci:$tag" \
                        "docker://$BERTH_TEST_REGISTRY/$tag:latest"
        done
}

test_tar_bomb_stops_at_max_layer_size() {
        local pid before
        store_conf $'[Store]\nMaxLayerSize=64M'
        bed_exec berthctl pull "$(R busybox)" >/dev/null
        pid=$(berthd_pid)
        before=$(store_listing)
        assert_fails bed_exec berthctl pull "$(R bomb)"
        grep '^Error' <<<"$FAIL_OUTPUT" || true
        assert_match "$FAIL_OUTPUT" '^Error: .*larger than 64 MiB uncompressed.*MaxLayerSize=' "error names the limit"
        assert_eq "$(berthd_pid)" "$pid" "berthd's PID"
        assert_eq "$(leftovers)" "" "temp dirs left"
        assert_eq "$(store_listing)" "$before" "store after the refused pull"
        assert_no_match "$(bed_exec berthctl image ls)" "$(R bomb) " "image listed"
        # Stopped at the cap, not after writing all of it: the zeros never reached 200 MiB anywhere.
        [ -z "$(bed_sh 'find /var/lib/berth -xdev -name bomb -size +65M')" ] || fail "a bomb file over the cap exists"
        # The host is untouched: no file named bomb outside the bed's store.
        [ -z "$(find /tmp /var/tmp /etc -xdev -maxdepth 3 -name bomb 2>/dev/null)" ] || fail "a bomb file on the host"

        # Without the limit (the default is 64 GiB) the same image pulls: it is only big, not broken.
        store_conf ''
        assert_match "$(bed_exec berthctl pull "$(R bomb)")" "Status: Downloaded newer image" "pull with the default limit"
        assert_eq "$(bed_exec stat -c %s "$(bed_sh 'ls -d /var/lib/berth/layers/*/diff/bomb')")" $((200 << 20)) "the bomb's size"
        bed_exec berthctl image rm "$(R bomb)" >/dev/null
}

test_million_files_stop_at_max_layer_entries() {
        local pid before start
        store_conf $'[Store]\nMaxLayerEntries=100000'
        pid=$(berthd_pid)
        before=$(store_listing)
        start=$SECONDS
        assert_fails bed_exec berthctl pull "$(R files-1m)"
        echo "refused after $((SECONDS - start)) s: $(grep '^Error' <<<"$FAIL_OUTPUT")"
        assert_match "$FAIL_OUTPUT" '^Error: .*more than 100000 entries.*MaxLayerEntries=' "error names the limit"
        assert_eq "$(berthd_pid)" "$pid" "berthd's PID"
        assert_eq "$(leftovers)" "" "temp dirs left"
        assert_eq "$(store_listing)" "$before" "store after the refused pull"
}

test_million_files_pull_in_full() {
        local pid start out
        store_conf ''
        pid=$(berthd_pid)
        start=$SECONDS
        out=$(bed_exec berthctl pull "$(R files-1m)")
        echo "1,000,000 files pulled in $((SECONDS - start)) s"
        assert_match "$out" "Status: Downloaded newer image for $(R files-1m):latest" "pull"
        assert_eq "$(bed_sh 'find /var/lib/berth/layers/*/diff/m -type f | wc -l')" 1000000 "files in the layer"
        assert_eq "$(berthd_pid)" "$pid" "berthd's PID"
        # berthd still answers, and removing the image gives the inodes back (in the background).
        assert_match "$(bed_exec berthctl image ls)" "$(R files-1m) " "listed"
        bed_exec berthctl image rm "$(R files-1m)" >/dev/null
        start=$SECONDS
        wait_until 240 bash -c "[ -z \"\$($BERTH_BED exec $BED_DIR sh -c 'ls -A /var/lib/berth/layers/.trash')\" ]"
        echo "removed in $((SECONDS - start)) s"
        assert_eq "$(leftovers)" "" "temp dirs left"
}
