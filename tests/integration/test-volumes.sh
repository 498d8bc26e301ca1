# Volumes and mounts (-v, --mount, --tmpfs, --read-only, the image's VOLUMEs): a named volume is a directory
# under /var/lib/berth/volumes/NAME/_data made on first use that outlives its containers; binds show the
# host's files (berthd has a private /tmp, so the case binds a directory of the bed's /srv); every mount
# target is resolved inside the container's root, so an image's symlink cannot send a mount onto the host.
# Cases run in order in one bed.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
M() { bed_exec busctl --json=short -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }
as_nobody() { bed_nobody busctl --allow-interactive-authorization=no -- call org.berth1 /org/berth1 org.berth1.Manager "$@"; }
VOLS=/var/lib/berth/volumes

test_setup() {
        bed_exec berthctl pull "$(R busybox)" >/dev/null
}

test_named_volume_outlives_the_container() {
        bed_exec berthctl run --name pg1 -v pgdata:/var/lib/pg "$(R busybox)" \
                sh -c 'echo row1 >/var/lib/pg/table && chown 70:70 /var/lib/pg/table' >/dev/null
        assert_eq "$(bed_exec cat $VOLS/pgdata/_data/table)" row1 "the data is in the volume's directory"
        assert_eq "$(bed_exec stat -c %u:%g $VOLS/pgdata/_data/table)" 70:70 "owners kept"
        bed_exec berthctl rm pg1 >/dev/null
        assert_eq "$(bed_exec cat $VOLS/pgdata/_data/table)" row1 "the volume outlives rm"
        assert_eq "$(bed_exec berthctl run --rm --mount type=volume,src=pgdata,dst=/db,ro "$(R busybox)" cat /db/table)" \
                row1 "a new container on the volume sees the data"
        assert_fails bed_exec berthctl run --rm -v pgdata:/db:ro "$(R busybox)" sh -c 'echo x >/db/new'
        assert_match "$FAIL_OUTPUT" 'Read-only file system' "a :ro volume refuses writes"
}

test_empty_volume_is_filled_from_the_image() {
        local out
        # busybox's /etc holds passwd (0644 root) and friends; give it a file with an owner and mode of its own.
        bed_exec berthctl run --name filler "$(R busybox)" sh -c \
                'mkdir -p /srv/app/sub && echo conf >/srv/app/sub/c && chown -R 70:71 /srv/app && chmod 0750 /srv/app/sub && chmod 0604 /srv/app/sub/c && ln -s sub/c /srv/app/link' >/dev/null
        bed_exec berthctl commit filler fillimage:1 >/dev/null
        bed_exec berthctl rm filler >/dev/null
        out=$(bed_exec berthctl run --rm -v appvol:/srv/app fillimage:1 sh -c 'cat /srv/app/link; stat -c "%n %u:%g %a" /srv/app /srv/app/sub /srv/app/sub/c')
        assert_eq "$out" "conf
/srv/app 70:71 755
/srv/app/sub 70:71 750
/srv/app/sub/c 70:71 604" "the new volume got the image's files, owners and modes"
        assert_eq "$(bed_exec stat -c '%u:%g %a' $VOLS/appvol/_data/sub/c)" "70:71 604" "in the volume's directory"
        # Not again once it holds something: the container's change stays.
        bed_exec berthctl run --rm -v appvol:/srv/app fillimage:1 sh -c 'rm /srv/app/sub/c' >/dev/null
        bed_exec test ! -e $VOLS/appvol/_data/sub/c || fail "the copy-up ran into a volume that was not empty"
        # A bind is never filled.
        bed_sh 'mkdir -p /srv/berth-empty'
        bed_exec berthctl run --rm -v /srv/berth-empty:/srv/app fillimage:1 true >/dev/null
        assert_eq "$(bed_exec ls -A /srv/berth-empty)" "" "a bind stays as it is"
        bed_exec rm -rf /srv/berth-empty
        bed_exec berthctl volume rm appvol >/dev/null
        # nocopy: a new volume stays empty (-v's option and --mount's key).
        bed_exec berthctl run --rm -v nocopyvol:/srv/app:nocopy fillimage:1 true >/dev/null
        assert_eq "$(bed_exec ls -A $VOLS/nocopyvol/_data)" "" "-v NAME:/p:nocopy"
        bed_exec berthctl run --rm --mount type=volume,src=nocopyvol2,dst=/srv/app,volume-nocopy fillimage:1 true >/dev/null
        assert_eq "$(bed_exec ls -A $VOLS/nocopyvol2/_data)" "" "--mount volume-nocopy"
        bed_exec berthctl volume rm nocopyvol nocopyvol2 >/dev/null
}

test_inspect_shows_docker_mounts() {
        local out
        bed_sh 'mkdir -p /run/berth-insp'
        bed_exec berthctl create --name mnts -v insp:/db:ro,nocopy -v /run/berth-insp:/b --tmpfs /t \
                --mount type=bind,src=/run/berth-insp,dst=/c,readonly "$(R busybox)" true >/dev/null
        out=$(bed_exec berthctl container inspect mnts | python3 -c '
import json, sys
for m in json.load(sys.stdin)[0]["Mounts"]:
    print(m["Type"], m.get("Name", "-"), m["Source"] or "-", m["Destination"], m.get("Driver", "-"), m["Mode"] or "-",
          m["RW"], m["Propagation"] or "-")')
        assert_eq "$out" "bind - /run/berth-insp /c - ro False rprivate
volume insp $VOLS/insp/_data /db local ro,nocopy False -
bind - /run/berth-insp /b - - True rprivate
tmpfs - - /t - - True -" "inspect's Mounts (--mount, -v, --tmpfs)"
        bed_exec berthctl rm mnts >/dev/null
        bed_exec rm -rf /run/berth-insp
}

test_missing_bind_source_is_made_for_v_only() {
        # Docker's rule: -v makes a missing host path as a directory (0755 root), --mount refuses it. berthd
        # sees the host read-only (ProtectSystem=strict), /run included, and makes it anyway. (The bed's
        # /run is its own; its /srv is the host's.)
        assert_fails bed_exec berthctl run --rm --mount type=bind,source=/run/berth-made/a,target=/m "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'bind source path does not exist: /run/berth-made/a' "--mount refuses"
        bed_exec test ! -e /run/berth-made || fail "--mount made the path"
        bed_exec berthctl run --rm -v /run/berth-made/a/b:/m "$(R busybox)" sh -c 'echo made >/m/f'
        assert_eq "$(bed_exec cat /run/berth-made/a/b/f)" made "written through the made directory"
        assert_eq "$(bed_exec stat -c '%F %a %U' /run/berth-made/a /run/berth-made/a/b)" "directory 755 root
directory 755 root" "made as Docker makes it"
        bed_exec berthctl run --rm --mount type=bind,source=/run/berth-made/c,target=/m,bind-create-src "$(R busybox)" true
        bed_exec test -d /run/berth-made/c || fail "--mount bind-create-src did not make the path"
        bed_sh 'echo >/run/berth-made/file'
        assert_fails bed_exec berthctl run --rm -v /run/berth-made/file/x:/m "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'Not a directory' "a file on the way"
        bed_exec rm -rf /run/berth-made
}

test_image_volume_gets_an_anonymous_volume() {
        local anon
        bed_exec berthctl run --name withvol "$(R busybox)" true >/dev/null
        bed_exec berthctl commit -c 'VOLUME /data' withvol volimage:1 >/dev/null
        bed_exec berthctl rm withvol >/dev/null
        bed_exec berthctl run --name anon volimage:1 sh -c 'echo kept >/data/f' >/dev/null
        anon=$(bed_sh "grep -l kept $VOLS/*/_data/f")
        assert_match "$anon" "^$VOLS/[0-9a-f]{64}/_data/f\$" "the image's VOLUME became an anonymous volume"
        bed_exec berthctl container inspect anon | grep -q '"type=volume,source=[0-9a-f]\{64\},target=/data"' ||
                fail "inspect shows the anonymous volume"
        # The Mounts property lists the same strings, for clients that read no JSON (berthctl's rm -v and
        # run --rm find the anonymous volumes there).
        assert_match "$(bed_exec busctl get-property org.berth1 /org/berth1/container/anon org.berth1.Container Mounts)" \
                '^as 1 "type=volume,source=[0-9a-f]{64},target=/data"$' "Mounts names the anonymous volume"
        # rm -v removes the anonymous volume, not a named one the container also uses.
        bed_exec berthctl run --name anon2 -v keepnamed:/named volimage:1 sh -c 'echo x >/data/f' >/dev/null
        bed_exec berthctl rm -v anon anon2 >/dev/null
        bed_exec test ! -e "${anon%/_data/f}" || fail "rm -v left the anonymous volume"
        assert_eq "$(bed_sh "ls $VOLS | grep -c '^[0-9a-f]\{64\}\$'" || true)" 0 "rm -v removed both anonymous volumes"
        bed_exec test -d $VOLS/keepnamed/_data || fail "rm -v removed a named volume"
        # run --rm takes its anonymous volumes along, as Docker's.
        bed_exec berthctl run --rm volimage:1 sh -c 'echo x >/data/f' >/dev/null
        assert_eq "$(bed_sh "ls $VOLS | grep -c '^[0-9a-f]\{64\}\$'" || true)" 0 "run --rm removed its anonymous volume"
        bed_exec berthctl volume rm keepnamed >/dev/null
        # One left behind for the prune case below.
        bed_exec berthctl run --name anon3 volimage:1 true >/dev/null
        bed_exec berthctl rm anon3 >/dev/null
}

test_bind_mount_shows_host_files_and_ro_refuses_writes() {
        bed_sh 'mkdir -p /srv/berth-bind && echo from-host >/srv/berth-bind/f'
        assert_eq "$(bed_exec berthctl run --rm -v /srv/berth-bind:/host "$(R busybox)" cat /host/f)" from-host \
                "a bind shows the host's file"
        bed_exec berthctl run --rm -v /srv/berth-bind:/host "$(R busybox)" sh -c 'echo back >/host/g' >/dev/null
        assert_eq "$(bed_exec cat /srv/berth-bind/g)" back "a writable bind writes through"
        assert_fails bed_exec berthctl run --rm --mount type=bind,source=/srv/berth-bind,target=/host,readonly \
                "$(R busybox)" sh -c 'echo x >/host/h'
        assert_match "$FAIL_OUTPUT" 'Read-only file system' "a read-only bind refuses writes"
        bed_exec test ! -e /srv/berth-bind/h || fail "the read-only bind was written"
        bed_exec rm -rf /srv/berth-bind
}

test_tmpfs() {
        local out
        out=$(bed_exec berthctl run --rm --tmpfs /scratch:size=1m,mode=1770 "$(R busybox)" \
                sh -c 'grep " /scratch " /proc/mounts; stat -c %a /scratch; echo x >/scratch/f && cat /scratch/f')
        assert_match "$out" 'tmpfs /scratch tmpfs [^ ]*nosuid,nodev,noexec' "a tmpfs, noexec nosuid nodev"
        assert_match "$out" 'size=1024k' "its size"
        assert_match "$out" $'\n1770\nx$' "its mode, and it is writable"
}

# berth's /etc/hostname, hosts and resolv.conf are bound after the caller's mounts, as Docker's are: a mount over
# /etc still shows them (their targets are made in it, not in the writable layer under it, which the monitor
# fills before the go only where no mount of the caller's reaches /etc).
test_a_mount_over_etc_still_shows_berths_files() {
        local out id
        id=$(bed_exec berthctl create --name over-etc --hostname over-etc --tmpfs /etc "$(R busybox)" \
                sh -c 'ls /etc | tr "\n" " "; echo; cat /etc/hostname; grep -c over-etc /etc/hosts; grep -c nameserver /etc/resolv.conf')
        out=$(bed_exec berthctl start -a over-etc)
        assert_fails bed_exec test -e "/var/lib/berth/containers/$id/diff/etc"
        bed_exec berthctl rm over-etc >/dev/null
        id=$(bed_exec berthctl run -d "$(R busybox)" true)
        assert_eq "$(bed_exec ls "/var/lib/berth/containers/$id/diff/etc" | tr '\n' ' ')" "hostname hosts resolv.conf " \
                "without: the bind targets in the writable layer, as ever"
        bed_exec berthctl rm -f "$id" >/dev/null
        assert_eq "$(echo "$out" | head -1)" "hostname hosts resolv.conf " "the tmpfs on /etc holds only berth's files"
        assert_eq "$(echo "$out" | sed -n 2p)" over-etc "/etc/hostname"
        assert_ne "$(echo "$out" | sed -n 3p)" 0 "/etc/hosts names the container"
        assert_ne "$(echo "$out" | sed -n 4p)" 0 "/etc/resolv.conf has a nameserver"
        out=$(bed_exec berthctl run --rm -v etcvol:/etc "$(R busybox)" sh -c 'cat /etc/hostname; ls /etc/passwd')
        assert_match "$out" '^[0-9a-f]{12}$' "a volume on /etc: the container's hostname"
        assert_match "$out" '^/etc/passwd$' "and the image's files copied into it"
        bed_exec berthctl volume rm etcvol >/dev/null
}

test_read_only_root_keeps_volumes_writable() {
        assert_fails bed_exec berthctl run --rm --read-only "$(R busybox)" sh -c 'echo x >/etc/new'
        assert_match "$FAIL_OUTPUT" 'Read-only file system' "--read-only refuses writes to the root"
        assert_eq "$(bed_exec berthctl run --rm --read-only -v rovol:/data --tmpfs /tmp "$(R busybox)" \
                sh -c 'echo ok >/data/f && echo ok2 >/tmp/f && cat /data/f /tmp/f')" $'ok\nok2' \
                "volumes and tmpfs stay writable"
}

test_symlinked_target_stays_inside_the_root() {
        local before out
        bed_exec berthctl run --name linker "$(R busybox)" sh -c 'ln -s /etc /data && ln -s ../../.. /up' >/dev/null
        bed_exec berthctl commit linker linkimage:1 >/dev/null
        bed_exec berthctl rm linker >/dev/null
        before=$(bed_sh 'ls -la /etc | md5sum')
        # /data -> /etc: the volume lands on the container's /etc (filled from it), never on the host's.
        out=$(bed_exec berthctl run --rm -v linkvol:/data linkimage:1 sh -c 'echo inside >/etc/marker; ls /etc; grep -c . /etc/passwd')
        assert_match "$out" '^marker$' "the volume covers the container's own /etc"
        assert_eq "$(bed_exec cat $VOLS/linkvol/_data/passwd)" "$(bed_exec berthctl run --rm "$(R busybox)" cat /etc/passwd)" \
                "the copy-up took the image's /etc/passwd, not the host's"
        assert_eq "$(bed_exec cat $VOLS/linkvol/_data/marker)" inside "the write went to the volume"
        bed_exec test ! -e /etc/marker || fail "the host's /etc was reached"
        assert_eq "$(bed_sh 'ls -la /etc | md5sum')" "$before" "the host's /etc is untouched"
        # /up -> ../../..: resolves to the container's root; refused rather than hiding the whole tree.
        assert_fails bed_exec berthctl run --rm --tmpfs /up linkimage:1 true
        assert_match "$FAIL_OUTPUT" "resolves to the container's root" "a target resolving to / is refused clearly"
        bed_exec test ! -e /up || fail "a host path was created"
}

test_bad_mounts_are_refused() {
        assert_fails bed_exec berthctl run --rm -v rel/path:/x "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'volume entry is not valid' "a bad volume name"
        assert_fails bed_exec berthctl run --rm --mount type=bind,src=/tmp,dst=/x,bogus=1 "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'mount entry is not valid' "an unknown --mount key"
        assert_fails bed_exec berthctl run --rm -v a:/x -v b:/x "$(R busybox)" true
        assert_match "$FAIL_OUTPUT" 'duplicate mount point: /x' "two mounts on one target"
}

test_volume_verbs() {
        local path out
        assert_eq "$(bed_exec berthctl volume create --label tier=db --label empty labelled)" labelled "create prints the name"
        path=$(M GetVolume s labelled | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])')
        assert_eq "$path" /org/berth1/volume/labelled "the object path"
        assert_eq "$(bed_exec busctl get-property org.berth1 "$path" org.berth1.Volume Mountpoint)" \
                "s \"$VOLS/labelled/_data\"" "Mountpoint"
        bed_exec berthctl volume inspect labelled >"$TEST_TMP/vi"
        python3 - "$TEST_TMP/vi" <<'PY' || fail "volume inspect: $(cat "$TEST_TMP/vi")"
import json, sys
v = json.load(open(sys.argv[1]))[0]
assert v["Name"] == "labelled" and v["Driver"] == "local", v
assert v["Labels"] == {"tier": "db", "empty": ""}, v
assert v["Mountpoint"] == "/var/lib/berth/volumes/labelled/_data" and v["Anonymous"] is False, v
assert v["UsedBy"] == [], v
PY
        out=$(bed_exec berthctl volume ls)
        assert_match "$out" '^DRIVER +VOLUME NAME$' "ls header"
        assert_match "$out" '^local +labelled$' "ls lists the new volume"
        assert_match "$out" '^local +pgdata$' "and the one made by run"
        assert_fails bed_exec berthctl volume create 'bad/name'
        assert_match "$FAIL_OUTPUT" 'volume name' "a bad name is refused"

        # In use by a container (any state): refused without -f; UsedBy names it.
        bed_exec berthctl create --name user1 -v labelled:/d "$(R busybox)" true >/dev/null
        assert_match "$(bed_exec busctl get-property org.berth1 "$path" org.berth1.Volume UsedBy)" '"user1"' "UsedBy"
        assert_fails bed_exec berthctl volume rm labelled
        assert_match "$FAIL_OUTPUT" 'in use by user1' "an in-use volume is not removed"
        bed_exec test -d $VOLS/labelled/_data || fail "the refused rm removed it"
        bed_exec berthctl volume rm -f labelled >/dev/null
        bed_exec test ! -e $VOLS/labelled || fail "rm -f left it"
        bed_exec berthctl rm user1 >/dev/null
        assert_fails bed_exec berthctl volume rm labelled
        assert_match "$FAIL_OUTPUT" 'No such volume|no such volume' "a missing volume"
}

test_introspection_matches_contract() {
        bed_exec berthctl volume create introspected >/dev/null
        bed_exec busctl introspect --xml-interface org.berth1 /org/berth1/volume/introspected >"$TEST_TMP/volume.xml"
        python3 "$BERTH_SRC/tests/integration/introspect-compare.py" \
                "$BERTH_SRC/dbus/org.berth1.Volume.xml" "$TEST_TMP/volume.xml" org.berth1.Volume
        bed_exec busctl introspect --xml-interface org.berth1 /org/berth1 >"$TEST_TMP/live.xml"
        python3 "$BERTH_SRC/tests/integration/introspect-compare.py" \
                "$BERTH_SRC/dbus/org.berth1.Manager.xml" "$TEST_TMP/live.xml" org.berth1.Manager
        bed_exec cat /usr/share/dbus-1/interfaces/org.berth1.Volume.xml | cmp - "$BERTH_SRC/dbus/org.berth1.Volume.xml"
        bed_exec berthctl volume rm introspected >/dev/null
}

test_system_df_counts_volumes_and_prune() {
        local row anon_before
        bed_exec berthctl volume create dfvol >/dev/null
        bed_sh "head -c 1048576 /dev/zero >$VOLS/dfvol/_data/blob"
        row=$(bed_exec berthctl system df | grep '^Local Volumes')
        assert_match "$row" '^Local Volumes +[1-9][0-9]* +[0-9]+ +[0-9.]+[kMG]?B' "system df counts volumes"
        assert_no_match "$row" '^Local Volumes +0 ' "not zero"
        assert_match "$(bed_exec berthctl system df -v)" '^dfvol +0 +1(\.[0-9]+)?MB$' "system df -v lists the volume"
        # prune: anonymous unused volumes only; -a takes named ones too.
        anon_before=$(bed_sh "ls $VOLS | grep -c '^[0-9a-f]\{64\}\$'")
        [ "$anon_before" -ge 1 ] || fail "no anonymous volume to prune"
        bed_exec berthctl volume prune -f >"$TEST_TMP/prune"
        assert_match "$(cat "$TEST_TMP/prune")" 'Deleted Volumes:' "prune lists what it removed"
        assert_eq "$(bed_sh "ls $VOLS | grep -c '^[0-9a-f]\{64\}\$'" || true)" 0 "anonymous volumes pruned"
        bed_exec test -d $VOLS/dfvol || fail "prune without -a removed a named volume"
        bed_exec berthctl volume prune -a -f >"$TEST_TMP/prune"
        assert_match "$(cat "$TEST_TMP/prune")" 'dfvol' "prune -a removes named ones"
        assert_match "$(cat "$TEST_TMP/prune")" 'Total reclaimed space: 1(\.[0-9]+)?MB' "and counts their bytes"
}

test_nobody_is_refused_the_volume_verbs() {
        local out call
        while read -r call; do
                # shellcheck disable=SC2086
                out=$(as_nobody $call 2>&1) && fail "nobody may: $call"
                assert_match "$out" 'Interactive authentication required' "$call"
        done <<CALLS
CreateVolume sa{sv} nbv 0
PruneVolumes a{sv} 0
CALLS
        bed_exec berthctl volume create keepme >/dev/null
        out=$(as_nobody RemoveVolume sb keepme false 2>&1) && fail "nobody may remove a volume"
        assert_match "$out" 'Interactive authentication required' "RemoveVolume"
        out=$(bed_nobody busctl --allow-interactive-authorization=no call org.berth1 /org/berth1/volume/keepme \
                org.berth1.Volume Remove b true 2>&1) && fail "nobody may Volume.Remove"
        assert_match "$out" 'Interactive authentication required' "Volume.Remove"
        # Reading stays open.
        assert_ok as_nobody ListVolumes
        # The object's own Remove, as root.
        bed_exec busctl call org.berth1 /org/berth1/volume/keepme org.berth1.Volume Remove b false
        bed_exec test ! -e $VOLS/keepme || fail "Volume.Remove left it"
}

test_nobody_needs_the_privileged_action_for_binds() {
        local out
        bed_sh 'groupadd -f berth && usermod -a -G berth nobody'
        bed_sh 'mkdir -p /etc/polkit-1/rules.d && cat >/etc/polkit-1/rules.d/50-berth.rules' <<'RULES'
polkit.addRule(function(action, subject) {
        if (action.id == "org.berth1.manage-containers" && subject.isInGroup("berth"))
                return polkit.Result.YES;
});
RULES
        wait_until 60 as_nobody CreateContainer ssasa{sv} "$(R busybox)" nbvol 1 true 1 volumes as 1 nbdata:/d
        out=$(as_nobody CreateContainer ssasa{sv} "$(R busybox)" nbbind 1 true 1 volumes as 1 /etc:/h 2>&1) &&
                fail "the group may bind a host path"
        assert_match "$out" 'Interactive authentication required' "-v HOST:PATH needs the privileged action"
        out=$(as_nobody CreateContainer ssasa{sv} "$(R busybox)" nbbind 1 true 1 mounts as 1 \
                type=bind,src=/,dst=/h 2>&1) && fail "the group may --mount type=bind"
        assert_match "$out" 'Interactive authentication required' "--mount type=bind needs the privileged action"
        bed_exec rm -f /etc/polkit-1/rules.d/50-berth.rules
}
