#!/usr/bin/env bash
# UEFI HTTP Boot with real firmware, midwife as the only DHCP server: OVMF
# with its PXE turned off (so it boots by HTTP, vendor class
# "HTTPClient:Arch:00016") gets an address and an http:// URL to the EFI
# iPXE from midwife's DHCP, downloads it over HTTP, and that iPXE asks DHCP
# again (user-class iPXE) and gets its per-host script: kernel and initrd
# over HTTP to the initrd's marker. Nothing goes over TFTP.
#
# Asserts: the marker; the offer to the firmware is option 60 HTTPClient
# with the URL of /boot/program/snponly.efi (the dhcp.ack event); the
# program was sent over HTTP (http.program); the second exchange gave iPXE
# the script; the script carried a boot token; no TFTP transfer.
#
# Usage: tests/e2e/test_uefi_http_vm.sh MIDWIFE_BINARY
#   VM_TIMEOUT=SECONDS: how long the boot may take (default 300).
set -u
export E2E_NAME=uefi_http_vm
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")
VM_TIMEOUT=${VM_TIMEOUT:-300}
MARKER="midwife-e2e: uefi http boot"
MAC=52:54:00:6d:7a:01
CMDLINE="console=ttyS0,115200 panic=-1 quiet loglevel=3"

e2e_init
need_cmd qemu-system-x86_64 sqlite3 busybox cpio gzip apt-get dpkg-deb
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

NS=$(ns_name uhv)
BR=mwtubr0
SRV=10.99.9.1
T=$E2E_TMP
mkdir -p "$T/programs" "$T/state" "$T/img"
# [pxe]'s default map: arch 16 (EFI x86-64 HTTP) → snponly.efi, served
# over HTTP from the same root TFTP would use.
cp /usr/lib/ipxe/snponly.efi "$T/programs/" || fail "no /usr/lib/ipxe/snponly.efi (apt-get install ipxe)"
# The kernel and the marker initrd (lib.sh; its boot.ipxe goes unused).
boot_files "$T/img" "$MARKER"

ns_create "$NS"
ns_bridge "$NS" "$BR" "$SRV/24"
ns_tap "$NS" mwtutap0 "$BR"
cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = $BR

[subnet vm]
network = 10.99.9.0/24
range = 10.99.9.100-10.99.9.120
router = $SRV
lease_time = 10m

[tftp]
root = $T/programs

[http]
port = 80
EOF
midwife_start "$NS" "$T/midwife.conf" "$T/server.log"
(cd "$T/img" && with_timeout 60 ip netns exec "$NS" "$MIDWIFE" build import httpboot "$T/img" -c "$T/midwife.conf" \
  --kind linux --kernel vmlinuz --initrd initrd.gz --cmdline "$CMDLINE" >/dev/null) || fail "build import"
with_timeout 60 ip netns exec "$NS" "$MIDWIFE" host set vm-http --mac "$MAC" --build httpboot \
  -c "$T/midwife.conf" >/dev/null || fail "host set"

start=$SECONDS
VM_FIRMWARE=uefi-http qemu_start_nics "$NS" "$T/serial.log" mwtutap0 "$MAC"
show_logs() {
  tail -n 40 "$T/serial.log" 2>/dev/null | tr -d '\r' | sed 's/^/  vm| /' >&2
  tail -n 40 "$T/server.log" | sed 's/^/  server| /' >&2
}
wait_for "$VM_TIMEOUT" "the VM to boot" vm_finished "$T/serial.log" || { show_logs; fail "no boot within ${VM_TIMEOUT}s"; }
grep -aqF "$MARKER" "$T/serial.log" || { show_logs; fail "no marker '$MARKER'"; }
pass "marker on the console after $((SECONDS - start))s"
qemu_wait_exit 60 || { show_logs; fail "the VM did not power off"; }

events() { store_query "$T/state" "SELECT data FROM events WHERE mac = '$MAC' AND kind = '$1' ORDER BY id"; }
# Events reach the store within 25 ms of being recorded.
file_events_stored() { [ -n "$(store_query "$T/state" "SELECT 1 FROM events WHERE kind = 'http.file' LIMIT 1")" ]; }
wait_for 10 "the events to be stored" file_events_stored
acks=$(events dhcp.ack)
printf '%s\n' "$acks" | sed 's/^/    /'
printf '%s\n' "$acks" | head -n 1 | grep -q "\"file\":\"http://$SRV/boot/program/snponly.efi\"" ||
  { show_logs; fail "the firmware's ACK did not hand out the URL of snponly.efi"; }
printf '%s\n' "$acks" | tail -n 1 | grep -q "\"file\":\"http://$SRV/boot/ipxe?mac=" ||
  fail "iPXE's ACK did not hand out its script"
[ -n "$(events http.program)" ] || fail "no http.program event: snponly.efi did not come over HTTP"
grep -a "midwife-fact: cmdline=" "$T/serial.log" | grep -Eq 'midwife\.token=[0-9a-f]{16,}' ||
  fail "the script carried no boot token"
if midwife_log | grep -Ei 'tftp.*(requested by|sent )'; then
  fail "something went over TFTP; UEFI HTTP Boot should need none"
fi
pass "HTTPClient offer of http://$SRV/boot/program/snponly.efi, the program over HTTP, then iPXE's script; no TFTP"
midwife_stop 10
pass "server stopped cleanly"
