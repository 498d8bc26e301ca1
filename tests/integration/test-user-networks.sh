# User networks (issue 13, part 1 without connect/disconnect, --ip and aliases): `berthctl network create / ls
# / inspect / rm / prune` and the Manager's and the Network objects' methods. Each network is a bridge device of
# its own, br-<12 hex of its id>, with its gateway; bad input is refused with a clear error and leaves nothing
# behind; `run --network NAME` puts containers on it, reachable from each other and not from other networks;
# --internal has no way out; a kill -9 of berthd keeps networks, addresses and rules, once; nobody is refused;
# after rm nothing is left in the bed's kernel or in berth's state.

NETS=/var/lib/berth/networks
R() { echo "$BERTH_TEST_REGISTRY/$1"; }
WEB='mkdir -p /www; echo hello-from-web > /www/index.html; exec httpd -f -p 80 -h /www'
# ip_of NAME : a running container's address
ip_of() {
        bed_exec berthctl container inspect "$1" |
                python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["IPAddress"])'
}
M() { bed_exec busctl -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }
# dev_of NAME : the bridge device of network NAME
dev_of() {
        bed_exec berthctl network inspect "$1" |
                python3 -c 'import json, sys; print("br-" + json.load(sys.stdin)[0]["Id"][:12])'
}
# bridges : the berth user-network bridges in the bed, one per line
bridges() { bed_exec ip -o link show type bridge | awk -F': ' '{ print $2 }' | grep '^br-' || true; }

test_setup_pull() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

test_create_ls_inspect_rm() {
        local id out dev
        id=$(bed_exec berthctl network create --label app=web --label tier=front one)
        assert_match "$id" '^[0-9a-f]{64}$' "network create prints the id"
        dev="br-${id:0:12}"
        # The pool's lowest free /24, its first address the gateway, on a bridge of its own, up.
        assert_match "$(bed_exec ip -4 -o addr show dev "$dev")" 'inet 10\.90\.0\.1/24' "$dev's address"
        assert_match "$(bed_exec ip -o link show dev "$dev")" 'state (UP|UNKNOWN)|,UP' "$dev is up"
        out=$(bed_exec berthctl network ls)
        assert_match "$out" "^${id:0:12} +one +bridge +10\.90\.0\.0/24 +false\$" "network ls"
        out=$(bed_exec berthctl network inspect one)
        assert_match "$out" '"Subnet" : "10\.90\.0\.0/24"' "inspect: subnet"
        assert_match "$out" '"Gateway" : "10\.90\.0\.1"' "inspect: gateway"
        assert_match "$out" '"tier" : "front"' "inspect: labels"
        # The second takes the next /24; a given subnet and gateway are used as given; --internal is recorded.
        bed_exec berthctl network create two >/dev/null
        bed_exec berthctl network create --internal --subnet 192.168.77.0/24 --gateway 192.168.77.254 three \
                >/dev/null
        assert_match "$(bed_exec ip -4 -o addr show dev "$(dev_of two)")" 'inet 10\.90\.1\.1/24' "two's address"
        assert_match "$(bed_exec ip -4 -o addr show dev "$(dev_of three)")" 'inet 192\.168\.77\.254/24' \
                "three's gateway"
        assert_match "$(bed_exec berthctl network ls)" ' three +bridge +192\.168\.77\.0/24 +true$' "three internal"
        # The D-Bus objects, their properties, and the Manager's forms.
        out=$(M GetNetwork s two)
        assert_eq "$out" 'o "/org/berth1/network/two"' "GetNetwork"
        assert_eq "$(bed_exec busctl get-property org.berth1 /org/berth1/network/three org.berth1.Network Internal)" \
                "b true" "Internal property"
        assert_match "$(M ListNetworks)" '"one" .*"three" .*"two"' "ListNetworks, sorted"
        # Records on disk, one each.
        assert_eq "$(bed_exec ls $NETS)" $'one.json\nthree.json\ntwo.json' "records"
        # rm by the object, by the Manager, by berthctl; nothing left.
        bed_exec busctl call org.berth1 /org/berth1/network/one org.berth1.Network Remove b false
        M RemoveNetwork sb two false
        assert_eq "$(bed_exec berthctl network rm three)" three "network rm prints the name"
        assert_eq "$(bridges)" "" "bridges left"
        assert_eq "$(bed_exec ls $NETS)" "" "records left"
        assert_eq "$(bed_exec berthctl network ls -q)" "" "networks left"
}

test_a_given_gateway_is_never_a_container_address() {
        bed_exec berthctl network create --subnet 192.168.78.0/29 --gateway 192.168.78.2 gw >/dev/null
        assert_match "$(bed_exec berthctl run --rm --network gw "$BERTH_TEST_REGISTRY/busybox" ip -4 -o addr show eth0)" \
                'inet 192\.168\.78\.3/29' "the first address after the first host and the gateway"
        bed_exec berthctl network rm gw >/dev/null
}

test_bad_input_is_refused_and_leaves_nothing() {
        bed_exec berthctl network create --subnet 10.91.0.0/16 taken >/dev/null
        assert_fails bed_exec berthctl network create --subnet 10.91.3.0/24 x
        assert_match "$FAIL_OUTPUT" 'subnet 10\.91\.3\.0/24 overlaps 10\.91\.0\.0/16 of taken' "overlap"
        assert_fails bed_exec berthctl network create --subnet 10.87.9.0/24 x
        assert_match "$FAIL_OUTPUT" 'overlaps 10\.87\.0\.0/16 of the bridge network' "overlap with the bridge"
        assert_fails bed_exec berthctl network create taken
        assert_match "$FAIL_OUTPUT" 'network name taken is already in use' "name in use"
        assert_fails bed_exec berthctl network create --subnet 10.92.0.1/24 x
        assert_match "$FAIL_OUTPUT" "invalid subnet '10\.92\.0\.1/24'" "host bits"
        assert_fails bed_exec berthctl network create --subnet 10.92.0.0/24 --gateway 10.93.0.1 x
        assert_match "$FAIL_OUTPUT" 'gateway 10\.93\.0\.1 is not a host address of 10\.92\.0\.0/24' "gateway"
        assert_fails bed_exec berthctl network create host
        assert_match "$FAIL_OUTPUT" "invalid network name 'host'" "reserved name"
        assert_fails bed_exec berthctl network create --driver macvlan x
        assert_match "$FAIL_OUTPUT" "driver 'macvlan' is not supported" "driver"
        assert_fails bed_exec berthctl network create --label novalue x
        assert_match "$FAIL_OUTPUT" "invalid label 'novalue'" "label"
        assert_fails bed_exec berthctl network rm nosuch
        assert_match "$FAIL_OUTPUT" 'no such network: nosuch' "rm of a network that is not there"
        assert_fails M CreateNetwork sa{sv} x 1 bogus s y
        assert_match "$FAIL_OUTPUT" "Unknown option 'bogus'" "unknown option"
        # A device in the way of the bridge: refused, and neither the record nor the object stays.
        assert_eq "$(bed_exec berthctl network ls -q)" "$(bed_exec berthctl network ls -q | head -1)" \
                "one network only"
        assert_eq "$(bed_exec ls $NETS)" "taken.json" "only the one record"
        assert_eq "$(bridges | wc -l)" 1 "only the one bridge"
        bed_exec berthctl network rm taken >/dev/null
}

# The host's routes count as taken: its own link's subnet, and a route added by hand, which the pool skips.
test_the_hosts_routes_are_taken() {
        assert_fails bed_exec berthctl network create --subnet 198.51.100.0/25 x
        assert_match "$FAIL_OUTPUT" 'overlaps 198\.51\.100\.0/24 of a route of the host on eth0' "the bed's link"
        bed_exec ip route add 10.90.0.0/23 dev lo
        assert_ok bed_exec berthctl network create routed
        bed_exec ip route del 10.90.0.0/23 dev lo
        assert_match "$(bed_exec berthctl network ls)" ' routed +bridge +10\.90\.2\.0/24 ' "the pool skips the route"
        bed_exec berthctl network rm routed >/dev/null
        assert_eq "$(bridges)" "" "bridges left"
}

test_the_pool_exhausted() {
        # 10.90.0.0/15 taken whole by two networks given as /16s: the pool has nothing left.
        bed_exec berthctl network create --subnet 10.90.0.0/16 a >/dev/null
        bed_exec berthctl network create --subnet 10.91.0.0/16 b >/dev/null
        assert_fails bed_exec berthctl network create c
        assert_match "$FAIL_OUTPUT" 'no free subnet left in berth.s pool 10\.90\.0\.0/15' "pool exhausted"
        assert_eq "$(bed_exec ls $NETS)" $'a.json\nb.json' "no record for c"
        assert_eq "$(bridges | wc -l)" 2 "no bridge for c"
        assert_eq "$(bed_exec berthctl network prune -f)" $'Deleted Networks:\na\nb' "prune"
        assert_eq "$(bridges)" "" "bridges left after prune"
}

test_kill_9_of_berthd_keeps_networks() {
        local before dev
        bed_exec berthctl network create --subnet 10.95.0.0/24 kept >/dev/null
        before=$(bed_exec berthctl network inspect kept)
        dev=$(dev_of kept)
        kill_9_berthd
        # systemd restarts berthd by itself (Restart=on-failure), or the next call activates it: wait for that
        # start to be over before deleting the bridge, or the delete may come before the start remakes it.
        bed_exec berthctl network ls >/dev/null
        # A kill -9 leaves the bridge; delete it too, as a reboot would: berthd makes it again at start.
        bed_exec ip link del "$dev"
        bed_exec systemctl restart berthd
        assert_eq "$(bed_exec berthctl network inspect kept)" "$before" "inspect after the restart"
        assert_match "$(bed_exec ip -4 -o addr show dev "$(dev_of kept)")" 'inet 10\.95\.0\.1/24' \
                "the bridge made again at start"
        assert_eq "$(bed_exec ip -4 -o addr show dev "$(dev_of kept)" | wc -l)" 1 "one address, not two"
        bed_exec berthctl network rm kept >/dev/null
        assert_eq "$(bridges)" "" "bridges left"
}

test_nobody_is_refused() {
        local out
        bed_exec berthctl network create mine >/dev/null
        for call in "CreateNetwork sa{sv} pk 0" "RemoveNetwork sb mine false" "PruneNetworks a{sv} 0"; do
                # shellcheck disable=SC2086
                out=$(bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 /org/berth1 \
                        org.berth1.Manager $call 2>&1) && fail "nobody may call: $call"
                assert_match "$out" 'Interactive authentication required' "$call"
        done
        out=$(bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 \
                /org/berth1/network/mine org.berth1.Network Remove b false 2>&1) && fail "nobody may Remove"
        assert_match "$out" 'Interactive authentication required' "Network.Remove"
        # Reading is open to all.
        assert_match "$(bed_nobody busctl -- call org.berth1 /org/berth1 org.berth1.Manager ListNetworks)" \
                '"mine"' "nobody lists"
        assert_eq "$(bed_exec berthctl network ls -q | wc -l)" 1 "nothing created or removed"
        bed_exec berthctl network rm mine >/dev/null
        assert_eq "$(bridges)" "" "bridges left"
        assert_eq "$(bed_exec ls $NETS)" "" "records left"
}

# Containers on a user network reach each other, not those of another network, and get out through NAT; an
# internal network has no way out; a network with containers is not removed without force.
test_containers_on_user_networks() {
        local ip out
        bed_exec berthctl network create --subnet 10.96.0.0/24 front >/dev/null
        bed_exec berthctl network create --subnet 10.97.0.0/24 back >/dev/null
        bed_exec berthctl network create --internal --subnet 10.98.0.0/24 closed >/dev/null
        bed_exec berthctl run -d --name srv --network front "$(R busybox)" sh -c "$WEB" >/dev/null
        ip=$(ip_of srv)
        assert_match "$ip" '^10\.96\.0\.[0-9]+$' "srv's address on front"
        wait_until 30 bed_exec berthctl run --rm --network front "$(R busybox)" wget -q -O /dev/null "http://$ip/"
        out=$(bed_exec berthctl run --rm --network front "$(R busybox)" sh -c \
                "ip route; wget -q -O - http://$ip/; wget -q -O - http://198.51.100.1/hello")
        assert_match "$out" '^default via 10\.96\.0\.1 dev eth0' "front's gateway as default route"
        assert_match "$out" '^hello-from-web$' "srv from a container on front"
        assert_match "$out" '^outside$' "the outside from front, through NAT"
        assert_eq "$(bed_exec berthctl network inspect front | python3 -c \
                'import json, sys; print(json.load(sys.stdin)[0]["ContainerNames"])')" "['srv']" "front's containers"
        # Not from another network, nor from the default bridge.
        # (sh first: the container's PID 1 ignores timeout's signal, and a dropped connect waits minutes.)
        assert_fails bed_exec berthctl run --rm --network back "$(R busybox)" sh -c \
                "timeout 3 wget -q -O - http://$ip/; exit \$?"
        assert_fails bed_exec berthctl run --rm "$(R busybox)" sh -c "timeout 3 wget -q -O - http://$ip/; exit \$?"
        # The internal network: no way out.
        assert_fails bed_exec berthctl run --rm --network closed "$(R busybox)" sh -c \
                'timeout 3 wget -q -O - http://198.51.100.1/hello; exit $?'
        assert_match "$(bed_exec nft list chain ip berth postrouting)" 'ip saddr 10\.96\.0\.0/24 oifname != "br-' \
                "front's masquerade"
        assert_no_match "$(bed_exec nft list chain ip berth postrouting)" 'ip saddr 10\.98\.0\.0/24 oifname' \
                "no masquerade for closed"
        # A network with a container is not removed without force.
        assert_fails bed_exec berthctl network rm front
        assert_match "$FAIL_OUTPUT" 'Network is in use: network front has containers: srv' "rm with containers"
        # A network that does not exist fails the start and says so.
        assert_fails bed_exec berthctl run --rm --network nosuch "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'no such network: nosuch' "run on a missing network"
        bed_exec berthctl rm -f srv >/dev/null
        assert_eq "$(bed_exec berthctl network rm front back closed)" $'front\nback\nclosed' "rm after the container"
        assert_eq "$(bridges)" "" "bridges left"
        assert_eq "$(bed_exec ip -o link show type veth | grep -v 'eth0@' || true)" "" "veths left"
        assert_no_match "$(bed_exec nft list ruleset)" 'br-' "rules of user networks left"
        assert_eq "$(bed_exec ls /var/lib/berth/network | grep -v '^bridge\.' || true)" "" "state files left"
}

# kill -9 of berthd with a container on a user network: its address and its rules stay, once each.
test_kill_9_of_berthd_keeps_containers_on_user_networks() {
        local ip
        bed_exec berthctl network create --subnet 10.99.0.0/24 --internal keep >/dev/null
        bed_exec berthctl run -d --name kept1 --network keep "$(R busybox)" sleep 1000 >/dev/null
        ip=$(ip_of kept1)
        kill_9_berthd
        assert_eq "$(ip_of kept1)" "$ip" "kept1's address after the restart"
        assert_eq "$(bed_exec nft list chain ip berth forward | grep -c 'iifname "br-.*" oifname != ')" 1 \
                "the internal network's forward rule, once"
        assert_eq "$(bed_exec grep -c "^10\\.99\\." /var/lib/berth/network/keep.addresses)" 1 "one allocation"
        bed_exec berthctl rm -f kept1 >/dev/null
        bed_exec berthctl network rm keep >/dev/null
        assert_eq "$(bridges)" "" "bridges left"
        assert_no_match "$(bed_exec nft list ruleset)" 'br-' "rules of user networks left"
}
