# The default bridge network (issue 13), in the bed's own network namespace with the outside behind a veth
# (tests/bed/bed): a container on berth's bridge gets an address from berth's allocator, reaches the outside
# server through NAT, and sees /etc/hosts, resolv.conf and hostname as Docker writes them; a berthd restart
# keeps a running container's address; published ports answer on 127.0.0.1, on the bed's address, from the
# outside and from containers (hairpin), TCP and UDP; after rm nothing of a container is left in the bed's
# kernel or in berth's state.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
ADDRS=/var/lib/berth/network/bridge.addresses
PORTS=/var/lib/berth/network/bridge.ports
# field NAME EXPR : a field of `berthctl container inspect NAME`, e.g. field web '["State"]["Pid"]'
field() {
        bed_exec berthctl container inspect "$1" |
                python3 -c "import json, sys; print(json.load(sys.stdin)[0]$2)"
}
cpid() { field "$1" '["State"]["Pid"]'; }
# state FILE : the lines of one of berth's network state files (padded with spaces: write_file_reserved_at())
state() { bed_exec cat "$1" | grep -v '^ *$' || true; }
# addr_of NAME : the address berth allocated to container NAME (from its allocation file)
addr_of() {
        local id
        id=$(field "$1" '["Id"]')
        state "$ADDRS" | awk -v id="$id" '$2 == id { print $1 }'
}
# veths : the host ends of containers' veth pairs in the bed, one per line
veths() {
        bed_exec ip -o link show type veth | awk -F': ' '{ print $2 }' | cut -d@ -f1 | grep -v '^eth0$' || true
}
# get URL : an HTTP GET from the bed
get() { bed_exec curl -fsS --max-time 10 "$1"; }
WEB='mkdir -p /www; echo hello-from-web > /www/index.html; exec httpd -f -p 80 -h /www'

test_setup_pull() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

test_default_container_reaches_the_outside_through_nat() {
        local out log
        out=$(bed_exec berthctl run --rm "$(R busybox)" sh -c \
                'ip -4 -o addr show eth0; ip route; wget -q -O - http://198.51.100.1/hello')
        assert_match "$out" 'eth0 +inet 10\.87\.[0-9]+\.[0-9]+/16' "an address from the default subnet"
        assert_match "$out" '^default via 10\.87\.0\.1 dev eth0' "the bridge's address as default route"
        assert_match "$out" '^outside$' "the outside server's answer"
        # The outside knows no way back to 10.87.0.0/16: it saw the bed's address, so the request was NATed.
        log=$(cat "$(outside_http_log)")
        assert_match "$log" '^198\.51\.100\.2 .*"GET /hello' "the client at the outside"
        assert_no_match "$log" '^10\.87\.' "a container address at the outside"

        # The host side: berth's bridge with the gateway address, its one nftables table, IPv4 forwarding.
        assert_match "$(bed_exec ip -4 -o addr show dev berth0)" 'inet 10\.87\.0\.1/16' "berth0's address"
        out=$(bed_exec nft list table ip berth)
        assert_match "$out" 'ip saddr 10\.87\.0\.0/16 oifname != "berth0" masquerade' "the masquerade rule"
        assert_eq "$(bed_exec nft list tables)" "table ip berth" "berth's the only table"
        assert_eq "$(bed_exec cat /proc/sys/net/ipv4/ip_forward)" 1 "net.ipv4.ip_forward"
        # --rm and the exit freed everything: no veth, no allocation.
        assert_eq "$(veths)" "" "veths left after the container exited"
        assert_eq "$(state "$ADDRS")" "" "allocations left after the container exited"
}

test_none_and_host_keep_working() {
        local out
        out=$(bed_exec berthctl run --rm --network none "$(R busybox)" sh -c 'ls /sys/class/net | tr "\n" " "')
        assert_eq "$out" "lo " "--network none: lo only"
        out=$(bed_exec berthctl run --rm --network host "$(R busybox)" sh -c 'ip -4 -o addr show eth0')
        assert_match "$out" 'inet 198\.51\.100\.2/24' "--network host: the bed's own eth0"
        assert_fails bed_exec berthctl run --rm --network nosuch "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'no such network: nosuch' "an unknown network (a user network's name)"
}

test_etc_files() {
        local out addr
        out=$(bed_exec berthctl run --rm --name webby -h web.example --add-host db.internal:10.1.2.3 \
                --add-host v6host:fd00::1 "$(R busybox)" sh -c \
                'cat /etc/hostname; echo ---; cat /etc/hosts; echo ---; ip -4 -o addr show eth0')
        assert_match "$out" '^web\.example$' "/etc/hostname"
        assert_match "$out" '^127\.0\.0\.1	localhost$' "localhost in /etc/hosts"
        assert_match "$out" '^::1	localhost' "::1 in /etc/hosts"
        addr=$(grep -oE 'inet 10\.87\.[0-9]+\.[0-9]+' <<<"$out" | cut -d' ' -f2)
        assert_match "$out" "^${addr//./\\.}	web\\.example$" "its own name at its own address"
        assert_match "$out" '^10\.1\.2\.3	db\.internal$' "--add-host"
        assert_match "$out" '^fd00::1	v6host$' "--add-host with IPv6"
        assert_fails bed_exec berthctl run --rm --add-host nocolon "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'NAME:ADDRESS' "a bad --add-host"

        # resolv.conf: the host's servers, loopback ones dropped (they cannot answer from the bridge) …
        bed_sh 'printf "nameserver 127.0.0.1\nnameserver 192.0.2.53\nsearch corp.example\n" > /etc/resolv.conf
                echo "options ndots:2" >> /etc/resolv.conf'
        out=$(bed_exec berthctl run --rm "$(R busybox)" cat /etc/resolv.conf)
        assert_eq "$out" $'nameserver 192.0.2.53\nsearch corp.example\noptions ndots:2' "the host's resolv.conf"
        # … kept with the host's network …
        out=$(bed_exec berthctl run --rm --network host "$(R busybox)" cat /etc/resolv.conf)
        assert_match "$out" '^nameserver 127\.0\.0\.1$' "loopback resolver with --network host"
        # … systemd-resolved's stub replaced by its upstream servers, as Docker does …
        bed_sh 'printf "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n" > /etc/resolv.conf
                mkdir -p /run/systemd/resolve
                printf "nameserver 192.0.2.1\nnameserver 2001:db8::1\nsearch lan.example\n" \
                        > /run/systemd/resolve/resolv.conf'
        out=$(bed_exec berthctl run --rm "$(R busybox)" cat /etc/resolv.conf)
        assert_eq "$out" $'nameserver 192.0.2.1\nnameserver 2001:db8::1\nsearch lan.example' "resolved's upstreams"
        # … and --dns, --dns-search replace them.
        out=$(bed_exec berthctl run --rm --dns 192.0.2.9 --dns-search a.example --dns-search b.example \
                "$(R busybox)" cat /etc/resolv.conf)
        assert_eq "$out" $'nameserver 192.0.2.9\nsearch a.example b.example' "--dns and --dns-search"
        assert_fails bed_exec berthctl run --rm --dns resolver.example "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'dns server' "a --dns that is not an address"
        bed_sh 'rm -rf /run/systemd/resolve; rm /etc/resolv.conf'
}

test_restart_of_berthd_keeps_the_address() {
        local addr out
        bed_exec berthctl run -d --name keeper "$(R busybox)" sh -c \
                'trap "exit 0" TERM; while :; do sleep 0.2; done' >/dev/null
        addr=$(addr_of keeper)
        assert_match "$addr" '^10\.87\.' "keeper's allocation"
        assert_match "$(bed_exec nsenter -t "$(cpid keeper)" -n ip -4 -o addr show eth0)" "inet ${addr//./\\.}/16" \
                "keeper's eth0"
        bed_exec systemctl restart berthd
        assert_eq "$(addr_of keeper)" "$addr" "the allocation after a restart of berthd"
        # A second container gets another address, and reaches the outside.
        out=$(bed_exec berthctl run --rm "$(R busybox)" sh -c \
                'ip -4 -o addr show eth0; wget -q -O - http://198.51.100.1/hello')
        assert_match "$out" '^outside$' "a new container after the restart"
        assert_no_match "$out" "inet ${addr//./\\.}/" "a new container with keeper's address"
        # berthd made its table again at start (it had a running container): still one rule of each.
        assert_eq "$(bed_exec nft list table ip berth | grep -c 'oifname != "berth0" masquerade')" 1 \
                "outbound masquerade rules after the restart"
}

test_rm_leaves_nothing() {
        local id
        id=$(field keeper '["Id"]')
        assert_eq "$(veths)" "veth${id:0:11}" "keeper's veth while it runs"
        bed_exec berthctl stop keeper >/dev/null
        bed_exec berthctl rm keeper >/dev/null
        assert_eq "$(veths)" "" "veths after rm"
        assert_eq "$(state "$ADDRS")" "" "allocations after rm"
        assert_no_match "$(bed_exec ip -o link show master berth0)" . "ports of berth0 after rm"
}

# The journal has the network's setup and teardown with the container's fields (docs/journal.md).
test_journal_records_join_and_release() {
        local joined left
        bed_exec berthctl run --rm --name journaled "$(R busybox)" true
        joined=$(bed_journal -o cat --no-pager CONTAINER_NAME=journaled MESSAGE_ID=e0a9fbb19047478fa1cff446e2eaa039)
        left=$(bed_journal -o cat --no-pager CONTAINER_NAME=journaled MESSAGE_ID=417b332769e143078351aefc65e36ae4)
        assert_match "$joined" '^Container journaled has address 10\.87\.[0-9.]+ on berth0 \(eth0\)\.$' "join"
        assert_match "$left" '^Container journaled left berth0, address 10\.87\.[0-9.]+ released\.$' "release"
        assert_eq "$(sed 's/.*address \([0-9.]*\) .*/\1/' <<<"$joined")" \
                "$(sed 's/.*address \([0-9.]*\) released.*/\1/' <<<"$left")" "the same address"
}

test_published_tcp_ports() {
        local out random
        bed_exec berthctl run -d --name web -p 8080:80 -p 127.0.0.1:8081:80 -p 80 "$(R busybox)" \
                sh -c "$WEB" >/dev/null
        wait_until 60 bed_exec curl -fs --max-time 2 -o /dev/null http://127.0.0.1:8080/
        assert_eq "$(get http://127.0.0.1:8080/)" hello-from-web "127.0.0.1:8080"
        assert_eq "$(get http://198.51.100.2:8080/)" hello-from-web "the bed's address"
        assert_eq "$(outside_net curl -fsS --max-time 10 http://198.51.100.2:8080/)" hello-from-web \
                "from the outside"
        assert_eq "$(get http://127.0.0.1:8081/)" hello-from-web "127.0.0.1:8081"
        assert_fails outside_net curl -fsS --max-time 3 http://198.51.100.2:8081/
        # Hairpin: another container through the bed's address, and web itself. (Not busybox wget's -T: it
        # crashes in this busybox.)
        out=$(bed_exec berthctl run --rm "$(R busybox)" wget -q -O - http://198.51.100.2:8080/)
        assert_eq "$out" hello-from-web "another container through the bed's address"
        out=$(bed_exec nsenter -t "$(cpid web)" -n curl -fsS --max-time 10 http://198.51.100.2:8080/)
        assert_eq "$out" hello-from-web "web through the bed's address"

        out=$(bed_exec berthctl port web)
        assert_match "$out" '^80/tcp -> 0\.0\.0\.0:8080$' "berthctl port: 8080"
        assert_match "$out" '^80/tcp -> 127\.0\.0\.1:8081$' "berthctl port: 8081"
        random=$(grep -vE ':808[01]$' <<<"$out" | grep -oE '[0-9]+$')
        assert_match "$random" '^[0-9]+$' "berthctl port: the random host port"
        assert_eq "$(get "http://127.0.0.1:$random/")" hello-from-web "the random port"
        assert_eq "$(bed_exec berthctl port web 80/tcp | head -n 1)" 0.0.0.0:8080 "berthctl port web 80/tcp"
        assert_match "$(bed_exec berthctl ps)" '0\.0\.0\.0:8080->80/tcp, 127\.0\.0\.1:8081->80/tcp, .* +web$' \
                "the PORTS column of ps"
        assert_match "$(bed_exec busctl get-property org.berth1 /org/berth1/container/web \
                org.berth1.Container IPAddress)" '^s "10\.87\.' "the IPAddress property"
        assert_eq "$(field web '["NetworkSettings"]["IPAddress"]')" "$(addr_of web)" "inspect's IPAddress"

        # A host port in use fails the start, naming it: by another container, by another program.
        assert_fails bed_exec berthctl run --rm -p 8080:80 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'host port 0\.0\.0\.0:8080/tcp is already in use' "a port web holds"
        bed_sh 'python3 -c "import socket, time; s = socket.socket(); s.bind((\"0.0.0.0\", 8090)); s.listen(1)
time.sleep(120)" >/dev/null 2>&1 & echo $! > /run/holder.pid'
        wait_until 60 bed_sh 'ss -Hltn "( sport = :8090 )" | grep -q .'
        assert_fails bed_exec berthctl run --rm -p 8090:80 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'host port 0\.0\.0\.0:8090/tcp is already in use' "a port another holds"
        bed_sh 'kill $(cat /run/holder.pid)'
        assert_eq "$(state "$ADDRS" | wc -l)" 1 "allocations after the failed starts"
        # Their monitors were killed before "G" and are reaped from berthd's loop, not left as its zombies.
        wait_until 30 berthd_has_no_zombie
}

berthd_has_no_zombie() {
        ! bed_exec ps --ppid "$(unit_prop berthd.service MainPID)" -o stat= | grep -q '^Z'
}

# kill -9 of berthd: the containers keep their addresses, ports and connectivity; the restarted berthd makes
# its table again without a duplicate rule, and holds the host ports again.
test_kill_9_of_berthd_keeps_ports() {
        local before
        before=$(bed_exec berthctl port web)
        kill_9_berthd
        # The next call starts it again (bus activation).
        assert_eq "$(bed_exec berthctl port web)" "$before" "berthctl port after a kill -9 of berthd"
        assert_eq "$(get http://127.0.0.1:8080/)" hello-from-web "127.0.0.1:8080 after the restart"
        assert_eq "$(outside_net curl -fsS --max-time 10 http://198.51.100.2:8080/)" hello-from-web \
                "from the outside after the restart"
        assert_eq "$(bed_exec nft list chain ip berth published | grep -c 'dport 8080 ')" 1 "DNAT rules for 8080"
        assert_eq "$(bed_exec nft list table ip berth | grep -c 'oifname != "berth0" masquerade')" 1 \
                "outbound masquerade rules"
        assert_fails bed_exec berthctl run --rm -p 8080:80 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'host port 0\.0\.0\.0:8080/tcp is already in use' "8080 held again"
}

test_published_udp_port() {
        local pid
        bed_exec berthctl run -d --name udpc -p 5353:5353/udp "$(R busybox)" sleep 1000 >/dev/null
        pid=$(cpid udpc)
        # An echo server in udpc's network namespace (busybox has no UDP server): what the DNAT reaches.
        bed_sh "nsenter -t $pid -n python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((\"0.0.0.0\", 5353)); s.settimeout(120)
while True:
    d, a = s.recvfrom(100); s.sendto(b\"pong \" + d, a)
' >/dev/null 2>&1 & echo \$! > /run/udp.pid"
        udp_ask() { bed_exec python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(b"ping", (sys.argv[1], 5353)); print(s.recv(100).decode())' "$1"; }
        wait_until 60 udp_ask 127.0.0.1
        assert_eq "$(udp_ask 127.0.0.1)" "pong ping" "UDP on 127.0.0.1"
        assert_eq "$(udp_ask 198.51.100.2)" "pong ping" "UDP on the bed's address"
        assert_match "$(bed_exec berthctl port udpc)" '^5353/udp -> 0\.0\.0\.0:5353$' "berthctl port udpc"
        bed_sh 'kill $(cat /run/udp.pid)'
}

test_rm_of_published_leaves_nothing() {
        bed_exec berthctl rm -f web udpc >/dev/null
        assert_no_match "$(bed_exec nft list chain ip berth published)" 'dnat' "DNAT rules after rm"
        assert_eq "$(state "$PORTS")" "" "published ports after rm"
        assert_eq "$(state "$ADDRS")" "" "allocations after rm"
        assert_eq "$(veths)" "" "veths after rm"
        # The host ports are free again.
        bed_exec python3 -c 'import socket; s = socket.socket(); s.bind(("0.0.0.0", 8080))'
}

# A container that is gone while berthd is down (its scope killed): its allocation is swept at start.
test_sweep_at_start() {
        bed_exec berthctl run -d --name swept -p 8085:80 "$(R busybox)" sleep 1000 >/dev/null
        assert_match "$(addr_of swept)" '^10\.87\.' "swept's allocation"
        bed_exec systemctl stop berthd
        bed_exec systemctl kill -s KILL berth-swept.scope
        wait_until 60 bash -c "! $BERTH_BED exec $BED_DIR systemctl is-active -q berth-swept.scope"
        bed_exec systemctl start berthd
        assert_eq "$(state "$ADDRS")" "" "allocations after berthd started"
        assert_eq "$(state "$PORTS")" "" "published ports after berthd started"
        assert_eq "$(veths)" "" "veths after the scope was killed"
        bed_exec berthctl rm swept >/dev/null
        assert_no_match "$(bed_exec nft list chain ip berth published)" 'dnat' "DNAT rules after the sweep"
}
