#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine, builds Berth, starts its engine (the Docker engine in
# Berth's VM) and opens the dashboard. Without a display it starts the engine and says how to
# use it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

began=$(date +%s)
last=$began
current=""
# Each step says how long the one before took: a first run is mostly compiling.
step() {
  local now
  now=$(date +%s)
  [ -z "$current" ] || echo "launch: done in $((now - last)) s: $current"
  current=$*
  last=$now
  echo "launch: $*"
}

step "setting up this machine (apt packages, Rust, the UI's npm packages)"
BERTH_SETUP_UI_DRIVER=0 "$here/scripts/setup.sh"
export PATH="$HOME/.cargo/bin:$PATH"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

step "building the dashboard UI"
(cd ui && npm run --silent build)
step "building Berth (release)"
cargo build --release --locked -p berth-cli -p berth-agent -p berth-hub
step "building the dashboard app (release-app: built for size)"
cargo build --profile release-app --locked -p berth-app
step "building the guest image (cached after the first time)"
$sudo "$here/vm-image/build.sh"

bin="$here/target/release"
export PATH="$bin:$PATH"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  # The app is a client of Berth's daemon: it starts the engine through it when the setting
  # app.start_engine_at_launch is on (the default), and closing the window leaves it running.
  step "opening the dashboard (closing the window keeps Berth in the tray); $(($(date +%s) - began)) s so far"
  # The app runs `berth daemon` from the CLI's release build.
  BERTH_DAEMON_EXE="$bin/berth" exec "$here/target/release-app/berth-app"
fi
step "starting the engine"
"$bin/berth" start
step "ready, $(($(date +%s) - began)) s in all"
echo
echo "No display here, so no dashboard; the engine runs. Try:"
echo "  docker --context berth run --rm hello-world"
echo "  $bin/berth status"
echo "  $bin/berth stop"
