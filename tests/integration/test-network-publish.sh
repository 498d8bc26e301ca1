# -P / --publish-all and published ports on user networks (issue 13): -P publishes every port the image
# EXPOSEs (here set by `commit --change EXPOSE`) on a free host port; -p works on a user network as on the
# default bridge (127.0.0.1, the bed's address, the outside); an internal network publishes nothing; after rm
# no DNAT rule is left.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
WEB='mkdir -p /www; echo hello-from-web > /www/index.html; exec httpd -f -p 80 -h /www'
get() { bed_exec curl -fsS --max-time 10 "$1"; }

test_setup_pull() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

test_publish_all_publishes_what_the_image_exposes() {
        local out tcp udp
        bed_exec berthctl create --name base "$(R busybox)" true >/dev/null
        bed_exec berthctl commit --change 'EXPOSE 80' --change 'EXPOSE 5353/udp' base exposing:1 >/dev/null
        bed_exec berthctl rm base >/dev/null
        assert_match "$(bed_exec berthctl image inspect exposing:1)" '"80/tcp"' "the image exposes 80/tcp"
        bed_exec berthctl run -d -P --name pall exposing:1 sh -c "$WEB" >/dev/null
        out=$(bed_exec berthctl port pall)
        assert_match "$out" '^80/tcp -> 0\.0\.0\.0:[0-9]+$' "80/tcp published"
        assert_match "$out" '^5353/udp -> 0\.0\.0\.0:[0-9]+$' "5353/udp published"
        tcp=$(grep '^80/tcp' <<<"$out" | grep -oE '[0-9]+$')
        udp=$(grep '^5353/udp' <<<"$out" | grep -oE '[0-9]+$')
        assert_ne "$tcp" 80 "a free host port, not the container's"
        wait_until 60 bed_exec curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$tcp/"
        assert_eq "$(get "http://127.0.0.1:$tcp/")" hello-from-web "the exposed port, from the host"
        assert_eq "$(outside_net curl -fsS --max-time 10 "http://198.51.100.2:$tcp/")" hello-from-web \
                "the exposed port, from the outside"
        assert_match "$(bed_exec nft list chain ip berth published)" "udp dport $udp dnat to 10\\.87\\." \
                "the UDP port's DNAT"
        # -p wins for its container port; -P adds the rest.
        bed_exec berthctl run -d -P -p 8280:80 --name pboth exposing:1 sh -c "$WEB" >/dev/null
        out=$(bed_exec berthctl port pboth)
        assert_eq "$(grep -c '^80/tcp' <<<"$out")" 1 "80/tcp once"
        assert_match "$out" '^80/tcp -> 0\.0\.0\.0:8280$' "80/tcp on the port -p gave"
        assert_match "$out" '^5353/udp -> ' "5353/udp by -P"
        bed_exec berthctl rm -f pall pboth >/dev/null
        bed_exec berthctl rmi exposing:1 >/dev/null
        assert_no_match "$(bed_exec nft list ruleset)" 'dnat to' "DNAT rules left"
}

test_published_ports_on_a_user_network() {
        local out ip
        bed_exec berthctl network create --subnet 10.120.0.0/24 pub >/dev/null
        bed_exec berthctl run -d --name upub --network pub -p 8180:80 -p 127.0.0.1:8181:80 "$(R busybox)" \
                sh -c "$WEB" >/dev/null
        ip=$(bed_exec berthctl container inspect upub |
                python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["IPAddress"])')
        assert_match "$ip" '^10\.120\.0\.' "upub on pub"
        wait_until 60 bed_exec curl -fs --max-time 2 -o /dev/null http://127.0.0.1:8180/
        assert_eq "$(get http://127.0.0.1:8180/)" hello-from-web "127.0.0.1:8180"
        assert_eq "$(get http://198.51.100.2:8180/)" hello-from-web "the bed's address"
        assert_eq "$(outside_net curl -fsS --max-time 10 http://198.51.100.2:8180/)" hello-from-web \
                "from the outside"
        assert_eq "$(get http://127.0.0.1:8181/)" hello-from-web "127.0.0.1:8181"
        assert_fails outside_net curl -fsS --max-time 3 http://198.51.100.2:8181/
        # Hairpin, from another container of the network, through the bed's address.
        out=$(bed_exec berthctl run --rm --network pub "$(R busybox)" wget -q -O - http://198.51.100.2:8180/)
        assert_eq "$out" hello-from-web "hairpin on the user network"
        assert_match "$(bed_exec berthctl port upub)" '^80/tcp -> 0\.0\.0\.0:8180$' "berthctl port"
        assert_match "$(bed_exec nft list chain ip berth published)" "tcp dport 8180 dnat to $ip:80" "the DNAT"
        # A port taken by upub fails another start, on any network, naming the port.
        assert_fails bed_exec berthctl run --rm -p 8180:80 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'host port 0\.0\.0\.0:8180/tcp is already in use' "a taken port"
        bed_exec berthctl rm -f upub >/dev/null
        assert_no_match "$(bed_exec nft list ruleset)" 'dnat to' "DNAT rules left"
        bed_exec berthctl network rm pub >/dev/null
}

test_an_internal_network_publishes_nothing() {
        bed_exec berthctl network create --internal --subnet 10.121.0.0/24 closed >/dev/null
        assert_fails bed_exec berthctl run --rm --network closed -p 8190:80 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'network closed is internal: it publishes no ports' "internal and -p"
        assert_fails bed_exec berthctl create -p 8190:80 --network none "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'published ports need a network' "none and -p"
        assert_eq "$(bed_exec ip -o link show type veth | grep -v 'eth0@' || true)" "" "veths left"
        bed_exec berthctl network rm closed >/dev/null
}
