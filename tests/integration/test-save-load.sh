# save and load (berthctl save/load, Manager.SaveImages/LoadImages): round trips through both archive
# formats (and Docker 25's layout) with the same image id and layer tars that hash to the config's diff ids
# (the store's exact layer tars), progress on a terminal, a load into an empty store, the bus answering while
# a load waits for its archive, corrupt archives refused with the store left as it was, a layer without its
# record refused by save, two images in one archive, podman from Debian in both directions, and unprivileged
# callers refused. Cases run in order in one bed; archives live in
# /run/sl inside it.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
SL=/run/sl
PARITY=/run/parity

# P ARGS… : podman inside the bed, everything it writes under /run/parity (as test-podman-parity.sh); its
# blob-info cache would land in the host's /var/lib/containers whatever --root says, so /var/lib is a private
# tmpfs for it (as bench/push does).
P() {
        bed_exec env CONTAINERS_CONF=$PARITY/containers.conf CONTAINERS_REGISTRIES_CONF=$PARITY/registries.conf \
                CONTAINERS_STORAGE_CONF=$PARITY/storage.conf XDG_CONFIG_HOME=$PARITY/config \
                unshare --mount --propagation private sh -c 'mount -t tmpfs podman-varlib /var/lib && exec "$@"' \
                podman-private podman --root $PARITY/root --runroot $PARITY/runroot --tmpdir $PARITY/tmp \
                --cgroup-manager=cgroupfs --events-backend=file --runtime runc --storage-driver overlay "$@"
}

# image_id NAME : the image's id, from its bus object
image_id() {
        bed_exec busctl get-property org.berth1 "$(bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager \
                GetImage s "$1" | awk '{print $2}' | tr -d '"')" org.berth1.Image Id | awk '{print $2}' | tr -d '"'
}

# What must not change when a load fails: the images, the committed layers, and no temp dir left.
store_state() {
        bed_sh 'berthctl images -q --no-trunc | sort; ls /var/lib/berth/layers | grep -v "^l$" | sort'
}

# check_layers ARCHIVE : every layer the archive's manifest.json names hashes to the config's diff id
check_layers() {
        bed_exec python3 - "$1" <<'PY'
import hashlib, json, sys, tarfile
t = tarfile.open(sys.argv[1])
for img in json.load(t.extractfile("manifest.json")):
    cfg = json.load(t.extractfile(img["Config"]))
    ids = cfg["rootfs"]["diff_ids"]
    assert len(ids) == len(img["Layers"]), (ids, img["Layers"])
    for name, want in zip(img["Layers"], ids):
        got = "sha256:" + hashlib.sha256(t.extractfile(name).read()).hexdigest()
        assert got == want, (name, got, want)
print("ok")
PY
}

test_save_load_round_trip() {
        local id out
        bed_exec mkdir -p $SL
        bed_exec berthctl pull -q "$(R busybox-child)" >/dev/null
        id=$(image_id "$(R busybox-child)")
        assert_match "$id" '^sha256:[0-9a-f]{64}$' "image id"
        assert_ok bed_exec berthctl save -o $SL/child.tar "$(R busybox-child)"
        # docker-archive: manifest.json with the tag, the config under its id, one layer.tar per layer.
        out=$(bed_exec tar -tf $SL/child.tar)
        assert_match "$out" '^manifest.json$' "manifest.json"
        assert_match "$out" '^repositories$' "repositories"
        assert_match "$out" "^${id#sha256:}.json\$" "config"
        assert_match "$out" '^[0-9a-f]{64}/layer.tar$' "layer"
        assert_eq "$(check_layers $SL/child.tar)" ok "layer tars are the exact ones (diff ids)"
        assert_match "$(bed_exec tar -xOf $SL/child.tar manifest.json)" "\"RepoTags\":\\[\"$(R busybox-child):latest\"\\]" \
                "RepoTags"

        bed_exec berthctl rmi "$(R busybox-child)" >/dev/null
        out=$(bed_exec berthctl load -i $SL/child.tar)
        assert_eq "$out" "Loaded image: $(R busybox-child):latest" "load output"
        assert_eq "$(image_id "$(R busybox-child)")" "$id" "same image id after the round trip"
        assert_eq "$(bed_exec berthctl run --rm --network none "$(R busybox-child)" cat /etc/child)" "child" \
                "the loaded image runs"
        # On a terminal, berthd's ArchiveProgress signals show as a line on stderr (the child reports at its
        # first chance, and berthd sends what it has before the reply).
        assert_match "$(bed_exec script -qec "berthctl load -i $SL/child.tar" /dev/null)" 'Loading [0-9.]+[kMG]?B/' \
                "progress on a terminal"
        # Loading again is fine (duplicates), and -q prints nothing.
        assert_eq "$(bed_exec berthctl load -q -i $SL/child.tar)" "" "load -q"
}

test_save_by_id_is_untagged() {
        local id out
        id=$(image_id "$(R busybox-child)")
        bed_sh "berthctl save ${id:7:12} > $SL/byid.tar"
        assert_match "$(bed_exec tar -xOf $SL/byid.tar manifest.json)" '"RepoTags":\[\]' "no tag when saved by id"
        out=$(bed_exec berthctl load -i $SL/byid.tar)
        assert_eq "$out" "Loaded image ID: $id" "load output of an untagged image"
        # save refuses a terminal and an unknown image.
        assert_fails bed_exec berthctl save no-such-image:x -o $SL/none.tar
        assert_match "$FAIL_OUTPUT" 'No such image|not found|No image' "unknown image"
        bed_exec test ! -e $SL/none.tar
        assert_eq "$(bed_sh "ls -A $SL | grep -c berth-save || true")" 0 "no temp file left by the failed save"
}

test_oci_archive_into_empty_store() {
        local id out
        bed_exec berthctl pull -q "$(R busybox)" >/dev/null
        id=$(image_id "$(R busybox)")
        assert_ok bed_exec berthctl save --format oci-archive -o $SL/busybox-oci.tar "$(R busybox)"
        out=$(bed_exec tar -tf $SL/busybox-oci.tar)
        assert_match "$out" '^oci-layout$' "oci-layout"
        assert_match "$out" '^index.json$' "index.json"
        assert_match "$out" "^blobs/sha256/${id#sha256:}\$" "config blob"
        assert_match "$(bed_exec tar -xOf $SL/busybox-oci.tar index.json)" \
                "\"io.containerd.image.name\":\"$(R busybox):latest\"" "name annotation"

        # Empty the store: every image, hence every layer, goes.
        bed_sh 'berthctl rm -f $(berthctl ps -aq) >/dev/null 2>&1 || true; berthctl rmi -f $(berthctl images -q) >/dev/null'
        assert_eq "$(bed_exec berthctl images -q)" "" "empty store"
        out=$(bed_sh "gzip -c $SL/busybox-oci.tar | berthctl load")
        assert_eq "$out" "Loaded image: $(R busybox):latest" "load of a gzip-compressed OCI archive from stdin"
        assert_eq "$(image_id "$(R busybox)")" "$id" "same image id"
        assert_eq "$(bed_exec berthctl run --rm --network none "$(R busybox)" echo hi)" hi "it runs"
        # Docker 25's layout: the OCI layout plus a manifest.json that names blobs/sha256/ paths.
        bed_exec python3 - $SL/busybox-oci.tar $SL/docker25.tar <<'PY'
import io, json, sys, tarfile
t = tarfile.open(sys.argv[1]); o = tarfile.open(sys.argv[2], "w")
for m in t.getmembers():
    o.addfile(m, t.extractfile(m) if m.isfile() else None)
index = json.load(t.extractfile("index.json"))
blob = lambda d: "blobs/sha256/" + d.split(":")[1]
man = json.load(t.extractfile(blob(index["manifests"][0]["digest"])))
doc = json.dumps([{"Config": blob(man["config"]["digest"]), "RepoTags": ["docker25/busybox:latest"],
                   "Layers": [blob(l["digest"]) for l in man["layers"]]}]).encode()
i = tarfile.TarInfo("manifest.json"); i.size = len(doc); o.addfile(i, io.BytesIO(doc))
o.close()
PY
        assert_eq "$(bed_exec berthctl load -i $SL/docker25.tar)" "Loaded image: docker25/busybox:latest" \
                "load of Docker 25's layout"
        assert_eq "$(image_id docker25/busybox)" "$id" "same id from Docker 25's layout"
        # The loaded layers have their records too: saving again gives the same layer bytes.
        bed_exec berthctl save -o $SL/busybox-again.tar "$(R busybox)"
        assert_eq "$(check_layers $SL/busybox-again.tar)" ok "exact layers after a load"
}

# While a load waits for its archive (a FIFO nobody writes yet), berthd answers other calls; then the archive
# comes and the load completes.
test_load_does_not_block_the_bus() {
        local out
        out=$(bed_sh "set -e
                rm -f $SL/fifo; mkfifo $SL/fifo
                exec 3<>$SL/fifo   # read-write: this open does not block, and the FIFO has a writer
                before=\$(journalctl --no-pager -o cat -u berthd | grep -c 'Load started' || true)
                berthctl load -i $SL/fifo > $SL/fifo-out 2>&1 &
                pid=\$!
                for i in \$(seq 300); do
                        [ \$(journalctl --no-pager -o cat -u berthd | grep -c 'Load started' || true) -gt \$before ] &&
                                echo 'load started' && break
                        sleep 0.1
                done
                timeout 10 berthctl images -q > /dev/null && echo 'bus answered'
                cat $SL/child.tar >&3
                exec 3>&-
                wait \$pid && cat $SL/fifo-out")
        assert_match "$out" '^load started$' "the load's child waiting for its archive"
        assert_match "$out" '^bus answered$' "a call during the load"
        assert_match "$out" "^Loaded image: $(R busybox-child):latest\$" "the load after its archive came"
}

# corrupt NAME PYTHON : writes $SL/NAME.tar from $SL/child.tar through PYTHON (t: input, o: output tarfile)
corrupt() {
        bed_exec python3 - "$SL/child.tar" "$SL/$1.tar" "$2" <<'PY'
import io, json, sys, tarfile
t = tarfile.open(sys.argv[1]); o = tarfile.open(sys.argv[2], "w")
def add(name, data, like):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = like.mode; o.addfile(i, io.BytesIO(data))
manifest = json.load(t.extractfile("manifest.json"))
exec(sys.argv[3])
o.close()
PY
}

test_corrupt_archives_refused() {
        local before
        before=$(store_state)
        bed_sh "head -c 100000 /dev/urandom > $SL/random.tar"
        bed_sh "head -c \$((\$(stat -c %s $SL/child.tar) / 2)) $SL/child.tar > $SL/truncated.tar"
        # A layer swapped for another valid layer: its diff id no longer matches the config.
        corrupt swapped '
layers = manifest[0]["Layers"]
for m in t.getmembers():
    data = t.extractfile(m).read() if m.isfile() else None
    if m.name == layers[0]: data = t.extractfile(layers[-1]).read()
    if data is None: o.addfile(m)
    else: add(m.name, data, m)'
        # One byte flipped inside a layer (in a tar header here): refused, as not a layer or as not matching.
        corrupt flipped '
layers = manifest[0]["Layers"]
for m in t.getmembers():
    data = t.extractfile(m).read() if m.isfile() else None
    if m.name == layers[-1]: data = data[:600] + bytes([data[600] ^ 1]) + data[601:]
    if data is None: o.addfile(m)
    else: add(m.name, data, m)'
        corrupt nolayer '
layers = manifest[0]["Layers"]
for m in t.getmembers():
    if m.name == layers[0]: continue
    data = t.extractfile(m).read() if m.isfile() else None
    if data is None: o.addfile(m)
    else: add(m.name, data, m)'
        bed_sh "tar -cf $SL/nomanifest.tar -C / etc/hostname"
        # An OCI archive whose config blob was edited: it no longer matches its digest.
        bed_exec python3 - $SL/busybox-oci.tar $SL/badconfig.tar <<'PY'
import io, json, sys, tarfile
t = tarfile.open(sys.argv[1]); o = tarfile.open(sys.argv[2], "w")
index = json.load(t.extractfile("index.json"))
man = json.load(t.extractfile("blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]))
config = "blobs/sha256/" + man["config"]["digest"].split(":")[1]
for m in t.getmembers():
    data = t.extractfile(m).read() if m.isfile() else None
    if m.name == config: data = data.replace(b'"os":"linux"', b'"os":"linux" ')
    if data is None: o.addfile(m)
    else:
        i = tarfile.TarInfo(m.name); i.size = len(data); o.addfile(i, io.BytesIO(data))
o.close()
PY

        assert_fails bed_exec berthctl load -i $SL/random.tar
        assert_match "$FAIL_OUTPUT" 'Not a valid image archive|neither manifest.json' "random bytes"
        assert_fails bed_exec berthctl load -i $SL/truncated.tar
        assert_match "$FAIL_OUTPUT" 'corrupt|truncated|Truncated|lacks|not a valid' "truncated archive"
        assert_fails bed_exec berthctl load -i $SL/swapped.tar
        assert_match "$FAIL_OUTPUT" 'does not match the config' "swapped layer"
        assert_fails bed_exec berthctl load -i $SL/flipped.tar
        assert_match "$FAIL_OUTPUT" 'Error' "flipped byte"
        assert_fails bed_exec berthctl load -i $SL/nolayer.tar
        assert_match "$FAIL_OUTPUT" 'lacks layer' "missing layer"
        assert_fails bed_exec berthctl load -i $SL/badconfig.tar
        assert_match "$FAIL_OUTPUT" 'config sha256:[0-9a-f]{64} does not match its digest' "edited OCI config"
        assert_fails bed_exec berthctl load -i $SL/nomanifest.tar
        assert_match "$FAIL_OUTPUT" 'neither manifest.json nor index.json' "a tar that is no image archive"

        assert_eq "$(store_state)" "$before" "the store after the refused loads"
        assert_eq "$(bed_sh 'ls -A /var/lib/berth/layers | grep -c "^\.tmp-" || true')" 0 "no temp layer left"
}

# A layer stored before berth kept layer records (simulated by moving one away) cannot be saved: a clear
# error, and no archive.
# Docker before 25 writes a layer that comes twice once, and a symlink "<id>/layer.tar -> ../<other>/layer.tar"
# for the other place: followed inside the archive.
test_symlinked_layer() {
        local id
        id=$(image_id "$(R busybox-child)")
        corrupt symlinked '
layers = manifest[0]["Layers"]
for m in t.getmembers():
    if m.name == "manifest.json": continue
    o.addfile(m, t.extractfile(m) if m.isfile() else None)
l = tarfile.TarInfo("dup/layer.tar"); l.type = tarfile.SYMTYPE; l.linkname = "../" + layers[0]; o.addfile(l)
manifest[0]["Layers"][0] = "dup/layer.tar"
doc = json.dumps(manifest).encode()
i = tarfile.TarInfo("manifest.json"); i.size = len(doc); o.addfile(i, io.BytesIO(doc))'
        bed_exec berthctl rmi "$(R busybox-child)" >/dev/null
        assert_eq "$(bed_exec berthctl load -i $SL/symlinked.tar)" "Loaded image: $(R busybox-child):latest" \
                "load through a symlinked layer"
        assert_eq "$(image_id "$(R busybox-child)")" "$id" "same id"
}

test_layer_without_record_refused() {
        local rec
        rec=$(bed_sh 'ls /var/lib/berth/layers/*/tar-split.zst | head -1')
        bed_exec mv "$rec" "$rec.away"
        assert_fails bed_sh "berthctl save -o $SL/norecord.tar \$(berthctl images -q)"
        bed_exec mv "$rec.away" "$rec"
        assert_match "$FAIL_OUTPUT" 'stored before berth kept exact layer tars' "error for a layer without record"
        bed_exec test ! -e $SL/norecord.tar
}

test_unprivileged_refused() {
        bed_exec chmod 0755 $SL
        bed_exec chmod 0644 $SL/child.tar
        assert_fails bed_nobody berthctl --no-ask-password load -i $SL/child.tar
        assert_match "$FAIL_OUTPUT" '[Aa]ccess denied|[Nn]ot authori|[Aa]uthentication required' "load as nobody"
        assert_fails bed_nobody sh -c "berthctl --no-ask-password save $(R busybox) > /dev/null"
        assert_match "$FAIL_OUTPUT" '[Aa]ccess denied|[Nn]ot authori|[Aa]uthentication required' "save as nobody"
}

test_podman_set_up_in_the_bed() {
        local nofile nproc
        nofile=$(bed_sh 'ulimit -Hn') nproc=$(bed_sh 'ulimit -Hu')
        [ "$nproc" -le 32768 ] || nproc=32768
        bed_sh "mkdir -p $PARITY/config && sed \
                -e '/^\[containers\]\$/a default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]' \
                -e '/^\[engine\]\$/a cgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nruntime = \"runc\"' \
                /usr/share/containers/containers.conf > $PARITY/containers.conf"
        bed_sh "cat > $PARITY/registries.conf" <<EOF
[[registry]]
location = "$BERTH_TEST_REGISTRY"
insecure = true
EOF
        bed_sh "cat > $PARITY/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$PARITY/runroot"
graphroot = "$PARITY/root"
EOF
}

test_berth_to_podman() {
        local id
        bed_exec berthctl load -q -i $SL/child.tar
        id=$(image_id "$(R busybox-child)")
        # docker-archive written into a pipe.
        bed_sh "berthctl save $(R busybox-child) | cat > $SL/to-podman.tar"
        assert_match "$(P load -i $SL/to-podman.tar 2>&1)" "Loaded image.*$(R busybox-child)" "podman load"
        assert_eq "sha256:$(P image inspect --format '{{.Id}}' "$(R busybox-child)")" "$id" "podman's id"
        assert_eq "$(P run --rm --network none --pids-limit 0 "$(R busybox-child)" cat /etc/child)" child "it runs in podman"
        P rmi -f "$(R busybox-child)" >/dev/null
        # And the OCI archive.
        bed_exec berthctl save --format oci-archive -o $SL/to-podman-oci.tar "$(R busybox-child)"
        P load -i $SL/to-podman-oci.tar >/dev/null
        assert_eq "sha256:$(P image inspect --format '{{.Id}}' "$(R busybox-child)")" "$id" "podman's id (OCI)"
}

# Two images that share their base layer, in one archive of each format: the shared layer is written once,
# both come back with their ids.
test_two_images_in_one_archive() {
        local a b out format
        a=$(image_id "$(R busybox)") b=$(image_id "$(R busybox-child)")
        for format in docker-archive oci-archive; do
                bed_exec berthctl save --format $format -o $SL/two.tar "$(R busybox)" "$(R busybox-child)"
                bed_exec berthctl rmi "$(R busybox)" "$(R busybox-child)" >/dev/null
                out=$(bed_exec berthctl load -i $SL/two.tar)
                assert_match "$out" "^Loaded image: $(R busybox):latest\$" "first image ($format)"
                assert_match "$out" "^Loaded image: $(R busybox-child):latest\$" "second image ($format)"
                assert_eq "$(image_id "$(R busybox)")" "$a" "first id ($format)"
                assert_eq "$(image_id "$(R busybox-child)")" "$b" "second id ($format)"
        done
        # The shared base layer is in the docker-archive once.
        bed_exec berthctl save -o $SL/two.tar "$(R busybox)" "$(R busybox-child)"
        assert_eq "$(bed_exec tar -tf $SL/two.tar | grep -c 'layer.tar$')" 3 "layer files (1 shared + 2)"
}

test_podman_to_berth() {
        local id out
        P pull -q "$(R busybox-child)" >/dev/null
        id=sha256:$(P image inspect --format '{{.Id}}' "$(R busybox-child)")
        bed_sh 'berthctl rmi -f $(berthctl images -q) >/dev/null'
        for format in docker-archive oci-archive; do
                P save --format $format -o $SL/from-podman-$format.tar "$(R busybox-child)"
                out=$(bed_exec berthctl load -i $SL/from-podman-$format.tar)
                assert_match "$out" "^Loaded image: $(R busybox-child):latest\$" "load of podman's $format"
                assert_eq "$(image_id "$(R busybox-child)")" "$id" "same id as podman's ($format)"
                assert_eq "$(bed_exec berthctl run --rm --network none "$(R busybox-child)" cat /etc/child)" child \
                        "podman's $format image runs"
                bed_exec berthctl rmi "$(R busybox-child)" >/dev/null
        done
}
