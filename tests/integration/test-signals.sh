# berthd's container signals as a bus client sees them: `busctl monitor` runs in the bed (by PID) while a
# container is created, started, exits, is started and stopped again, and removed; the capture must hold
# ContainerNew and ContainerRemoved on the Manager and PropertiesChanged on the Container object for State
# (running, exited, running, exited), ExitCode and Pid, in that order.
# A second case does the same for a pull and the Image and Transfer signals.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
M() { bed_exec busctl -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }
CAPTURE=/run/test-signals.json
PIDFILE=/run/test-signals.pid

# The monitor sees a reply from org.berth1, so it is subscribed.
monitor_sees_berthd() {
        M ListContainers b true >/dev/null
        bed_exec grep -q '"sender"' "$CAPTURE"
}

test_setup_pull() {
        bed_exec berthctl pull -q "$(R busybox)" >/dev/null
}

test_lifecycle_signals() {
        # berthd first (bus-activated): the match on its well-known name then holds from the monitor's start.
        M ListContainers b true >/dev/null
        bed_sh "busctl monitor --json=short --match 'sender=org.berth1' > $CAPTURE 2>/dev/null & echo \$! > $PIDFILE"
        wait_until 60 monitor_sees_berthd

        M CreateContainer ssasa{sv} "$(R busybox)" sig 3 sh -c '[ -e /ran ] && exec sleep 1000; touch /ran; exit 4' 0 >/dev/null
        assert_eq "$(bed_exec busctl get-property org.berth1 /org/berth1/container/sig org.berth1.Container State)" \
                's "created"' "state after create"
        # First run: exits by itself with 4.
        M StartContainer s sig >/dev/null
        wait_until 60 bash -c "$BERTH_BED exec $BED_DIR busctl get-property org.berth1 /org/berth1/container/sig org.berth1.Container State | grep -q exited"
        # Second run: sleeps until stopped (SIGKILL after the timeout: sleep as PID 1 ignores SIGTERM).
        bed_exec berthctl start sig >/dev/null
        bed_exec berthctl stop -t 1 sig >/dev/null
        M RemoveContainer sb sig false >/dev/null
        # ContainerRemoved is sent before RemoveContainer's reply; once the reply to a later call is captured,
        # everything before it is in the file.
        wait_until 60 bash -c "$BERTH_BED exec $BED_DIR grep -q ContainerRemoved $CAPTURE"
        bed_exec kill -TERM "$(bed_exec cat "$PIDFILE")"

        bed_exec cat "$CAPTURE" > "$TEST_TMP/capture.json"
        python3 - "$TEST_TMP/capture.json" <<'PY' || fail "signals (capture in the case output above)"
import json, sys

events = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    if m.get("type") != "signal":
        continue
    data = m["payload"]["data"]
    if m.get("interface") == "org.berth1.Manager" and m["member"] in ("ContainerNew", "ContainerRemoved"):
        assert m["path"] == "/org/berth1", m
        assert data[1] == "sig" and data[2] == "/org/berth1/container/sig" and len(data[0]) == 64, m
        events.append((m["member"],))
    elif m.get("member") == "PropertiesChanged" and m.get("path") == "/org/berth1/container/sig":
        assert data[0] == "org.berth1.Container", m
        props = {k: v["data"] for k, v in data[1].items()}
        events.append(("changed", props))

print("events:", *events, sep="\n  ")
names = [e[0] for e in events]
assert names[0] == "ContainerNew" and names[-1] == "ContainerRemoved", names
assert names.count("ContainerNew") == 1 and names.count("ContainerRemoved") == 1, names
changes = [e[1] for e in events if e[0] == "changed"]
for p in changes:
    assert {"State", "ExitCode", "Pid"} <= p.keys(), p
states = [p["State"] for p in changes]
assert states == ["running", "exited", "running", "exited"], states
run1, exit1, run2, exit2 = changes
assert run1["Pid"] > 0 and run2["Pid"] > 0 and run1["Pid"] != run2["Pid"], (run1, run2)
assert exit1["Pid"] == 0 and exit2["Pid"] == 0, (exit1, exit2)
assert exit1["ExitCode"] == 4, exit1
assert exit2["ExitCode"] == 137, exit2
assert run2["ExitCode"] == 0, run2
assert run1["StartedUSec"] > 0 and exit1["FinishedUSec"] >= run1["StartedUSec"], (run1, exit1)
PY
}

# The pull's story as a bus client sees it: TransferNew, the Transfer's Message and LayerProgress signals in
# Docker's words (the child's base layer "Already exists"), Finished, TransferRemoved, ImageNew; RemoveImage
# then sends ImageRemoved. The image's and a container's remaining properties are read over the bus too.
test_pull_and_image_signals() {
        local image_path
        bed_sh "busctl monitor --json=short --match 'sender=org.berth1' > $CAPTURE.pull 2>/dev/null & echo \$! > $PIDFILE.pull"
        CAPTURE=$CAPTURE.pull wait_until 60 monitor_sees_berthd
        bed_exec berthctl pull -q "$(R busybox-child)" >/dev/null
        bed_exec berthctl image rm "$(R busybox-child)" >/dev/null
        wait_until 60 bash -c "$BERTH_BED exec $BED_DIR grep -q ImageRemoved $CAPTURE.pull"
        bed_exec kill -TERM "$(bed_exec cat "$PIDFILE.pull")"

        bed_exec cat "$CAPTURE.pull" > "$TEST_TMP/pull.json"
        python3 - "$TEST_TMP/pull.json" "$(R busybox-child)" <<'PY' || fail "pull signals (capture in the case output above)"
import json, re, sys

ref = sys.argv[2]
sig = []
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        m = json.loads(line)
        if m.get("type") == "signal" and m.get("interface", "").startswith("org.berth1."):
            sig.append((m["path"], m["member"], m["payload"]["data"]))
print("signals:", *[(p, n) for p, n, _ in sig], sep="\n  ")

new = [d for p, n, d in sig if n == "TransferNew"]
assert len(new) == 1, new
tid, tpath = new[0]
assert re.fullmatch(r"/org/berth1/transfer/_\d+", tpath) and tpath.endswith("_%d" % tid), new
mine = [(n, d) for p, n, d in sig if p == tpath]
messages = [d[0] for n, d in mine if n == "Message"]
assert messages[0] == "latest: Pulling from " + ref, messages
assert any(re.fullmatch(r"Digest: sha256:[0-9a-f]{64}", t) for t in messages), messages
assert messages[-1] == "Status: Downloaded newer image for %s:latest" % ref, messages
layers = {}
for n, d in mine:
    if n == "LayerProgress":
        assert re.fullmatch(r"[0-9a-f]{12}", d[0]), d
        layers.setdefault(d[0], []).append(d[1])
assert sorted(s[-1] for s in layers.values()) == ["Already exists", "Pull complete", "Pull complete"], layers
finished = [d for n, d in mine if n == "Finished"]
assert len(finished) == 1 and finished[0][:3] == ["done", "", ""], finished
digest, image_id = finished[0][3], finished[0][4]
assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest) and "Digest: " + digest in messages, finished
removed = [d for p, n, d in sig if n == "TransferRemoved"]
assert removed == [[tid, tpath, "done"]], removed
image_new = [d for p, n, d in sig if n == "ImageNew"]
assert len(image_new) == 1 and image_id.endswith(image_new[0][0].split(":")[-1]), (image_new, image_id)
image_removed = [d for p, n, d in sig if n == "ImageRemoved"]
assert image_removed == image_new, (image_removed, image_new)
names = [n for p, n, d in sig]
assert names.index("TransferNew") < names.index("Finished") < names.index("TransferRemoved"), names
assert names.index("ImageNew") < names.index("ImageRemoved"), names
PY

        # Properties no other case reads by name.
        image_path=$(M GetImage s "$(R busybox)" | sed -E 's/^o "(.*)"$/\1/')
        assert_match "$(bed_exec busctl get-property org.berth1 "$image_path" org.berth1.Image ManifestDigest)" \
                '^s "sha256:[0-9a-f]{64}"$' "Image ManifestDigest"
        assert_match "$(bed_exec busctl get-property org.berth1 "$image_path" org.berth1.Image LayerSizes)" \
                '^at 1 [1-9][0-9]*$' "Image LayerSizes (busybox has one layer)"
        M CreateContainer ssasa{sv} "$(R busybox)" props 1 true 1 tty b true >/dev/null
        assert_match "$(bed_exec busctl get-property org.berth1 /org/berth1/container/props org.berth1.Container \
                ImageId CreatedUSec Tty | tr '\n' ' ')" '^s "(sha256:)?[0-9a-f]{64}" t [1-9][0-9]+ b true $' \
                "Container ImageId, CreatedUSec, Tty"
        M RemoveContainer sb props false >/dev/null
}

# A network's Containers and Endpoints change as containers are made, start, stop and go: PropertiesChanged
# on the Network object carries both.
test_network_membership_signals() {
        local CAPTURE=/run/test-signals-net.json n # monitor_sees_berthd reads this one
        bed_exec berthctl network create signet >/dev/null
        M ListContainers b true >/dev/null
        bed_sh "busctl monitor --json=short --match 'sender=org.berth1' > $CAPTURE 2>/dev/null & echo \$! > $PIDFILE"
        wait_until 60 monitor_sees_berthd

        bed_exec berthctl run -d --name netsig --network signet "$(R busybox)" sleep 1000 >/dev/null
        bed_exec berthctl stop -t 0 netsig >/dev/null
        bed_exec berthctl rm netsig >/dev/null
        wait_until 60 bash -c "$BERTH_BED exec $BED_DIR grep -q ContainerRemoved $CAPTURE"
        bed_exec kill -TERM "$(bed_exec cat "$PIDFILE")"
        bed_exec cat "$CAPTURE" > "$TEST_TMP/capture-net.json"

        # created (Containers), started (Endpoints), stopped (Endpoints), removed (Containers): four at least.
        n=$(python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    if (m.get("member") == "PropertiesChanged" and m.get("path") == "/org/berth1/network/signet"
            and m["payload"]["data"][0] == "org.berth1.Network"
            and sorted(set(m["payload"]["data"][1]) | set(m["payload"]["data"][2])) == ["Containers", "Endpoints"]):
        n += 1
print(n)' < "$TEST_TMP/capture-net.json")
        [ "$n" -ge 4 ] || { grep -m5 signet "$TEST_TMP/capture-net.json" | cut -c1-400 || true; fail "PropertiesChanged on the network: $n, expected at least 4"; }
        assert_match "$(bed_exec busctl get-property org.berth1 /org/berth1/network/signet org.berth1.Network \
                Endpoints)" '^a\(sssss\) 0$' "no endpoint once it is gone"
        bed_exec berthctl network rm signet >/dev/null
}
