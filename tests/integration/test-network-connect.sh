# network connect / disconnect, run --ip and --network-alias (issue 13): a container's networks are a list, the
# first eth0 with the default route, the others eth1, …; connect and disconnect change a running container at
# once (an interface and an address more or less in its namespace) and a stopped one at its next start; --ip
# takes a chosen address, refused with a clear error when it is taken or not in the subnet; nobody is refused;
# nothing is left in the bed's kernel or in berth's state afterwards.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
WEB='mkdir -p /www; echo hello-from-web > /www/index.html; exec httpd -f -p 80 -h /www'
M() { bed_exec busctl -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }
# addrs NAME : "IFNAME ADDRESS/PREFIX" of each IPv4 address of a running container but lo, sorted
addrs() {
        bed_exec berthctl exec "$1" ip -4 -o addr show | awk '$2 != "lo" { print $2, $4 }' | sort
}
# veths : the host ends of containers' veth pairs in the bed, one per line
veths() {
        bed_exec ip -o link show type veth | awk -F': ' '{ print $2 }' | cut -d@ -f1 | grep -v '^eth0$' || true
}
# reach FROM URL : a GET from container FROM (sh first: the container's PID 1 ignores timeout's signal)
reach() { bed_exec berthctl exec "$1" sh -c "timeout 5 wget -q -O - $2"; }
containers_of() {
        bed_exec berthctl network inspect "$1" |
                python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)[0]["ContainerNames"]))'
}
config_of() {
        bed_exec berthctl container inspect "$1" |
                python3 -c "import json, sys; print(json.load(sys.stdin)[0]['Config']$2)"
}
nothing_left() {
        assert_eq "$(veths)" "" "veths left"
        assert_eq "$(bed_exec ip -o link show type bridge | awk -F': ' '{ print $2 }' | grep '^br-' || true)" "" \
                "bridges left"
        assert_eq "$(bed_exec sh -c 'cat /var/lib/berth/network/*.addresses 2>/dev/null' | grep -v '^ *$' || true)" \
                "" "allocations left"
}

test_setup_pull() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

test_connect_and_disconnect_a_running_container() {
        local out
        bed_exec berthctl network create --subnet 10.101.0.0/24 a >/dev/null
        bed_exec berthctl network create --subnet 10.102.0.0/24 b >/dev/null
        bed_exec berthctl run -d --name srv --network a --ip 10.101.0.50 --network-alias www "$(R busybox)" \
                sh -c "$WEB" >/dev/null
        bed_exec berthctl run -d --name cli --network b "$(R busybox)" sleep 1000 >/dev/null
        assert_eq "$(addrs srv)" "eth0 10.101.0.50/24" "srv has the address it asked for"
        assert_eq "$(config_of srv '["NetworkAliases"]')" "['a=www']" "srv's alias on a, recorded"
        assert_eq "$(addrs cli)" "eth0 10.102.0.2/24" "cli on b only"
        assert_fails reach cli http://10.101.0.50/
        # connect: eth1 on a, at once; the default route stays b's.
        assert_ok bed_exec berthctl network connect --alias client a cli
        assert_eq "$(addrs cli)" $'eth0 10.102.0.2/24\neth1 10.101.0.2/24' "cli on b and a"
        assert_match "$(bed_exec berthctl exec cli ip route)" '^default via 10\.102\.0\.1 dev eth0' \
                "the default route is still b's"
        wait_until 30 reach cli http://10.101.0.50/
        assert_eq "$(reach cli http://10.101.0.50/)" hello-from-web "cli reaches srv through a"
        assert_eq "$(containers_of a)" "cli srv" "a's containers"
        assert_eq "$(config_of cli '["Networks"]')" "['a']" "the record lists a after b"
        assert_eq "$(veths | wc -l)" 3 "one veth pair per network of each container"
        assert_fails bed_exec berthctl network connect a cli
        assert_match "$FAIL_OUTPUT" 'already connected to network a' "connect twice"
        # disconnect: the interface and the address go at once.
        assert_ok bed_exec berthctl network disconnect a cli
        assert_eq "$(addrs cli)" "eth0 10.102.0.2/24" "cli on b only again"
        assert_fails reach cli http://10.101.0.50/
        assert_eq "$(containers_of a)" "srv" "a's containers after the disconnect"
        assert_eq "$(veths | wc -l)" 2 "the pair on a is gone"
        assert_eq "$(bed_exec grep -c "^10\\." /var/lib/berth/network/a.addresses)" 1 "cli's address on a freed"
        assert_fails bed_exec berthctl network disconnect a cli
        assert_match "$FAIL_OUTPUT" 'not connected to network a' "disconnect twice"
        assert_ok bed_exec berthctl network disconnect -f a cli
        # The default bridge by name, through the Manager.
        M ConnectNetwork 'ssa{sv}' bridge cli 0
        assert_match "$(addrs cli)" $'eth1 10\\.87\\.[0-9.]+/16' "cli on the default bridge as eth1"
        M DisconnectNetwork ssb bridge cli false
        assert_eq "$(addrs cli)" "eth0 10.102.0.2/24" "off the bridge again"
        bed_exec berthctl rm -f srv cli >/dev/null
        bed_exec berthctl network rm a b >/dev/null
        nothing_left
}

test_connect_and_disconnect_a_stopped_container() {
        bed_exec berthctl network create --subnet 10.103.0.0/24 c >/dev/null
        bed_exec berthctl network create --subnet 10.104.0.0/24 d >/dev/null
        bed_exec berthctl create --name later --network c "$(R busybox)" sleep 1000 >/dev/null
        # Through the Network object, with an address on d.
        bed_exec busctl call org.berth1 /org/berth1/network/d org.berth1.Network Connect 'sa{sv}' later 1 \
                ip s 10.104.0.9
        assert_eq "$(containers_of d)" "later" "d lists the stopped container"
        assert_eq "$(veths)" "" "nothing made before the start"
        bed_exec berthctl start later >/dev/null
        assert_eq "$(addrs later)" $'eth0 10.103.0.2/24\neth1 10.104.0.9/24' "c first, then d at start"
        bed_exec berthctl stop -t 1 later >/dev/null
        # Disconnecting the first network: the next one becomes eth0 with the default route.
        bed_exec busctl call org.berth1 /org/berth1/network/c org.berth1.Network Disconnect sb later false
        bed_exec berthctl start later >/dev/null
        assert_eq "$(addrs later)" "eth0 10.104.0.9/24" "d is now the first"
        assert_match "$(bed_exec berthctl exec later ip route)" '^default via 10\.104\.0\.1 dev eth0' "d's route"
        # Without any network left, the container has lo only; connecting one gives it eth0 again, running.
        assert_ok bed_exec berthctl network disconnect d later
        assert_eq "$(addrs later)" "" "no network left"
        assert_eq "$(config_of later '["Network"]')" "none" "recorded as none"
        assert_ok bed_exec berthctl network connect c later
        assert_eq "$(addrs later)" "eth0 10.103.0.2/24" "c as eth0, at once"
        assert_match "$(bed_exec berthctl exec later ip route)" '^default via 10\.103\.0\.1 dev eth0' "c's route"
        bed_exec berthctl rm -f later >/dev/null
        bed_exec berthctl network rm c d >/dev/null
        nothing_left
}

test_bad_addresses_and_aliases_are_refused() {
        bed_exec berthctl network create --subnet 10.105.0.0/24 e >/dev/null
        assert_fails bed_exec berthctl create --ip 10.87.0.9 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'need a user network' "--ip on the default bridge"
        assert_fails bed_exec berthctl create --network e --network-alias 'bad alias' "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" "invalid alias 'bad alias'" "a bad alias"
        bed_exec berthctl run -d --name one --network e --ip 10.105.0.20 "$(R busybox)" sleep 1000 >/dev/null
        # Taken, outside the subnet, the gateway: the start fails and says why; nothing is left of it.
        assert_fails bed_exec berthctl run --rm --network e --ip 10.105.0.20 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'address 10\.105\.0\.20 is already in use' "a taken address"
        assert_fails bed_exec berthctl run --rm --network e --ip 10.106.0.20 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'address 10\.106\.0\.20 is not a free host address of 10\.105\.0\.0/24' \
                "outside the subnet"
        bed_exec berthctl run -d --name two --network bridge "$(R busybox)" sleep 1000 >/dev/null
        assert_fails bed_exec berthctl network connect --ip 10.105.0.1 e two
        assert_match "$FAIL_OUTPUT" 'address 10\.105\.0\.1 is not a free host address' "the gateway"
        assert_eq "$(containers_of e)" "one" "two not on e after the failed connect"
        assert_eq "$(bed_exec berthctl exec two ip -o link show | grep -c eth1 || true)" 0 "no eth1 left in two"
        assert_fails bed_exec berthctl network connect nosuch two
        assert_match "$FAIL_OUTPUT" 'No such network: no such network: nosuch' "no such network"
        assert_fails bed_exec berthctl network connect e nosuch
        assert_match "$FAIL_OUTPUT" 'nosuch' "no such container"
        bed_exec berthctl run -d --name hostnet --network host "$(R busybox)" sleep 1000 >/dev/null
        assert_fails bed_exec berthctl network connect e hostnet
        assert_match "$FAIL_OUTPUT" "host's network cannot join another" "a container on the host's network"
        bed_exec berthctl rm -f one two hostnet >/dev/null
        bed_exec berthctl network rm e >/dev/null
        nothing_left
}

test_nobody_is_refused() {
        local out
        bed_exec berthctl network create --subnet 10.107.0.0/24 f >/dev/null
        bed_exec berthctl create --name mine "$(R busybox)" true >/dev/null
        for call in "ConnectNetwork ssa{sv} f mine 0" "DisconnectNetwork ssb bridge mine false"; do
                # shellcheck disable=SC2086
                out=$(bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 /org/berth1 \
                        org.berth1.Manager $call 2>&1) && fail "nobody may call: $call"
                assert_match "$out" 'Interactive authentication required' "$call"
        done
        out=$(bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 /org/berth1/network/f \
                org.berth1.Network Connect 'sa{sv}' mine 0 2>&1) && fail "nobody may Connect"
        assert_match "$out" 'Interactive authentication required' "Network.Connect"
        assert_eq "$(containers_of f)" "" "nothing connected"
        assert_eq "$(config_of mine '["Network"]')" "bridge" "nothing disconnected"
        bed_exec berthctl rm mine >/dev/null
        bed_exec berthctl network rm f >/dev/null
        nothing_left
}

# A container adopted by a restarted berthd (kill -9) is connected and disconnected as one it started.
test_connect_after_kill_9_of_berthd() {
        bed_exec berthctl network create --subnet 10.108.0.0/24 g >/dev/null
        bed_exec berthctl network create --subnet 10.109.0.0/24 h >/dev/null
        bed_exec berthctl run -d --name adopted --network g "$(R busybox)" sleep 1000 >/dev/null
        kill_9_berthd
        assert_ok bed_exec berthctl network connect h adopted
        assert_eq "$(addrs adopted)" $'eth0 10.108.0.2/24\neth1 10.109.0.2/24' "adopted on g and h"
        assert_ok bed_exec berthctl network disconnect g adopted
        assert_eq "$(addrs adopted)" "eth1 10.109.0.2/24" "adopted on h only"
        bed_exec berthctl rm -f adopted >/dev/null
        bed_exec berthctl network rm g h >/dev/null
        nothing_left
}
