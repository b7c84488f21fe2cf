#!/bin/bash
# Boot-to-ready of two guest images side by side in one run, and the floor under both.
#
#   vm-image/test/boot-compare.sh [--before REV] [--after DIR] [--rounds N]
#
# --before REV: the image vm-image/ built at git revision REV (default ab632e6, the image of
# the day issue #15 measured 47.6 s), built with that revision's own build.sh into
# target/boot-compare/REV (cached there). --after DIR: the image to compare (default
# vm-image/out/x86_64, built first if missing). Each round boots before, then after, with
# vm-image/test/boot.sh (the devices and TCG settings berth-vm uses, a blank data disk each
# time), and reads the guest's "system ready" and "dockerd ready" console lines.
#
# Then the floor: the after image's own containerd and dockerd started natively on this host
# (a chroot into its root in private mount, PID and network namespaces, as run-dockerd starts
# them), timed from exec to "API listen". The guest's dockerd phase over that figure is what
# emulation (TCG) costs; no image change can go below it.
# Prints every boot, the medians and the ratio after/before. Needs root (chroot, namespaces).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
before=ab632e6
after=$here/vm-image/out/x86_64
rounds=3
while [ $# -gt 0 ]; do
	case "$1" in
	--before) before=$2; shift 2 ;;
	--after) after=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	*) echo "boot-compare.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

cache=$here/target/boot-compare/$before
if [ ! -f "$cache/image.json" ]; then
	src=$(mktemp -d "${TMPDIR:-/tmp}/berth-before.XXXXXX")
	git -C "$here" archive "$before" vm-image | tar -x -C "$src"
	echo "boot-compare: building the image of $before (its own build.sh)"
	"$src/vm-image/build.sh" --arch x86_64 --out "$cache" >/dev/null
	rm -rf "$src"
fi
[ -f "$after/image.json" ] || "$here/vm-image/build.sh" --arch x86_64 --out "$after" >/dev/null

# One boot: "host_ms system_ready_s dockerd_ready_s".
boot_once() {
	local out host sys dock
	out=$("$here/vm-image/test/boot.sh" --image "$1" 2>&1) || {
		echo "boot-compare: $1 did not boot:" >&2
		echo "$out" >&2
		return 1
	}
	host=$(sed -n 's/.*qemu start -> dockerd ready: \([0-9]*\) ms/\1/p' <<<"$out")
	sys=$(sed -n 's/.*system ready at \([0-9.]*\)s.*/\1/p' <<<"$out")
	dock=$(sed -n 's/.*dockerd ready at \([0-9.]*\)s.*/\1/p' <<<"$out")
	echo "$host $sys $dock"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

results=$(mktemp -d "${TMPDIR:-/tmp}/berth-compare.XXXXXX")
trap 'rm -rf "$results"' EXIT
for r in $(seq 1 "$rounds"); do
	for which in before after; do
		dir=$cache
		[ "$which" = after ] && dir=$after
		read -r host sys dock < <(boot_once "$dir")
		echo "$host $sys $dock" >>"$results/$which"
		printf 'round %d %-6s: qemu start -> dockerd ready %6d ms (guest: system ready %5.2f s, dockerd ready %5.2f s, dockerd phase %5.2f s)\n' \
			"$r" "$which" "$host" "$sys" "$dock" "$(echo "$dock - $sys" | bc)"
	done
done

# The floor: the after image's engine, natively.
root=$(mktemp -d "${TMPDIR:-/tmp}/berth-floor.XXXXXX")
ns=berthfloor$$
cleanup_floor() {
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$root"
}
trap 'cleanup_floor; rm -rf "$results"' EXIT
fsck.erofs --extract="$root/fs" --preserve "$after/rootfs.erofs" >/dev/null
mkdir -p "$root/data"
ip netns add "$ns"
# The namespace's first process is the shell: when it exits, the kernel ends containerd and
# dockerd with it, and its mounts go with the mount namespace.
native_ms=$(unshare --mount --pid --fork --mount-proc nsenter --net="/var/run/netns/$ns" \
	bash -s "$root" <<'EOF'
set -e
fs=$1/fs
mount --rbind /dev "$fs/dev"
mount -t proc proc "$fs/proc"
mount -t sysfs sys "$fs/sys"
mount -t cgroup2 none "$fs/sys/fs/cgroup" 2>/dev/null || true
mount -t tmpfs tmpfs "$fs/run"
mount -t tmpfs tmpfs "$fs/tmp"
mount --bind "$1/data" "$fs/var/lib/docker"
ip link set lo up
t0=$(date +%s%N)
chroot "$fs" /bin/sh -c '
mkdir -p /run/containerd
/usr/bin/containerd --config /usr/lib/berth/containerd.toml >/var/log/containerd.log 2>&1 &
/usr/sbin/dockerd -H unix:///var/run/docker.sock --pidfile /var/run/docker.pid \
	--data-root /var/lib/docker --containerd /run/containerd/containerd.sock >/var/log/dockerd.log 2>&1 &
while ! grep -q "API listen on" /var/log/dockerd.log 2>/dev/null; do busybox usleep 10000; done'
echo $((($(date +%s%N) - t0) / 1000000))
EOF
)

for which in before after; do
	host=$(cut -d' ' -f1 "$results/$which" | median)
	sys=$(cut -d' ' -f2 "$results/$which" | median)
	dock=$(cut -d' ' -f3 "$results/$which" | median)
	phase=$(awk '{ print $3 - $2 }' "$results/$which" | median)
	printf 'median %-6s: qemu start -> dockerd ready %6.0f ms; guest system ready %5.2f s, dockerd ready %5.2f s, dockerd phase %5.2f s\n' \
		"$which" "$host" "$sys" "$dock" "$phase"
done
b=$(cut -d' ' -f1 "$results/before" | median)
a=$(cut -d' ' -f1 "$results/after" | median)
phase=$(awk '{ print $3 - $2 }' "$results/after" | median)
echo "ratio after/before (qemu start -> dockerd ready): $(echo "scale=3; $a / $b" | bc)"
echo "floor: the after image's containerd + dockerd natively on this host, exec -> API listen: $native_ms ms"
echo "the guest's dockerd phase over the native start (what TCG costs): $(echo "scale=1; $phase * 1000 / $native_ms" | bc)x"
