#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine, builds Berth and launches it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

BERTH_SETUP_UI_DRIVER=0 "$here/scripts/setup.sh"
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --release --locked -p berth-cli
berth="$here/target/release/berth"

echo
echo "Berth is built: $berth"
exec "$berth" status
