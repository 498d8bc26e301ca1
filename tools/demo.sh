#!/bin/bash
# The main job, in one command (README "Quick start"), as root on Debian 12 with no internet but the Debian
# archive: install what berth needs, build it, run berthd under systemd, build demo images from the archive
# (tests/fixtures/debootstrap.sh: a debian:bookworm-slim-like image and a sqlite image on top of it), serve them
# from a registry on 127.0.0.1, and walk Docker's "images and layers" tutorial (docs/tutorial.md) with berthctl,
# then once more with plain busctl calls, printing each command and what berth answers.
#
#   bash tools/demo.sh                            all of the above
#   bash tools/demo.sh walk [--bed DIR] REGISTRY  the two walks only, against the berthd already running (on
#                                                 this host, or in the test bed DIR of tests/bed/bed), with the
#                                                 demo images already pushed to REGISTRY (debootstrap.sh push);
#                                                 what tests/integration/test-demo.sh runs
#
# Where PID 1 is systemd, berth is installed into the host (/usr, /etc) and the host's systemd runs berthd.
# Elsewhere (containers, CI machines) a private systemd is booted in namespaces (tests/bed/bed) with berth laid
# over /usr and /etc inside it, and torn down at the end; the host is not changed. The interactive steps (run -ti,
# ctrl-p ctrl-q, attach) are typed into a terminal that tmux provides, and its screen is printed.
#
# Environment: BERTH_BUILD (build dir, default build/), DEBIAN_MIRROR (see debootstrap.sh). Exits non-zero if a
# step failed; the walk goes on after a failed step so that the rest is shown.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
bed=$src/tests/bed/bed
failed=0

die() { echo "demo.sh: $*" >&2; exit 1; }

# ---- printing and running ----------------------------------------------------------------------------------

# quote ARG… : the words as a user would type them
quote() {
        local a out=()
        for a in "$@"; do
                if [[ "$a" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
                        out+=("$a")
                else
                        out+=("'${a//\'/\'\\\'\'}'")
                fi
        done
        echo "${out[*]}"
}
section() { printf '\n\n=== %s\n' "$*"; }
note() { printf '\n# %s\n' "$*"; }
# step CMD… : print the command, run it where berthd runs, show its answer; a failure is reported, not fatal
step() {
        local rc=0
        printf '\n$ %s\n' "$(quote "$@")"
        run_in "$@" || rc=$?
        if [ "$rc" != 0 ]; then
                echo "[exit status $rc]"
                failed=1
        fi
        return 0
}
# step_tty CMD… : step, for output that holds a terminal's bytes: its control sequences and carriage returns are
# left out (a terminal would act on them; this transcript would show them raw)
step_tty() {
        local rc=0
        printf '\n$ %s\n' "$(quote "$@")"
        run_in "$@" > >(sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r//g') || rc=$?
        wait $! 2>/dev/null || true
        if [ "$rc" != 0 ]; then
                echo "[exit status $rc]"
                failed=1
        fi
        return 0
}
# quiet CMD… : run it where berthd runs, output only on failure (fatal)
quiet() {
        local out
        out=$(run_in "$@" 2>&1) || { echo "$out"; die "'$(quote "$@")' failed"; }
}
# poll SECONDS WHAT CMD… : until CMD succeeds (where berthd runs), every 0.2 s
poll() {
        local limit=$1 what=$2
        shift 2
        for _ in $(seq $((limit * 5))); do
                run_in "$@" >/dev/null 2>&1 && return 0
                sleep 0.2
        done
        die "timed out after ${limit}s waiting for $what"
}
M=(busctl call org.berth1 /org/berth1 org.berth1.Manager)

# ---- a terminal, by tmux -----------------------------------------------------------------------------------

tm() { run_in env TERM=xterm tmux -S "$tmux_sock" "$@"; }
# term_open NAME : a 100x30 terminal running a plain bash whose prompt is "$ "
term_open() {
        tm new-session -d -s "$1" -x 100 -y 30 "env PS1='\$ ' bash --norc --noprofile"
        term_wait "$1" 'the shell prompt' '^\$ ?$'
}
term_screen() { tm capture-pane -p -J -S - -t "$1" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }
# term_wait NAME WHAT ERE : until the screen has a line matching ERE; 60 s
term_wait() {
        for _ in $(seq 300); do
                term_screen "$1" | grep -qE -- "$3" && return 0
                sleep 0.2
        done
        term_show "$1"
        die "timed out after 60s waiting for $2 in the terminal"
}
# term_wait_last NAME WHAT ERE : until the screen's last line matches ERE; 60 s
term_wait_last() {
        for _ in $(seq 300); do
                term_screen "$1" | tail -n 1 | grep -qE -- "$3" && return 0
                sleep 0.2
        done
        term_show "$1"
        die "timed out after 60s waiting for $2 in the terminal"
}
term_type() { tm send-keys -t "$1" -l "$2"; tm send-keys -t "$1" Enter; }
term_show() { printf '\n'; term_screen "$1" | sed 's/^/  | /'; }

# ---- the walks ---------------------------------------------------------------------------------------------

walk_berthctl() {
        local debian=$reg/debian:bookworm-slim sqlite=$reg/sqlite
        local prompt=':/# ?$'

        section "Images and their layers, with berthctl"
        step berthctl image ls
        step berthctl pull "$debian"
        note "The sqlite image is built on debian:bookworm-slim: its first layer is already here."
        step berthctl pull "$sqlite"
        step berthctl image ls
        step berthctl image history "$sqlite"
        step berthctl run --rm "$sqlite" sqlite3 :memory: '.read /srv/demo/tutorial.sql' 'SELECT n, command FROM step'

        section "A container: run -ti, write a file, detach with ctrl-p ctrl-q"
        term_open run
        term_type run "berthctl run -ti --name mydebian $debian bash"
        term_wait run 'the container'"'"'s prompt' "$prompt"
        term_type run 'touch test-file; ls'
        term_wait run 'test-file in ls' 'test-file'
        tm send-keys -t run C-p C-q
        term_wait run 'the detach' 'read escape sequence'
        term_wait_last run 'the shell prompt' '^\$ ?$'
        term_show run
        tm kill-session -t run
        note "Detached: the container runs on, a transient unit of systemd's."
        step berthctl ps
        step systemctl status --no-pager --lines=0 berth-mydebian.scope

        section "stop, ps -a, start, attach: the file is still there"
        step berthctl stop mydebian
        step berthctl ps -a
        step berthctl start mydebian
        term_open att
        term_type att 'berthctl attach mydebian'
        # Enter brings the prompt back (a bash waiting for input prints nothing on attach). Until the client
        # is connected, keys may go elsewhere: press it again until the prompt shows.
        for _ in $(seq 30); do
                sleep 0.5
                tm send-keys -t att Enter
                term_screen att | grep -qE -- "$prompt" && break
        done
        term_wait att 'the container'"'"'s prompt' "$prompt"
        term_type att 'ls'
        term_wait att 'test-file in ls' 'test-file'
        term_type att 'exit'
        term_wait_last att 'the shell prompt' '^\$ ?$'
        term_show att
        tm kill-session -t att
        step berthctl ps -a
        note "The container's terminal, its starts and exits are in the journal under its name (escapes left out)."
        run_in journalctl --sync # what was logged until now, read by journald
        step_tty journalctl --no-pager -o cat CONTAINER_NAME=mydebian

        section "commit: the container's writable layer becomes an image layer"
        step berthctl commit -m 'added test-file' mydebian mydebian:test-file
        step berthctl image history mydebian:test-file
        step berthctl run --rm mydebian:test-file ls -l /test-file
        step berthctl rm mydebian
        step berthctl ps -a
        step berthctl image ls
        step berthctl system df
        note "berthd's own account of it, in the journal:"
        run_in journalctl --sync # what was logged until now, read by journald
        step journalctl --no-pager -o cat -u berthd --grep 'mydebian'
}

walk_busctl() {
        local debian=$reg/debian:bookworm-slim sqlite=$reg/sqlite path

        section "The same with busctl: the D-Bus API that berthctl speaks"
        step busctl introspect --no-pager org.berth1 /org/berth1 org.berth1.Manager
        step "${M[@]}" ListImages
        step "${M[@]}" RemoveImage sb "$sqlite" false
        note "PullImage answers at once with a transfer object, which reports by signals (berthctl pull prints them)."
        step "${M[@]}" PullImage 'sa{sv}' "$sqlite" 0
        poll 300 "the pull of $sqlite" "${M[@]}" GetImage s "$sqlite"
        step "${M[@]}" GetImage s "$sqlite"
        path=$(run_in "${M[@]}" GetImage s "$sqlite" | sed -e 's/^o "//' -e 's/"$//')
        step busctl get-property org.berth1 "$path" org.berth1.Image RepoTags Layers Size

        note "CreateContainer: image, name, command, options; then StartContainer."
        # (The "--" keeps busctl from reading the container's "-c" as an option of its own.)
        step "${M[@]}" CreateContainer 'ssasa{sv}' -- "$debian" mydebian2 3 bash -c 'touch /test-file; ls /' 0
        step "${M[@]}" StartContainer s mydebian2
        poll 60 "mydebian2 to exit" bash -c \
                "busctl get-property org.berth1 /org/berth1/container/mydebian2 org.berth1.Container State | grep -q exited"
        step busctl get-property org.berth1 /org/berth1/container/mydebian2 org.berth1.Container State ExitCode Unit
        run_in journalctl --sync # what was logged until now, read by journald
        step journalctl --no-pager -o cat CONTAINER_NAME=mydebian2
        step "${M[@]}" CommitContainer 'ssa{sv}' mydebian2 mydebian:busctl 2 message s 'from busctl' \
                changes as 1 'ENV COMMITTED=by-busctl'

        note "RunContainer is create and start in one; StopContainer's timeout is in µs (SIGTERM, then SIGKILL)."
        step "${M[@]}" RunContainer 'ssasa{sv}' mydebian:busctl mydebian3 2 sleep infinity 0
        step "${M[@]}" ListContainers b false
        step "${M[@]}" StopContainer st mydebian3 2000000
        step "${M[@]}" ListContainers b true

        note "AttachContainer hands over a socket: the container's terminal. busctl cannot use it; python3-dbus can."
        step "${M[@]}" RunContainer 'ssasa{sv}' mydebian:busctl mydebian4 1 bash 2 tty b true interactive b true
        step python3 -c '
import dbus, os, re, socket
m = dbus.Interface(dbus.SystemBus().get_object("org.berth1", "/org/berth1"), "org.berth1.Manager")
s = socket.socket(fileno=os.dup(m.AttachContainer("mydebian4", dbus.Dictionary({}, signature="sv")).take()))
s.sendall(b"ls -l /test-file; echo $COMMITTED; exit 7\r")
out = b""
while (b := s.recv(4096)):
    out += b
print(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", out.decode(errors="replace")))'
        poll 60 "mydebian4 to exit" bash -c \
                "busctl get-property org.berth1 /org/berth1/container/mydebian4 org.berth1.Container State | grep -q exited"
        step busctl get-property org.berth1 /org/berth1/container/mydebian4 org.berth1.Container State ExitCode

        step "${M[@]}" RemoveContainer sb mydebian2 false
        step "${M[@]}" RemoveContainer sb mydebian3 false
        step "${M[@]}" RemoveContainer sb mydebian4 false
        step "${M[@]}" ListContainers b true
        step "${M[@]}" GetDiskUsage 'a{sv}' 0
}

walk() {
        tm kill-server >/dev/null 2>&1 || true
        # What an earlier run left (on a systemd host berth stays installed) goes, so that the walks start from
        # scratch: the demo's containers, and its tags, those of earlier runs' registries (other ports) included,
        # or the base's layer would already exist at the first pull. Only what the demo makes: a container
        # called mydebian of the user's own, from another image, stays (and the run -ti step then fails).
        local old
        old=$(run_in berthctl ps -a | awk '$NF ~ /^mydebian[234]?$/ &&
                $2 ~ /^(127\.0\.0\.1:[0-9]+\/debian:bookworm-slim|mydebian:(test-file|busctl))$/ { print $NF }') || true
        [ -z "$old" ] || run_in berthctl rm -f $old >/dev/null 2>&1 || true
        old=$(run_in berthctl image ls | awk '($1 == "mydebian" && ($2 == "test-file" || $2 == "busctl")) ||
                ($1 ~ /^127\.0\.0\.1:[0-9]+\/debian$/ && $2 == "bookworm-slim") ||
                ($1 ~ /^127\.0\.0\.1:[0-9]+\/sqlite$/ && $2 == "latest") { print $1 ":" $2 }') || true
        [ -z "$old" ] || run_in berthctl image rm $old >/dev/null 2>&1 || true
        walk_berthctl
        walk_busctl
        tm kill-server >/dev/null 2>&1 || true
}

# ---- walk only ---------------------------------------------------------------------------------------------

if [ "${1:-}" = walk ]; then
        shift
        bed_dir=""
        if [ "${1:-}" = --bed ]; then bed_dir=$2; shift 2; fi
        reg=${1:?usage: demo.sh walk [--bed DIR] REGISTRY}
        if [ -n "$bed_dir" ]; then
                run_in() { "$bed" exec "$bed_dir" "$@"; }
                tmux_sock=/tmp/berth-demo.tmux # the bed's own /tmp
        else
                run_in() { "$@"; }
                tmux_sock=$(mktemp -u /tmp/berth-demo.XXXXXX.tmux)
        fi
        walk
        exit "$failed"
fi
[ $# = 0 ] || die "usage: demo.sh | demo.sh walk [--bed DIR] REGISTRY"

# ---- everything --------------------------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "needs root (it installs packages, and berth or a test bed)"
build=$(realpath -m "${BERTH_BUILD:-$src/build}")
work=$build/demo

echo "== Dependencies from Debian's archive (tools/install-deps.sh)"
bash "$src/tools/install-deps.sh"
echo "== Building berth in $build"
opts=(-Dprefix=/usr -Dsysconfdir=/etc -Dlocalstatedir=/var)
if [ -f "$build/build.ninja" ]; then
        meson configure "$build" "${opts[@]}" >/dev/null
else
        meson setup "$build" "$src" "${opts[@]}" >/dev/null
fi
ninja -C "$build" >/dev/null

rm -rf --one-file-system "$work"
mkdir -p "$work"
registry_dir=$work/registry
bed_dir=$work/bed
tmux_sock=$work/tmux.sock
use_bed=1
[ -d /run/systemd/system ] && [ "$(cat /proc/1/comm)" = systemd ] && use_bed=0

cleanup() {
        set +e
        tm kill-server >/dev/null 2>&1
        [ $use_bed = 1 ] && [ -d "$bed_dir" ] && "$bed" stop "$bed_dir" >/dev/null 2>&1
        [ -d "$registry_dir" ] && "$src/tests/fixtures/registry.sh" stop "$registry_dir" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $use_bed = 1 ]; then
        DESTDIR=$work/destdir meson install -C "$build" --quiet --no-rebuild
        echo "== PID 1 is not systemd: booting a private systemd with berth installed into it"
        "$bed" start "$bed_dir" "$work/destdir" >/dev/null
        run_in() { "$bed" exec "$bed_dir" "$@"; }
        # The bed has a network namespace of its own: the registry listens there, and the push reaches it there.
        in_net() { nsenter --net="/proc/$("$bed" pid "$bed_dir")/ns/net" -- "$@"; }
        tmux_sock=/tmp/berth-demo.tmux # the bed's own /tmp
else
        echo "== Installing berth into the host (PID 1 is systemd)"
        meson install -C "$build" --quiet --no-rebuild
        systemctl daemon-reload
        journalctl --update-catalog
        busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null
        run_in() { "$@"; }
        in_net() { "$@"; }
fi

echo "== Demo images from the Debian archive (debootstrap once, cached in $build/test-cache)"
images=$("$src/tests/fixtures/debootstrap.sh" build "$build/test-cache")
echo "== A registry on 127.0.0.1 serving them"
reg=$(in_net "$src/tests/fixtures/registry.sh" start "$registry_dir")
in_net "$src/tests/fixtures/debootstrap.sh" push "$images" "$reg" >/dev/null
echo "   $reg: debian:bookworm-slim, sqlite"

section "berthd, on the system bus and under systemd"
step berthctl version
note "The first call started berthd: D-Bus activation of berthd.service (Type=notify)."
step systemctl status --no-pager --lines=0 berthd

walk

echo
if [ $use_bed = 1 ]; then
        echo "== Done. berth ran in a private systemd, now torn down; the host is unchanged."
else
        echo "== berthd stays installed on this host, and the demo's images in its store: try 'berthctl --help'."
fi
[ "$failed" = 0 ] || echo "== Some steps failed: see [exit status N] above."
exit "$failed"
