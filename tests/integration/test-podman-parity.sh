# The same image under berth and under podman (Debian's podman 4.3 with runc, as root, inside the bed so that
# its storage, locks, events and cgroups live and die with the bed), compared from inside: the capability and
# seccomp lines of /proc/self/status, the shape of the mount table, and a probe of operations that must fail —
# mount, unshare of a user or mount namespace, the keyring calls, module loading, bpf, perf_event_open,
# sethostname, opening /proc/sysrq-trigger for writing. Podman is configured by flags and environment only
# (CONTAINERS_CONF and friends pointing into /run/parity, --root/--runroot/--tmpdir there, cgroupfs, file
# events, runc), as shared/tools/podman-setup.sh does on the host. Where the two differ by design, the test
# asserts the documented difference (docs/security.md, "Comparing with podman"). Cases run in order in one bed.

R() { echo "$BERTH_TEST_REGISTRY/$1"; }
PARITY=/run/parity

# P ARGS… : podman inside the bed, everything it writes under /run/parity
P() {
        bed_exec env CONTAINERS_CONF=$PARITY/containers.conf CONTAINERS_REGISTRIES_CONF=$PARITY/registries.conf \
                CONTAINERS_STORAGE_CONF=$PARITY/storage.conf XDG_CONFIG_HOME=$PARITY/config \
                podman --root $PARITY/root --runroot $PARITY/runroot --tmpdir $PARITY/tmp \
                --cgroup-manager=cgroupfs --events-backend=file --runtime runc --storage-driver overlay "$@"
}

# What runs inside both: status lines, the probe, busybox's own commands, the mount table.
INSIDE='grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status
/probe
mount -t tmpfs none /tmp 2>/dev/null && echo "cmd mount: ok" || echo "cmd mount: fails"
unshare -U true 2>/dev/null && echo "cmd unshare -U: ok" || echo "cmd unshare -U: fails"
(: > /proc/sysrq-trigger) 2>/dev/null && echo "cmd > /proc/sysrq-trigger: ok" || echo "cmd > /proc/sysrq-trigger: fails"
echo "--- mounts"
awk "{ split(\$6, o, \",\"); print \$5, \$(NF-2), o[1] }" /proc/self/mountinfo'

# The probe: each call's errno name, or "ok". Static, so it runs in busybox.
probe_c() {
        cat <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *what, long r)
{
        printf("%s: %s\n", what, r < 0 ? strerrorname_np(errno) : "ok");
}

int main(void)
{
        int fd;

        report("add_key", syscall(SYS_add_key, "user", "berth-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
        report("keyctl", syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "berth-probe"));
        report("request_key", syscall(SYS_request_key, "user", "berth-probe", NULL, 0));
        report("init_module", syscall(SYS_init_module, NULL, 0, ""));
        report("finit_module", syscall(SYS_finit_module, -1, "", 0));
        report("delete_module", syscall(SYS_delete_module, "berth_probe_none", 0));
        report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
        report("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
        report("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
        report("sethostname", sethostname("x", 1));
        report("bpf", syscall(SYS_bpf, 0, NULL, 0));
        report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
        fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC); /* opened, never written */
        report("open(/proc/sysrq-trigger, O_WRONLY)", fd);
        return 0;
}
C
}

skopeo_private() {
        unshare --mount --propagation private sh -c 'mount -t tmpfs skopeo-varlib /var/lib && exec skopeo "$@"' \
                skopeo "$@"
}

test_image_with_probe() {
        gcc -static -O2 -Wall -Werror -o "$TEST_TMP/probe" -x c - < <(probe_c)
        skopeo_private copy --quiet "oci:$BERTH_TEST_LAYOUT:busybox" "oci:$TEST_TMP/layout:parity"
        # A plain tar through `umoci raw add-layer`: umoci 0.4's `insert` writes a layer tar without the padding
        # of its last file and without the end-of-archive blocks, which berth (like Python's tarfile) refuses.
        mkdir "$TEST_TMP/root" && mv "$TEST_TMP/probe" "$TEST_TMP/root/probe"
        tar --numeric-owner --owner=0 --group=0 --mtime=@1700000000 -C "$TEST_TMP/root" -cf "$TEST_TMP/probe.tar" probe
        umoci raw add-layer --image "$TEST_TMP/layout:parity" --history.created_by "berth parity probe" \
                "$TEST_TMP/probe.tar"
        skopeo_private copy --quiet --dest-tls-verify=false "oci:$TEST_TMP/layout:parity" \
                "docker://$BERTH_TEST_REGISTRY/parity:latest"
}

test_podman_set_up_in_the_bed() {
        local nofile nproc
        nofile=$(bed_sh 'ulimit -Hn') nproc=$(bed_sh 'ulimit -Hu')
        [ "$nproc" -le 32768 ] || nproc=32768
        # CONTAINERS_CONF replaces podman's config files, so start from the one Debian ships (its defaults, e.g.
        # the capability list, are what a podman user gets) and set, right under the table headers, what these
        # machines need (shared/tools/podman-setup.sh): no CAP_SYS_RESOURCE, so rlimits at the hard limits;
        # cgroupfs and file events; runc (crun 1.8 refuses the hybrid cgroup layout).
        bed_sh "mkdir -p $PARITY/config && sed \
                -e '/^\[containers\]\$/a default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]' \
                -e '/^\[engine\]\$/a cgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nruntime = \"runc\"' \
                /usr/share/containers/containers.conf > $PARITY/containers.conf"
        bed_sh "cat > $PARITY/registries.conf" <<EOF
[[registry]]
location = "$BERTH_TEST_REGISTRY"
insecure = true
EOF
        bed_sh "cat > $PARITY/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$PARITY/runroot"
graphroot = "$PARITY/root"
EOF
        P pull -q "$(R parity)" >/dev/null
        bed_exec berthctl pull -q "$(R parity)" >/dev/null
}

# Both sides' outputs are kept next to the cases' scratch dirs (each case's TEST_TMP goes when it ends).
OUT_DIR() { echo "$(dirname "$TEST_TMP")/parity"; }

test_run_both() {
        mkdir -p "$(OUT_DIR)"
        P run --rm --network none --pids-limit 0 --name parity "$(R parity)" sh -c "$INSIDE" > "$(OUT_DIR)/podman.txt"
        # Both without a network (berth's default is its bridge now), so that the two compare like for like.
        bed_exec berthctl run --rm --network none --name parity "$(R parity)" sh -c "$INSIDE" \
                > "$(OUT_DIR)/berth.txt"
        echo "=== berth"; cat "$(OUT_DIR)/berth.txt"
        echo "=== podman"; cat "$(OUT_DIR)/podman.txt"
}

# side SIDE PART : one part ("status", "probe", "mounts") of one side's output
side() {
        local f
        f="$(OUT_DIR)/$1.txt"
        case "$2" in
        status) grep -E '^(Cap|NoNewPrivs|Seccomp)' "$f" ;;
        probe) sed -n '/^add_key:/,/^--- mounts$/p' "$f" | grep -v '^--- mounts$' ;;
        mounts) sed -n '/^--- mounts$/,$p' "$f" | tail -n +2 | sort ;;
        esac
}
# same WHAT BERTH PODMAN : equal, or both printed with a diff
same() {
        [ "$2" = "$3" ] || fail "$1 differs:"$'\n'"--- berth"$'\n'"$2"$'\n'"--- podman"$'\n'"$3"$'\n'"--- diff"$'\n'"$(diff <(echo "$2") <(echo "$3"))"
}

test_status_lines() {
        local berth podman
        berth=$(side berth status) podman=$(side podman status)
        # berth follows Docker's 14 capabilities; Debian's podman 4.3 (containers.conf of containers-common
        # 0.50) grants 11: Docker's without AUDIT_WRITE, MKNOD and NET_RAW.
        assert_match "$berth" $'^CapBnd:\t00000000a80425fb$' "berth's bounding set"
        assert_match "$podman" $'^CapBnd:\t00000000800405fb$' "podman's bounding set"
        same "status lines but the capability sets" \
                "$(grep -vE '^Cap(Prm|Eff|Bnd)' <<<"$berth")" "$(grep -vE '^Cap(Prm|Eff|Bnd)' <<<"$podman")"
        same "status lines, podman's capabilities plus AUDIT_WRITE, MKNOD, NET_RAW" \
                "$berth" "$(sed -E 's/00000000800405fb$/00000000a80425fb/' <<<"$podman")"
        assert_match "$berth" $'^NoNewPrivs:\t0$' "NoNewPrivs"
        assert_match "$berth" $'^Seccomp:\t2$' "Seccomp"
}

test_forbidden_operations() {
        local berth podman common='^(init_module|finit_module|delete_module|mount|sethostname|bpf|perf_event_open|open\(/proc/sysrq-trigger, O_WRONLY\)|cmd mount|cmd > /proc/sysrq-trigger):'
        berth=$(side berth probe) podman=$(side podman probe)
        # Everything fails in berth: Docker's profile answers EPERM, and the capability is missing anyway.
        assert_no_match "$berth" ': ok$' "an operation that succeeded in berth"
        for op in add_key keyctl request_key init_module finit_module delete_module mount 'unshare\(CLONE_NEWUSER\)' \
                'unshare\(CLONE_NEWNS\)' sethostname bpf perf_event_open; do
                assert_match "$berth" "^$op: EPERM$" "$op in berth"
        done
        assert_match "$berth" '^cmd unshare -U: fails$' "unshare -U in berth"
        # This kernel has no /proc/sysrq-trigger (CONFIG_MAGIC_SYSRQ off): ENOENT in both; elsewhere EROFS.
        assert_match "$berth" '^open\(/proc/sysrq-trigger, O_WRONLY\): (ENOENT|EROFS)$' "sysrq-trigger in berth"
        # Module loading, mount, sethostname, bpf, perf_event_open, sysrq-trigger: the same answers in both.
        same "operations both refuse" "$(grep -E "$common" <<<"$berth")" "$(grep -E "$common" <<<"$podman")"
        # Where podman differs by design: its seccomp profile (containers-common 0.50) allows unshare and keyctl
        # for any process (user namespaces need no capability, and nested podman uses them), and answers
        # add_key/request_key with ENOSYS. berth keeps Docker's profile, as issue #6 asks.
        assert_match "$podman" '^unshare\(CLONE_NEWUSER\): ok$' "podman allows unshare of a user namespace"
        assert_match "$podman" '^cmd unshare -U: ok$' "podman's unshare -U"
        assert_match "$podman" '^keyctl: ok$' "podman allows keyctl"
        assert_match "$podman" '^add_key: ENOSYS$' "podman's add_key"
        assert_match "$podman" '^request_key: ENOSYS$' "podman's request_key"
}

test_mount_table_shape() {
        local berth podman drop='^(/run/\.containerenv|/sys/dev/block|/etc/(hosts|hostname|resolv\.conf)) '
        berth=$(side berth mounts) podman=$(side podman mounts)
        # Mount point, file system type, ro/rw: the same, except for what podman adds — /run/.containerenv (its
        # marker file), /sys/dev/block masked —
        # and the /etc files each engine binds from its own state: berth read-only from the store (so
        # "ext4"/whatever holds /var/lib/berth), podman read-write from its run dir (tmpfs), and no resolv.conf
        # with --network none.
        same "mount table" "$(grep -vE "$drop" <<<"$berth")" "$(grep -vE "$drop" <<<"$podman")"
        assert_match "$podman" '^/run/\.containerenv ' "podman's marker"
        assert_match "$podman" '^/sys/fs/cgroup cgroup2 ro$' "podman's cgroup mount"
        assert_match "$berth" '^/sys/fs/cgroup cgroup2 ro$' "berth's cgroup mount, as podman's"
        for f in hosts hostname resolv.conf; do
                assert_match "$berth" "^/etc/$f [a-z0-9]+ ro$" "berth's /etc/$f"
        done
        assert_match "$podman" '^/etc/hosts tmpfs rw$' "podman's /etc/hosts"
        assert_match "$berth" '^/ overlay rw$' "overlay root"
        assert_match "$berth" '^/proc/sys proc ro$' "read-only /proc/sys"
        assert_match "$berth" '^/sys sysfs ro$' "read-only /sys"
}
