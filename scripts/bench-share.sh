#!/bin/bash
# Shared-folder benchmark, side by side in one run: sequential write and read throughput of a
# bind mount and an untar of many small files, through each sharing method vs. the VM's own
# disk (a named volume), all measured inside a container on a real Berth VM.
#
#   scripts/bench-share.sh [--methods "9p virtiofs"] [--mib 256] [--files 5000]
#
# Needs: a built `berth` (target/debug, else `cargo build -p berth-cli`), the guest image
# (vm-image/build.sh, cached; or BERTH_VM_IMAGE_DIR), the release agent (or BERTH_AGENT_BIN),
# qemu, the docker CLI, busybox-static; virtiofs also needs virtiofsd (BERTH_VIRTIOFSD or PATH).
# Every VM it starts is stopped again (by `berth stop --quit`, then by pid).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
methods="9p virtiofs"
mib=256
files=5000
while [ $# -gt 0 ]; do
	case "$1" in
	--methods) methods=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--files) files=$2; shift 2 ;;
	*) echo "usage: $0 [--methods \"9p virtiofs\"] [--mib N] [--files N]" >&2; exit 2 ;;
	esac
done

berth=${BERTH_BIN:-$here/target/debug/berth}
[ -x "$berth" ] || (cd "$here" && cargo build -q -p berth-cli)
export BERTH_VM_IMAGE_DIR=${BERTH_VM_IMAGE_DIR:-$here/vm-image/out/x86_64}
[ -n "${BERTH_VM_IMAGE_DIR_READY:-}" ] || bash "$here/vm-image/build.sh" --out "$BERTH_VM_IMAGE_DIR" >&2
if [ -z "${BERTH_AGENT_BIN:-}" ]; then
	(cd "$here" && cargo build -q --release -p berth-agent)
	export BERTH_AGENT_BIN=$here/target/release/berth-agent
fi

work=$(mktemp -d /tmp/berth-bench-share.XXXXXX)
current_home=""
stop_berth() {
	[ -n "$current_home" ] || return 0
	local qemu daemon
	qemu=$(BERTH_HOME=$current_home "$berth" status --json 2>/dev/null |
		sed -n 's/.*"vm":{[^}]*"pid":\([0-9]*\).*/\1/p' | head -1)
	daemon=$(cat "$current_home/run/daemon.lock" 2>/dev/null || true)
	BERTH_HOME=$current_home "$berth" stop --quit >/dev/null 2>&1 || true
	for pid in $qemu $daemon; do
		[ -d "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null || true
	done
	current_home=""
}
cleanup() {
	stop_berth
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# The small-file tree: $files files of 1 KiB in 50 directories, as one tar.
mkdir -p "$work/tree"
for ((i = 0; i < files; i++)); do
	d="$work/tree/d$((i % 50))"
	[ -d "$d" ] || mkdir "$d"
	head -c 1024 /dev/urandom >"$d/f$i"
done
tar -C "$work/tree" -cf "$work/small.tar" .
rm -rf "$work/tree"

# A busybox-static image with PATH=/bin.
mkdir -p "$work/bb/bin" "$work/bb/tmp"
cp /bin/busybox "$work/bb/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/bb/bin/$a"; done
tar -C "$work/bb" -cf "$work/busybox.tar" .

# Runs in the container: prints "write <s>", "read <s>", "untar <s>" for the folder /t.
# /proc/uptime has 10 ms resolution; every step takes seconds. The read follows a guest page
# cache drop, so a volume's read is not served from memory.
bench_script='
t() { read -r up _ </proc/uptime; echo "$up"; }
cat >/tmp/small.tar
s=$(t); dd if=/dev/zero of=/t/big bs=1M count='"$mib"' conv=fsync 2>/dev/null; e=$(t); echo "write $s $e"
sync; echo 3 >/proc/sys/vm/drop_caches
s=$(t); dd if=/t/big of=/dev/null bs=1M 2>/dev/null; e=$(t); echo "read $s $e"
rm -f /t/big
mkdir -p /t/untar
s=$(t); tar -xf /tmp/small.tar -C /t/untar; sync; e=$(t); echo "untar $s $e"
rm -rf /t/untar
'

results=()
# measure LABEL MOUNT: one row of the table.
measure() {
	local label=$1 mount=$2 line w r u
	local out
	out=$(docker --context berth run --rm -i --privileged -v "$mount:/t" berth-bench/busybox:1 \
		sh -c "$bench_script" <"$work/small.tar")
	secs() { echo "$out" | awk -v k="$1" '$1 == k { printf "%.2f", $3 - $2 }'; }
	w=$(secs write) r=$(secs read) u=$(secs untar)
	line=$(awk -v l="$label" -v m="$mib" -v w="$w" -v r="$r" -v u="$u" -v f="$files" 'BEGIN {
		printf "%-28s %10.1f %10.1f %12.2f %10.0f", l, m / w, m / r, u, f / u }')
	results+=("$line")
	echo "$line" >&2
}

export DOCKER_CONFIG=$work/docker-config
unset DOCKER_HOST DOCKER_CONTEXT
volume_done=0
for method in $methods; do
	current_home=$work/home-$method
	share=$work/share-$method
	mkdir -p "$current_home/config" "$share"
	chown 1000:1000 "$share"
	echo "shared_folders = [\"$share\"]" >"$current_home/config/settings.toml"
	echo "bench-share: starting Berth with a $method share" >&2
	BERTH_HOME=$current_home BERTH_SHARE_METHOD=$method "$berth" start >/dev/null
	docker --context berth import --change 'ENV PATH=/bin' "$work/busybox.tar" berth-bench/busybox:1 >/dev/null
	measure "bind mount, $method" "$share"
	if [ "$volume_done" -eq 0 ]; then
		docker --context berth volume create berth-bench >/dev/null
		measure "named volume (VM disk)" berth-bench
		volume_done=1
	fi
	stop_berth
done

echo
echo "Shared folders under $(grep -q -E 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ] && echo KVM || echo TCG), $mib MiB sequential, $files x 1 KiB files untarred"
printf '%-28s %10s %10s %12s %10s\n' "target" "write MB/s" "read MB/s" "untar s" "files/s"
for line in "${results[@]}"; do echo "$line"; done
