#!/bin/bash
# The main job, in one command (README "Quick start"): install what berth needs from Debian's archive, build it,
# run berthd under systemd, start a local registry on 127.0.0.1 with demo images built from local content, and
# walk through Docker's "images and layers" tutorial with berthctl.
#
# Where PID 1 is systemd, berth is installed into the host (/usr, /etc) and the host's systemd runs berthd.
# Elsewhere (containers, CI machines) a private systemd is booted in namespaces (tests/bed/bed) with berth laid
# over /usr and /etc inside it, and torn down at the end; the host is not changed.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BERTH_BUILD:-$src/build}
work=$build/demo

bash "$src/tools/install-deps.sh"
opts=(-Dprefix=/usr -Dsysconfdir=/etc -Dlocalstatedir=/var)
if [ -f "$build/build.ninja" ]; then
        meson configure "$build" "${opts[@]}" >/dev/null
else
        meson setup "$build" "$src" "${opts[@]}" >/dev/null
fi
ninja -C "$build" >/dev/null

rm -rf "$work"
mkdir -p "$work"
registry_dir=$work/registry
bed_dir=$work/bed
use_bed=1
[ -d /run/systemd/system ] && [ "$(cat /proc/1/comm)" = systemd ] && use_bed=0

cleanup() {
        set +e
        [ $use_bed = 1 ] && [ -d "$bed_dir" ] && "$src/tests/bed/bed" stop "$bed_dir" >/dev/null 2>&1
        [ -d "$registry_dir" ] && "$src/tests/fixtures/registry.sh" stop "$registry_dir" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $use_bed = 1 ]; then
        DESTDIR=$work/destdir meson install -C "$build" --quiet
        echo "== PID 1 is not systemd: booting a private systemd with berth installed into it"
        "$src/tests/bed/bed" start "$bed_dir" "$work/destdir" >/dev/null
        run_in() { "$src/tests/bed/bed" exec "$bed_dir" "$@"; }
else
        echo "== Installing berth into the host (PID 1 is systemd)"
        meson install -C "$build" --quiet
        systemctl daemon-reload
        journalctl --update-catalog
        busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null
        run_in() { "$@"; }
fi

echo "== Starting a registry on 127.0.0.1 with demo images built from local content"
reg=$("$src/tests/fixtures/registry.sh" start "$registry_dir")
layout=$("$src/tests/fixtures/images.sh" build "$build/test-cache")
"$src/tests/fixtures/images.sh" push "$layout" "$reg" >/dev/null

step() { printf "\n$ %s\n" "$*"; run_in "$@"; }

step busctl introspect org.berth1 /org/berth1
step systemctl status --no-pager berthd
step berthctl image ls
step berthctl pull "$reg/busybox"
# The child image shares its first layer with busybox: "Already exists", not downloaded again.
step berthctl pull "$reg/busybox-child"
step berthctl image ls
step berthctl image history "$reg/busybox-child"
step berthctl tag "$reg/busybox" mybusybox:1.0
step berthctl image ls
step berthctl image rm mybusybox:1.0
# Containers: each a transient scope in machine.slice, its output in the journal, its writable layer kept
# across stop and start.
step berthctl run --name hello "$reg/busybox-child" sh -c 'echo "hello from $(hostname)"; ls /etc; touch /made-here'
step berthctl run -d --name mydebian "$reg/busybox-child" sh -c 'trap "exit 0" TERM; while :; do sleep 1; done'
step systemctl status --no-pager berth-mydebian.scope
step berthctl ps
step berthctl stop mydebian
step berthctl ps -a
step berthctl start mydebian
step busctl get-property org.berth1 /org/berth1/container/mydebian org.berth1.Container State Pid Unit
step berthctl logs hello
step journalctl --no-pager -o cat CONTAINER_NAME=hello
step berthctl rm -f mydebian
step berthctl rm hello
step berthctl ps -a
# Removing the base keeps the child whole: its layers are shared, not owned.
step berthctl image rm "$reg/busybox"
step berthctl image ls
step journalctl --no-pager -o cat -u berthd
echo
[ $use_bed = 1 ] && echo "== Done. berth ran in a private systemd, now torn down; the host is unchanged."
[ $use_bed = 0 ] && echo "== berthd stays installed on this host: try 'berthctl --help'."
exit 0
