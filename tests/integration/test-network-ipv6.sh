# IPv6 on user networks (issue 13): `network create --ipv6 --subnet fd00:1::/64` makes a dual-stack network;
# its bridge gets fd00:1::1, each container the IPv6 address whose host part is its IPv4 one, with the
# gateway as IPv6 default route; containers reach each other over IPv6 and resolve each other's AAAA
# records; `table ip6 berth` keeps the network's IPv6 from being forwarded anywhere; bad input is refused;
# nothing is left after rm.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
WEB='mkdir -p /www; echo hello-from-web > /www/index.html; exec httpd -f -p 80 -h /www'
addrs6() { bed_exec berthctl exec "$1" ip -6 -o addr show dev eth0 scope global | awk '{ print $4 }'; }

test_setup_pull() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
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
        assert_match "$out" "iifname \"br-${id:0:12}\" oifname != \"br-${id:0:12}\" drop" \
                "no IPv6 forwarding from the network"
        assert_match "$out" "oifname \"br-${id:0:12}\" iifname != \"br-${id:0:12}\" drop" "… nor to it"
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
