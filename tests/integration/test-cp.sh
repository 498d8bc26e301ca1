# berthctl cp and org.berth1.Container.GetArchive/PutArchive: files and trees both ways with owners and
# modes, tar streams on stdin/stdout, a stopped container, the container's own symlinks kept inside it, a
# read-only mount refused, unprivileged callers refused. Cases run in order in one bed; the bed's files
# live under /run/cp-test (the bed's own /run).

B() { echo "$BERTH_TEST_REGISTRY/busybox"; }
D=/run/cp-test
ex() { bed_exec berthctl exec c1 "$@"; }

test_setup() {
        bed_exec berthctl pull "$(B)" >/dev/null
        bed_exec berthctl run -d --name c1 "$(B)" sleep 100000 >/dev/null
        ex sh -c 'mkdir -p /data/sub && echo hello >/data/sub/f && ln -s f /data/sub/link &&
                chown -R 1234:5678 /data && chmod 640 /data/sub/f && chmod 750 /data/sub'
        bed_sh "mkdir -p $D/in/tree/d $D/out && echo x >$D/in/tree/d/g && chown -R 4321:8765 $D/in/tree &&
                chmod 604 $D/in/tree/d/g"
}

test_copy_out_tree_with_owners_and_modes() {
        bed_exec berthctl cp -a c1:/data "$D/out"
        assert_eq "$(bed_exec stat -c '%u:%g %a' "$D/out/data/sub/f")" "1234:5678 640" "file owner and mode"
        assert_eq "$(bed_exec stat -c '%u:%g %a' "$D/out/data/sub")" "1234:5678 750" "directory owner and mode"
        assert_eq "$(bed_exec cat "$D/out/data/sub/f")" hello "content"
        assert_eq "$(bed_exec readlink "$D/out/data/sub/link")" f "a symlink stays a symlink"
        # Without -a the copy is the caller's; to a new name, the file becomes that name.
        bed_exec berthctl cp c1:/data/sub/f "$D/out/renamed"
        assert_eq "$(bed_exec stat -c '%u:%g %a' "$D/out/renamed")" "0:0 640" "owner without -a"
        assert_eq "$(bed_exec cat "$D/out/renamed")" hello "renamed content"
}

test_copy_in_tree_with_owners_and_modes() {
        bed_exec berthctl cp -a "$D/in/tree" c1:/newtree
        assert_eq "$(ex stat -c '%u:%g %a' /newtree/d/g)" "4321:8765 604" "owner and mode in the container"
        assert_eq "$(ex cat /newtree/d/g)" x "content in the container"
        # Into an existing directory: the tree goes inside it; without -a it is root's.
        bed_exec berthctl cp "$D/in/tree" c1:/data
        assert_eq "$(ex stat -c '%u:%g %a' /data/tree/d/g)" "0:0 604" "owner without -a"
        assert_fails bed_exec berthctl cp "$D/in/tree" c1:/no/such/dir
        assert_match "$FAIL_OUTPUT" 'does not exist' "a missing parent"
        assert_fails bed_exec berthctl cp c1:/no-such-file "$D/out"
        assert_match "$FAIL_OUTPUT" 'Could not find' "a missing source"
}

test_tar_streams() {
        assert_match "$(bed_sh 'berthctl cp c1:/data/sub - | tar -tvf -')" 'sub/f' "tar on stdout"
        ex mkdir /viastdin
        bed_sh "tar -C $D/in -cf - tree | berthctl cp - c1:/viastdin"
        assert_eq "$(ex cat /viastdin/tree/d/g)" x "tar from stdin"
}

test_symlinks_stay_inside() {
        # The container's own symlinks, relative and absolute, point at its /etc, never the bed's.
        ex sh -c 'echo container-etc >/etc/cp-probe; ln -s ../../../../../../etc /up; ln -s /etc /abs'
        bed_exec berthctl cp c1:/up/cp-probe "$D/out/probe-up"
        assert_eq "$(bed_exec cat "$D/out/probe-up")" container-etc "through a relative symlink"
        bed_exec berthctl cp c1:/abs/hostname "$D/out/hostname"
        assert_eq "$(bed_exec cat "$D/out/hostname")" "$(ex cat /etc/hostname)" "through an absolute symlink"
        bed_sh "echo marker >$D/cp-marker"
        bed_exec berthctl cp "$D/cp-marker" c1:/up/
        bed_exec berthctl cp "$D/cp-marker" c1:/abs/cp-marker2
        bed_sh '! test -e /etc/cp-marker && ! test -e /etc/cp-marker2' || fail "a copy escaped into the bed's /etc"
        assert_eq "$(ex cat /etc/cp-marker /etc/cp-marker2)" "marker"$'\n'"marker" "kept inside the container"
}

test_read_only_mount_refused() {
        assert_fails bed_exec berthctl cp "$D/cp-marker" c1:/proc/sys/
        assert_match "$FAIL_OUTPUT" '[Rr]ead-only' "a read-only mount"
}

test_stopped_container() {
        bed_exec berthctl stop -t 1 c1 >/dev/null
        bed_exec berthctl cp c1:/data/sub/f "$D/out/stopped-f"
        assert_eq "$(bed_exec cat "$D/out/stopped-f")" hello "copy out of a stopped container"
        bed_exec berthctl cp -a "$D/in/tree" c1:/stoppedtree
        bed_exec berthctl cp c1:/up/cp-probe "$D/out/stopped-probe"
        assert_eq "$(bed_exec cat "$D/out/stopped-probe")" container-etc "symlinks inside a stopped container"
        bed_exec berthctl start c1 >/dev/null
        assert_eq "$(ex stat -c '%u:%g %a' /stoppedtree/d/g)" "4321:8765 604" "copied in while stopped"
}

test_nobody_refused() {
        assert_fails bed_nobody busctl call org.berth1 /org/berth1/container/c1 org.berth1.Container GetArchive \
                'sa{sv}' /etc/hostname 0
        assert_match "$FAIL_OUTPUT" '[Aa]ccess|[Aa]uthori[sz]|[Aa]uthentication|[Pp]ermission' "GetArchive"
        assert_fails bed_nobody berthctl --no-ask-password cp "$D/cp-marker" c1:/tmp
        assert_match "$FAIL_OUTPUT" '[Aa]ccess|[Aa]uthori[sz]|[Aa]uthentication|[Pp]ermission' "PutArchive"
        bed_exec berthctl kill c1 >/dev/null
        bed_sh "rm -rf $D"
}
