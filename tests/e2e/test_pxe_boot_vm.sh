#!/usr/bin/env bash
# Real firmware: a QEMU VM (SeaBIOS + Debian's iPXE ROM on virtio-net) boots
# a Debian kernel and a tiny initrd through midwife's DHCP and TFTP, inside a
# private namespace (bridge + tap). Asserts the initrd's marker on the serial
# console, that the VM powers off, and a bound lease for the VM's MAC.
#
# Usage: tests/e2e/test_pxe_boot_vm.sh MIDWIFE_BINARY
#   E2E_STANDIN=dnsmasq: serve with dnsmasq instead of midwife (to tell a
#   problem of the kernel/initrd/QEMU part from one of midwife's).
#   VM_TIMEOUT=SECONDS: how long the boot may take (default 240).
set -u
export E2E_NAME=pxe_boot_vm
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")
STANDIN=${E2E_STANDIN:-}
VM_TIMEOUT=${VM_TIMEOUT:-240}
MARKER="midwife-e2e: initrd booted"
VM_MAC=52:54:00:6d:77:01

e2e_init
need_cmd qemu-system-x86_64 sqlite3 busybox cpio gzip apt-get dpkg-deb
[ -n "$STANDIN" ] || [ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

NS=$(ns_name vm)
BR=mwtbr0
TAP=mwttap0
T=$E2E_TMP
mkdir -p "$T/tftp" "$T/state"
boot_files "$T/tftp" "$MARKER"

ns_create "$NS"
ns_bridge "$NS" "$BR" 10.99.0.1/24
ns_tap "$NS" "$TAP" "$BR"

cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = $BR

[subnet vm]
network = 10.99.0.0/24
range = 10.99.0.100-10.99.0.120
router = 10.99.0.1
lease_time = 10m

[pxe]
ipxe_script = boot.ipxe

[tftp]
root = $T/tftp
EOF

start=$SECONDS
if [ "$STANDIN" = dnsmasq ]; then
  need_cmd dnsmasq
  log "stand-in: dnsmasq"
  bg_start "$NS" "$T/server.log" dnsmasq --no-daemon --port=0 --conf-file=/dev/null \
    --interface="$BR" --bind-interfaces --dhcp-range=10.99.0.100,10.99.0.120,10m \
    --dhcp-leasefile="$T/state/dnsmasq.leases" --enable-tftp --tftp-root="$T/tftp" \
    --dhcp-boot=boot.ipxe --log-dhcp
  sleep 1
  MIDWIFE_LOG=$T/server.log
else
  midwife_start "$NS" "$T/midwife.conf" "$T/server.log"
fi

qemu_start "$NS" "$TAP" "$VM_MAC" "$T/serial.log"
log "VM started (MAC $VM_MAC), waiting up to ${VM_TIMEOUT}s for the marker"

show_logs() {
  echo "--- serial console (tail)" >&2
  tail -n 40 "$T/serial.log" 2>/dev/null | tr -d '\r' | sed 's/^/  vm| /' >&2
  echo "--- qemu" >&2
  sed 's/^/  qemu| /' "$T/serial.log.qemu" >&2 2>/dev/null
  echo "--- server log (tail)" >&2
  tail -n 60 "$MIDWIFE_LOG" 2>/dev/null | sed 's/^/  server| /' >&2
}

# Done waiting when the marker shows, or early when the boot clearly failed.
gave_up=0
marker_seen() {
  grep -aqF "$MARKER" "$T/serial.log" && return 0
  if vm_console_failed "$T/serial.log" || ! kill -0 "$QEMU_PID" 2>/dev/null; then
    gave_up=1
    return 0
  fi
  return 1
}
if ! wait_for "$VM_TIMEOUT" "the initrd marker on the serial console" marker_seen; then
  show_logs
  fail "no marker '$MARKER' within ${VM_TIMEOUT}s"
fi
if [ $gave_up = 1 ]; then
  show_logs
  fail "the VM gave up before the marker (see the console above)"
fi
pass "marker on the console after $((SECONDS - start))s"

if ! qemu_wait_exit 60; then
  show_logs
  fail "the VM did not power off within 60s of the marker"
fi
[ "${QEMU_RC:-1}" -eq 0 ] || { show_logs; fail "qemu exited with status $QEMU_RC"; }
pass "VM powered off after $((SECONDS - start))s"

grep -q "midwife-fact: done" "$T/serial.log" || { show_logs; fail "initrd facts incomplete"; }
grep -a "midwife-fact: cmdline=" "$T/serial.log" | grep -q "console=ttyS0" ||
  fail "kernel command line from boot.ipxe not seen"

if [ "$STANDIN" = dnsmasq ]; then
  grep -qi "$VM_MAC" "$T/state/dnsmasq.leases" || fail "dnsmasq has no lease for $VM_MAC"
  pass "stand-in lease for $VM_MAC"
  exit 0
fi

rows=$(lease_of "$T/state" "$VM_MAC")
log "store rows for $VM_MAC: ${rows:-none}"
addr=$(printf '%s\n' "$rows" | awk -F'|' '$2 == 1 {print $1; exit}')
[ -n "$addr" ] || { show_logs; fail "no bound lease (state 1) for $VM_MAC in the store"; }
ip_in_range "$addr" 10.99.0.100 10.99.0.120 || fail "lease $addr is outside the range"
uc=$(store_query "$T/state" "SELECT user_class FROM leases WHERE hex(hwaddr) = '$(mac_hex "$VM_MAC")'")
log "user_class recorded: ${uc:-none}"
pass "bound lease $addr for $VM_MAC"

midwife_stop 10
# The lease survives the shutdown (committed before the ACK).
rows=$(lease_of "$T/state" "$VM_MAC")
printf '%s\n' "$rows" | grep -q "^$addr|1|" || fail "lease gone after shutdown: $rows"
pass "server stopped cleanly (exit 0), lease persisted; total $((SECONDS - start))s"
