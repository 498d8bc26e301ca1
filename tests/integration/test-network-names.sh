# Names on user networks (issue 13): containers on the same user network resolve each other by name, by their
# --network-alias and by their short id, through aardvark-dns (Debian's, driven by berthd as podman's netavark
# drives it: a file per network under /run/berth/dns, SIGHUP after each change); not across networks; a
# connect or disconnect changes what resolves at once; a kill -9 of berthd keeps the names served and starts no
# second server; when the last container leaves, aardvark-dns exits and its files are gone.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
WEB='mkdir -p /www; echo hello-from-web > /www/index.html; exec httpd -f -p 80 -h /www'
DNS=/run/berth/dns
# lookup FROM NAME : the address NAME resolves to in container FROM (empty when it does not resolve)
lookup() {
        bed_exec berthctl exec "$1" sh -c "nslookup $2 2>/dev/null" |
                awk '/^Name:/ { found = 1 } found && /^Address/ { print $NF; exit }' || true
}
ip_of() {
        bed_exec berthctl container inspect "$1" |
                python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["IPAddress"])'
}
aardvarks() { bed_exec pgrep -x aardvark-dns | wc -l; }

test_setup_pull() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

test_names_and_aliases_resolve_on_the_network() {
        local srv id out
        bed_exec berthctl network create --subnet 10.110.0.0/24 n1 >/dev/null
        bed_exec berthctl network create --subnet 10.111.0.0/24 n2 >/dev/null
        id=$(bed_exec berthctl run -d --name srv --network n1 --network-alias www --network-alias web.local \
                "$(R busybox)" sh -c "$WEB")
        bed_exec berthctl run -d --name cli --network n1 "$(R busybox)" sleep 1000 >/dev/null
        bed_exec berthctl run -d --name other --network n2 "$(R busybox)" sleep 1000 >/dev/null
        srv=$(ip_of srv)
        # The container's resolver is its network's gateway, where aardvark-dns answers.
        assert_match "$(bed_exec berthctl exec cli cat /etc/resolv.conf)" '^nameserver 10\.110\.0\.1$' \
                "cli's nameserver"
        assert_eq "$(aardvarks)" 1 "one aardvark-dns"
        assert_match "$(bed_exec cat $DNS/n1)" "^10\\.110\\.0\\.1
.* $srv  srv,www,web\\.local,${id:0:12}" "n1's file in aardvark-dns's format"
        wait_until 30 test -n "$(lookup cli srv)"
        assert_eq "$(lookup cli srv)" "$srv" "srv by name"
        assert_eq "$(lookup cli www)" "$srv" "srv by alias"
        assert_eq "$(lookup cli web.local)" "$srv" "srv by its dotted alias"
        assert_eq "$(lookup cli "${id:0:12}")" "$srv" "srv by short id"
        out=$(bed_exec berthctl exec cli sh -c 'timeout 5 wget -q -O - http://www/')
        assert_eq "$out" hello-from-web "a GET by alias"
        # Not across networks: other, on n2, does not find srv.
        assert_eq "$(lookup other srv)" "" "srv from n2"
        # connect: other is on n1 too, and finds srv at once; disconnect: no more.
        bed_exec berthctl network connect n1 other
        assert_eq "$(lookup other srv)" "$srv" "srv from other after the connect"
        assert_match "$(bed_exec cat $DNS/n1)" ' other,' "other in n1's file"
        bed_exec berthctl network disconnect n1 other
        assert_eq "$(lookup other srv)" "" "srv from other after the disconnect"
        # A stopped container's names go.
        bed_exec berthctl stop -t 1 srv >/dev/null
        assert_no_match "$(bed_exec cat $DNS/n1)" ' srv,' "srv's line after its stop"
        assert_eq "$(lookup cli srv)" "" "srv after its stop"
        bed_exec berthctl rm -f srv cli other >/dev/null
        # No container left on a user network: no file, and aardvark-dns gone by itself.
        wait_until 30 test "$(aardvarks)" = 0
        assert_eq "$(bed_exec ls $DNS)" "" "files left"
        bed_exec berthctl network rm n1 n2 >/dev/null
}

test_kill_9_of_berthd_keeps_names() {
        local srv
        bed_exec berthctl network create --subnet 10.112.0.0/24 n3 >/dev/null
        bed_exec berthctl run -d --name srv3 --network n3 "$(R busybox)" sleep 1000 >/dev/null
        bed_exec berthctl run -d --name cli3 --network n3 "$(R busybox)" sleep 1000 >/dev/null
        srv=$(ip_of srv3)
        wait_until 30 test -n "$(lookup cli3 srv3)"
        kill_9_berthd
        assert_eq "$(lookup cli3 srv3)" "$srv" "srv3 while berthd is down or restarting"
        bed_exec berthctl version >/dev/null
        assert_eq "$(aardvarks)" 1 "still one aardvark-dns after the restart"
        assert_eq "$(lookup cli3 srv3)" "$srv" "srv3 after the restart"
        bed_exec berthctl rm -f srv3 cli3 >/dev/null
        wait_until 30 test "$(aardvarks)" = 0
        bed_exec berthctl network rm n3 >/dev/null
}

# The default bridge has no names, as Docker's: its containers keep the host's resolvers.
test_the_default_bridge_has_no_names() {
        bed_exec berthctl run -d --name plain "$(R busybox)" sleep 1000 >/dev/null
        assert_no_match "$(bed_exec berthctl exec plain cat /etc/resolv.conf)" '^nameserver 10\.87\.' \
                "plain's nameserver"
        assert_eq "$(aardvarks)" 0 "no aardvark-dns for the bridge"
        bed_exec berthctl rm -f plain >/dev/null
}
