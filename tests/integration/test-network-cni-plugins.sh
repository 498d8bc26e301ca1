# CNI networks (issue 13), the plugins' side: berth.conf's [Network] CniPath= is where berthd looks for plugins
# (at network create and as the plugins' CNI_PATH), CniTimeout= how long one plugin may run before its
# process group is killed and the start fails cleanly.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
PLUGINS=/etc/berth/cni-bin
CALLS=/run/cni-test
# berth_conf TEXT : /etc/berth/berth.conf in the bed, read again by berthd
berth_conf() {
        bed_sh "mkdir -p /etc/berth && printf '%s\n' '$1' > /etc/berth/berth.conf"
        bed_exec systemctl reload berthd
}
# A plugin of the test's own, chained after Debian's bridge: it passes the result on and notes its command
# and CNI_PATH.
passthrough() {
        cat <<'PY'
#!/usr/bin/python3
import json, os, sys
conf = json.load(sys.stdin)
with open("/run/cni-test/calls", "a") as f:
    f.write("%s %s %s\n" % (os.environ["CNI_COMMAND"], os.environ["CNI_IFNAME"], os.environ["CNI_PATH"]))
if os.environ["CNI_COMMAND"] == "ADD":
    json.dump(conf["prevResult"], sys.stdout)
PY
}
# A plugin that hangs at ADD (with a helper of its own) and notes its PIDs; DEL answers at once.
hanging() {
        cat <<'SH'
#!/bin/sh
if [ "$CNI_COMMAND" = ADD ]; then
        sleep 1000 &
        echo "$$ $!" > /run/cni-test/hang.pids
        wait
fi
echo "$CNI_COMMAND" >> /run/cni-test/hang.calls
SH
}
conflist() { # BRIDGE SUBNET LAST_PLUGIN
        printf '{"cniVersion": "1.0.0", "plugins": [
  {"type": "bridge", "bridge": "%s", "isGateway": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "%s"}]}\n' "$1" "$2" "$3"
}
ip_of() {
        bed_exec berthctl container inspect "$1" |
                python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["IPAddress"])'
}
no_records() { [ -z "$(bed_sh 'ls /var/lib/berth/cni 2>/dev/null')" ]; }
veths() { bed_sh "ip -o link show type veth | grep -v 'eth0@' || true"; }
# gone PID… : none of these processes exists in the bed any more
gone() { local p; for p in "$@"; do ! bed_exec kill -0 "$p" 2>/dev/null || return 1; done; }

test_setup() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
        bed_sh "mkdir -p $PLUGINS $CALLS"
        passthrough | bed_sh "cat > $PLUGINS/passthrough && chmod 755 $PLUGINS/passthrough"
        hanging | bed_sh "cat > $PLUGINS/hanging && chmod 755 $PLUGINS/hanging"
}

test_cni_path_finds_the_plugins() {
        local ip
        # The default search path has no such plugin.
        assert_fails bed_sh "$(declare -f conflist); conflist cni-p0 10.98.0.0/24 passthrough |
                berthctl network create --driver cni --cni-config - pnet"
        assert_match "$FAIL_OUTPUT" 'CNI plugin passthrough is not installed in /usr/lib/cni:/opt/cni/bin' \
                "the default path"
        # Relative directories are refused, and a reload with them keeps the path in use.
        berth_conf $'[Network]\nCniPath=cni-bin'
        assert_match "$(bed_journal -u berthd --no-pager)" "Failed to load the CNI settings of '/etc/berth/berth.conf'" \
                "the bad value"
        berth_conf $'[Network]\nCniPath='"$PLUGINS"':/usr/lib/cni'
        bed_sh "$(declare -f conflist); conflist cni-p0 10.98.0.0/24 passthrough |
                berthctl network create --driver cni --cni-config - pnet" >/dev/null
        bed_exec berthctl run -d --name p1 --network pnet "$(R busybox)" sleep 1000 >/dev/null
        ip=$(ip_of p1)
        assert_match "$ip" '^10\.98\.0\.[0-9]+$' "p1's address from host-local, through passthrough"
        assert_eq "$(bed_exec cat $CALLS/calls)" "ADD eth0 $PLUGINS:/usr/lib/cni" "the plugins' CNI_PATH"
        bed_exec berthctl rm -f p1 >/dev/null
        wait_until 30 no_records
        assert_match "$(bed_exec cat $CALLS/calls)" "^DEL eth0 $PLUGINS:/usr/lib/cni\$" "DEL through the same path"
        assert_eq "$(veths)" "" "veths left"
}

# A plugin that does not answer within CniTimeout= is killed with its process group; the start fails with a
# message naming it, a DEL follows, and the container is left exited with that error (or removed with --rm).
test_a_hanging_plugin_is_killed() {
        local out pids
        berth_conf $'[Network]\nCniPath='"$PLUGINS"$':/usr/lib/cni\nCniTimeout=2'
        bed_sh "$(declare -f conflist); conflist cni-p1 10.98.1.0/24 hanging |
                berthctl network create --driver cni --cni-config - hnet" >/dev/null
        assert_fails bed_exec berthctl run --name h1 --network hnet "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'network hnet: CNI plugin hanging did not answer ADD within 2 s and was killed' \
                "the error"
        pids=$(bed_exec cat $CALLS/hang.pids)
        # shellcheck disable=SC2086 # two PIDs
        wait_until 30 gone $pids
        out=$(bed_exec berthctl container inspect h1)
        assert_match "$out" '"Status" : "exited"' "h1 exited"
        assert_match "$out" '"Error" : ".*CNI plugin hanging did not answer ADD within 2 s' "h1's Error"
        assert_match "$(bed_exec cat $CALLS/hang.calls)" '^DEL$' "a DEL after the timeout"
        wait_until 30 no_records
        assert_eq "$(veths)" "" "veths left"
        assert_eq "$(bed_sh 'ls /var/lib/cni/networks/hnet 2>/dev/null | grep "^10\." || true')" "" \
                "host-local's allocations left"
        bed_exec berthctl rm h1 >/dev/null

        assert_fails bed_exec berthctl run --rm --name h2 --network hnet "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'did not answer ADD within 2 s' "the error with --rm"
        pids=$(bed_exec cat $CALLS/hang.pids)
        # shellcheck disable=SC2086
        wait_until 30 gone $pids
        wait_until 30 bash -c "! $BERTH_BED exec $BED_DIR berthctl container inspect h2"
        wait_until 30 no_records
}

test_cleanup() {
        bed_exec berthctl network rm pnet hnet >/dev/null
        bed_exec rm /etc/berth/berth.conf
        bed_exec systemctl reload berthd
}
