#!/usr/bin/env bash
# Installs everything Berth needs to build, run and test on a Debian/Ubuntu machine, then checks
# that every command is there, naming the package of any that is not.
#
# apt gets the whole package list every time: it skips what is installed and resolves conflicts
# as a set (installing one package can remove another, e.g. Debian 12's qemu-system-x86 removes
# a qemu-utils from bookworm-backports). Run as root or with sudo available.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

apt_packages=(
  # build
  build-essential pkg-config libssl-dev curl ca-certificates git
  # the engine, its peers for tests, and what the guest image build uses
  docker.io docker-registry docker-compose busybox-static iproute2 iptables socat apache2-utils
  util-linux bsdutils qemu-system-x86 qemu-utils mmdebstrap erofs-utils cpio zstd e2fsprogs
  # virtiofsd's build (shared folders over virtio-fs; Debian 12 has no virtiofsd package)
  libcap-ng-dev libseccomp-dev
  # keyring (Secret Service) for sign-in tests
  gnome-keyring dbus dbus-x11 libdbus-1-dev
  # the dashboard (Tauri 2 on WebKitGTK) and its UI tier
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  xvfb xauth webkit2gtk-driver imagemagick x11-utils
  # the .deb tier
  dpkg-dev jq
  # remote engines' engine tier: an sshd in front of a private dockerd, TLS certs made at test time
  openssh-server openssh-client openssl
  # compiling the macOS and Windows code (scripts/check-cross.sh)
  clang gcc-mingw-w64-x86-64
)
# Node.js may come from elsewhere (nodesource, nvm) and conflict with Debian's npm: take
# Debian's only when there is none.
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)

# Every command Berth, its image build and its tests run, and the package that brings it.
required_commands=(
  cc:build-essential pkg-config:pkg-config curl:curl git:git
  dockerd:docker.io docker:docker.io docker-registry:docker-registry
  docker-compose:docker-compose busybox:busybox-static ip:iproute2 iptables:iptables
  nsenter:util-linux script:bsdutils socat:socat htpasswd:apache2-utils
  qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils
  mmdebstrap:mmdebstrap mkfs.erofs:erofs-utils cpio:cpio zstd:zstd mkfs.ext4:e2fsprogs
  gnome-keyring-daemon:gnome-keyring dbus-run-session:dbus
  Xvfb:xvfb xvfb-run:xvfb xauth:xauth WebKitWebDriver:webkit2gtk-driver
  convert:imagemagick import:imagemagick xwininfo:x11-utils
  dpkg-deb:dpkg dpkg-shlibdeps:dpkg-dev jq:jq
  sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client openssl:openssl
  clang:clang x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64
  node:nodejs npm:npm
)

# The version apt would install for a package ("" when it has none).
candidate() {
  apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2 }'
}

echo "setup: apt packages (apt skips what is installed)"
$sudo apt-get update -q || echo "setup: apt-get update failed; going on with the package lists there are" >&2
# qemu-utils and qemu-system-x86 are built from one source package and only work together at
# one version: ask for qemu-utils at the version of qemu-system-x86 that apt will install (a
# newer qemu-utils from backports breaks that qemu-system-common, and apt would rather refuse).
qemu_version=$(candidate qemu-system-x86)
for i in "${!apt_packages[@]}"; do
  if [ "${apt_packages[$i]}" = qemu-utils ] && [ -n "$qemu_version" ]; then
    apt_packages[$i]="qemu-utils=$qemu_version"
  fi
done
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
  --allow-downgrades "${apt_packages[@]}"

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing Rust (rustup)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
export PATH="$HOME/.cargo/bin:$PATH"
required_commands+=(cargo:rustup)

# Shared folders over virtio-fs (the VM tier tests both it and 9p).
if ! command -v virtiofsd >/dev/null 2>&1 && [ ! -x /usr/libexec/virtiofsd ]; then
  echo "setup: installing virtiofsd (cargo install)"
  cargo install virtiofsd --locked --quiet
fi
required_commands+=(virtiofsd:"virtiofsd (cargo install virtiofsd)")

# The vsock link on QEMU (vm.link = "vsock"; the VM tier runs it): rust-vmm's vhost-user vsock
# device. 0.3.0 builds from crates.io alone (its Cargo.lock pins every dependency there).
if ! command -v vhost-device-vsock >/dev/null 2>&1; then
  echo "setup: installing vhost-device-vsock (cargo install)"
  cargo install vhost-device-vsock --version 0.3.0 --locked --quiet
fi
required_commands+=(vhost-device-vsock:"vhost-device-vsock (cargo install vhost-device-vsock)")

# The UI tier drives the real app through WebKitWebDriver.
if [ "${BERTH_SETUP_UI_DRIVER:-1}" = 1 ]; then
  if ! command -v tauri-driver >/dev/null 2>&1; then
    echo "setup: installing tauri-driver (cargo install)"
    cargo install tauri-driver --locked --quiet
  fi
  required_commands+=(tauri-driver:"tauri-driver (cargo install tauri-driver)")
fi

if [ -f "$here/ui/package.json" ] && [ ! -d "$here/ui/node_modules" ]; then
  echo "setup: installing the UI's npm packages"
  (cd "$here/ui" && npm ci --no-audit --no-fund)
fi

# virtiofsd may live outside the PATH (Debian 13, Fedora): the QEMU backend looks there too.
found() {
  command -v "$1" >/dev/null 2>&1 || { [ "$1" = virtiofsd ] && [ -x /usr/libexec/virtiofsd ]; }
}
missing=()
for entry in "${required_commands[@]}"; do
  cmd=${entry%%:*}
  found "$cmd" || missing+=("$cmd (from ${entry#*:})")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: these commands are still missing after the install:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "setup: every command Berth and its tests need is here"
