# Helpers for berth's integration tests: sourced (with the test file) into a fresh bash for each test case.
#
# A test file tests/integration/test-<topic>.sh defines functions named test_<case>; the runner calls them in the
# order they are defined, each in its own bash process under `set -eEuo pipefail`, on the host: commands meant
# for the bed go through bed_exec / bed_sh, which run them inside it as root. Each test file gets a freshly
# booted bed (berthd not yet started); the fixture registry is shared by all. A case passes when its function
# returns 0; any failing command or assertion fails it, and its output is shown under the TAP line.
#
# Set by the runner:
#   BED_DIR                    the bed's directory (see tests/bed/bed)
#   BERTH_SRC, BERTH_BUILD     the source tree and the build dir under test
#   BERTH_TEST_REGISTRY        host:port of the fixture registry (plain http on the host's 127.0.0.1); also set
#                              inside the bed, whose 127.0.0.1:PORT is forwarded to it (the bed has a network
#                              namespace of its own: tests/bed/bed)
#   BERTH_TEST_REGISTRY_DIR    its directory (config, storage, registry.log with the access log)
#   BERTH_TEST_IMAGES          a file of "REPO sha256:MANIFEST_DIGEST" lines, one per fixture image
#   BERTH_TEST_LAYOUT          the OCI layout the fixtures were pushed from
#   TEST_TMP                   a scratch dir on the host for this case, removed after it

BERTH_BED=$BERTH_SRC/tests/bed/bed
BERTH_REGISTRY_SH=$BERTH_SRC/tests/fixtures/registry.sh

# bed_exec CMD… : run CMD inside the bed as root; stdin, stdout, stderr and the exit status pass through.
bed_exec() { "$BERTH_BED" exec "$BED_DIR" "$@"; }
# bed_sh SCRIPT : run a shell script inside the bed.
bed_sh() { "$BERTH_BED" exec "$BED_DIR" bash -c "$1"; }
# bed_journal ARGS… : journalctl ARGS… inside the bed, once journald has read every entry sent before: a
# process's entries are datagrams that journald may not have read when the process (or berthd's reply) is done.
bed_journal() { "$BERTH_BED" exec "$BED_DIR" journalctl --sync && "$BERTH_BED" exec "$BED_DIR" journalctl "$@"; }
# bed_nobody CMD… : run CMD inside the bed as nobody (65534), no supplementary groups: polkit and D-Bus policy
# see an unprivileged caller (root bypasses polkit).
bed_nobody() { "$BERTH_BED" exec "$BED_DIR" setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# The bed has a network namespace of its own (tests/bed/bed), the outside another. A server a test starts on the
# host for berthd to reach must listen in the bed's namespace: bed_net CMD… runs CMD there (on the host's files);
# in the background, call `nsenter --net="$(bed_netns)" CMD… &` itself, so that $! is CMD's PID (nsenter execs
# it). outside_net CMD… runs CMD in the outside's namespace.
bed_netns() { echo "/proc/$("$BERTH_BED" pid "$BED_DIR")/ns/net"; }
bed_net() { nsenter --net="$(bed_netns)" -- "$@"; }
outside_net() { nsenter --net="/proc/$("$BERTH_BED" outside-pid "$BED_DIR")/ns/net" -- "$@"; }
# The outside's address (a python3 http.server on port 80 serves /hello, "outside"), the bed's own on that link,
# and the outside server's access log (client address first on each line).
OUTSIDE_ADDR=198.51.100.1
BED_ADDR=198.51.100.2
outside_http_log() { echo "$BED_DIR/outside/http.log"; }

fail() { echo "FAIL: $*" >&2; exit 1; }

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq() {
        [ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}
# assert_ne ACTUAL UNEXPECTED [WHAT]
assert_ne() {
        [ "$1" != "$2" ] || fail "${3:-value}: expected anything but '$2'"
}
# assert_match ACTUAL ERE [WHAT] : ACTUAL (may be many lines) has a line matching the extended regex
assert_match() {
        grep -qE -- "$2" <<<"$1" || fail "${3:-output} does not match /$2/:"$'\n'"$1"
}
# assert_no_match ACTUAL ERE [WHAT]
assert_no_match() {
        ! grep -qE -- "$2" <<<"$1" || fail "${3:-output} matches /$2/ but should not:"$'\n'"$1"
}
# assert_ok CMD… : CMD (on the host; wrap with bed_exec for the bed) succeeds; its output is shown if not
assert_ok() {
        local out
        out=$("$@" 2>&1) || fail "'$*' failed ($?):"$'\n'"$out"
}
# assert_fails CMD… : CMD fails; sets $FAIL_OUTPUT to what it printed (stdout and stderr)
assert_fails() {
        FAIL_OUTPUT=$("$@" 2>&1) && fail "'$*' succeeded but should have failed:"$'\n'"$FAIL_OUTPUT"
        return 0
}
# kill_9_berthd : SIGKILL to every process of berthd.service, as a crash, then waits until that berthd is gone:
# the unit's main PID is no longer its PID (0, or the new one Restart=on-failure started). Waiting to see the
# unit inactive instead misses the moment whenever the restart is quicker than one look (a busy machine).
kill_9_berthd() {
        local pid
        pid=$(bed_exec systemctl show -P MainPID berthd.service)
        bed_exec systemctl kill -s KILL berthd.service
        wait_until 60 bash -c "[ \"\$($BERTH_BED exec $BED_DIR systemctl show -P MainPID berthd.service)\" != $pid ]"
}
# wait_until SECONDS CMD… : poll CMD every 0.1 s until it succeeds, SECONDS × 10 looks at most. The limit is
# in looks, not in wall time: on a busy machine each look (often a `bed exec`) takes longer, and so does what
# it waits for, so the wait stretches with the machine. The failure says how long it really waited.
wait_until() {
        local limit=$1 i start=$SECONDS; shift
        for i in $(seq $((limit * 10))); do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        fail "gave up after $((limit * 10)) looks in $((SECONDS - start)) s waiting for: $*"
}

# unit_prop UNIT PROPERTY : a property of a unit inside the bed (systemctl show --value)
unit_prop() { bed_exec systemctl show -P "$2" "$1"; }

# scope_monitor NAME : the PID of a running container's monitor, the process of its scope's "supervisor" cgroup
scope_monitor() { bed_exec cat "/sys/fs/cgroup/machine.slice/berth-$1.scope/supervisor/cgroup.procs"; }

# image_digest REPO : the manifest digest of a fixture image as pushed
image_digest() { awk -v r="$1" '$1 == r { print $2 }' "$BERTH_TEST_IMAGES"; }

# registry_log : the fixture registry's log (its access log lines look like
#   127.0.0.1 - - [date] "GET /v2/busybox/blobs/sha256:… HTTP/1.1" 200 …)
registry_log() { echo "$BERTH_TEST_REGISTRY_DIR/registry.log"; }
# registry_blob_gets REPO : the blob digests fetched from REPO so far (200 answers), one per line, in order
registry_blob_gets() {
        grep -oE "\"GET /v2/$1/blobs/sha256:[0-9a-f]{64} HTTP/[0-9.]+\" 200" "$(registry_log)" |
                grep -oE 'sha256:[0-9a-f]{64}' || true
}

# auth_registry_start USER:PASSWORD : start a second registry on the same storage (same images), protected by
# htpasswd, listening in the bed's network namespace, and set AUTH_REGISTRY to its host:port. Call it directly, not in $(…): it is stopped when the case
# ends.
auth_registry_start() {
        local d
        d=$(mktemp -d "$TEST_TMP/auth-registry.XXXXXX")
        _BERTH_AUTH_REGISTRIES+=("$d")
        trap '_berth_case_cleanup' EXIT
        AUTH_REGISTRY=$(bed_net "$BERTH_REGISTRY_SH" start "$d" --storage "$BERTH_TEST_REGISTRY_DIR/storage" --auth "$1")
}
_BERTH_AUTH_REGISTRIES=()
_berth_case_cleanup() {
        local d
        for d in "${_BERTH_AUTH_REGISTRIES[@]}"; do "$BERTH_REGISTRY_SH" stop "$d"; done
}
