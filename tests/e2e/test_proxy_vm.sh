#!/usr/bin/env bash
# proxyDHCP with real firmware: the site's DHCP server (dnsmasq, addresses
# only: a range, no PXE options, no DNS, its own lease file) and midwife in
# [dhcp] mode = proxy share one bridge in a private namespace. midwife
# answers only the PXE clients, with boot information and no address:
#
#   (a) a BIOS VM (SeaBIOS + Debian's iPXE ROM) gets its address from
#       dnsmasq and midwife's proxy offer (the script URL), boots the linux
#       build through the per-host script to the initrd's marker;
#   (b) a UEFI VM (OVMF's own PXE, no option ROM) gets the same address
#       service, fetches snponly.efi over TFTP as midwife's proxy offer
#       says, and iPXE goes on as in (a);
#   (c) a UEFI VM booting by UEFI HTTP Boot (OVMF with PXE off) pairs
#       dnsmasq's address offer with midwife's HTTPClient proxy offer and
#       fetches snponly.efi over HTTP, then iPXE goes on as in (a);
#   and a DHCPREQUEST on the PXE port (4011), sent by a small python3
#   client from an address dnsmasq leased, gets the ACK with the boot file
#   back at its address and source port (OVMF and iPXE ask there only
#   when the offer lacks a boot file, which midwife's never does).
#
# Asserts: the leases are dnsmasq's (its lease file has the MACs, midwife's
# leases table has no row at all), midwife's events show proxy offers (and
# the PXE port's ACK), each script carried a boot token
# (midwife.token= on the kernel command line, token.issued for the host);
# an ordinary DHCP client on the same link (udhcpc) is served by dnsmasq
# alone and only counted by midwife (proxy_not_pxe), never recorded.
#
# Usage: tests/e2e/test_proxy_vm.sh MIDWIFE_BINARY
#   VM_TIMEOUT=SECONDS: how long each boot may take (default 300).
#   PROXY_VMS="bios uefi http" (default): which of the boots to run.
set -u
export E2E_NAME=proxy_vm
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")
VM_TIMEOUT=${VM_TIMEOUT:-300}
PROXY_VMS=${PROXY_VMS:-bios uefi http}
MARKER="midwife-e2e: proxy boot"
MAC_BIOS=52:54:00:6d:79:01
MAC_UEFI=52:54:00:6d:79:02
MAC_PLAIN=52:54:00:6d:79:03
MAC_HTTP=52:54:00:6d:79:05
CMDLINE="console=ttyS0,115200 panic=-1 quiet loglevel=3"

e2e_init
need_cmd qemu-system-x86_64 sqlite3 busybox cpio gzip apt-get dpkg-deb curl dnsmasq udhcpc python3
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

NS=$(ns_name pvm)        # the link: a bridge with midwife and the VMs' taps
NS_SITE=$(ns_name psite) # the site's DHCP server
NS_PC=$(ns_name ppc)     # an ordinary DHCP client
BR=mwtpbr0
SRV=10.99.7.1
SITE=10.99.7.2
T=$E2E_TMP
mkdir -p "$T/tftp" "$T/state" "$T/img"
cp /usr/lib/ipxe/snponly.efi "$T/tftp/" || fail "no /usr/lib/ipxe/snponly.efi (apt-get install ipxe)"

# The kernel and the marker initrd (lib.sh; its boot.ipxe goes unused).
boot_files "$T/img" "$MARKER"

ns_create "$NS"
ns_create "$NS_SITE"
ns_create "$NS_PC"
ns_bridge "$NS" "$BR" "$SRV/24"
ns_tap "$NS" mwtptap1 "$BR"
ns_tap "$NS" mwtptap2 "$BR"
ns_tap "$NS" mwtptap3 "$BR"
ns_veth "$NS" mwtpsite "$NS_SITE" eth0 "" "$SITE/24"
ip -n "$NS" link set mwtpsite master "$BR"
ns_veth "$NS" mwtppc "$NS_PC" eth0 "" "" "$MAC_PLAIN"
ip -n "$NS" link set mwtppc master "$BR"

# The site's DHCP server knows nothing of booting.
bg_start "$NS_SITE" "$T/dnsmasq.log" dnsmasq --no-daemon --port=0 --conf-file=/dev/null \
  --interface=eth0 --bind-interfaces --dhcp-range=10.99.7.100,10.99.7.150,10m \
  --dhcp-leasefile="$T/dnsmasq.leases" --log-dhcp
DNSMASQ_PID=$BG_PID

cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = $BR
mode = proxy

; Where the hosts live; the addresses are dnsmasq's.
[subnet vm]
network = 10.99.7.0/24

[tftp]
root = $T/tftp

[http]
port = 80
EOF
midwife_start "$NS" "$T/midwife.conf" "$T/server.log"
grep -q "proxyDHCP on 1 interface(s), ports 67 and 4011" "$T/server.log" ||
  { cat "$T/server.log" >&2; fail "midwife did not start in proxy mode"; }
kill -0 "$DNSMASQ_PID" 2>/dev/null || { cat "$T/dnsmasq.log" >&2; fail "dnsmasq did not start"; }

ns_cli() {
  local out rc
  out=$(with_timeout 60 ip netns exec "$NS" "$MIDWIFE" "$@" 2>&1)
  rc=$?
  if [ $rc -ne 0 ]; then
    printf '%s\n' "$out" | sed 's/^/  cli| /' >&2
    log "command failed (status $rc): midwife $*"
    return $rc
  fi
  printf '%s\n' "$out"
}
(cd "$T/img" && ns_cli build import proxylinux "$T/img" -c "$T/midwife.conf" --kind linux \
  --kernel vmlinuz --initrd initrd.gz --cmdline "$CMDLINE") || fail "build import"
ns_cli host set vm-bios --mac "$MAC_BIOS" --build proxylinux -c "$T/midwife.conf" || fail "host set vm-bios"
ns_cli host set vm-uefi --mac "$MAC_UEFI" --build proxylinux -c "$T/midwife.conf" || fail "host set vm-uefi"
ns_cli host set vm-http --mac "$MAC_HTTP" --build proxylinux -c "$T/midwife.conf" || fail "host set vm-http"
pass "dnsmasq (addresses only) and midwife (mode = proxy) on one link; build and hosts set"

# --- an ordinary client: dnsmasq's alone --------------------------------------
cat >"$T/udhcpc.sh" <<EOF
#!/bin/sh
[ "\$1" = bound ] && echo "\$ip" >"$T/plain.addr"
exit 0
EOF
chmod 755 "$T/udhcpc.sh"
with_timeout 30 ip netns exec "$NS_PC" udhcpc -f -q -n -t 5 -T 2 -i eth0 -s "$T/udhcpc.sh" >"$T/udhcpc.log" 2>&1 ||
  { cat "$T/udhcpc.log" >&2; fail "udhcpc got no address"; }
plain=$(cat "$T/plain.addr")
ip_in_range "$plain" 10.99.7.100 10.99.7.150 || fail "udhcpc got $plain, not from dnsmasq's range"
grep -qi "$MAC_PLAIN" "$T/dnsmasq.leases" || fail "dnsmasq has no lease for the plain client"
ip -n "$NS_PC" addr add "$plain/24" dev eth0 || fail "cannot configure $plain"
pass "a plain client got $plain from dnsmasq"

# --- the PXE port ---------------------------------------------------------------
# A bound PXE client that wants the boot file from the proxy asks port 4011
# (UEFI's PXE does when the offer lacks one, iPXE when it has no file); the
# ACK goes back to its address and the port it sent from. A DHCPREQUEST
# from the plain client's address, for another machine's MAC.
cat >"$T/pxe_port.py" <<'PY'
import socket, struct, sys
src, dst, mac = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3].replace(":", ""))
vc = b"PXEClient:Arch:00000:UNDI:002001"
pkt = struct.pack("!BBBBIHH4s4s4s4s16s64s128sI", 1, 1, 6, 0, 0x4011CAFE, 0, 0, socket.inet_aton(src),
                  bytes(4), bytes(4), bytes(4), mac + bytes(10), bytes(64), bytes(128), 0x63825363)
pkt += bytes([53, 1, 3, 60, len(vc)]) + vc + bytes([93, 2, 0, 0, 255])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(5)
s.sendto(pkt, (dst, 4011))
data, peer = s.recvfrom(2048)
opts, i = {}, 240
while i < len(data) and data[i] != 255:
    if data[i] == 0:
        i += 1
        continue
    opts[data[i]] = data[i + 2:i + 2 + data[i + 1]]
    i += 2 + data[i + 1]
print("from=%s:%d op=%d xid=%x yiaddr=%s ciaddr=%s type=%d vc=%s file=%s opt43=%s" % (
    peer[0], peer[1], data[0], struct.unpack("!I", data[4:8])[0], socket.inet_ntoa(data[16:20]),
    socket.inet_ntoa(data[12:16]), opts[53][0], opts.get(60, b"").decode(), opts.get(67, b"").decode(),
    opts.get(43, b"").hex()))
PY
probe_mac=52:54:00:6d:79:04
got=$(with_timeout 20 ip netns exec "$NS_PC" python3 "$T/pxe_port.py" "$plain" "$SRV" "$probe_mac" 2>&1) ||
  { printf '%s\n' "$got" >&2; tail -n 20 "$T/server.log" >&2; fail "no answer on the PXE port"; }
log "PXE port: $got"
want="from=$SRV:4011 op=2 xid=4011cafe yiaddr=0.0.0.0 ciaddr=$plain type=5 vc=PXEClient file=undionly.kpxe opt43=060108ff"
[ "$got" = "$want" ] || fail "PXE port answer: got '$got', wanted '$want'"
pass "a DHCPREQUEST on port 4011 got the ACK with the boot file, back at its address and port"

# --- the boots, one after the other -------------------------------------------
show_logs() {
  vm_logs "$1"
  echo "--- dnsmasq (tail)" >&2
  tail -n 30 "$T/dnsmasq.log" | sed 's/^/  dnsmasq| /' >&2
}
events() { # MAC KIND: data of midwife's events of KIND for MAC
  store_query "$T/state" "SELECT data FROM events WHERE mac = '$1' AND kind = '$2'"
}

boot_vm() { # NAME MAC TAP
  local name=$1 mac=$2 tap=$3 serial=$T/serial-$1.log start=$SECONDS
  if [ "$name" = uefi ]; then
    VM_FIRMWARE=uefi qemu_start_nics "$NS" "$serial" "$tap" "$mac"
  elif [ "$name" = http ]; then
    VM_FIRMWARE=uefi-http qemu_start_nics "$NS" "$serial" "$tap" "$mac"
  else
    qemu_start "$NS" "$tap" "$mac" "$serial"
  fi
  log "$name VM started ($mac), waiting up to ${VM_TIMEOUT}s"
  wait_for "$VM_TIMEOUT" "the $name VM to boot" vm_finished "$serial" ||
    { show_logs "$serial"; fail "$name: no boot within ${VM_TIMEOUT}s"; }
  grep -aqF "$MARKER" "$serial" || { show_logs "$serial"; fail "$name: no marker '$MARKER'"; }
  grep -aq "midwife-fact: done" "$serial" || { show_logs "$serial"; fail "$name: initrd facts incomplete"; }
  pass "$name: marker on the console after $((SECONDS - start))s"
  qemu_wait_exit 60 || { show_logs "$serial"; fail "$name: the VM did not power off"; }
  [ "${QEMU_RC:-1}" -eq 0 ] || { show_logs "$serial"; fail "$name: qemu exited with status $QEMU_RC"; }

  local cl
  cl=$(grep -a "midwife-fact: cmdline=" "$serial" | tr -d '\r' | head -n 1)
  log "$name ${cl#midwife-fact: }"
  printf '%s\n' "$cl" | grep -Eq 'midwife\.token=[0-9a-f]{16,}' ||
    { show_logs "$serial"; fail "$name: the script carried no boot token (no midwife.token= on the command line)"; }
  printf '%s\n' "$cl" | grep -q "console=ttyS0" || fail "$name: the build's command line is missing"

  # The address is dnsmasq's, the boot information midwife's.
  grep -qi "$mac" "$T/dnsmasq.leases" || { show_logs "$serial"; fail "$name: dnsmasq has no lease for $mac"; }
  lifecycle_flush_wait "$mac"
  events "$mac" dhcp.offer | grep -q '"proxy":true' ||
    { show_logs "$serial"; fail "$name: no proxy dhcp.offer event for $mac"; }
  events "$mac" dhcp.offer | grep -q '"address":"0.0.0.0"' || fail "$name: a proxy offer named an address"
  [ -n "$(events "$mac" token.issued)" ] || fail "$name: no token.issued event for $mac"
  store_query "$T/state" "SELECT message FROM events WHERE mac = '$mac' AND kind = 'token.issued'" |
    grep -q "proxy mode" || fail "$name: the token was not bound by the proxy-mode rule"
  if [ "$name" = uefi ]; then
    # OVMF's PXE boots the file the proxy offer names (discovery control
    # bit 3); the iPXE it loads asks again and gets the script.
    events "$mac" dhcp.offer | grep -q '"file":"snponly.efi"' ||
      { show_logs "$serial"; fail "uefi: no proxy offer of snponly.efi for $mac"; }
    midwife_log | grep -q "sent snponly.efi to" || fail "uefi: snponly.efi was not fetched over TFTP"
    pass "uefi: proxy offer of snponly.efi, fetched over TFTP, then iPXE's script"
  fi
  if [ "$name" = http ]; then
    events "$mac" dhcp.offer | grep -q '"file":"http://[^"]*/boot/program/snponly.efi"' ||
      { show_logs "$serial"; fail "http: no HTTPClient proxy offer of the boot program's URL for $mac"; }
    midwife_log | grep -q '"GET /boot/program/snponly.efi HTTP/1.1" 200' ||
      { show_logs "$serial"; fail "http: snponly.efi was not fetched over HTTP"; }
    pass "http: UEFI HTTP Boot took midwife's proxy offer (a URL) with dnsmasq's address, then iPXE's script"
  fi
  # No lease of midwife's names the address: the bound boot does.
  events "$mac" http.file | grep -q '"role":"kernel"' ||
    { show_logs "$serial"; fail "$name: the kernel fetch was not recorded for $mac"; }
  pass "$name: address from dnsmasq, proxy offer and a bound boot token from midwife; its fetches recorded"
}

# Events reach the store within 25 ms of being recorded; wait for the
# script's before reading them.
token_event_stored() { [ -n "$(events "$1" token.issued)" ]; }
lifecycle_flush_wait() { wait_for 10 "the token.issued event of $1" token_event_stored "$1"; }

for vm in $PROXY_VMS; do
  case $vm in
    bios) boot_vm bios "$MAC_BIOS" mwtptap1 ;;
    uefi) boot_vm uefi "$MAC_UEFI" mwtptap2 ;;
    http) boot_vm http "$MAC_HTTP" mwtptap3 ;;
    *) fail "PROXY_VMS: unknown '$vm' (bios, uefi, http)" ;;
  esac
done

# --- what midwife kept, and did not -------------------------------------------
n=$(store_query "$T/state" "SELECT count(*) FROM leases")
[ "$n" = 0 ] || fail "midwife's leases table has $n row(s) in proxy mode"
events "$probe_mac" dhcp.ack | grep -q '"pxe_port":true' || fail "no dhcp.ack event for the PXE port's answer"
n=$(store_query "$T/state" "SELECT count(*) FROM events WHERE mac = '$MAC_PLAIN'")
[ "$n" = 0 ] || fail "midwife recorded $n event(s) for the plain client"
metrics=$(http_get "$NS" "http://$SRV/metrics" -f) || fail "GET /metrics"
printf '%s\n' "$metrics" | grep -E '^midwife_dhcp_(dropped|replies)_total' | sed 's/^/    /'
printf '%s\n' "$metrics" | grep -Eq '^midwife_dhcp_dropped_total\{reason="proxy_not_pxe"\} [1-9]' ||
  fail "no proxy_not_pxe drops counted for the plain client"
if grep -q 'NAK' "$T/server.log"; then
  fail "midwife sent a NAK in proxy mode"
fi
pass "no lease rows, no NAK, the plain client only counted"

midwife_stop 10
pass "server stopped cleanly (exit 0)"
