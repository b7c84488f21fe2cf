#!/bin/bash
# Idle memory and CPU of the Berth window next to a minimal Tauri 2 window, measured in the
# same run under a private Xvfb: PSS summed over each app and its WebKit processes.
#
#   src-tauri/bench/idle_pss.sh <berth-app binary> <minimal_window binary> [seconds]
#
# Point the app at an engine first (DOCKER_HOST=unix:///...), or it idles in "unreachable".
set -euo pipefail
app=$1 minimal=$2 secs=${3:-60}

tree() { # a pid and all its descendants
  echo "$1"
  for c in $(ps -o pid= --ppid "$1"); do tree "$c"; done
}
pss_kb() { local t=0; for p in $(tree "$1"); do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0); t=$((t + ${v:-0})); done; echo $t; }
ticks() { local t=0; for p in $(tree "$1"); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0); t=$((t + ${v:-0})); done; echo $t; }

exec 3< <(Xvfb -displayfd 1 -screen 0 1280x800x24 -nolisten tcp 2>/dev/null & echo "pid $!")
read -r _ xvfb <&3; read -r display <&3
export DISPLAY=":$display" WEBKIT_DISABLE_DMABUF_RENDERER=1
trap 'kill $xvfb 2>/dev/null' EXIT

measure() { # name binary
  "$2" >/dev/null 2>&1 & local pid=$!
  sleep 15 # start-up: first paint, first engine round trips
  local t0; t0=$(ticks "$pid"); local max=0 sum=0 n=0
  for _ in $(seq 1 "$secs"); do
    local p; p=$(pss_kb "$pid"); sum=$((sum + p)); n=$((n + 1)); [ "$p" -gt "$max" ] && max=$p; sleep 1
  done
  local t1; t1=$(ticks "$pid")
  local hz; hz=$(getconf CLK_TCK)
  echo "$1: mean PSS $((sum / n / 1024)) MiB, max $((max / 1024)) MiB, CPU $(( (t1 - t0) * 1000 / hz / secs / 10 )).$(( (t1 - t0) * 1000 / hz / secs % 10 ))% over ${secs}s"
  kill -- "$pid"; wait "$pid" 2>/dev/null || true
  for p in $(tree "$pid"); do kill "$p" 2>/dev/null || true; done
}
measure minimal "$minimal"
measure berth "$app"
