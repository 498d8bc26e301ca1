#!/bin/bash
# Install every build, test and demo dependency of berth from Debian's archive. Idempotent: packages already
# present are left alone and apt is not even asked when nothing is missing.
set -euo pipefail

packages=(
        # build
        meson ninja-build gcc pkg-config libc6-dev
        libsystemd-dev libglib2.0-dev libglib2.0-dev-bin libjson-glib-dev libcurl4-openssl-dev
        libarchive-dev libseccomp-dev libssl-dev
        libzstd-dev libisal-dev # push (zstd; ISA-L igzip for gzip) and pull (ISA-L inflate for gzip layers)
        libmnl-dev libnftables-dev # rtnetlink and the firewall of the bridge network (src/network)
        clang libclang-rt-dev # libFuzzer targets (tests/fuzz, tools/fuzz.sh)
        clang-format # tools/check-format.sh: the tree stays as its .clang-format writes it
        # the real parts the test bed and the demo boot
        systemd dbus polkitd pkexec util-linux procps python3 python3-dbus
        iproute2 # the test bed builds its network with ip(8); berth itself never runs it
        nftables # nft(8), to look at berth's table when debugging; berth itself uses libnftables only
        aardvark-dns # names on user networks (src/daemon/network-dns.c), as podman's netavark drives it
        containernetworking-plugins # the CNI driver runs them from /usr/lib/cni (src/network/cni.c)
        systemd-container # systemd-machined and machinectl (test-machined.sh); without libnss-mymachines
        # fixture registry and images
        docker-registry skopeo umoci busybox-static apache2-utils jq curl tmux
        debootstrap # the demo's Debian images (tests/fixtures/debootstrap.sh)
        podman runc # the reference test-podman-parity.sh compares with (runc: crun 1.8 refuses the hybrid cgroups)
)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
        echo "install-deps: all ${#packages[@]} packages present"
        exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps podman/docker-registry from pulling in services we would have to stop again.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# docker-registry's package enables and starts a registry on :5000 where PID 1 is systemd; the tests start their
# own on a free loopback port, so stop the packaged one from claiming the port on a systemd host.
if [ -d /run/systemd/system ] && systemctl is-enabled --quiet docker-registry 2>/dev/null; then
        systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
echo "install-deps: done"
