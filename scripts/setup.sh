#!/usr/bin/env bash
# Installs everything Berth needs to build, run and test on a Debian/Ubuntu machine.
# Idempotent: installs only what is missing. Run as root or with sudo available.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

apt_packages=(
  # build
  build-essential pkg-config libssl-dev curl ca-certificates git
  # the engine, its peers for tests, and what the guest image build uses
  docker.io docker-registry docker-compose busybox-static iproute2 iptables socat apache2-utils
  qemu-system-x86 qemu-utils mmdebstrap erofs-utils cpio zstd e2fsprogs
  # virtiofsd's build (shared folders over virtio-fs; Debian 12 has no virtiofsd package)
  libcap-ng-dev libseccomp-dev
  # keyring (Secret Service) for sign-in tests
  gnome-keyring dbus-x11 libdbus-1-dev
  # the dashboard (Tauri 2 on WebKitGTK) and its UI tier
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  xvfb xauth webkit2gtk-driver imagemagick x11-utils
  # the .deb tier
  dpkg-dev jq
  # compiling the macOS and Windows code (scripts/check-cross.sh)
  clang gcc-mingw-w64-x86-64
)
# Node.js may come from elsewhere (nodesource, nvm) and conflict with Debian's npm: take
# Debian's only when there is none.
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing Rust (rustup)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

# Shared folders over virtio-fs (the VM tier tests both it and 9p).
if ! command -v virtiofsd >/dev/null 2>&1 && [ ! -x /usr/libexec/virtiofsd ] \
  && [ ! -x "$HOME/.cargo/bin/virtiofsd" ]; then
  echo "setup: installing virtiofsd"
  cargo install virtiofsd --locked --quiet
fi

# The UI tier drives the real app through WebKitWebDriver.
if [ "${BERTH_SETUP_UI_DRIVER:-1}" = 1 ] && ! command -v tauri-driver >/dev/null 2>&1 \
  && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --locked --quiet
fi

if [ -f "$here/ui/package.json" ] && [ ! -d "$here/ui/node_modules" ]; then
  echo "setup: installing the UI's npm packages"
  (cd "$here/ui" && npm ci --no-audit --no-fund)
fi
