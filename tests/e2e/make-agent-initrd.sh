#!/bin/sh
# Builds the initrd of a booted host for the agent tests (cpio newc, gzip):
# busybox-static, the kernel modules of fetch-kernel.sh (virtio-net, 802.1Q,
# bridge, bonding) and an /init that does what a host's init does before
# midwife-agent runs: mounts, loads the modules, brings the boot NIC up by
# DHCP (udhcpc; not when the command line has midwife.vlan=N, where the
# agent brings up VLAN N with its lease), then starts the agent through its own init script
# (/etc/init.d/midwife-agent, from the agent module midwife appends).
#
# The /init prints MARKER, then "midwife-fact: KEY=VALUE" lines. Its two
# lives (a stateless host's state goes across a reboot):
#   - no /var/lib/lab/life (first boot): once the agent is ready, writes a
#     random word there, prints "midwife-fact: wrote=WORD", stays up LINGER
#     seconds (for the test to reach its interfaces), stops the agent (which
#     saves the state) and reboots (QEMU -no-reboot turns that into an exit);
#   - /var/lib/lab/life present (restored by the agent): prints
#     "midwife-fact: persisted=WORD" and powers off.
# Usage: tests/e2e/make-agent-initrd.sh DEST MARKER MODULES_DIR [LINGER]
set -eu
if [ $# -lt 3 ]; then
  echo "usage: $0 DEST MARKER MODULES_DIR [LINGER_SECONDS]" >&2
  exit 2
fi
dest=$1
marker=$2
mods=$3
linger=${4:-20}
busybox=/bin/busybox
[ -x "$busybox" ] || busybox=/usr/bin/busybox
if ldd "$busybox" >/dev/null 2>&1; then
  echo "make-agent-initrd: $busybox is not static (apt-get install busybox-static)" >&2
  exit 1
fi
[ -s "$mods/order" ] || { echo "make-agent-initrd: no $mods/order (run fetch-kernel.sh)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mw-agent-initrd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
root=$tmp/root
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/etc" \
  "$root/run" "$root/var/lib" "$root/lib/modules" "$root/etc/udhcpc"
cp "$busybox" "$root/bin/busybox"
for a in sh mount umount cat echo ls sleep poweroff reboot uname ip udhcpc insmod tr sed grep head \
  kill mkdir cut date hostname rm cp env ps; do
  ln -s busybox "$root/bin/$a"
done
cp "$mods"/*.ko "$root/lib/modules/"
cp "$mods/order" "$root/lib/modules/order"
printf '%s\n' "$marker" >"$root/etc/marker"
printf '%s\n' "$linger" >"$root/etc/linger"

# udhcpc hands the lease to a script; this one configures the NIC. It sits
# where Debian's busybox looks by default (the agent runs udhcpc without -s).
cat >"$root/etc/udhcpc/default.script" <<'DHCP'
#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    echo "midwife-fact: dhcp=$interface $ip/${mask:-24}"
    ;;
esac
exit 0
DHCP
chmod 755 "$root/etc/udhcpc/default.script"

cat >"$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
con=/dev/console
[ -c /dev/ttyS0 ] && con=/dev/ttyS0
exec >"$con" 2>&1 </dev/null
echo
cat /etc/marker
echo "midwife-fact: cmdline=$(cat /proc/cmdline)"
for m in $(cat /lib/modules/order); do
  # max_bonds=0: no bond0 unless the configuration asks for one.
  args=
  [ "$m" = bonding.ko ] && args=max_bonds=0
  insmod "/lib/modules/$m" $args || echo "midwife-fact: insmod $m failed"
done
ip link set lo up
# The boot NIC: midwife.mac=aa-bb-... on the command line.
bootmac=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^midwife\.mac=//p' | tr 'A-F-' 'a-f:')
nic=
i=0
while [ -z "$nic" ] && [ $i -lt 50 ]; do
  for n in /sys/class/net/*; do
    [ "$(cat "$n/address" 2>/dev/null)" = "$bootmac" ] && nic=${n##*/}
  done
  [ -n "$nic" ] || sleep 0.2
  i=$((i + 1))
done
echo "midwife-fact: bootnic=$nic $bootmac"
if [ -n "$nic" ]; then
  ip link set "$nic" up
  i=0
  while [ "$(cat "/sys/class/net/$nic/operstate" 2>/dev/null)" != up ] && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  # A host managed over a tagged VLAN (midwife.vlan=) gets its address
  # there, from the agent; the native VLAN was for the PXE boot only.
  if grep -q 'midwife\.vlan=[1-9]' /proc/cmdline; then
    echo "midwife-fact: dhcp=left to the agent (management VLAN)"
  else
    udhcpc -i "$nic" -n -q -t 10 -T 2 -s /etc/udhcpc/default.script || echo "midwife-fact: dhcp failed"
  fi
fi

if [ ! -x /etc/init.d/midwife-agent ]; then
  echo "midwife-fact: no agent in this initrd"
  echo "midwife-fact: done"
  poweroff -f
fi
/etc/init.d/midwife-agent start
# Ready: the agent writes its runtime file once it reported ready.
i=0
while [ ! -f /run/midwife/agent.json ] && [ $i -lt 600 ]; do
  pid=$(cat /run/midwife-agent.pid 2>/dev/null)
  if [ $i -gt 50 ] && [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.5
  i=$((i + 1))
done
if [ -f /run/midwife/agent.json ]; then
  echo "midwife-fact: agent=ready"
else
  echo "midwife-fact: agent=not-ready"
fi
echo "midwife-fact: hostname=$(hostname)"
sed 's/^/midwife-fact: resolv /' /etc/resolv.conf 2>/dev/null
ip -o -4 addr show | sed 's/^/midwife-fact: addr /'
# busybox ip has no -d: the VLANs come from the kernel's own table.
ip -o link show | grep -o '^[0-9]*: [^:]*\|master [^ ]*' | sed 's/^/midwife-fact: link /'
sed 1,2d /proc/net/vlan/config 2>/dev/null | sed 's/^/midwife-fact: vlan /'
if [ -f /var/lib/lab/life ]; then
  echo "midwife-fact: persisted=$(cat /var/lib/lab/life)"
  echo "midwife-fact: done"
  /etc/init.d/midwife-agent stop
  poweroff -f
fi
mkdir -p /var/lib/lab
word=$(cat /proc/sys/kernel/random/uuid)
echo "$word" >/var/lib/lab/life
echo "midwife-fact: wrote=$word"
sleep "$(cat /etc/linger)"
/etc/init.d/midwife-agent stop
echo "midwife-fact: done"
sleep 1
reboot -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 >"$tmp/initrd.gz"
mkdir -p "$(dirname "$dest")"
mv "$tmp/initrd.gz" "$dest"
