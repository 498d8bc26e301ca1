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
# A plugin whose DEL fails while $CALLS/fail-del exists; ADD passes the result on. It notes each call.
flaky_del() {
        cat <<'SH'
#!/bin/sh
if [ "$CNI_COMMAND" = DEL ] && [ -e /run/cni-test/fail-del ]; then
        echo "DEL failed" >> /run/cni-test/flaky.calls
        echo '{"cniVersion": "1.0.0", "code": 11, "msg": "told to fail"}'
        exit 1
fi
echo "$CNI_COMMAND" >> /run/cni-test/flaky.calls
[ "$CNI_COMMAND" = ADD ] && python3 -c 'import json, sys; json.dump(json.load(sys.stdin)["prevResult"], sys.stdout)'
exit 0
SH
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
# conflist BRIDGE SUBNET [TYPE [MEMBERS]] : Debian's bridge + host-local on SUBNET, then a plugin of TYPE (with
# more MEMBERS, e.g. ', "capabilities": {…}') if given
conflist() {
        printf '{"cniVersion": "1.0.0", "plugins": [
  {"type": "bridge", "bridge": "%s", "isGateway": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s"}]], "routes": [{"dst": "0.0.0.0/0"}]}}%s]}\n' \
                "$1" "$2" "${3:+, {\"type\": \"$3\"${4:-}\}}"
}
ip_of() {
        bed_exec berthctl container inspect "$1" |
                python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["IPAddress"])'
}
# config_networks NAME : the container's recorded networks (Config's Network and Networks)
config_networks() {
        bed_exec berthctl container inspect "$1" | python3 -c 'import json, sys
c = json.load(sys.stdin)[0]["Config"]; print(c.get("Network", ""), *c.get("Networks", []))'
}
id_of() { bed_exec berthctl container inspect "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Id"])'; }
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

# addrs NAME : "IFNAME ADDRESS/PREFIX" of each IPv4 address of a running container but lo, sorted
addrs() { bed_exec berthctl exec "$1" ip -4 -o addr show | awk '$2 != "lo" { print $2, $4 }' | sort; }
# record_of NAME : the CNI networks and interfaces of berth's record of a container ("NETWORK IFNAME")
record_of() {
        bed_sh "cat /var/lib/berth/cni/$(id_of "$1").json 2>/dev/null" |
                python3 -c 'import json, sys
for n in json.load(sys.stdin)["Networks"]: print(n["Name"], n["IfName"])' || true
}
cnet_allocations() { bed_sh "ls /var/lib/cni/networks/cnet 2>/dev/null | grep '^10\.' || true"; }

# network connect / disconnect of a CNI network: a running container gets ADD as its next free ethN at once
# (and DEL at disconnect), a stopped one at its next start.
test_connect_and_disconnect_cni() {
        local srv ip out
        bed_exec systemctl reload berthd # the default CniPath= and CniTimeout= again
        bed_sh "$(declare -f conflist); conflist cni-c0 10.97.0.0/24 |
                berthctl network create --driver cni --cni-config - cnet" >/dev/null
        bed_exec berthctl run -d --name web --network cnet "$(R busybox)" sh -c \
                'mkdir -p /www; echo hello-cnet > /www/index.html; exec httpd -f -p 80 -h /www' >/dev/null
        srv=$(ip_of web)
        bed_exec berthctl run -d --name c1 "$(R busybox)" sleep 1000 >/dev/null
        assert_no_match "$(addrs c1)" '^eth1 ' "c1 before the connect"
        bed_exec berthctl network connect cnet c1
        out=$(addrs c1)
        assert_match "$out" '^eth0 10\.87\.' "c1's bridge address stays"
        assert_match "$out" '^eth1 10\.97\.0\.[0-9]+/24$' "c1's address on cnet"
        ip=$(awk '$1 == "eth1" { sub("/.*", "", $2); print $2 }' <<<"$out")
        assert_match "$(record_of c1)" '^cnet eth1$' "the record"
        assert_match "$(cnet_allocations)" "^$ip\$" "host-local's allocation"
        assert_eq "$(bed_exec berthctl exec c1 sh -c "timeout 5 wget -q -O - http://$srv/")" hello-cnet \
                "web reached from c1 over cnet"
        bed_exec berthctl exec c1 ping -c 1 -W 5 10.97.0.1 >/dev/null
        assert_match "$(config_networks c1)" 'cnet' "c1's networks"
        assert_fails bed_exec berthctl network connect cnet c1
        assert_match "$FAIL_OUTPUT" 'already connected to network cnet' "twice"
        assert_fails bed_exec berthctl network connect --ip 10.97.0.50 cnet c1
        assert_match "$FAIL_OUTPUT" 'its IPAM plugin gives the address' "--ip"

        bed_exec berthctl network disconnect cnet c1
        assert_no_match "$(addrs c1)" '^eth1 ' "eth1 gone"
        assert_eq "$(record_of c1)" "" "the record's entry gone"
        assert_no_match "$(cnet_allocations)" "^$ip\$" "the allocation released"
        assert_no_match "$(config_networks c1)" 'cnet' "c1's networks"
        assert_fails bed_exec berthctl network disconnect cnet c1
        # The journal has both, as for a start and an exit (docs/journal.md).
        assert_eq "$(bed_journal -o cat --no-pager CONTAINER_NAME=c1 MESSAGE_ID=e0a9fbb19047478fa1cff446e2eaa039 |
                grep cnet)" "Container c1 has address $ip on CNI network cnet (eth1)." "the connect's entry"
        assert_eq "$(bed_journal -o cat --no-pager CONTAINER_NAME=c1 MESSAGE_ID=417b332769e143078351aefc65e36ae4 |
                grep cnet)" "Container c1 left CNI network cnet, address $ip released." "the disconnect's entry"

        # Stopped: the list changes, the plugins run at the next start.
        bed_exec berthctl stop -t 0 c1 >/dev/null
        bed_exec berthctl network connect cnet c1
        bed_exec berthctl start c1 >/dev/null
        assert_match "$(addrs c1)" '^eth1 10\.97\.0\.[0-9]+/24$' "c1 on cnet after its start"
        assert_match "$(record_of c1)" '^cnet eth1$' "the record after the start"
        bed_exec berthctl stop -t 0 c1 >/dev/null
        # cnet is c1's second network: its start and exit are journaled too, not only a first network's.
        assert_eq "$(bed_journal -o cat --no-pager CONTAINER_NAME=c1 MESSAGE_ID=e0a9fbb19047478fa1cff446e2eaa039 |
                grep -c 'on CNI network cnet (eth1)')" 2 "join entries on cnet"
        assert_eq "$(bed_journal -o cat --no-pager CONTAINER_NAME=c1 MESSAGE_ID=417b332769e143078351aefc65e36ae4 |
                grep -c 'left CNI network cnet')" 2 "left entries on cnet"
        bed_exec berthctl network disconnect cnet c1
        bed_exec berthctl start c1 >/dev/null
        assert_no_match "$(addrs c1)" '^eth1 ' "c1 off cnet after its start"
        bed_exec berthctl rm -f c1 web >/dev/null
        wait_until 30 no_records
        assert_eq "$(cnet_allocations)" "" "allocations left"
        assert_eq "$(veths)" "" "veths left"
}

test_nobody_may_connect() {
        local out
        bed_exec berthctl run -d --name c2 "$(R busybox)" sleep 1000 >/dev/null
        out=$(bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 /org/berth1/network/cnet \
                org.berth1.Network Connect 'sa{sv}' c2 0 2>&1) && fail "nobody may connect"
        assert_match "$out" 'Interactive authentication required' "Connect"
        assert_no_match "$(addrs c2)" '^eth1 ' "c2 unchanged"
        bed_exec berthctl rm -f c2 >/dev/null
}

# portmap_chains : the per-container DNAT chains of Debian's portmap plugin in the bed's iptables
portmap_chains() { bed_sh "iptables -t nat -S | grep -c '^-N CNI-DN-' || true"; }

# -p on a CNI network: the container's published ports go, as runtimeConfig.portMappings, to the conflist's
# plugins that declare the portMappings capability (Debian's portmap); without one the start is refused.
test_published_ports_through_portmap() {
        local out port
        bed_sh "$(declare -f conflist); conflist cni-m0 10.96.0.0/24 portmap ', \"capabilities\": {\"portMappings\": true}' |
                berthctl network create --driver cni --cni-config - mnet" >/dev/null
        bed_exec berthctl run -d --name pw --network mnet -p 8081:80 -p 80 "$(R busybox)" sh -c \
                'mkdir -p /www; echo hello-portmap > /www/index.html; exec httpd -f -p 80 -h /www' >/dev/null
        out=$(bed_exec berthctl port pw)
        assert_match "$out" '^80/tcp -> 0\.0\.0\.0:8081$' "berthctl port, the chosen port"
        port=$(awk -F: '!/:8081$/ { print $NF }' <<<"$out")
        assert_match "$port" '^[0-9]+$' "berthctl port, a free port for -p 80"
        assert_match "$(bed_exec busctl get-property org.berth1 /org/berth1/container/pw org.berth1.Container \
                Ports)" '"tcp" "0\.0\.0\.0" 8081 80' "the Ports property"
        assert_match "$(bed_exec berthctl ps)" '0\.0\.0\.0:8081->80/tcp' "ps's PORTS"
        wait_until 30 bed_exec curl -sf -o /dev/null "http://$BED_ADDR:8081/"
        assert_eq "$(bed_exec curl -sf "http://$BED_ADDR:8081/")" hello-portmap "the bed's address, port 8081"
        assert_eq "$(bed_exec curl -sf "http://$BED_ADDR:$port/")" hello-portmap "the bed's address, port $port"
        assert_eq "$(outside_net curl -sf --max-time 10 "http://$BED_ADDR:8081/")" hello-portmap "from the outside"
        assert_eq "$(portmap_chains)" 1 "portmap's chain for pw"

        # A host port taken (here by a container published on the bridge) fails the start, naming it.
        bed_exec berthctl run -d --name holder -p 8083:80 "$(R busybox)" sleep 1000 >/dev/null
        assert_fails bed_exec berthctl run --rm --network mnet -p 8083:80 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'host port 0\.0\.0\.0:8083/tcp is already in use' "a taken port"
        # A conflist without such a plugin takes no -p.
        assert_fails bed_exec berthctl run --rm --network cnet -p 8082:80 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'network cnet is a CNI network whose conflist has no plugin with the portMappings capability' \
                "-p without portmap"

        bed_exec berthctl rm -f pw holder >/dev/null
        wait_until 30 no_records
        assert_eq "$(portmap_chains)" 0 "portmap's chains left"
        assert_fails bed_exec curl -sf --max-time 5 "http://$BED_ADDR:8081/"
        assert_eq "$(veths)" "" "veths left"
}

# Names on a CNI network: aardvark-dns serves its containers' names (their recorded ADD results) on the
# results' gateway when that is an address of the host's, as for berth's own user networks.
test_names_on_a_cni_network() {
        local out ip
        bed_sh "$(declare -f conflist); conflist cni-d0 10.95.0.0/24 |
                berthctl network create --driver cni --cni-config - dnet" >/dev/null
        bed_exec berthctl run -d --name dweb --network dnet "$(R busybox)" sh -c \
                'mkdir -p /www; echo hello-by-name > /www/index.html; exec httpd -f -p 80 -h /www' >/dev/null
        bed_exec berthctl run -d --name dcli --network dnet "$(R busybox)" sleep 1000 >/dev/null
        assert_match "$(bed_exec berthctl exec dcli cat /etc/resolv.conf)" '^nameserver 10\.95\.0\.1$' \
                "the gateway as nameserver"
        wait_until 30 bed_exec berthctl exec dcli sh -c 'timeout 5 wget -q -O /dev/null http://dweb/'
        assert_eq "$(bed_exec berthctl exec dcli sh -c 'timeout 5 wget -q -O - http://dweb/')" hello-by-name \
                "dweb by name"
        out=$(bed_exec berthctl exec dcli nslookup dweb 10.95.0.1)
        assert_match "$out" "Address: $(ip_of dweb)" "the name's address"
        # A running container connected with an alias: both its name and the alias, at its address there.
        bed_exec berthctl run -d --name dlate "$(R busybox)" sleep 1000 >/dev/null
        bed_exec berthctl network connect --alias dal dnet dlate
        ip=$(addrs dlate | awk '$1 == "eth1" { sub("/.*", "", $2); print $2 }')
        assert_match "$ip" '^10\.95\.0\.' "dlate's address on dnet"
        wait_until 30 bed_exec berthctl exec dcli nslookup dal 10.95.0.1
        assert_match "$(bed_exec berthctl exec dcli nslookup dal 10.95.0.1)" "Address: ${ip//./\\.}\$" "the alias"
        assert_match "$(bed_exec berthctl exec dcli nslookup dlate 10.95.0.1)" "Address: ${ip//./\\.}\$" \
                "dlate's name"
        bed_exec berthctl network disconnect dnet dlate
        wait_until 30 bash -c "! $BERTH_BED exec $BED_DIR berthctl exec dcli nslookup dal 10.95.0.1"
        bed_exec berthctl rm -f dweb dcli dlate >/dev/null
        wait_until 30 no_records
        wait_until 30 bash -c "! $BERTH_BED exec $BED_DIR test -e /run/berth/dns/dnet"
}

# A DEL that fails at a stop keeps the container's record; the next start releases it (DEL again) before
# its ADD, so the plugins' host side (here host-local's lease) is not left behind.
test_a_failed_del_is_retried_at_the_next_start() {
        local id
        flaky_del | bed_sh "cat > $PLUGINS/flakydel && chmod 755 $PLUGINS/flakydel"
        berth_conf $'[Network]\nCniPath='"$PLUGINS"':/usr/lib/cni'
        bed_sh "$(declare -f conflist); conflist cni-p9 10.98.9.0/24 flakydel |
                berthctl network create --driver cni --cni-config - fnet" >/dev/null
        bed_exec berthctl run -d --name fd1 --network fnet "$(R busybox)" sleep 1000 >/dev/null
        id=$(id_of fd1)
        bed_exec touch $CALLS/fail-del
        bed_exec berthctl stop -t 1 fd1 >/dev/null
        assert_match "$(bed_exec cat $CALLS/flaky.calls)" $'ADD\nDEL failed' "the failed DEL at stop"
        assert_ok bed_exec test -e "/var/lib/berth/cni/$id.json"
        assert_eq "$(bed_sh 'ls /var/lib/cni/networks/fnet | grep -c "^10\."')" 1 "the lease kept"
        bed_exec rm $CALLS/fail-del
        bed_exec berthctl start fd1 >/dev/null
        assert_match "$(bed_exec cat $CALLS/flaky.calls)" $'ADD\nDEL failed\nDEL\nADD$' "DEL before the new ADD"
        assert_eq "$(bed_sh 'ls /var/lib/cni/networks/fnet | grep -c "^10\."')" 1 "one lease, not two"
        bed_exec berthctl rm -f fd1 >/dev/null
        wait_until 30 no_records
        bed_exec berthctl network rm fnet >/dev/null
}

test_cleanup() {
        bed_exec berthctl network rm pnet hnet cnet mnet dnet >/dev/null
        bed_exec rm /etc/berth/berth.conf
        bed_exec systemctl reload berthd
}
