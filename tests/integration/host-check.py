#!/usr/bin/env python3
"""Did the test run leave the host's /etc, /var and /tmp, and its network, as it found them?

  host-check.py before OUT.json       plant the canaries (below), record names, types, modes and mtimes
  host-check.py after OUT.json        record the same again
  host-check.py compare BEFORE AFTER  print what changed; exit 1 if anything did; remove the canaries
  host-check.py discard BEFORE        remove the canaries (a run that was interrupted)

The test bed's systemd shares the host's root filesystem: a slip in its masks or overlays shows here as a removed
/tmp entry (systemd-tmpfiles wiped the host's /tmp once), a new file under /var/log/journal or /var/lib, a changed
/etc file. /etc and /var are recorded whole (they are small here) with mtimes, but for the package manager's own
churn. /tmp and /var/tmp are shared with whatever else runs on the machine: their entries two levels deep are
recorded by name and type only (their mtimes move with every other program's temp files); under CI (nothing else
runs there) any difference fails, elsewhere differences are only reported. What always fails there is the loss
of a canary: the snapshot plants, in each, a file dated 60 days back (so a boot-time wipe and an age-based clean
both would take it), which compare checks and removes.

The network: each bed has a network namespace of its own, so the host's network devices, named network
namespaces (/run/netns), nftables tables and net.ipv4.ip_forward must not change. A berth bridge or veth, a
"berth" table or a changed ip_forward always fails; other devices and tables (another program's) are reported.
"""
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time

TREES = ["/etc", "/var"]
SKIP = {
    "/var/cache", "/var/lib/apt", "/var/lib/dpkg", "/var/log/apt", "/var/log/dpkg.log",
    "/var/log/alternatives.log", "/var/lib/ucf", "/var/backups", "/var/lib/man-db", "/var/tmp",
    "/var/lib/postgresql", "/var/log/postgresql", "/var/lib/docker",
}
SHALLOW = ["/tmp", "/var/tmp"]


def walk(top, out):
    dev = os.lstat(top).st_dev
    stack = [top]
    while stack:
        path = stack.pop()
        if path in SKIP:
            continue
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        out[path] = [stat.filemode(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns,
                     st.st_size if stat.S_ISREG(st.st_mode) else 0]
        if stat.S_ISDIR(st.st_mode) and st.st_dev == dev:
            try:
                stack.extend(os.path.join(path, n) for n in os.listdir(path))
            except OSError:
                pass


def shallow(top, out):
    for n in os.listdir(top):
        p = os.path.join(top, n)
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue
        out[p] = [stat.filemode(st.st_mode)[0]]
        if stat.S_ISDIR(st.st_mode) and not stat.S_ISLNK(st.st_mode):
            try:
                for m in os.listdir(p):
                    q = os.path.join(p, m)
                    try:
                        out[q] = [stat.filemode(os.lstat(q).st_mode)[0]]
                    except FileNotFoundError:
                        pass
            except OSError:
                pass


def canaries(path):
    tag = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:12]
    return [os.path.join(t, f".berth-host-check-canary-{tag}") for t in SHALLOW]


def plant(path):
    old = time.time() - 60 * 86400
    for c in canaries(path):
        with open(c, "w") as f:
            f.write("planted by berth's tests/integration/host-check.py; removed at the end of the run\n")
        os.utime(c, (old, old))


def network():
    def listdir(d):
        try:
            return sorted(os.listdir(d))
        except OSError:
            return []
    try:
        tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout.split("\n")
    except OSError:
        tables = []
    try:
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            forward = f.read().strip()
    except OSError:
        forward = ""
    return {"links": listdir("/sys/class/net"), "netns": listdir("/run/netns"),
            "tables": sorted(t for t in tables if t), "ip_forward": forward}


def snapshot(path):
    full, tmp = {}, {}
    for t in TREES:
        walk(t, full)
    for t in SHALLOW:
        shallow(t, tmp)
    tmp = {p: v for p, v in tmp.items() if ".berth-host-check-canary-" not in p}
    with open(path, "w") as f:
        json.dump({"full": full, "tmp": tmp, "net": network()}, f)


def compare(before_path, after_path):
    with open(before_path) as f:
        before = json.load(f)
    with open(after_path) as f:
        after = json.load(f)
    strict_tmp = os.environ.get("CI") == "true"
    bad, notes = [], []
    b, a = before["full"], after["full"]
    for p in sorted(set(b) | set(a)):
        if p not in a:
            bad.append(f"removed: {p}")
        elif p not in b:
            bad.append(f"added:   {p}")
        elif a[p] != b[p]:
            bad.append(f"changed: {p} {b[p]} -> {a[p]}")
    b, a = before["tmp"], after["tmp"]
    shared = bad if strict_tmp else notes
    for p in sorted(set(b) | set(a)):
        if p not in a:
            shared.append(f"removed: {p}")
        elif p not in b:
            shared.append(f"added:   {p}")
        elif a[p] != b[p]:
            shared.append(f"changed: {p} {b[p]} -> {a[p]}")
    nb, na = before.get("net", {}), after.get("net", {})
    ours = re.compile(r"^(berth|veth)|\bberth\b")
    for key in ("links", "netns", "tables"):
        for x in sorted(set(nb.get(key, [])) ^ set(na.get(key, []))):
            what = f"{'added' if x in na.get(key, []) else 'removed'} {key[:-1]}: {x}"
            (bad if ours.search(x) or key == "netns" else notes).append(what)
    if nb and na and nb.get("ip_forward") != na.get("ip_forward"):
        bad.append(f"changed: net.ipv4.ip_forward {nb.get('ip_forward')} -> {na.get('ip_forward')}")
    for c in canaries(before_path):
        if os.path.exists(c):
            os.unlink(c)
        else:
            bad.append(f"removed: {c} (a canary, dated 60 days back: something cleaned the host's temp dir)")
    for n in notes:
        print(f"note (counted only under CI; other programs share /tmp and the network): {n}")
    for line in bad:
        print(line)
    if bad:
        print(f"HOST CHANGED: {len(bad)} differences in /etc, /var, /tmp or the network")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "before":
        plant(sys.argv[2])
        snapshot(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "after":
        snapshot(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "discard":
        for c in canaries(sys.argv[2]):
            if os.path.exists(c):
                os.unlink(c)
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
