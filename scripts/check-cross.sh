#!/usr/bin/env bash
# Compiles Berth's macOS and Windows code on this Linux machine: `cargo clippy` (a `cargo check`
# plus lints) of the libraries, binaries and tests for x86_64-pc-windows-gnu and
# aarch64-apple-darwin. Nothing is linked, so no Windows or macOS SDK is needed; only C code in
# dependencies (ring, under rustls) is compiled: by MinGW's gcc for Windows, and by clang for
# macOS against a one-line stub of the single Apple SDK header ring includes
# (TargetConditionals.h), freestanding. Those objects are never linked or run.
#
# What this proves: every cfg(windows) / cfg(target_os = "macos") line type-checks and is
# lint-clean. What it cannot: that any of it runs (that takes a Mac and a Windows machine).
#
# The app (src-tauri) is checked too, its library and binary: its tests are the UI tier, which
# drives WebKitGTK under Xvfb (Linux). It embeds the built UI: run `npm run build` in ui/ first
# (scripts/test.sh does). On Windows tauri-build embeds an .ico the bundle config names
# (installer/tauri.windows.conf.json); TAURI_CONFIG names it here as `tauri build` would.
#
# Needs: rustup with the two targets (added here: rustup must reach its download server), clang
# and gcc-mingw-w64-x86-64 (scripts/setup.sh installs them). Not part of scripts/test.sh: the CI
# machine's only promised registries are crates.io, PyPI, Debian and npm, and a rustup target is
# none of those. Run it by hand before a release (and the bundles workflow builds both for real).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

targets=${BERTH_CROSS_TARGETS:-"x86_64-pc-windows-gnu aarch64-apple-darwin"}
crates=(berth-core berth-engine berth-link berth-vm berth-daemon berth-api berth-cli
  berth-hub berth-compose berth-testkit berth-installer)

for tool in clang x86_64-w64-mingw32-gcc; do
  command -v "$tool" >/dev/null || {
    echo "check-cross: $tool is missing (scripts/setup.sh installs it)" >&2
    exit 1
  }
done
# shellcheck disable=SC2086 # one word per target
rustup target add $targets

# A stable path: the C flags are part of ring's build fingerprint.
stub="${CARGO_TARGET_DIR:-$here/target}/berth-sdkstub"
mkdir -p "$stub"
[ -f "$stub/TargetConditionals.h" ] || cat >"$stub/TargetConditionals.h" <<'EOF'
/* Stub of the Apple SDK header: only so ring's C code compiles for `cargo check`. */
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
EOF
apple_cflags="-ffreestanding -DRING_CORE_NOSTDLIBINC -I$stub"
export CC_aarch64_apple_darwin=clang CFLAGS_aarch64_apple_darwin="$apple_cflags"
export CC_x86_64_apple_darwin=clang CFLAGS_x86_64_apple_darwin="$apple_cflags"

pkgs=()
for c in "${crates[@]}"; do pkgs+=(-p "$c"); done
for t in $targets; do
  echo "check-cross: $t"
  cargo clippy --locked --target "$t" --lib --bins --tests "${pkgs[@]}" -- -D warnings
  TAURI_CONFIG='{"bundle":{"icon":["icons/32x32.png","icons/128x128.png","icons/icon.png","../installer/icons/icon.ico"]}}' \
    cargo clippy --locked --target "$t" --lib --bins -p berth-app -- -D warnings
done
