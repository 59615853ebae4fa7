#!/usr/bin/env bash
# A host managed over a tagged VLAN, end to end: midwife serves the native
# (provisioning) VLAN and VLAN 42 on two sub-interfaces, and a host whose
# record says VLAN 42 PXE-boots on the native one and is born, configured
# and ready over VLAN 42.
#
#   ns: tap mwvn (native, 10.99.6.1/24)  ─┐
#       tap mwv42 (VLAN 42, 10.99.42.1/24)─┴ vlan_switch.py ══ trunk ══ VM NIC
#
# This machine's kernel may have no 802.1Q, so the server side's VLAN
# sub-interfaces are taps fed by vlan_switch.py, a trunk port in user
# space (tags on the VM's side, none on midwife's); the VM's own kernel
# (Debian's) tags for real.
#
# The boot: SeaBIOS + Debian's iPXE ROM gets DHCP on the native VLAN, its
# script tries `vcreate --tag 42` (Debian's iPXE has no VLAN_CMD: it says
# so and goes on untagged), loads the kernel with midwife.vlan=42, the
# initrd and the agent; the initrd leaves the network to the agent, which
# creates eth0.42, gets a lease there from midwife's VLAN 42 subnet, and
# sends its birth and reports over it.
# Asserts: the script has the VLAN; the host is ready; the birth came from
# a VLAN 42 address; midwife ACKed the VLAN lease on its VLAN 42 subnet and
# the birth left that lease as the MAC's only one; the reported facts have
# eth0.42 (VLAN 42) with that address; apply reported mgmt_vlan; tagged
# frames went both ways on the trunk.
#
# Usage: tests/e2e/test_vlan_vm.sh MIDWIFE_BINARY
#   MIDWIFE_AGENT_DIR: the static agent (as test_agent_vm.sh).
#   VM_TIMEOUT=SECONDS: how long the boot may take (default 300).
set -u
export E2E_NAME=vlan_vm
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")
VM_TIMEOUT=${VM_TIMEOUT:-300}
export VM_FIRMWARE=bios
MARKER="midwife-e2e: agent initrd"
MAC=52:54:00:6d:42:01
CMDLINE="console=ttyS0,115200 panic=-1 quiet loglevel=3"

e2e_init
need_cmd qemu-system-x86_64 sqlite3 busybox cpio gzip apt-get dpkg-deb curl jq python3
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

find_static_agent "$MIDWIFE"

NS=$(ns_name vlan)
SRV=10.99.6.1
URL=http://$SRV
T=$E2E_TMP
mkdir -p "$T/state" "$T/img"
cache=$(cache_dir)
"$E2E_LIB_DIR/fetch-kernel.sh" "$cache" >&2 || fail "cannot fetch a kernel"
cp "$cache/kernel/vmlinuz" "$T/img/vmlinuz"
"$E2E_LIB_DIR/make-agent-initrd.sh" "$T/img/initrd.gz" "$MARKER" "$cache/kernel/modules" 5 ||
  fail "cannot build the agent initrd"

ns_create "$NS"
ip -n "$NS" link set lo up
# Ports on the namespace's loopback: the switch listens on SW, QEMU on VMP.
SW=$((20000 + $$ % 20000))
VMP=$((SW + 1))
bg_start "$NS" "$T/switch.log" python3 "$E2E_LIB_DIR/vlan_switch.py" "$SW" "$VMP" "$T/switch.json" \
  native=mwvn 42=mwv42
SWITCH_PID=$BG_PID
wait_for 10 "the VLAN switch" grep -q ready "$T/switch.log" || { cat "$T/switch.log" >&2; fail "vlan_switch.py did not start"; }
ip -n "$NS" addr add "$SRV/24" dev mwvn
ip -n "$NS" addr add 10.99.42.1/24 dev mwv42
ip -n "$NS" link set mwvn up
ip -n "$NS" link set mwv42 up

cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = mwvn, mwv42

[subnet native]
network = 10.99.6.0/24
range = 10.99.6.100-10.99.6.120
router = $SRV
lease_time = 10m

[subnet vlan42]
network = 10.99.42.0/24
range = 10.99.42.100-10.99.42.120
router = 10.99.42.1
lease_time = 10m

[tftp]
enabled = no

[http]
port = 80

[boot]
agent = $AGENT_DIR
EOF
midwife_start "$NS" "$T/midwife.conf" "$T/server.log"
ADMIN=$(cat "$T/state/admin.token")

API_NS=$NS API_URL=$URL

api POST /api/v1/builds "{\"name\":\"agentlinux\",\"path\":\"$T/img\",\"kernel\":\"vmlinuz\",\"initrds\":[\"initrd.gz\"],\"cmdline\":\"$CMDLINE\"}"
[ "$CODE" = 201 ] || [ "$CODE" = 200 ] || fail "build import: status $CODE: $(cat "$T/out")"
api POST /api/v1/profiles '{"name":"mgmt","doc":{"hostname":"${name}.lab.example"}}'
expect 201 "profile create"
api POST /api/v1/hosts "{\"name\":\"tagged1\",\"macs\":[\"$MAC\"],\"build\":\"agentlinux\",\"profile\":\"mgmt\",\"vlan\":42}"
expect 201 "host create"

# The script a host with VLAN 42 gets (a look without a token: not from its lease).
nsx "$NS" curl -sS "$URL/boot/ipxe?mac=$MAC" >"$T/script.ipxe"
grep -q '^vcreate --tag 42 net0 && ifconf net0-42' "$T/script.ipxe" || { cat "$T/script.ipxe" >&2; fail "the script does not set VLAN 42"; }
grep -q '^kernel .* midwife\.vlan=42' "$T/script.ipxe" || { cat "$T/script.ipxe" >&2; fail "the kernel line lacks midwife.vlan=42"; }
api GET /api/v1/hosts/tagged1/config
[ "$(jq -r .mgmt_vlan "$T/out")" = 42 ] || fail "the configuration document lacks mgmt_vlan 42: $(cat "$T/out")"
pass "host tagged1 (VLAN 42): script with vcreate --tag 42 and midwife.vlan=42, document with mgmt_vlan 42"

show_logs() { vm_logs "$T/serial.log"; }
state_of() { api GET /api/v1/hosts/tagged1; jq -r .state "$T/out"; }

start=$SECONDS
qemu_start_nics "$NS" "$T/serial.log" "udp:$SW:$VMP" "$MAC"
log "VM started, waiting up to ${VM_TIMEOUT}s for ready"
ready_or_gone() { [ "$(state_of)" = ready ] || [ "$(state_of)" = failed ] || vm_finished "$T/serial.log"; }
wait_for "$VM_TIMEOUT" "host tagged1 to be ready" ready_or_gone || { show_logs; fail "not ready in ${VM_TIMEOUT}s (state $(state_of))"; }
api GET /api/v1/hosts/tagged1
cp "$T/out" "$T/host.json"
[ "$(jq -r .state "$T/host.json")" = ready ] || { show_logs; fail "tagged1 is $(jq -r '.state + ": " + .state_reason' "$T/host.json")"; }
pass "tagged1 ready after $((SECONDS - start))s"
grep -aq "midwife: iPXE did not join VLAN 42" "$T/serial.log" &&
  log "this iPXE has no vcreate: it booted the kernel on the native VLAN, as the script allows"

api GET "/api/v1/events?host=tagged1&limit=1000"
cp "$T/out" "$T/events.json"
peer=$(jq -r '[.items[] | select(.kind == "birth.accepted")][0].data.peer // empty' "$T/events.json")
case $peer in
  10.99.42.*) pass "the birth came over VLAN 42, from $peer" ;;
  *) show_logs; fail "the birth came from '${peer:-nowhere}', not from VLAN 42 (10.99.42.0/24)" ;;
esac
jq -e --arg a "$peer" '.items[] | select(.kind == "dhcp.ack" and .data.address == $a and .data.subnet == "vlan42")' \
  "$T/events.json" >/dev/null || { jq -c '.items[] | select(.kind | startswith("dhcp")) | .data' "$T/events.json" >&2; fail "no dhcp.ack of $peer on subnet vlan42"; }
jq -e '.items[] | select(.kind == "dhcp.ack" and .data.subnet == "native")' "$T/events.json" >/dev/null ||
  fail "no dhcp.ack on the native subnet (the PXE boot)"
pass "midwife leased $peer on its VLAN 42 sub-interface (and the PXE boot's address on the native one)"
n=$(store_query "$T/state" "SELECT count(*) FROM leases WHERE hex(hwaddr) = '$(mac_hex "$MAC")'")
l=$(lease_of "$T/state" "$MAC" | head -n 1 | cut -d"|" -f1)
[ "$n" = 1 ] && [ "$l" = "$peer" ] || fail "leases of $MAC: $n, address '$l'; expected the one VLAN lease $peer"
pass "after the birth the VLAN lease is the MAC's only lease"

F=$T/host.json
vl=$(jq -c '.facts.links[]? | select(.kind == "vlan" and .vlan_id == 42)' "$F")
log "reported VLAN link: $vl"
[ "$(jq -r .name <<<"$vl")" = eth0.42 ] || fail "no eth0.42 (VLAN 42) in the reported facts: $(jq -c .facts.links "$F")"
jq -e --arg a "$peer" '.addresses | map(startswith($a + "/")) | any' <<<"$vl" >/dev/null || fail "eth0.42 lacks $peer"
[ "$(jq -r .facts.hostname "$F")" = tagged1.lab.example ] || fail "reported hostname: $(jq -r .facts.hostname "$F")"
jq -e '.items[] | select(.kind == "report.step" and .data.step == "mgmt_vlan" and .data.status == "ok")' \
  "$T/events.json" >/dev/null || fail "no mgmt_vlan step reported ok"
pass "facts: eth0.42 with VLAN 42 and $peer; apply reported mgmt_vlan ok"

# explain asked over the loopback (as a CLI on the server asks) tells what
# the host is handed from where it is now: midwife's address on VLAN 42.
API_URL=http://127.0.0.1 api GET "/api/v1/explain/$MAC"
expect 200 "explain over the loopback"
jq -e '.dhcp.ipxe.file | startswith("http://10.99.42.1/")' "$T/out" >/dev/null &&
  jq -e '.script.text | test("midwife\\.url=http://10\\.99\\.42\\.1\\s")' "$T/out" >/dev/null ||
  fail "explain does not answer from midwife's VLAN 42 address: $(jq -c '{dhcp, script: .script.text}' "$T/out")"
pass "explain, asked over the loopback, shows the host's answers from 10.99.42.1 (its lease's subnet)"

kill -TERM "$SWITCH_PID"
wait_for 5 "the switch's counters" test -s "$T/switch.json" || fail "vlan_switch.py wrote no counters"
log "trunk frames: $(cat "$T/switch.json")"
jq -e '(.from_vm["42"] // 0) > 10 and (.to_vm["42"] // 0) > 10 and (.from_vm.native // 0) > 10' "$T/switch.json" >/dev/null ||
  fail "too few frames on the trunk: $(cat "$T/switch.json")"
pass "tagged VLAN 42 frames both ways on the trunk, untagged ones for the PXE boot"

midwife_stop 10
pass "server stopped cleanly"
