# IPv6 on user networks (issue 13): `network create --ipv6 --subnet fd00:1::/64` makes a dual-stack network;
# its bridge gets fd00:1::1, each container the IPv6 address whose host part is its IPv4 one, with the
# gateway as IPv6 default route; containers reach each other over IPv6 and resolve each other's AAAA
# records; they reach the outside over IPv6 through NAT66 (`table ip6 berth`; net.ipv6.conf.all.forwarding
# set by the first such network), unless the network is --internal; published ports answer on the bed's
# IPv6 address, from the outside and from containers, `-p [ADDR]:PORT:PORT` on that IPv6 address only, TCP
# and UDP, TCP on [::1] through berthd's relay; the default bridge is dual stack with berth.conf's
# [Network] Subnet6=; bad input is refused; nothing is left.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
WEB='mkdir -p /www; echo hello-from-web > /www/index.html; exec httpd -f -p 80 -h /www'
addrs6() { bed_exec berthctl exec "$1" ip -6 -o addr show dev eth0 scope global | awk '{ print $4 }'; }

OUTSIDE6=2001:db8:100::1
BED6=2001:db8:100::2
FORWARDING6=/proc/sys/net/ipv6/conf/all/forwarding
# get6 FROM URL : a GET from container FROM (sh first: the container's PID 1 ignores timeout's signal)
get6() { bed_exec berthctl exec "$1" sh -c "timeout 5 wget -q -O - '$2'"; }

test_setup_pull() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

# The outside gets an IPv6 address on its link with the bed, and a server there (the IPv4 one's files); the
# bed an address on that link. The outside knows no route to the containers' ULA subnets.
test_setup_outside6() {
        outside_net ip -6 addr add "$OUTSIDE6/64" dev eth0 nodad
        bed_exec ip -6 addr add "$BED6/64" dev eth0 nodad
        nsenter --net="/proc/$("$BERTH_BED" outside-pid "$BED_DIR")/ns/net" python3 -m http.server \
                --bind "$OUTSIDE6" --directory "$BED_DIR/outside/www" 8080 >"$BED_DIR/outside6.log" 2>&1 &
        echo $! >"$BED_DIR/outside6.pid"
        wait_until 60 bed_exec curl -fsS --max-time 2 "http://[$OUTSIDE6]:8080/hello"
        assert_eq "$(bed_exec cat $FORWARDING6)" 0 "no IPv6 forwarding before a network needs it"
}

test_internal_ipv6_network_has_no_way_out() {
        bed_exec berthctl network create --internal --ipv6 --subnet 10.133.0.0/24 --subnet fd00:33::/64 in6 \
                >/dev/null
        bed_exec berthctl run -d --name i6 --network in6 "$(R busybox)" sleep 1000 >/dev/null
        assert_eq "$(bed_exec cat $FORWARDING6)" 0 "an internal network needs no IPv6 forwarding"
        assert_no_match "$(bed_exec nft list table ip6 berth)" 'fd00:33::/64 oifname' "no masquerade for it"
        assert_fails get6 i6 "http://[$OUTSIDE6]:8080/hello"
        bed_exec berthctl rm -f i6 >/dev/null
        bed_exec berthctl network rm in6 >/dev/null
}

test_ipv6_outbound_through_nat66() {
        local id out
        id=$(bed_exec berthctl network create --ipv6 --subnet 10.132.0.0/24 --subnet fd00:32::/64 out6)
        bed_exec berthctl run -d --name o6 --network out6 "$(R busybox)" sleep 1000 >/dev/null
        assert_eq "$(bed_exec cat $FORWARDING6)" 1 "IPv6 forwarding on for a network with a way out"
        assert_match "$(bed_exec nft list table ip6 berth)" \
                "ip6 saddr fd00:32::/64 oifname != \"br-${id:0:12}\" masquerade" "the NAT66 rule"
        out=$(get6 o6 "http://[$OUTSIDE6]:8080/hello")
        assert_eq "$out" outside "the outside over IPv6"
        assert_match "$(cat "$BED_DIR/outside6.log")" "^$BED6 .*GET /hello" "seen from the bed's address"
        assert_no_match "$(cat "$BED_DIR/outside6.log")" '^fd00:' "never from the container's own"
}

test_published_ports_over_ipv6() {
        local pid
        bed_exec berthctl run -d --name w6 --network out6 -p 8080:80 -p "[$BED6]:8081:80" -p 5353:5353/udp \
                -p '[::1]:8082:80' "$(R busybox)" sh -c "mkdir -p /www; head -c 3000000 /dev/zero > /www/big; $WEB" >/dev/null
        wait_until 60 bed_exec curl -fsS --max-time 2 "http://[$BED6]:8080/"
        assert_eq "$(bed_exec curl -fsS --max-time 5 "http://[$BED6]:8080/")" hello-from-web "on the bed's IPv6"
        assert_eq "$(bed_exec curl -fsS --max-time 5 http://127.0.0.1:8080/)" hello-from-web "IPv4 still"
        assert_eq "$(outside_net curl -fsS --max-time 5 "http://[$BED6]:8080/")" hello-from-web "from the outside"
        assert_eq "$(get6 o6 "http://[$BED6]:8080/")" hello-from-web "from a container (hairpin)"
        assert_eq "$(outside_net curl -fsS --max-time 5 "http://[$BED6]:8081/")" hello-from-web \
                "[BED6]:8081 from the outside"
        assert_eq "$(bed_exec curl -fsS --max-time 5 "http://[$BED6]:8081/")" hello-from-web "[BED6]:8081"
        assert_fails bed_exec curl -fsS --max-time 3 http://127.0.0.1:8081/
        # [::1] through berthd's relay (no DNAT can take IPv6 loopback traffic into the bridge).
        assert_eq "$(bed_exec curl -fsS --max-time 5 'http://[::1]:8080/')" hello-from-web "on [::1]"
        assert_eq "$(bed_exec curl -fsS --max-time 5 'http://[::1]:8082/')" hello-from-web "[::1]:8082"
        assert_fails bed_exec curl -fsS --max-time 3 "http://[$BED6]:8082/"
        assert_eq "$(bed_exec sh -c "curl -fsS --max-time 20 'http://[::1]:8080/big' | wc -c")" 3000000 \
                "3 MB through the relay"
        # A new berthd holds the ports again and relays [::1] again.
        kill_9_berthd
        bed_exec berthctl ps >/dev/null
        assert_eq "$(bed_exec curl -fsS --max-time 5 'http://[::1]:8082/')" hello-from-web "[::1] after kill -9"
        assert_eq "$(bed_exec curl -fsS --max-time 5 "http://[$BED6]:8080/")" hello-from-web "IPv6 DNAT after it"
        assert_match "$(bed_exec berthctl port w6)" "^80/tcp -> \\[$BED6\\]:8081\$" "berthctl port w6"
        assert_match "$(bed_exec busctl get-property org.berth1 /org/berth1/container/w6 org.berth1.Container \
                Ports)" "\"tcp\" \"$BED6\" 8081 80" "the Ports property"
        # The host ports are held on IPv6 too while w6 runs.
        assert_fails bed_exec python3 -c 'import socket; s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("::", 8080)); s.listen()'
        pid=$(bed_exec berthctl container inspect w6 | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["State"]["Pid"])')
        bed_sh "nsenter -t $pid -n python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind((\"::\", 5353)); s.settimeout(120)
while True:
    d, a = s.recvfrom(100); s.sendto(b\"pong \" + d, a)
' >/dev/null 2>&1 & echo \$! > /run/udp6.pid"
        udp6_ask() { bed_exec python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(b"ping", (sys.argv[1], 5353)); print(s.recv(100).decode())' "$1"; }
        wait_until 60 udp6_ask "$BED6"
        assert_eq "$(udp6_ask "$BED6")" "pong ping" "UDP on the bed's IPv6 address"
        bed_sh 'kill $(cat /run/udp6.pid)'
        bed_exec berthctl rm -f w6 >/dev/null
        assert_no_match "$(bed_exec nft list chain ip6 berth published)" 'dnat to' "no DNAT after rm"
        # (SO_REUSEADDR: the relayed connections linger in TIME_WAIT, as after any server's.)
        bed_exec python3 -c 'import socket; s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("::", 8080)); s.listen()'
        # UDP on [::1] cannot be: no DNAT takes it there, and the relay is TCP only.
        assert_fails bed_exec berthctl run --rm --network out6 -p '[::1]:8083:80/udp' "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" "cannot publish '\\[::1\\]:8083:80/udp': berth relays only TCP on \\[::1\\]" \
                "UDP on [::1] refused"
        bed_exec berthctl rm -f o6 >/dev/null
        bed_exec berthctl network rm out6 >/dev/null
        assert_fails bed_exec nft list table ip6 berth
}

test_ipv6_host_address_needs_an_ipv6_network() {
        bed_exec berthctl network create --subnet 10.134.0.0/24 four >/dev/null
        assert_fails bed_exec berthctl run --rm --network four -p '[::1]:8083:80' "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" "cannot publish '\[::1\]:8083:80' on an IPv6 address" "refused at start"
        bed_exec berthctl network rm four >/dev/null
}

# berth.conf's [Network] Subnet6= makes the default bridge dual stack (off by default, as in Docker).
test_default_bridge_ipv6_from_berth_conf() {
        local id out
        bed_sh "mkdir -p /etc/berth && printf '[Network]\\nSubnet6=fd00:87::/64\\n' > /etc/berth/berth.conf"
        bed_exec systemctl restart berthd
        assert_eq "$(bed_exec busctl get-property org.berth1 /org/berth1/network/bridge org.berth1.Network \
                Subnet6)" 's "fd00:87::/64"' "the bridge's Subnet6"
        bed_exec berthctl run -d --name b6 -p 8090:80 "$(R busybox)" sh -c "$WEB" >/dev/null
        id=$(bed_exec berthctl container inspect b6 | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Id"])')
        assert_match "$(addrs6 b6)" '^fd00:87::[0-9a-f]+/64$' "b6's IPv6 address"
        assert_match "$(bed_exec ip -6 -o addr show dev berth0)" 'inet6 fd00:87::1/64' "berth0's"
        assert_match "$(bed_exec berthctl exec b6 ip -6 route)" '^default via fd00:87::1 dev eth0' "its route"
        assert_eq "$(get6 b6 "http://[$OUTSIDE6]:8080/hello")" outside "the outside over IPv6 from the bridge"
        wait_until 60 bed_exec curl -fsS --max-time 2 "http://[$BED6]:8090/"
        assert_eq "$(bed_exec curl -fsS --max-time 5 'http://[::1]:8090/')" hello-from-web "on [::1]"
        out=$(bed_exec berthctl network inspect bridge)
        assert_match "$out" '"EnableIPv6" : true' "inspect bridge: EnableIPv6"
        assert_match "$(python3 -c "import json, sys; print(json.loads(sys.argv[1])[0]['Containers']['$id']['IPv6Address'])" "$out")" \
                '^fd00:87::[0-9a-f]+/64$' "inspect bridge: b6's IPv6 address"
        assert_fails bed_exec berthctl network create --ipv6 --subnet fd00:87:0:0:1::/80 clash
        assert_match "$FAIL_OUTPUT" 'overlaps fd00:87::/64 of the bridge network' "overlap with the bridge's"
        bed_exec berthctl rm -f b6 >/dev/null
        bed_exec rm /etc/berth/berth.conf
        bed_exec systemctl restart berthd
        assert_eq "$(bed_exec busctl get-property org.berth1 /org/berth1/network/bridge org.berth1.Network \
                EnableIPv6)" 'b false' "off again without Subnet6="
}

test_teardown_outside6() {
        kill "$(cat "$BED_DIR/outside6.pid")"
        outside_net ip -6 addr del "$OUTSIDE6/64" dev eth0
        bed_exec ip -6 addr del "$BED6/64" dev eth0
}

test_dual_stack_network() {
        local id out
        id=$(bed_exec berthctl network create --ipv6 --subnet 10.130.0.0/24 --subnet fd00:1::/64 six)
        out=$(bed_exec berthctl network inspect six)
        assert_match "$out" '"EnableIPv6" : true' "inspect: EnableIPv6"
        assert_match "$out" '"Subnet" : "fd00:1::/64"' "inspect: the IPv6 subnet"
        assert_eq "$(bed_exec busctl get-property org.berth1 /org/berth1/network/six org.berth1.Network Subnet6)" \
                's "fd00:1::/64"' "the Subnet6 property"
        bed_exec berthctl run -d --name web6 --network six "$(R busybox)" sh -c "$WEB" >/dev/null
        bed_exec berthctl run -d --name cli6 --network six "$(R busybox)" sleep 1000 >/dev/null
        assert_eq "$(addrs6 web6)" "fd00:1::2/64" "web6's IPv6 address: its IPv4 host part"
        assert_eq "$(addrs6 cli6)" "fd00:1::3/64" "cli6's"
        assert_match "$(bed_exec ip -6 -o addr show dev "br-${id:0:12}")" 'inet6 fd00:1::1/64' "the bridge's"
        assert_match "$(bed_exec berthctl exec cli6 ip -6 route)" '^default via fd00:1::1 dev eth0' \
                "the IPv6 default route"
        out=$(bed_exec berthctl exec cli6 sh -c 'timeout 5 wget -q -O - "http://[fd00:1::2]/"')
        assert_eq "$out" hello-from-web "web6 over IPv6"
        assert_match "$(bed_exec cat /run/berth/dns/six)" ' 10\.130\.0\.2 fd00:1::2 web6,' "web6's AAAA for aardvark-dns"
        out=$(bed_exec berthctl exec cli6 nslookup -type=AAAA web6)
        assert_match "$out" 'fd00:1::2' "web6's AAAA record"
        out=$(bed_exec nft list table ip6 berth)
        assert_match "$out" "ip6 saddr fd00:1::/64 oifname != \"br-${id:0:12}\" masquerade" \
                "IPv6 from the network masqueraded"
        assert_match "$out" "oifname \"br-${id:0:12}\" iifname != \"br-${id:0:12}\" drop" \
                "nothing forwarded into it but answers and published ports"
        bed_exec berthctl rm -f web6 cli6 >/dev/null
        bed_exec berthctl network rm six >/dev/null
        assert_eq "$(bed_exec nft list tables)" "" "no table left (neither ip nor ip6)"
        assert_eq "$(bed_exec ip -o link show type bridge | grep -c 'br-' || true)" 0 "bridges left"
}

test_bad_ipv6_input_is_refused() {
        bed_exec berthctl network create --ipv6 --subnet fd00:2::/64 taken6 >/dev/null
        assert_fails bed_exec berthctl network create --ipv6 x
        assert_match "$FAIL_OUTPUT" '--ipv6 needs an IPv6 --subnet' "--ipv6 alone"
        assert_fails bed_exec berthctl network create --subnet fd00:3::/64 x
        assert_match "$FAIL_OUTPUT" 'an IPv6 subnet needs --ipv6' "an IPv6 subnet alone"
        assert_fails bed_exec berthctl network create --ipv6 --subnet fd00:2:0:0:1::/80 x
        assert_match "$FAIL_OUTPUT" 'IPv6 subnet fd00:2:0:0:1::/80 overlaps fd00:2::/64 of taken6' "overlap"
        assert_fails bed_exec berthctl network create --ipv6 --subnet fd00:4::1/64 x
        assert_match "$FAIL_OUTPUT" "invalid IPv6 subnet 'fd00:4::1/64'" "host bits"
        assert_eq "$(bed_exec berthctl network ls -q | wc -l)" 1 "nothing made"
        bed_exec berthctl network rm taken6 >/dev/null
        assert_eq "$(bed_exec nft list tables)" "" "no table left"
}
