#!/usr/bin/env bash
# Builds Berth's .deb: the app, `berth`, `docker-credential-berth`, the compose plugin, the
# guest agent and the guest image, in the layout installer/tauri.linux.conf.json describes
# (the same file `cargo tauri build --bundles deb --config ../installer/tauri.linux.conf.json`
# reads, so the two ways agree). Prints the .deb's path last.
#
#   installer/build-deb.sh [--out DIR] [--no-build] [--ui]
#
#   --out DIR    where the .deb goes (default: $CARGO_TARGET_DIR/debian, else target/debian)
#   --no-build   package what is already built (release binaries, ui/dist, vm-image/out)
#   --ui         rebuild the dashboard (ui/dist) even when it exists
#
# Environment: CARGO_TARGET_DIR (default <repo>/target), BERTH_DEB_COMPRESS (dpkg-deb -Z:
# xz, zstd, gzip; default xz, readable by every dpkg), BERTH_DEB_PROFILE (release; `debug`
# packages debug binaries with --no-build, for trying the packaging quickly), BERTH_DEB_IMAGE_DIR
# (the x86_64 guest image to build and ship; default vm-image/out/x86_64).
# Needs cargo, npm (for ui/), dpkg-deb, dpkg-shlibdeps (dpkg-dev), jq; building the guest
# image needs what vm-image/build.sh needs (root, mmdebstrap, erofs-utils).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
config="$repo/installer/tauri.linux.conf.json"
app_config="$repo/src-tauri/tauri.conf.json"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
profile=${BERTH_DEB_PROFILE:-release}
image_dir=${BERTH_DEB_IMAGE_DIR:-$repo/vm-image/out/x86_64}
out=""
build=1
ui=0

die() {
  echo "build-deb.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
  --out) out=${2:?--out needs a directory}; shift 2 ;;
  --no-build) build=0; shift ;;
  --ui) ui=1; shift ;;
  -h | --help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument $1" ;;
  esac
done
out=${out:-$target_dir/debian}
for tool in jq dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install jq dpkg-dev)"
done

start=$(date +%s)
step() { printf '== %s (%ss)\n' "$*" "$(($(date +%s) - start))" >&2; }

# 1. Build what goes in (its output to stderr: stdout is the .deb's path).
if [ "$build" = 1 ]; then
  {
    if [ "$ui" = 1 ] || [ ! -f "$repo/ui/dist/index.html" ]; then
      step "dashboard (ui/dist)"
      [ -d "$repo/ui/node_modules" ] || (cd "$repo/ui" && npm ci --no-audit --no-fund)
      (cd "$repo/ui" && npm run build)
    fi
    [ "$profile" = release ] || die "BERTH_DEB_PROFILE=$profile needs --no-build"
    step "release binaries ($target_dir/release)"
    (cd "$repo" && cargo build --release --locked \
      -p berth-cli -p berth-hub -p berth-agent --bins &&
      cargo build --profile release-app --locked -p berth-app --bins) ||
      die "the release build failed"
    # Cached by a hash of its inputs: a no-op when the image is up to date.
    step "guest image (vm-image/build.sh)"
    "$repo/vm-image/build.sh" --arch x86_64 --out "$image_dir" ||
      die "vm-image/build.sh failed (exit $?)"
  } >&2
fi

# 2. Stage the package tree from the config's file map.
name=berth
version=$(jq -r .version "$app_config")
arch=$(dpkg --print-architecture)
[ "$arch" = amd64 ] || die "the Linux bundle config ships the x86_64 guest; this is $arch"
stage=$(mktemp -d "${TMPDIR:-/tmp}/berth-deb.$$.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
mkdir -p "$root/DEBIAN"

# Config paths are relative to src-tauri/; build products follow CARGO_TARGET_DIR.
source_path() {
  case "$1" in
  ../target/release/*) echo "$target_dir/$profile/${1#../target/release/}" ;;
  ../target/*) echo "$target_dir/${1#../target/}" ;;
  ../vm-image/out/x86_64/*) echo "$image_dir/${1#../vm-image/out/x86_64/}" ;;
  /*) echo "$1" ;;
  *) echo "$repo/src-tauri/$1" ;;
  esac
}

step "staging"
# The app is built for size (profile release-app) in a release package.
app_profile=$profile
[ "$profile" != release ] || app_profile=release-app
install -D -m 0755 "$target_dir/$app_profile/berth-app" "$root/usr/bin/berth-app"
while IFS=$'\t' read -r dest src; do
  from=$(source_path "$src")
  [ -f "$from" ] || die "$from is missing (for $dest); build it or drop --no-build"
  case "$dest" in
  /usr/bin/* | /usr/lib/berth/*) mode=0755 ;;
  *) mode=0644 ;;
  esac
  install -D -m "$mode" "$from" "$root$dest"
done < <(jq -r '.bundle.linux.deb.files | to_entries[] | "\(.key)\t\(.value)"' "$config")

# The desktop entry from the same template Tauri renders; icons in the hicolor theme.
product=$(jq -r .productName "$app_config")
comment=$(jq -r .bundle.shortDescription "$config")
template=$(source_path "$(jq -r .bundle.linux.deb.desktopTemplate "$config")")
mkdir -p "$root/usr/share/applications"
sed -e "s|{{name}}|$product|" -e "s|{{comment}}|$comment|" -e "s|{{exec}}|berth-app|" \
  -e "s|{{icon}}|berth-app|" -e "s|{{categories}}|Development;|" \
  "$template" >"$root/usr/share/applications/berth-app.desktop"
while read -r icon; do
  from=$(source_path "$icon")
  # A PNG's width: bytes 16-19, big-endian.
  size=$(od -An -tu1 -j16 -N4 "$from" | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}')
  install -D -m 0644 "$from" "$root/usr/share/icons/hicolor/${size}x${size}/apps/berth-app.png"
done < <(jq -r '.bundle.icon[] | select(endswith(".png"))' "$config")

# 3. Control data: shared-library dependencies computed from the binaries, plus what the
# engine runs (QEMU) and the tray loads at run time (appindicator).
step "control"
mkdir -p "$stage/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$name" "$name" >"$stage/debian/control"
shlibs=$(cd "$stage" && dpkg-shlibdeps -O -e"$root/usr/bin/berth-app" -e"$root/usr/bin/berth" \
  -e"$root/usr/bin/docker-credential-berth" -e"$root/usr/lib/berth/docker-compose" \
  -e"$root/usr/bin/berth-agent" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
extra=$(jq -r '.bundle.linux.deb.depends | join(", ")' "$config")
size_kib=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: Berth <maintainers@berth.invalid>
Installed-Size: $size_kib
Depends: ${shlibs:+$shlibs, }$extra
Suggests: docker.io | docker-ce-cli
Section: $(jq -r .bundle.linux.deb.section "$config")
Priority: $(jq -r .bundle.linux.deb.priority "$config")
Homepage: $(jq -r .bundle.homepage "$config")
Description: $comment
$(jq -r .bundle.longDescription "$config" | fold -s -w 78 | sed 's/^/ /; s/ *$//')
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  xargs -0 md5sum >DEBIAN/md5sums)

# 4. The archive.
step "dpkg-deb (${BERTH_DEB_COMPRESS:-xz})"
mkdir -p "$out"
deb="$out/${name}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"${BERTH_DEB_COMPRESS:-xz}" --build "$root" "$deb" >/dev/null
step "built $(du -h "$deb" | cut -f1): $deb"
echo "$deb"
