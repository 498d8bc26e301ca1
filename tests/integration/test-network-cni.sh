# CNI networks (issue 13): `berthctl network create --driver cni --cni-config FILE|- NAME` takes a conflist;
# berthd runs the host's CNI plugins (Debian's containernetworking-plugins in /usr/lib/cni) with the CNI
# protocol in a child of its own: ADD at start (the result recorded in /var/lib/berth/cni/<id>.json), CHECK
# after a restart of berthd, DEL when the container's namespace is gone. Here Debian's bridge + host-local plugins: containers on the network get
# an address and reach each other; after rm neither a veth nor host-local's allocation is left; a kill -9 of
# berthd keeps a running container's network; a bad conflist is refused at create; nobody is refused.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
WEB='mkdir -p /www; echo hello-from-cni > /www/index.html; exec httpd -f -p 80 -h /www'
CNI_STATE=/var/lib/cni/networks/cninet
conflist() {
        cat <<'JSON'
{
  "cniVersion": "1.0.0",
  "name": "whatever",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni-berth0",
      "isGateway": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "10.99.0.0/24" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    }
  ]
}
JSON
}
ip_of() {
        bed_exec berthctl container inspect "$1" |
                python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["IPAddress"])'
}
# allocations : host-local's addresses handed out on cninet, one per line
allocations() { bed_sh "ls $CNI_STATE 2>/dev/null | grep '^10\\.' || true"; }
veths() { bed_sh "ip -o link show type veth | grep -v 'eth0@' || true"; }
no_allocations() { [ -z "$(allocations)" ]; }
checked() { bed_journal -u berthd --no-pager | grep -q 'Container kept on CNI network cninet passes CHECK\.'; }
swept() { bed_journal -u berthd --no-pager | grep -q 'Releasing the CNI networks of container .*, which is gone\.'; }
no_records() { [ -z "$(bed_sh 'ls /var/lib/berth/cni 2>/dev/null')" ]; }

test_setup_pull() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

test_create_from_a_file_and_stdin() {
        local out
        conflist | bed_sh 'cat > /root/cninet.conflist'
        bed_exec berthctl network create --driver cni --cni-config /root/cninet.conflist cninet >/dev/null
        out=$(bed_exec berthctl network inspect cninet)
        assert_match "$out" '"Driver" : "cni"' "driver"
        assert_match "$out" '"Config" : \[\]' "no subnet of berth's"
        assert_match "$out" '"bridge" : "cni-berth0"' "the conflist"
        assert_match "$(bed_exec busctl get-property org.berth1 /org/berth1/network/cninet org.berth1.Network \
                CniConfig)" 'host-local' "CniConfig"
        assert_match "$(bed_exec berthctl network ls)" ' cninet +cni ' "listed"
        bed_exec berthctl network rm cninet >/dev/null
        conflist | bed_exec berthctl network create --driver cni --cni-config - cninet >/dev/null
        assert_match "$(bed_exec berthctl network ls)" ' cninet +cni ' "from stdin"
}

test_containers_on_a_cni_network() {
        local ip out
        bed_exec berthctl run -d --name srv --network cninet "$(R busybox)" sh -c "$WEB" >/dev/null
        ip=$(ip_of srv)
        assert_match "$ip" '^10\.99\.0\.[0-9]+$' "srv's address from host-local"
        assert_eq "$(allocations)" "$ip" "host-local's allocation"
        assert_match "$(bed_exec ip -o link show master cni-berth0)" 'veth' "srv's veth on the plugin's bridge"
        wait_until 30 bed_exec berthctl run --rm --network cninet "$(R busybox)" wget -q -O /dev/null "http://$ip/"
        out=$(bed_exec berthctl run --rm --network cninet "$(R busybox)" sh -c \
                "ip -o -4 addr show eth0; ip route; wget -q -O - http://$ip/")
        assert_match "$out" 'eth0 +inet 10\.99\.0\.' "the client's eth0 on 10.99.0.0/24"
        assert_match "$out" '^default via 10\.99\.0\.1 dev eth0' "the plugin's gateway as default route"
        assert_match "$out" '^hello-from-cni$' "srv reached from the other container"
        assert_match "$(bed_exec berthctl exec srv cat /etc/hosts)" "^$ip" "/etc/hosts names the CNI address"
        assert_match "$(bed_exec machinectl status --no-pager srv)" "Address: ${ip//./\\.}\$" "machinectl status"
        # Ports are refused: no plugin of this conflist takes portMappings (portmap: test-network-cni-plugins.sh).
        assert_fails bed_exec berthctl run --rm --network cninet -p 8080:80 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'network cninet is a CNI network whose conflist has no plugin with the portMappings' "-p"
        # srv is on it already (connect and disconnect: test-network-cni-plugins.sh).
        assert_fails bed_exec berthctl network connect cninet srv
        assert_match "$FAIL_OUTPUT" 'already connected to network cninet' "connect twice"
        bed_exec berthctl rm -f srv >/dev/null
        wait_until 30 no_allocations
        wait_until 30 no_records
        assert_eq "$(veths)" "" "veths left"
        # The journal has srv's setup and teardown on the CNI network, with its fields (docs/journal.md).
        assert_eq "$(bed_journal -o cat --no-pager CONTAINER_NAME=srv MESSAGE_ID=e0a9fbb19047478fa1cff446e2eaa039)" \
                "Container srv has address $ip on CNI network cninet (eth0)." "the join entry"
        assert_eq "$(bed_journal -o cat --no-pager CONTAINER_NAME=srv MESSAGE_ID=417b332769e143078351aefc65e36ae4)" \
                "Container srv left CNI network cninet, address $ip released." "the teardown entry"
        # No GLib critical from the join of containers without published ports.
        assert_no_match "$(bed_journal -o cat --no-pager -u berthd.service)" "assertion '.*' failed" "GLib criticals"
}

test_kill_9_of_berthd_keeps_the_network() {
        local ip
        bed_exec berthctl run -d --name kept --network cninet "$(R busybox)" sh -c "$WEB" >/dev/null
        ip=$(ip_of kept)
        kill_9_berthd
        assert_eq "$(ip_of kept)" "$ip" "kept's address after the restart"
        # The restarted berthd asks the plugins whether kept's network is as recorded (CNI CHECK).
        wait_until 30 checked
        assert_eq "$(allocations)" "$ip" "one allocation, kept"
        assert_eq "$(bed_exec berthctl run --rm --network cninet "$(R busybox)" wget -q -O - "http://$ip/")" \
                hello-from-cni "kept reached after the restart"
        bed_exec berthctl rm -f kept >/dev/null
        wait_until 30 no_allocations
        wait_until 30 no_records
        assert_eq "$(veths)" "" "veths left"
}

# A container that exited while berthd was not running: its record is swept (DEL) at berthd's next start.
test_sweep_at_start() {
        bed_exec berthctl run -d --name gone --network cninet "$(R busybox)" sleep 1000 >/dev/null
        assert_ne "$(allocations)" "" "gone's allocation"
        # Stopped, not killed: Restart= would bring it back before the scope goes.
        bed_exec systemctl stop berthd
        bed_exec systemctl stop berth-gone.scope
        bed_exec systemctl start berthd
        wait_until 30 swept
        wait_until 30 no_allocations
        wait_until 30 no_records
        bed_exec berthctl rm -f gone >/dev/null
}

test_bad_conflists_are_refused() {
        assert_fails bed_sh 'echo "{" | berthctl network create --driver cni --cni-config - bad'
        assert_match "$FAIL_OUTPUT" 'the CNI configuration is not a JSON object' "not JSON"
        assert_fails bed_sh 'echo "{\"cniVersion\": \"1.0.0\"}" | berthctl network create --driver cni --cni-config - bad'
        assert_match "$FAIL_OUTPUT" 'has no plugins' "no plugins"
        assert_fails bed_sh 'echo "{\"cniVersion\": \"1.0.0\", \"plugins\": [{\"type\": \"nosuch\"}]}" |
                berthctl network create --driver cni --cni-config - bad'
        assert_match "$FAIL_OUTPUT" 'CNI plugin nosuch is not installed in /usr/lib/cni' "missing plugin"
        assert_fails bed_sh 'echo "{\"cniVersion\": \"1.0.0\", \"plugins\": [{\"type\": \"../../bin/sh\"}]}" |
                berthctl network create --driver cni --cni-config - bad'
        assert_match "$FAIL_OUTPUT" 'no valid type' "a path as type"
        assert_fails bed_exec berthctl network create --driver cni bad
        assert_match "$FAIL_OUTPUT" 'needs a CNI configuration' "no conflist"
        assert_fails bed_exec berthctl network create --driver cni --cni-config /nonexistent bad
        assert_match "$FAIL_OUTPUT" 'Cannot read the CNI configuration /nonexistent' "missing file"
        assert_fails bed_exec berthctl network inspect bad
        assert_fails bed_exec ls /var/lib/berth/networks/bad.json
}

# A plugin failing ADD fails the start with its message, and leaves nothing.
test_a_failing_plugin_fails_the_start() {
        bed_sh 'echo "{\"cniVersion\": \"1.0.0\", \"plugins\": [{\"type\": \"bridge\", \"bridge\": \"cni-berth1\",
                \"ipam\": {\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"not-a-subnet\"}]]}}]}" |
                berthctl network create --driver cni --cni-config - broken' >/dev/null
        assert_fails bed_exec berthctl run --rm --network broken "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'network broken: CNI plugin bridge failed' "the plugin's message"
        assert_eq "$(veths)" "" "veths left"
        wait_until 30 no_records
        bed_exec berthctl network rm broken >/dev/null
}

test_nobody_is_refused() {
        local out
        out=$(bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 /org/berth1 \
                org.berth1.Manager CreateNetwork sa{sv} mine 2 driver s cni cni_config s \
                '{"cniVersion": "1.0.0", "plugins": [{"type": "bridge"}]}' 2>&1) && fail "nobody may create"
        assert_match "$out" 'Interactive authentication required' "CreateNetwork"
        out=$(bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 \
                /org/berth1/network/cninet org.berth1.Network Remove b false 2>&1) && fail "nobody may Remove"
        assert_match "$out" 'Interactive authentication required' "Network.Remove"
        assert_fails bed_exec berthctl network inspect mine
}

test_rm_leaves_nothing() {
        bed_exec berthctl network rm cninet >/dev/null
        assert_eq "$(bed_exec ls /var/lib/berth/networks)" "" "records left"
        assert_eq "$(veths)" "" "veths left"
        assert_eq "$(allocations)" "" "allocations left"
}
