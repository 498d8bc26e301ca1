#!/bin/bash
# Install what bench/pull needs beyond tools/install-deps.sh, from Debian's archive: podman (the peer berth is
# measured against) with runc, hyperfine, debootstrap to build the Debian-like image, iperf3 for bench/net and
# isal's igzip for bench/pull's CPU floor.
# Idempotent.
set -euo pipefail

packages=(podman runc debootstrap hyperfine iperf3 isal)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
        echo "install-bench-deps: all ${#packages[@]} packages present"
        exit 0
fi
echo "install-bench-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-bench-deps: done"
