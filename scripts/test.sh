#!/usr/bin/env bash
# Sets up the machine and runs every test tier of Berth. CI runs exactly this (.ci/run).
#   tier 0: formatting and lints (cargo fmt, clippy -D warnings, the layers, svelte-check)
#   tier 1: pure logic          cargo test --lib --bins, tests/unit_*.rs (and the UI's vitest)
#   tier 2: engine              tests/engine_*.rs against a private dockerd the harness starts
#   tier 3: VM                  tests/vm_*.rs: the real guest under QEMU
#   tier 4: UI                  tests/ui_*.rs: the real app under Xvfb via tauri-driver
#   package:                    the .deb built, installed with dpkg -i, checked, removed
# A tier whose dependency is missing fails; nothing is skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

"$here/scripts/setup.sh"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# A full run builds every tier once; incremental caches only cost disk here.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Engine and VM tests start daemons and VMs; two at a time is what this size of machine holds.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-2}"

# The app embeds the built UI: build it before anything compiles the app.
if [ -f ui/package.json ]; then
  (cd ui && npm run --silent build)
fi

tiers="${*:-lint unit engine vm ui package}"
start=$(date +%s)
# Each step says how much disk is left and how big target/ is, so a full disk names itself.
disk() {
  local free used
  free=$(df -Pk . | awk 'NR == 2 { printf "%.1f GiB", $4 / 1048576 }')
  used=$(du -sk target 2>/dev/null | awk '{ printf "%.1f GiB", $1 / 1048576 }')
  printf 'disk: %s free, target/ %s' "$free" "${used:-0 GiB}"
}
step() { printf '\n=== %s (%ss; %s)\n' "$*" "$(( $(date +%s) - start ))" "$(disk)"; }

for tier in $tiers; do
  case "$tier" in
    lint)
      step "tier 0: fmt + clippy"
      cargo fmt --all -- --check
      cargo clippy --workspace --all-targets --locked -- -D warnings
      step "tier 0: the layers (the shells over berth-api; the app without the VM stack)"
      cargo test --workspace --locked --test 'lint_*'
      if [ -f ui/package.json ]; then
        step "tier 0: svelte-check"
        (cd ui && npm run --silent check)
      fi
      ;;
    unit)
      step "tier 1: unit tests"
      cargo test --workspace --locked --lib --bins
      # Pure checks that run a binary on files (no engine, no VM): tests/unit_*.rs.
      cargo test --workspace --locked --test 'unit_*'
      if [ -f ui/package.json ]; then
        step "tier 1: UI component tests"
        (cd ui && npm run --silent test)
      fi
      ;;
    engine)
      step "tier 2: engine tests (real dockerd)"
      cargo test --workspace --locked --test 'engine_*'
      ;;
    vm)
      step "tier 3: VM tests (guest under QEMU)"
      cargo test --workspace --locked --test 'vm_*'
      ;;
    ui)
      step "tier 4: UI tests (real app under Xvfb)"
      cargo test --workspace --locked --test 'ui_*'
      ;;
    package)
      step "package: the .deb, installed and removed"
      # The package of the debug binaries the other tiers built: the same files and layout as
      # a release .deb, without a second, 30-minute release build on a 2-core machine.
      cargo build --locked -p berth-cli -p berth-hub -p berth-agent -p berth-app --bins
      vm-image/build.sh --arch x86_64
      deb=$(BERTH_DEB_PROFILE=debug BERTH_DEB_COMPRESS=zstd installer/build-deb.sh --no-build | tail -n 1)
      installer/test-deb.sh "$deb"
      ;;
    *)
      echo "test.sh: unknown tier '$tier' (lint unit engine vm ui package)" >&2
      exit 2
      ;;
  esac
done
step "all tiers passed: $tiers"
