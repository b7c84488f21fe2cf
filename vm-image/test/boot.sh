#!/bin/bash
# Boot the built guest image by hand under QEMU and measure boot-to-dockerd-ready.
#
#   vm-image/test/boot.sh [--image DIR] [--initrd FILE] [--keep] [--data FILE]
#                         [--cmdline-extra "berth.debug loglevel=7"]
#
# Boots DIR (default vm-image/out/x86_64) with the devices berth-vm uses, waits (deadline
# 180 s) for the guest's "dockerd ready" console line, prints host and guest timings, then
# powers the guest off through QMP (ACPI power button) and waits for QEMU to exit; QEMU is
# killed by its PID if it does not. --keep leaves the VM running and prints its PID and dir.
# Exit status is non-zero when dockerd never became ready or the poweroff was not clean.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=${BERTH_VM_IMAGE_DIR:-$here/out/x86_64}
initrd=""
data=""
keep=0
extra=""
while [ $# -gt 0 ]; do
	case "$1" in
	--image) image=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--data) data=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--cmdline-extra) extra=$2; shift 2 ;;
	*) echo "boot.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
initrd=${initrd:-$image/initrd-base.cpio.gz}
cmdline=$(sed -n 's/^  "kernel_cmdline": "\(.*\)",$/\1/p' "$image/image.json")
cmdline="$cmdline${extra:+ $extra}"

dir=$(mktemp -d "${TMPDIR:-/tmp}/berth-boot.$$.XXXXXX")
if [ -z "$data" ]; then
	data=$dir/data.qcow2
	qemu-img create -q -f qcow2 "$data" 20G
fi

qemu_pid=""
stop_qemu() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
}
if [ "$keep" -eq 0 ]; then
	trap stop_qemu EXIT
fi

# Wait until $2 (a grep pattern) is in the console log or $1 seconds pass.
wait_console() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		grep -q "$2" "$dir/console.log" 2>/dev/null && return 0
		kill -0 "$qemu_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

t0=$(date +%s%N)
qemu-system-x86_64 -accel tcg,thread=single,tb-size=256 -m 2048 -smp 2 -machine q35 -nodefaults -no-reboot \
	-display none -kernel "$image/vmlinuz" -initrd "$initrd" -append "$cmdline" \
	-drive if=none,id=root,file="$image/rootfs.erofs",format=raw,readonly=on \
	-device virtio-blk-pci,drive=root,serial=berth-root \
	-drive if=none,id=data,file="$data",format=qcow2 \
	-device virtio-blk-pci,drive=data,serial=berth-data \
	-netdev user,id=net0 -device virtio-net-pci,netdev=net0 \
	-device virtio-serial-pci \
	-chardev socket,id=berthlink,path="$dir/link.sock",server=on,wait=off \
	-device virtserialport,chardev=berthlink,name=berth.link \
	-device virtio-rng-pci -device virtio-balloon-pci,free-page-reporting=on -qmp unix:"$dir/qmp.sock",server=on,wait=off \
	-serial file:"$dir/console.log" </dev/null >"$dir/qemu.out" 2>&1 &
qemu_pid=$!
echo "boot.sh: qemu pid $qemu_pid, dir $dir"

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
if ! wait_console 180 'berth-init: dockerd ready'; then
	echo "boot.sh: dockerd did not become ready; console:" >&2
	cat "$dir/console.log" >&2
	exit 1
fi
echo "boot.sh: host: qemu start -> dockerd ready: $(ms_since "$t0") ms"
grep 'berth-init:' "$dir/console.log"

if [ "$keep" -eq 1 ]; then
	echo "boot.sh: left running: kill $qemu_pid when done (console $dir/console.log, link $dir/link.sock, qmp $dir/qmp.sock)"
	exit 0
fi

# Clean poweroff via the ACPI power button: acpid -> poweroff -> rc.shutdown -> reboot(2).
t1=$(date +%s%N)
printf '{"execute":"qmp_capabilities"}\n{"execute":"system_powerdown"}\n' |
	timeout 5 socat - UNIX-CONNECT:"$dir/qmp.sock" >/dev/null
deadline=$((SECONDS + 60))
while kill -0 "$qemu_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
if kill -0 "$qemu_pid" 2>/dev/null; then
	echo "boot.sh: guest did not power off within 60 s" >&2
	exit 1
fi
echo "boot.sh: powerdown -> qemu exit: $(ms_since "$t1") ms"
rm -rf "$dir"
