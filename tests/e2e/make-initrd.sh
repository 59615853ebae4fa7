#!/bin/sh
# Builds a tiny initrd (cpio newc, gzip) around busybox-static.
# Its /init mounts proc, sys and dev, prints MARKER on the console, prints a
# few facts as "midwife-fact: KEY=VALUE" lines, then powers off. Files that
# other initrd modules (concatenated after this one by the boot loader) put
# under /modules are listed as "midwife-fact: module NAME=CONTENT", sorted.
# Usage: tests/e2e/make-initrd.sh DEST MARKER
# Idempotent: DEST is rebuilt only when missing or built with another MARKER.
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 DEST MARKER" >&2
  exit 2
fi
dest=$1
marker=$2
busybox=/bin/busybox
[ -x "$busybox" ] || busybox=/usr/bin/busybox
if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  # file(1) may be missing: ldd says "not a dynamic executable" for static ones.
  if ldd "$busybox" >/dev/null 2>&1; then
    echo "make-initrd: $busybox is not static (apt-get install busybox-static)" >&2
    exit 1
  fi
fi
stamp="$dest.marker"
# The stamp names the marker and this script's version: editing /init below
# rebuilds cached initrds.
want="$marker $(sha256sum "$0" | cut -c1-16)"
if [ -s "$dest" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mw-initrd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
root=$tmp/root
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/etc"
cp "$busybox" "$root/bin/busybox"
for a in sh mount umount cat echo ls sleep poweroff uname ip ifconfig udhcpc tr sed grep head; do
  ln -s busybox "$root/bin/$a"
done
# The marker goes in a file, not into the script text: no quoting surprises.
printf '%s\n' "$marker" > "$root/etc/marker"
cat > "$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
con=/dev/console
[ -c /dev/ttyS0 ] && con=/dev/ttyS0
exec >"$con" 2>&1 </dev/null
echo
cat /etc/marker
# Facts for the tests; later tests add more lines. One per line, KEY=VALUE.
echo "midwife-fact: kernel=$(uname -r)"
echo "midwife-fact: cmdline=$(cat /proc/cmdline)"
for n in /sys/class/net/*; do
  [ -e "$n/address" ] || continue
  echo "midwife-fact: netdev=${n##*/} $(cat "$n/address")"
done
if [ -d /modules ]; then
  n=0
  for f in /modules/*; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    echo "midwife-fact: module ${f#/modules/}=$(head -c 200 "$f" | tr '\n' ' ')"
  done
  echo "midwife-fact: modules=$n"
fi
echo "midwife-fact: done"
sleep 1
poweroff -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$tmp/initrd.gz"
mkdir -p "$(dirname "$dest")"
mv "$tmp/initrd.gz" "$dest"
printf '%s\n' "$want" > "$stamp"
