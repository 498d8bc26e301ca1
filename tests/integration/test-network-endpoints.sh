# Which containers a network has, with their addresses (issue 13): `berthctl network inspect` prints Docker's
# "Containers" map (id → Name, MacAddress, IPv4Address, IPv6Address) of the containers attached now, from the
# Network object's Endpoints property; a container leaves it at disconnect and at stop; the default network
# has an object too (/org/berth1/network/bridge), which cannot be removed; a container's MAC address is the
# one berth set (02:42 and its IPv4 address).

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
# ep NETWORK PYEXPR : PYEXPR over the "Containers" map (c) of `berthctl network inspect NETWORK`
ep() {
        bed_exec berthctl network inspect "$1" |
                python3 -c "import json, sys; c = json.load(sys.stdin)[0]['Containers']; print($2)"
}
endpoints() { bed_exec busctl get-property org.berth1 "/org/berth1/network/$1" org.berth1.Network Endpoints; }
id_of() { bed_exec berthctl container inspect "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Id"])'; }

test_setup_pull() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

test_user_network_lists_its_containers_with_addresses() {
        local a b mac
        bed_exec berthctl network create --ipv6 --subnet 10.131.0.0/24 --subnet fd00:31::/64 six >/dev/null
        bed_exec berthctl run -d --name a --network six "$(R busybox)" sleep 1000 >/dev/null
        bed_exec berthctl run -d --name b --network six "$(R busybox)" sleep 1000 >/dev/null
        bed_exec berthctl create --name idle --network six "$(R busybox)" true >/dev/null
        a=$(id_of a)
        b=$(id_of b)
        assert_eq "$(ep six "sorted(v['Name'] for v in c.values())")" "['a', 'b']" "the running ones only"
        assert_eq "$(ep six "c['$a']['IPv4Address'], c['$a']['IPv6Address'], c['$a']['MacAddress']")" \
                "10.131.0.2/24 fd00:31::2/64 02:42:0a:83:00:02" "a's addresses"
        assert_eq "$(ep six "c['$b']['IPv4Address'], c['$b']['IPv6Address']")" \
                "10.131.0.3/24 fd00:31::3/64" "b's addresses"
        mac=$(bed_exec berthctl exec a cat /sys/class/net/eth0/address)
        assert_eq "$mac" 02:42:0a:83:00:02 "the MAC address in the container is the one listed"
        assert_eq "$(endpoints six)" "a(sssss) 2 \"a\" \"$a\" \"10.131.0.2/24\" \"fd00:31::2/64\" \"02:42:0a:83:00:02\" \"b\" \"$b\" \"10.131.0.3/24\" \"fd00:31::3/64\" \"02:42:0a:83:00:03\"" \
                "the Endpoints property"
        assert_match "$(bed_exec busctl get-property org.berth1 /org/berth1/network/six org.berth1.Network \
                Containers)" '^as 3 "a" "b" "idle"$' "Containers: still every container created on it"
        assert_match "$(bed_nobody busctl get-property org.berth1 /org/berth1/network/six org.berth1.Network \
                Endpoints)" '^a\(sssss\) 2 ' "readable by every local caller"

        bed_exec berthctl network disconnect six b
        assert_eq "$(ep six "sorted(v['Name'] for v in c.values())")" "['a']" "b gone after its disconnect"
        bed_exec berthctl stop -t 0 a >/dev/null
        assert_eq "$(endpoints six)" "a(sssss) 0" "a gone after its stop"
        assert_eq "$(ep six "c")" "{}" "an empty map"
        bed_exec berthctl rm -f a b idle >/dev/null
        bed_exec berthctl network rm six >/dev/null
}

test_default_bridge_has_an_object() {
        local id out
        bed_exec berthctl run -d --name d "$(R busybox)" sleep 1000 >/dev/null
        id=$(id_of d)
        assert_eq "$(bed_exec busctl call org.berth1 /org/berth1 org.berth1.Manager GetNetwork s bridge)" \
                'o "/org/berth1/network/bridge"' "GetNetwork bridge"
        out=$(bed_exec berthctl network inspect bridge)
        assert_match "$out" '"Name" : "bridge"' "inspect bridge: its name"
        assert_match "$out" '"Driver" : "bridge"' "its driver"
        assert_eq "$(ep bridge "repr((c['$id']['Name'], c['$id']['IPv6Address']))")" "('d', '')" "d on it, no IPv6"
        assert_match "$(ep bridge "c['$id']['IPv4Address']")" '^[0-9.]+/[0-9]+$' "d's IPv4 address"
        assert_match "$(bed_exec busctl get-property org.berth1 /org/berth1/network/bridge org.berth1.Network \
                Containers)" '"d"' "Containers of bridge"
        assert_fails bed_exec berthctl network rm bridge
        assert_match "$FAIL_OUTPUT" 'cannot be removed' "the default network stays"
        assert_fails bed_exec busctl call org.berth1 /org/berth1/network/bridge org.berth1.Network Remove b true
        assert_eq "$(bed_exec berthctl network ls -q)" "" "network ls still lists user networks only"
        bed_exec berthctl network disconnect bridge d
        assert_eq "$(ep bridge "c")" "{}" "d gone from bridge after its disconnect"
        bed_exec berthctl rm -f d >/dev/null
}
