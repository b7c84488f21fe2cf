#!/bin/bash
# Build Berth's guest image from Debian packages: a kernel, a read-only erofs root with
# dockerd/containerd/runc, and a tiny stage-1 initrd; plus image.json describing them.
#
#   vm-image/build.sh [--arch x86_64|aarch64] [--out DIR] [--force] [--agent PATH] [--wsl-tar]
#
# The result is cached by a hash of every input (this script, the package and module
# lists, the init files, suite, mirror, snapshot, kernel command line): when the manifest
# in DIR already carries that hash nothing is rebuilt. --agent PATH additionally writes
# DIR/initrd.img = initrd-base.cpio.gz + a cpio holding PATH as /usr/local/bin/berth-agent.
# --wsl-tar also writes DIR/rootfs.tar: the same root as a tarball for `wsl --import` (Windows;
# WSL brings its own kernel and init, /etc/wsl.conf runs /usr/lib/berth/rc.wsl).
#
# Environment: BERTH_VM_IMAGE_DIR (default output dir), BERTH_DEBIAN_MIRROR (else the host's
# apt sources), BERTH_DEBIAN_SNAPSHOT (e.g. 20250520T000000Z: build from snapshot.debian.org),
# SOURCE_DATE_EPOCH (timestamps; default derived from the snapshot or a fixed date).
# Needs root, mmdebstrap, erofs-utils (mkfs.erofs), GNU cpio, gzip, sha256sum.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
suite=trixie
arch=x86_64
out=""
force=0
agent=""
wsl_tar=0

die() {
	echo "build.sh: $*" >&2
	exit 1
}

usage() {
	sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arch=${2:?--arch needs a value}; shift 2 ;;
	--out) out=${2:?--out needs a value}; shift 2 ;;
	--agent) agent=${2:?--agent needs a path}; shift 2 ;;
	--force) force=1; shift ;;
	--wsl-tar) wsl_tar=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done

case "$arch" in
x86_64 | amd64) arch=x86_64 deb_arch=amd64 console=ttyS0 kernel_format=bzImage ;;
aarch64 | arm64) arch=aarch64 deb_arch=arm64 console=ttyAMA0 kernel_format=Image ;;
*) die "unsupported arch: $arch (x86_64 or aarch64)" ;;
esac
out=${out:-${BERTH_VM_IMAGE_DIR:-$here/out/$arch}}

# Kernel command line. quiet/loglevel: every console byte is slow under TCG.
# apparmor=0: the guest has no apparmor_parser, and dockerd refuses to start containers when
# AppArmor is on without its profile. panic=-1: a panic ends the VM instead of hanging it.
kernel_cmdline="console=$console quiet loglevel=3 panic=-1 apparmor=0 mitigations=off berth.root=berth-root"

# --- Mirror: never hard-coded; from the environment or the host's apt sources -------------
host_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		# deb822: the first URIs line of a stanza that is not the security archive.
		uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return 0; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /=/ && $i !~ /\]$/) { if ($i !~ /security/) { print $i; exit } else break } }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return 0; }
	done
	return 1
}

snapshot=${BERTH_DEBIAN_SNAPSHOT:-}
if [ -n "$snapshot" ]; then
	[[ "$snapshot" =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || die "BERTH_DEBIAN_SNAPSHOT must look like 20250520T000000Z"
	mirror=${BERTH_DEBIAN_MIRROR:-http://snapshot.debian.org/archive/debian/$snapshot}
	default_epoch=$(date -u -d "${snapshot:0:4}-${snapshot:4:2}-${snapshot:6:2} ${snapshot:9:2}:${snapshot:11:2}:${snapshot:13:2}" +%s)
else
	mirror=${BERTH_DEBIAN_MIRROR:-$(host_mirror)} || die "no Debian mirror: set BERTH_DEBIAN_MIRROR"
	default_epoch=1735689600 # 2025-01-01T00:00:00Z
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$default_epoch}

# --- Input hash ------------------------------------------------------------------------------
input_files() {
	(cd "$here" && find build.sh packages.txt modules.txt stage1 rootfs -type f -o -type l) | LC_ALL=C sort
}
input_hash() {
	{
		printf 'suite=%s\narch=%s\nmirror=%s\nsnapshot=%s\nepoch=%s\ncmdline=%s\n' \
			"$suite" "$arch" "$mirror" "$snapshot" "$SOURCE_DATE_EPOCH" "$kernel_cmdline"
		input_files | while read -r f; do
			if [ -L "$here/$f" ]; then
				printf '%s -> %s\n' "$f" "$(readlink "$here/$f")"
			else
				printf '%s %s %s\n' "$f" "$(stat -c %a "$here/$f")" "$(sha256sum <"$here/$f" | cut -d' ' -f1)"
			fi
		done
	} | sha256sum | cut -d' ' -f1
}
hash=$(input_hash)
artifacts=(vmlinuz rootfs.erofs initrd-base.cpio.gz)
[ "$wsl_tar" -eq 1 ] && artifacts+=(rootfs.tar)

manifest_hash() {
	sed -n 's/^  "hash": "\([0-9a-f]*\)",$/\1/p' "$out/image.json" 2>/dev/null
}
up_to_date() {
	[ "$force" -eq 0 ] || return 1
	[ "$(manifest_hash)" = "$hash" ] || return 1
	local a
	for a in "${artifacts[@]}"; do [ -s "$out/$a" ] || return 1; done
}

# --- Build -----------------------------------------------------------------------------------
packages() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/packages.txt" | grep -v '^$'; }
modules() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/modules.txt" | grep -v '^$'; }

# Modules stage 1 needs to mount the root: the virtio disk, erofs, overlay (plus dependencies).
stage1_modules=(virtio_blk erofs overlay)

work=""
# Runs as the EXIT trap too: it must succeed when there is nothing to clean, or (under set -e)
# its status becomes the script's and a good build exits 1.
cleanup() {
	if [ -n "$work" ] && [ -d "$work" ]; then
		rm -rf --one-file-system "$work"
	fi
}

# Decompress module $1 (if .xz) and drop its appended signature: verifying ~70 RSA signatures
# is a measurable share of module loading under TCG, and this kernel does not enforce them
# (no secure-boot lockdown with a direct kernel boot). Prints the resulting path.
prepare_module() {
	local f=$1 len size
	case "$f" in *.xz) xz -d "$f"; f=${f%.xz} ;; esac
	if [ "$(tail -c 28 "$f")" = "~Module signature appended~" ]; then
		# struct module_signature (12 bytes, big-endian sig_len last) sits before the magic.
		len=$(tail -c 32 "$f" | head -c 4 | od -An -tu1 | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
		size=$(stat -c %s "$f")
		truncate -s $((size - 40 - len)) "$f"
	fi
	echo "$f"
}

# Paths of the .ko files (relative to the module dir) needed for $@, dependencies first.
module_closure() {
	local kver=$1 m
	shift
	for m in "$@"; do
		chroot "$root" modprobe -d /tmp/kfull -S "$kver" --show-depends "$m" ||
			die "kernel $kver has no module $m"
	done | awk '$1 == "insmod" { print $2 }' |
		sed "s|^/tmp/kfull/lib/modules/$kver/||" | awk '!seen[$0]++'
}

build_rootfs() {
	local inc
	inc=$(packages | paste -sd, -)
	echo "build.sh: mmdebstrap $suite ($deb_arch) from $mirror"
	local aptopts=()
	mkdir -p "$work/debs"
	[ -n "$snapshot" ] && aptopts=(--aptopt='Acquire::Check-Valid-Until "false"')
	mmdebstrap --quiet --variant=essential --arch="$deb_arch" --include="$inc" \
		"${aptopts[@]}" \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/lintian/*' \
		--customize-hook='set -e; export APT_CONFIG="$MMDEBSTRAP_APT_CONFIG";
			k=$(apt-cache depends linux-image-'"$deb_arch"' | awk "/Depends: linux-image-/ { print \$2; exit }");
			[ -n "$k" ]; cd "'"$work/debs"'"; apt-get -q download "$k" 2>&1' \
		"$suite" "$root" "$mirror"
}

# vfkit (Virtualization.framework on Apple silicon) boots only an uncompressed arm64 `Image`
# (the "ARM\x64" magic at offset 0x38, which vfkit checks) and QEMU boots that too, so the
# aarch64 image ships its kernel in that form under the same name. Debian's arm64 package has
# carried a raw Image; a gzip'ed one or an EFI zboot image (MZ ... "zimg") is unpacked here.
arm64_magic() { [ "$(od -An -c -j 56 -N 4 "$1" | tr -d ' ')" = 'ARMd' ]; }
uncompressed_arm64_kernel() {
	local k=$1 offset size comp
	arm64_magic "$k" && return 0
	if [ "$(od -An -tx1 -N 2 "$k" | tr -d ' ')" = 1f8b ]; then
		gzip -dc <"$k" >"$k.raw"
	elif [ "$(head -c 2 "$k")" = MZ ] && [ "$(od -An -c -j 4 -N 4 "$k" | tr -d ' ')" = zimg ]; then
		offset=$(od -An -tu4 -j 8 -N 4 "$k" | tr -d ' ')
		size=$(od -An -tu4 -j 12 -N 4 "$k" | tr -d ' ')
		comp=$(od -An -c -j 24 -N 8 "$k" | tr -d ' \\0')
		case "$comp" in
		gzip) tail -c +$((offset + 1)) "$k" | head -c "$size" | gzip -dc >"$k.raw" ;;
		xz | lzma) tail -c +$((offset + 1)) "$k" | head -c "$size" | xz -dc >"$k.raw" ;;
		zstd) tail -c +$((offset + 1)) "$k" | head -c "$size" | zstd -dc >"$k.raw" ;;
		*) die "the arm64 kernel is an EFI zboot image compressed with $comp" ;;
		esac
	else
		die "the arm64 kernel is neither a raw Image nor gzip nor EFI zboot"
	fi
	mv -f "$k.raw" "$k"
	arm64_magic "$k" || die "the unpacked arm64 kernel is not a raw Image"
	echo "build.sh: unpacked the arm64 kernel to a raw Image (vfkit needs one)"
}

install_kernel() {
	local deb kver rel
	deb=$(ls "$work"/debs/linux-image-*.deb)
	dpkg-deb -x "$deb" "$work/kernel"
	rm -rf "$work/debs"
	kver=$(ls "$work/kernel/usr/lib/modules")
	[ "$(echo "$kver" | wc -l)" -eq 1 ] || die "expected one kernel, found: $kver"
	cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"
	[ "$arch" = aarch64 ] && uncompressed_arm64_kernel "$work/vmlinuz"

	# Resolve dependencies with the guest's own kmod against the full module tree.
	mkdir -p "$root/tmp/kfull/lib"
	mv "$work/kernel/usr/lib/modules" "$root/tmp/kfull/lib/modules"
	chroot "$root" depmod -b /tmp/kfull "$kver"
	local kfull="$root/tmp/kfull/lib/modules/$kver" kdst="$root/usr/lib/modules/$kver"
	mkdir -p "$kdst"
	cp "$kfull"/modules.order "$kfull"/modules.builtin "$kfull"/modules.builtin.modinfo "$kdst/"
	# Shipped uncompressed: erofs lz4 is cheaper to read than xz under TCG.
	module_closure "$kver" $(modules) >"$work/stage2.list"
	while read -r rel; do
		install -D -m 0644 "$kfull/$rel" "$kdst/$rel"
		prepare_module "$kdst/$rel" >/dev/null
	done <"$work/stage2.list"
	mkdir -p "$root/usr/lib/berth"
	modules >"$root/usr/lib/berth/modules.load"

	# Stage 1's modules, in load order, uncompressed for busybox insmod.
	mkdir -p "$work/initrd/lib/modules"
	module_closure "$kver" "${stage1_modules[@]}" >"$work/stage1.list"
	: >"$work/initrd/lib/modules/load.order"
	while read -r rel; do
		local name=${rel##*/} path
		cp "$kfull/$rel" "$work/initrd/lib/modules/$name"
		path=$(prepare_module "$work/initrd/lib/modules/$name")
		echo "${path##*/}" >>"$work/initrd/lib/modules/load.order"
	done <"$work/stage1.list"

	rm -rf "$root/tmp/kfull"
	chroot "$root" depmod "$kver"
	echo "$kver" >"$work/kver"
	echo "build.sh: kernel $kver, $(wc -l <"$work/stage2.list") modules in the root, $(wc -l <"$work/stage1.list") in stage 1"
}

customize_rootfs() {
	# Init files (inittab, rc.sysinit, ...) and static config.
	cp -a "$here/rootfs/." "$root/"
	mkdir -p "$root/sbin" "$root/var/lib/docker" "$root/usr/local/bin" "$root/var/log"
	ln -sf /usr/bin/busybox "$root/sbin/init"
	# containerd ships tools dockerd never runs (~40 MB).
	rm -f "$root"/usr/bin/{ctr,containerd-stress,containerd-shim,containerd-shim-runc-v1}
	rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/*
	rm -f "$root"/etc/machine-id "$root"/var/cache/ldconfig/aux-cache
}

build_initrd() {
	local d="$work/initrd" a
	mkdir -p "$d"/{bin,dev,proc,sys,usr/local/bin}
	cp "$root/usr/bin/busybox" "$d/bin/busybox"
	for a in sh mount insmod cat mkdir cp chmod sleep usleep poweroff switch_root; do
		ln -s busybox "$d/bin/$a"
	done
	install -m 0755 "$here/stage1/init" "$d/init"
	# The kernel opens /dev/console before running /init.
	mknod -m 0600 "$d/dev/console" c 5 1
	write_cpio "$d" "$work/initrd-base.cpio.gz"
	# NUL-pad to a multiple of 4: the kernel only finds an *uncompressed* cpio appended after
	# a compressed one at a 4-byte-aligned offset (it skips NULs between archives).
	local size
	size=$(stat -c %s "$work/initrd-base.cpio.gz")
	head -c $(((4 - size % 4) % 4)) /dev/zero >>"$work/initrd-base.cpio.gz"
}

# A reproducible gzipped newc archive of directory $1.
write_cpio() {
	find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9 -n >"$2"
}

build_erofs() {
	local uuid
	uuid=$(echo "$hash" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
	mkfs.erofs --quiet -zlz4hc,12 -C65536 -T"$SOURCE_DATE_EPOCH" -U"$uuid" \
		"$work/rootfs.erofs" "$root"
}

# The root as a reproducible tarball for `wsl --import` (sorted, clamped times, numeric owners).
build_wsl_tar() {
	tar --create --file "$work/rootfs.tar" --directory "$root" \
		--sort=name --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime \
		--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
		--xattrs --one-file-system .
}

pkg_version() { chroot "$root" dpkg-query -W -f '${Version}' "$1"; }

write_manifest() {
	local kver f sizes="" sums="" wsl=""
	kver=$(cat "$work/kver")
	# The image every platform boots; the WSL tarball (Windows only) has its own entry, so a
	# package that does not ship it still ships an image.json whose files are all there.
	for f in vmlinuz rootfs.erofs initrd-base.cpio.gz; do
		sizes+="    \"$f\": $(stat -c %s "$work/$f"),"$'\n'
		sums+="    \"$f\": \"$(sha256sum <"$work/$f" | cut -d' ' -f1)\","$'\n'
	done
	if [ "$wsl_tar" -eq 1 ]; then
		wsl=$(printf ',\n  "wsl_tar": {\n    "file": "rootfs.tar",\n    "size": %s,\n    "sha256": "%s"\n  }' \
			"$(stat -c %s "$work/rootfs.tar")" "$(sha256sum <"$work/rootfs.tar" | cut -d' ' -f1)")
	fi
	cat >"$work/image.json" <<EOF
{
  "format": 1,
  "hash": "$hash",
  "arch": "$arch",
  "kernel": "vmlinuz",
  "kernel_format": "$kernel_format",
  "initrd": "initrd-base.cpio.gz",
  "rootfs": "rootfs.erofs",
  "kernel_version": "$kver",
  "kernel_cmdline": "$kernel_cmdline",
  "root_disk_serial": "berth-root",
  "data_disk_serial": "berth-data",
  "link_port_name": "berth.link",
  "agent_path": "/usr/local/bin/berth-agent",
  "debian_suite": "$suite",
  "debian_mirror": "$mirror",
  "debian_snapshot": "$snapshot",
  "source_date_epoch": $SOURCE_DATE_EPOCH,
  "docker_version": "$(pkg_version docker.io)",
  "containerd_version": "$(pkg_version containerd)",
  "runc_version": "$(pkg_version runc)",
  "sizes": {
${sizes%,$'\n'}
  },
  "sha256": {
${sums%,$'\n'}
  }$wsl
}
EOF
}

build() {
	[ "$(id -u)" -eq 0 ] || die "run as root (mmdebstrap root mode, chroot, mknod)"
	local t
	for t in mmdebstrap mkfs.erofs cpio gzip xz dpkg-deb sha256sum od truncate; do
		command -v "$t" >/dev/null || die "missing tool: $t"
	done
	local start=$SECONDS
	work=$(mktemp -d "${TMPDIR:-/tmp}/berth-vm-image.XXXXXX")
	trap cleanup EXIT
	root="$work/root"

	build_rootfs
	install_kernel
	customize_rootfs
	build_initrd
	build_erofs
	[ "$wsl_tar" -eq 1 ] && build_wsl_tar
	write_manifest

	mkdir -p "$out"
	rm -f "$out/image.json" # a half-replaced set must not look up to date
	for f in "${artifacts[@]}"; do mv -f "$work/$f" "$out/$f"; done
	mv -f "$work/image.json" "$out/image.json"
	echo "build.sh: built $out in $((SECONDS - start)) s:"
	(cd "$out" && ls -l "${artifacts[@]}" image.json)
	cleanup
	work=""
}

append_agent() {
	[ -f "$agent" ] || die "no agent binary at $agent"
	work=$(mktemp -d "${TMPDIR:-/tmp}/berth-vm-agent.XXXXXX")
	trap cleanup EXIT
	install -D -m 0755 "$agent" "$work/a/usr/local/bin/berth-agent"
	write_cpio "$work/a" "$work/agent.cpio.gz"
	# Linux unpacks concatenated (separately compressed) cpio archives in order.
	cat "$out/initrd-base.cpio.gz" "$work/agent.cpio.gz" >"$out/initrd.img.tmp"
	mv -f "$out/initrd.img.tmp" "$out/initrd.img"
	echo "build.sh: wrote $out/initrd.img (agent $(stat -c %s "$agent") bytes)"
}

if up_to_date; then
	echo "build.sh: $out is up to date (hash $hash)"
else
	build
fi
if [ -n "$agent" ]; then
	append_agent
fi
