#!/usr/bin/env bash
# A host on another subnet boots through a real DHCP relay agent:
#
#   server ns (midwife) ──veth── router ns (dhcrelay, forwarding) ── bridge ── tap ── VM
#     s0 10.99.30.1/24           r0 10.99.30.2/24   rbr0 10.99.31.1/24
#
# The VM (SeaBIOS + Debian's iPXE ROM) broadcasts on its own link; dhcrelay
# forwards to midwife with giaddr 10.99.31.1; midwife picks the relayed
# subnet's pool and options by giaddr and answers the relay; the script,
# kernel and initrd come over HTTP from the server address the VM reaches
# through its router. Asserts: the marker; the lease is in the relayed
# pool and records the relay's giaddr; the VM's iPXE was told the relayed
# subnet's router; the script URL and files came from 10.99.30.1; the
# script carried a boot token (the lease is midwife's, relayed or not).
#
# Usage: tests/e2e/test_relay_vm.sh MIDWIFE_BINARY
#   VM_TIMEOUT=SECONDS: how long the boot may take (default 300).
set -u
export E2E_NAME=relay_vm
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")
VM_TIMEOUT=${VM_TIMEOUT:-300}
MARKER="midwife-e2e: relayed boot"
MAC=52:54:00:6d:7b:01
CMDLINE="console=ttyS0,115200 panic=-1 quiet loglevel=3"

e2e_init
need_cmd qemu-system-x86_64 sqlite3 busybox cpio gzip apt-get dpkg-deb dhcrelay
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

NS_S=$(ns_name rvs)
NS_R=$(ns_name rvr)
SRV=10.99.30.1
T=$E2E_TMP
mkdir -p "$T/tftp" "$T/state" "$T/img"
printf 'not a boot file\n' >"$T/tftp/README"
# The kernel and the marker initrd (lib.sh; its boot.ipxe goes unused).
boot_files "$T/img" "$MARKER"

ns_create "$NS_S"
ns_create "$NS_R"
ns_veth "$NS_S" s0 "$NS_R" r0 "$SRV/24" 10.99.30.2/24
ns_bridge "$NS_R" rbr0 10.99.31.1/24
ns_tap "$NS_R" mwtrtap0 rbr0
ip -n "$NS_S" route add 10.99.31.0/24 via 10.99.30.2
nsx "$NS_R" sysctl -qw net.ipv4.ip_forward=1

cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = s0

; Only reachable through the relay: chosen by giaddr.
[subnet relayed]
network = 10.99.31.0/24
range = 10.99.31.100-10.99.31.120
router = 10.99.31.1
lease_time = 10m

[tftp]
root = $T/tftp

[http]
port = 80
EOF
midwife_start "$NS_S" "$T/midwife.conf" "$T/server.log"
(cd "$T/img" && with_timeout 60 ip netns exec "$NS_S" "$MIDWIFE" build import relayed "$T/img" -c "$T/midwife.conf" \
  --kind linux --kernel vmlinuz --initrd initrd.gz --cmdline "$CMDLINE" >/dev/null) || fail "build import"
with_timeout 60 ip netns exec "$NS_S" "$MIDWIFE" host set vm-relayed --mac "$MAC" --build relayed \
  -c "$T/midwife.conf" >/dev/null || fail "host set"

bg_start "$NS_R" "$T/dhcrelay.log" dhcrelay -d -4 -pf "$T/dhcrelay.pid" -iu r0 -id rbr0 "$SRV"
relay_up() { grep -q 'Listening on\|Sending on' "$T/dhcrelay.log"; }
wait_for 10 "dhcrelay to start" relay_up || { cat "$T/dhcrelay.log" >&2; fail "dhcrelay did not start"; }
pass "midwife behind dhcrelay (giaddr 10.99.31.1), build and host set"

start=$SECONDS
qemu_start "$NS_R" mwtrtap0 "$MAC" "$T/serial.log"
show_logs() {
  tail -n 40 "$T/serial.log" 2>/dev/null | tr -d '\r' | sed 's/^/  vm| /' >&2
  tail -n 20 "$T/dhcrelay.log" | sed 's/^/  dhcrelay| /' >&2
  tail -n 40 "$T/server.log" | sed 's/^/  server| /' >&2
}
wait_for "$VM_TIMEOUT" "the VM to boot" vm_finished "$T/serial.log" || { show_logs; fail "no boot within ${VM_TIMEOUT}s"; }
grep -aqF "$MARKER" "$T/serial.log" || { show_logs; fail "no marker '$MARKER'"; }
pass "marker on the console after $((SECONDS - start))s"
qemu_wait_exit 60 || { show_logs; fail "the VM did not power off"; }

lease=$(lease_of "$T/state" "$MAC" | head -n 1)
addr=${lease%%|*}
ip_in_range "$addr" 10.99.31.100 10.99.31.120 || fail "the lease ($lease) is not in the relayed pool"
[ "${lease##*|}" = 10.99.31.1 ] || fail "the lease does not record the relay's giaddr: $lease"
tr -d '\r' <"$T/serial.log" | grep -a "gw 10.99.31.1" >/dev/null ||
  { show_logs; fail "iPXE did not get the relayed subnet's router"; }
midwife_log | grep -q "$addr:[0-9]* \"GET /boot/ipxe?mac=" || fail "no script request from $addr"
grep -a "midwife-fact: cmdline=" "$T/serial.log" | grep -q "midwife.url=http://$SRV" ||
  fail "the kernel was not told the server address it reaches through the router"
grep -a "midwife-fact: cmdline=" "$T/serial.log" | grep -Eq 'midwife\.token=[0-9a-f]{16,}' ||
  fail "the script carried no boot token"
pass "lease $addr from the relayed pool (giaddr 10.99.31.1), its router, script and files from $SRV, a boot token"
midwife_stop 10
pass "server stopped cleanly"
