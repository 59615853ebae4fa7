#!/bin/sh
# Fetches a Debian kernel image for the boot tests without installing a
# kernel package: apt-get download + dpkg-deb -x into .cache/kernel/.
# Leaves .cache/kernel/vmlinuz. Idempotent: does nothing when it is present.
# Usage: tests/e2e/fetch-kernel.sh [CACHE_DIR]
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:-${MIDWIFE_CACHE:-$repo/.cache}}
dest=$cache/kernel
[ -s "$dest/vmlinuz" ] && exit 0

# Resolve the versioned package (linux-image-6.1.0-NN-amd64) from the
# metapackage's Depends, so apt picks the current one.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
  sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
if [ -z "$pkg" ]; then
  # Fall back to the newest 6.1 image the package lists know.
  pkg=$(apt-cache search --names-only '^linux-image-6\.1[.0-9-]*-amd64$' 2>/dev/null |
    awk '{print $1}' | sort -V | tail -n 1)
fi
if [ -z "$pkg" ]; then
  echo "fetch-kernel: cannot resolve a linux-image-6.1*-amd64 package (try: apt-get update)" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mw-kernel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "fetch-kernel: downloading $pkg"
if ! (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1); then
  # Stale package lists: refresh once and retry (needs root).
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update >/dev/null 2>&1 || true
  fi
  (cd "$tmp" && apt-get download "$pkg") || {
    echo "fetch-kernel: apt-get download $pkg failed" >&2
    exit 1
  }
fi
deb=$(ls "$tmp"/*.deb)
dpkg-deb -x "$deb" "$tmp/x"
img=$(find "$tmp/x/boot" -name "vmlinuz-*" 2>/dev/null | head -n 1)
if [ -z "$img" ]; then
  echo "fetch-kernel: no /boot/vmlinuz-* in $deb" >&2
  exit 1
fi
mkdir -p "$dest"
cp "$img" "$dest/vmlinuz.tmp"
basename "$img" | sed 's/^vmlinuz-//' > "$dest/version"
mv "$dest/vmlinuz.tmp" "$dest/vmlinuz"
echo "fetch-kernel: $dest/vmlinuz ($(cat "$dest/version"))"
