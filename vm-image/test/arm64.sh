#!/bin/bash
# Build the arm64 guest on an x86_64 Debian host and boot it end to end under QEMU TCG:
# the image (mmdebstrap through qemu-user binfmt), the guest agent cross-compiled for
# aarch64, then `berth start` with that image in a fresh BERTH_HOME, `docker info` through
# Berth's socket (it must say aarch64), `berth stop`.
#
#   vm-image/test/arm64.sh [--out DIR] [--vfkit-standin]
#
# --vfkit-standin boots it the way a Mac does: Berth's vfkit backend (vm.backend = vfkit)
# drives berth-vfkit-standin, which sees an arm64 Image, plays Apple silicon and runs vfkit's
# device set (virtio-blk by deviceId, hvc0 console, virtio-net,nat by DHCP, virtio-fs, the
# vsock link) under qemu-system-aarch64.
#
# This is how the Mac's guest (vfkit on Apple silicon boots the same vmlinuz, an uncompressed
# arm64 Image, with the same initrd and erofs root) is checked on a Linux x86_64 machine.
# Not part of CI (the x86_64 image is CI's): it takes 10-15 minutes here.
# Installs: qemu-user-static binfmt-support arch-test qemu-system-arm gcc-aarch64-linux-gnu
# libc6-dev-arm64-cross, and rustup's aarch64-unknown-linux-gnu std.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=""
vfkit=0
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--vfkit-standin) vfkit=1; shift ;;
	*) echo "arm64.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
out=${out:-$root/vm-image/out/aarch64}
step() { printf '\n== %s\n' "$*"; }

step "tools"
need=()
for p in qemu-user-static binfmt-support arch-test qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
	mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
update-binfmts --enable qemu-aarch64 2>/dev/null || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || {
	echo "arm64.sh: qemu-aarch64 binfmt is not registered; cannot run arm64 maintainer scripts" >&2
	exit 1
}
rustup target add aarch64-unknown-linux-gnu

step "guest image (arm64)"
t0=$(date +%s)
"$root/vm-image/build.sh" --arch aarch64 --out "$out"
echo "image: $(($(date +%s) - t0)) s"

step "guest agent (aarch64) and host berth"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
cargo build --manifest-path "$root/Cargo.toml" --release -p berth-agent --target aarch64-unknown-linux-gnu
cargo build --manifest-path "$root/Cargo.toml" --release -p berth-cli --bin berth
[ "$vfkit" = 1 ] && cargo build --manifest-path "$root/Cargo.toml" --release -p berth-vfkit-standin
target_dir=$(cargo metadata --manifest-path "$root/Cargo.toml" --format-version 1 --no-deps |
	sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
agent=$target_dir/aarch64-unknown-linux-gnu/release/berth-agent
berth=$target_dir/release/berth

step "boot under qemu-system-aarch64 (TCG)"
home=$(mktemp -d "${TMPDIR:-/tmp}/berth-arm64.$$.XXXXXX")
started=0
cleanup() {
	[ "$started" = 1 ] && BERTH_HOME=$home "$berth" stop --quit >/dev/null 2>&1 || true
	rm -rf "$home"
}
trap cleanup EXIT
export BERTH_HOME=$home DOCKER_CONFIG=$home/docker-config
export BERTH_VM_IMAGE_DIR=$out BERTH_AGENT_BIN=$agent
mkdir -p "$DOCKER_CONFIG"
if [ "$vfkit" = 1 ]; then
	export BERTH_VFKIT=$target_dir/release/berth-vfkit-standin
	"$berth" settings set vm.backend vfkit
fi
t0=$(date +%s.%N)
started=1
"$berth" start
t1=$(date +%s.%N)
sock=$home/run/docker.sock
arch=$(docker -H "unix://$sock" info --format '{{.Architecture}}')
kernel=$(docker -H "unix://$sock" info --format '{{.KernelVersion}}')
echo "engine: $arch, kernel $kernel, boot to engine $(echo "$t1 - $t0" | bc) s"
grep -h "berth-init:" "$home/logs/vm-console.log" || true
[ "$vfkit" = 1 ] && { grep -q "by DHCP" "$home/logs/vm-console.log" || { echo "arm64.sh: no DHCP lease" >&2; exit 1; }; }
[ "$arch" = aarch64 ] || { echo "arm64.sh: the engine says $arch, not aarch64" >&2; exit 1; }
"$berth" stop --quit
started=0
echo "arm64.sh: the arm64 guest boots and serves the engine"
