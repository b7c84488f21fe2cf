#!/usr/bin/env bash
# The .deb tier: build the package, install it with `apt-get install ./berth_*.deb` on this
# machine (which brings its dependencies), check what was installed (berth --version,
# docker-credential-berth version, the guest image against its checksums, first-run setup with
# the stock docker CLI, a missing host tool named by `berth start` and brought back by
# scripts/setup.sh, the app's start under xvfb-run), then dpkg -r and dpkg -P, and check that
# nothing is left behind but the user's data.
#
#   installer/test-deb.sh [PATH.deb]      (no argument: installer/build-deb.sh builds it)
#
# Needs root (dpkg), xvfb-run and xwininfo (x11-utils); the stock docker CLI for the plugin and
# context checks. Fails (never skips) when any of them is missing. Refuses to run when a
# package named berth is already installed, so it never replaces a real install.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pkg=berth
start=$(date +%s)
step() { printf '\n=== deb: %s (%ss)\n' "$*" "$(($(date +%s) - start))"; }
fail() {
  echo "test-deb.sh: FAIL: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root for apt-get and dpkg"
for tool in dpkg xvfb-run xwininfo docker sha256sum jq; do
  command -v "$tool" >/dev/null || fail "$tool is missing"
done
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
  fail "a package named $pkg is installed already; remove it first"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-deb-test.$$.XXXXXX")
installed=0
restore_qemu_utils=0
app_pid=""
xvfb_pid=""
cleanup() {
  local rc=$?
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then kill "$app_pid" 2>/dev/null || true; fi
  if [ -n "$xvfb_pid" ]; then wait "$xvfb_pid" 2>/dev/null || true; fi
  if [ "$restore_qemu_utils" = 1 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-utils >/dev/null 2>&1 || true
  fi
  if [ "$installed" = 1 ]; then dpkg -P "$pkg" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# Waits until "$@" succeeds, for at most $deadline seconds.
wait_until() {
  local deadline=$1
  shift
  local until=$(($(date +%s) + deadline))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$until" ] || return 1
    sleep 0.5
  done
}

deb=${1:-}
if [ -z "$deb" ]; then
  step "build"
  deb=$("$repo/installer/build-deb.sh" | tail -n1) || fail "installer/build-deb.sh failed"
fi
[ -f "$deb" ] || fail "no .deb at $deb"
version=$(dpkg-deb -f "$deb" Version)
echo "package: $deb ($(du -h "$deb" | cut -f1), version $version)"

# Directories like /usr/bin exist already; no file of the package may, and what existed
# before is what may stay after the purge.
mapfile -t listed < <(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep -v '^/\?$')
for path in "${listed[@]}"; do
  if [ -e "$path" ] || [ -L "$path" ]; then
    [ -d "$path" ] || fail "$path exists before the package is installed"
    echo "$path"
  fi
done >"$work/existed-before"

# A fresh user: own HOME, BERTH_HOME and docker config; PATH as a login shell has it.
user="$work/user"
mkdir -p "$user/home"
as_user() {
  env -i HOME="$user/home" BERTH_HOME="$user/berth" DOCKER_CONFIG="$user/home/.docker" \
    PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="$user/run" LANG=C.UTF-8 "$@"
}
mkdir -p "$user/run" && chmod 0700 "$user/run"

step "apt-get install ./berth.deb (brings what berth start runs)"
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$(realpath "$deb")"
dpkg-query -W -f='${Status}\n' "$pkg" | grep -qx "install ok installed" || fail "dpkg says $(dpkg-query -W -f='${Status}' "$pkg")"
dpkg -V "$pkg" || fail "dpkg -V: installed files differ from the package's md5sums"

step "installed binaries"
got=$(/usr/bin/berth --version)
[ "$got" = "berth $version" ] || fail "berth --version said '$got', want 'berth $version'"
echo "berth --version: $got"
got=$(as_user docker-credential-berth version)
case "$got" in *"$version"*) ;; *) fail "docker-credential-berth version said '$got'" ;; esac
echo "docker-credential-berth version: $got"
[ "$(as_user sh -c "command -v berth")" = /usr/bin/berth ] || fail "berth is not on the PATH from /usr/bin"
/usr/lib/berth/docker-compose docker-cli-plugin-metadata | jq -e '.SchemaVersion == "0.1.0"' >/dev/null ||
  fail "the compose plugin does not answer the docker CLI handshake"
[ "$(head -c4 /usr/bin/berth-agent | tail -c3)" = ELF ] || fail "berth-agent is not an executable"

step "guest image against image.json's checksums"
image=/usr/share/berth/vm-image/x86_64
for f in $(jq -r '.sha256 | keys[]' "$image/image.json"); do
  want=$(jq -r --arg f "$f" '.sha256[$f]' "$image/image.json")
  echo "$want  $image/$f" | sha256sum -c --quiet - || fail "$image/$f does not match image.json"
done
echo "$(jq -r '.sha256 | length' "$image/image.json") files match"

step "first-run setup (berth setup) and the stock docker CLI"
as_user berth setup | tee "$work/setup.out"
host=$(jq -r '.Endpoints.docker.Host' "$user/home/.docker/contexts/meta/"*/meta.json)
case "$host" in "unix://$user/berth/"*) ;; *) fail "the berth context points at '$host'" ;; esac
as_user docker context ls --format '{{.Name}} {{.DockerEndpoint}}' | grep -qx "berth $host" ||
  fail "docker context ls does not list the berth context"
if [ -e /usr/local/libexec/docker/cli-plugins/docker-compose ] || [ -e /usr/libexec/docker/cli-plugins/docker-compose ] ||
  [ -e /usr/local/lib/docker/cli-plugins/docker-compose ] || [ -e /usr/lib/docker/cli-plugins/docker-compose ]; then
  echo "a system compose plugin is installed: setup leaves it in charge"
else
  [ "$(readlink "$user/home/.docker/cli-plugins/docker-compose")" = /usr/lib/berth/docker-compose ] ||
    fail "setup did not link the compose plugin"
  got=$(as_user docker compose version)
  [ "$got" = "Berth Compose version v$version" ] || fail "docker compose version said '$got'"
  echo "docker compose version: $got"
fi
grep -q "berth is on the PATH: /usr/bin/berth" "$work/setup.out" || fail "setup did not find berth on the PATH"
[ ! -e "$user/home/.local/bin/berth" ] || fail "setup linked berth although /usr/bin has it"

step "a missing host tool: berth start names it, scripts/setup.sh brings it back"
# What a newcomer met: a qemu-utils removed behind Berth's back (here by hand; on Debian 12 by
# installing qemu-system-x86 over a qemu-utils from backports).
qemu_img=$(command -v qemu-img) || fail "apt-get install did not bring qemu-img"
restore_qemu_utils=1
dpkg -r --force-depends qemu-utils >/dev/null
[ ! -e "$qemu_img" ] || fail "qemu-img is still there after removing qemu-utils"
if as_user berth start >"$work/start.out" 2>&1; then fail "berth start succeeded without qemu-img"; fi
cat "$work/start.out"
grep -q "qemu-img not found: install the qemu-utils package" "$work/start.out" ||
  fail "berth start did not name the missing tool"
grep -q "os error" "$work/start.out" && fail "berth start showed a raw OS error"
as_user berth stop --quit >/dev/null
BERTH_SETUP_UI_DRIVER=0 "$repo/scripts/setup.sh" >"$work/setup-again.out" 2>&1 ||
  fail "scripts/setup.sh failed: $(tail -20 "$work/setup-again.out")"
restore_qemu_utils=0
[ -x "$qemu_img" ] || fail "scripts/setup.sh did not bring qemu-img back"
dpkg -s berth >/dev/null 2>&1 && apt-get check -q >/dev/null || fail "dependencies are broken after setup"
echo "qemu-img is back: $("$qemu_img" --version | head -n1)"

step "the app starts under xvfb-run"
# The window only: with its default settings the app would start the engine through Berth's
# daemon (booting the VM), which this tier does not test and which would outlive the app.
as_user berth settings set app.start_engine_at_launch false
display=$((90 + $$ % 400))
# xvfb-run starts the X server and stops it when the app ends; the app's PID goes to a file
# so the test stops it by PID.
as_user WEBKIT_DISABLE_DMABUF_RENDERER=1 WEBKIT_DISABLE_COMPOSITING_MODE=1 LIBGL_ALWAYS_SOFTWARE=1 \
  xvfb-run -n "$display" -f "$work/Xauthority" -s "-screen 0 1280x800x24 -nolisten tcp" \
  dbus-run-session -- sh -c 'echo $$ >"$0"; exec /usr/bin/berth-app' "$work/app.pid" \
  >"$work/app.log" 2>&1 &
xvfb_pid=$!
wait_until 30 test -s "$work/app.pid" || fail "the app did not start: $(cat "$work/app.log")"
app_pid=$(cat "$work/app.pid")
window() {
  XAUTHORITY="$work/Xauthority" xwininfo -display ":$display" -root -tree | grep -q '"Berth"'
}
wait_until 90 window || fail "no Berth window appeared within 90 s: $(tail -20 "$work/app.log")"
kill -0 "$app_pid" || fail "the app exited: $(tail -20 "$work/app.log")"
echo "the Berth window is up (pid $app_pid, display :$display)"
kill "$app_pid"
wait_until 30 sh -c "! kill -0 $app_pid" || fail "the app did not stop on SIGTERM"
wait "$xvfb_pid" 2>/dev/null || true
xvfb_pid=""
app_pid=""

step "berth setup --undo keeps the user's data"
echo "settings" >"$user/berth/marker-user-data"
as_user berth setup --undo
[ ! -e "$user/home/.docker/cli-plugins/docker-compose" ] || fail "undo left the plugin link"
as_user docker context ls --format '{{.Name}}' | grep -qx berth && fail "undo left the berth context"
[ -f "$user/berth/marker-user-data" ] || fail "undo deleted the user's data"
as_user berth setup >/dev/null # set up again, to see what removing the package leaves

step "no Berth process is left running"
for exe in /proc/[0-9]*/exe; do
  case "$(readlink "$exe" 2>/dev/null)" in /usr/bin/berth* | /usr/lib/berth/*)
    fail "process ${exe//[!0-9]/} still runs $(readlink "$exe")" ;;
  esac
done

step "dpkg -r, then dpkg -P"
dpkg -r "$pkg"
for path in /usr/bin/berth /usr/bin/berth-app /usr/bin/docker-credential-berth /usr/lib/berth /usr/share/berth; do
  [ ! -e "$path" ] || fail "dpkg -r left $path"
done
dpkg -P "$pkg"
installed=0
dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "installed\|config-files" && fail "dpkg still knows $pkg"
ls /var/lib/dpkg/info/"$pkg".* 2>/dev/null && fail "dpkg -P left its bookkeeping"

step "nothing left behind but the user's data"
left=()
for path in "${listed[@]}"; do
  if { [ -e "$path" ] || [ -L "$path" ]; } && ! grep -qxF "$path" "$work/existed-before"; then left+=("$path"); fi
done
[ ${#left[@]} = 0 ] || fail "left behind: ${left[*]}"
[ -f "$user/berth/marker-user-data" ] || fail "removing the package deleted the user's data"
echo "the user's data is kept: $user/berth"

step "passed"
