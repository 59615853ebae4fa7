#!/bin/sh
# Fetches a Debian kernel image for the boot tests without installing a
# kernel package: apt-get download + dpkg-deb -x into .cache/kernel/.
# Leaves .cache/kernel/vmlinuz, and in .cache/kernel/modules/ the modules a
# networked test initrd needs (virtio-net, 802.1Q, bridge, bonding) with
# "order", the file names in load order (dependencies first). Idempotent:
# does nothing when both are present.
# Usage: tests/e2e/fetch-kernel.sh [CACHE_DIR]
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:-${MIDWIFE_CACHE:-$repo/.cache}}
dest=$cache/kernel
# Dependencies before their users (modinfo's depends=).
modules="drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko
  drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko
  drivers/virtio/virtio_pci.ko net/core/failover.ko drivers/net/net_failover.ko
  drivers/net/virtio_net.ko net/llc/llc.ko net/802/stp.ko net/802/garp.ko net/802/mrp.ko
  net/8021q/8021q.ko net/bridge/bridge.ko net/tls/tls.ko drivers/net/bonding/bonding.ko"
[ -s "$dest/vmlinuz" ] && [ -s "$dest/modules/order" ] && exit 0

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
if ! (cd "$tmp" && chmod 755 . && apt-get download "$pkg" >/dev/null 2>&1); then
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
mkdir -p "$dest/modules"
kdir=$(dirname "$(find "$tmp/x/lib/modules" -maxdepth 2 -name kernel -type d | head -n 1)")/kernel
: >"$dest/modules/order.tmp"
for m in $modules; do
  f=$(ls "$kdir/$m" "$kdir/$m.xz" 2>/dev/null | head -n 1)
  if [ -z "$f" ]; then
    echo "fetch-kernel: no $m in $deb" >&2
    exit 1
  fi
  cp "$f" "$dest/modules/"
  basename "$f" >>"$dest/modules/order.tmp"
done
mv "$dest/modules/order.tmp" "$dest/modules/order"
cp "$img" "$dest/vmlinuz.tmp"
basename "$img" | sed 's/^vmlinuz-//' > "$dest/version"
mv "$dest/vmlinuz.tmp" "$dest/vmlinuz"
echo "fetch-kernel: $dest/vmlinuz ($(cat "$dest/version"))"
