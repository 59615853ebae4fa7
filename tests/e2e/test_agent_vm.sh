#!/usr/bin/env bash
# Power-on to ready with real firmware and the real agent: a QEMU VM
# (OVMF's own PXE client, no iPXE ROM) with two NICs loads Debian's EFI
# iPXE over TFTP, then boots a Debian kernel, a busybox initrd
# (make-agent-initrd.sh) and midwife's agent module over HTTP, inside a
# private namespace:
#
#   ns: br0 10.99.5.1/24 ── tap1 ── VM NIC 1 (boots; DHCP; VLAN 42 on it)
#       br2 10.99.2.1/24 ── tap2 ── VM NIC 2 (bridged in the VM, static)
#
# The host's profile asks for VLAN 42 on NIC 1 with 10.99.42.5, a bridge
# over NIC 2 with 10.99.2.5, a host name, DNS, and /var/lib/lab persisted.
# Asserts: the host reaches `ready` through the API; the facts the agent
# reports after applying show the VLAN, the bridge with its uplink, the
# addresses and the host name; 10.99.42.5 answers a tagged ARP on VLAN 42
# (vlan_arp.py: raw frames, as this machine's kernel may lack 802.1Q) and
# 10.99.2.5 answers pings over the bridge; the flight recorder has dhcp → tftp → script → kernel →
# initrd → agent → birth → configuring → ready in that order.
# Then the reboot: the VM boots again; the file its first life wrote under
# the persisted path is back; there is still one host record and one lease;
# the first boot's token is refused.
#
# Usage: tests/e2e/test_agent_vm.sh MIDWIFE_BINARY
#   MIDWIFE_AGENT_DIR: the static agent and its init files (default: the
#   first static one of MIDWIFE's dir/agent, build-rel/agent, build/agent).
#   VM_TIMEOUT=SECONDS: how long each boot may take (default 300).
#   VM_FIRMWARE=bios: SeaBIOS with the iPXE ROM instead (no TFTP step).
set -u
export E2E_NAME=agent_vm
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")
VM_TIMEOUT=${VM_TIMEOUT:-300}
export VM_FIRMWARE=${VM_FIRMWARE:-uefi}
MARKER="midwife-e2e: agent initrd"
MAC1=52:54:00:6d:78:01
MAC2=52:54:00:6d:78:02
CMDLINE="console=ttyS0,115200 panic=-1 quiet loglevel=3"

e2e_init
need_cmd qemu-system-x86_64 sqlite3 busybox cpio gzip apt-get dpkg-deb curl jq ping python3
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

find_static_agent "$MIDWIFE"

NS=$(ns_name avm)
SRV=10.99.5.1
URL=http://$SRV
T=$E2E_TMP
mkdir -p "$T/tftp" "$T/state" "$T/img"
# What [pxe]'s default map hands UEFI x64 firmware.
cp /usr/lib/ipxe/snponly.efi "$T/tftp/" || fail "no /usr/lib/ipxe/snponly.efi (apt-get install ipxe)"

cache=$(cache_dir)
"$E2E_LIB_DIR/fetch-kernel.sh" "$cache" >&2 || fail "cannot fetch a kernel"
cp "$cache/kernel/vmlinuz" "$T/img/vmlinuz"
"$E2E_LIB_DIR/make-agent-initrd.sh" "$T/img/initrd.gz" "$MARKER" "$cache/kernel/modules" 25 ||
  fail "cannot build the agent initrd"

ns_create "$NS"
ns_bridge "$NS" mwtabr0 "$SRV/24"
ns_bridge "$NS" mwtabr2 10.99.2.1/24
ns_tap "$NS" mwtatap1 mwtabr0
ns_tap "$NS" mwtatap2 mwtabr2

cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = mwtabr0

[subnet vm]
network = 10.99.5.0/24
range = 10.99.5.100-10.99.5.120
router = $SRV
lease_time = 10m

[tftp]
root = $T/tftp

[http]
port = 80

[boot]
agent = $AGENT_DIR
EOF
midwife_start "$NS" "$T/midwife.conf" "$T/server.log"
ADMIN=$(cat "$T/state/admin.token")
grep -q "agent module [0-9a-f]\{64\}" "$T/server.log" || { cat "$T/server.log" >&2; fail "midwife packed no agent module"; }

API_NS=$NS API_URL=$URL

api POST /api/v1/builds "{\"name\":\"agentlinux\",\"path\":\"$T/img\",\"kernel\":\"vmlinuz\",\"initrds\":[\"initrd.gz\"],\"cmdline\":\"$CMDLINE\"}"
[ "$CODE" = 201 ] || [ "$CODE" = 200 ] || fail "build import: status $CODE: $(cat "$T/out")"
api POST /api/v1/profiles '{"name":"lab","doc":{
  "hostname":"born-${name}.lab.example",
  "interfaces":[{"name":"nic1","mac":"${mac0}","dhcp":true},{"name":"nic2","mac":"${mac1}"}],
  "vlans":[{"name":"mgmt42","link":"nic1","id":42,"addresses":["10.99.42.5/24"]}],
  "bridges":[{"name":"vmbr0","uplinks":["nic2"],"addresses":["10.99.2.5/24"]}],
  "dns":{"servers":["10.99.5.1"],"search":["lab.example"]},
  "persist":["/var/lib/lab"]}}'
expect 201 "profile create"
api POST /api/v1/hosts "{\"name\":\"vm1\",\"macs\":[\"$MAC1\",\"$MAC2\"],\"build\":\"agentlinux\",\"profile\":\"lab\",\"mode\":\"stateless\"}"
expect 201 "host create"
pass "build, profile (VLAN on NIC 1, bridge over NIC 2, DNS, persist) and host made through the API"

state_of() { api GET /api/v1/hosts/vm1; jq -r .state "$T/out"; }
fact() { grep -a "midwife-fact: $2" "$1" | tr -d '\r' | head -n 1 | sed "s/^midwife-fact: $2//"; }

# --- first life ---------------------------------------------------------------
start=$SECONDS
qemu_start_nics "$NS" "$T/serial1.log" mwtatap1 "$MAC1" mwtatap2 "$MAC2"
log "VM started, waiting up to ${VM_TIMEOUT}s for ready"
is_ready() { [ "$(state_of)" = ready ]; }
gave_up() { vm_console_failed "$T/serial1.log" || ! kill -0 "$QEMU_PID" 2>/dev/null; }
ready_or_gone() { is_ready || gave_up || [ "$(state_of)" = failed ]; }
wait_for "$VM_TIMEOUT" "host vm1 to be ready" ready_or_gone || { vm_logs "$T/serial1.log"; fail "vm1 not ready in ${VM_TIMEOUT}s (state $(state_of))"; }
api GET /api/v1/hosts/vm1
cp "$T/out" "$T/host1.json"
[ "$(jq -r .state "$T/host1.json")" = ready ] ||
  { vm_logs "$T/serial1.log"; fail "vm1 is $(jq -r '.state + ": " + .state_reason' "$T/host1.json")"; }
pass "vm1 ready after $((SECONDS - start))s ($(jq -r .state_reason "$T/host1.json"))"
TOKEN1=$(fact "$T/serial1.log" cmdline= | tr ' ' '\n' | sed -n 's/^midwife\.token=//p')
[ -n "$TOKEN1" ] || fail "the first boot's command line had no midwife.token"

# The facts the agent sent after applying.
F=$T/host1.json
link() { jq -c --arg n "$1" '.facts.links[]? | select(.name == $n)' "$F"; }
log "reported links: $(jq -c '[.facts.links[]? | {name, kind, master, vlan_id, addresses}]' "$F")"
[ "$(jq -r .facts.hostname "$F")" = born-vm1.lab.example ] || fail "reported hostname: $(jq -r .facts.hostname "$F")"
[ "$(link mgmt42 | jq -r .kind)" = vlan ] || fail "no vlan mgmt42 in the reported facts"
[ "$(link mgmt42 | jq -r .vlan_id)" = 42 ] || fail "mgmt42 is not VLAN 42"
link mgmt42 | jq -e '.addresses | index("10.99.42.5/24")' >/dev/null || fail "mgmt42 lacks 10.99.42.5/24"
[ "$(link vmbr0 | jq -r .kind)" = bridge ] || fail "no bridge vmbr0 in the reported facts"
link vmbr0 | jq -e '.addresses | index("10.99.2.5/24")' >/dev/null || fail "vmbr0 lacks 10.99.2.5/24"
[ "$(link nic2 | jq -r .master)" = vmbr0 ] || fail "nic2 (MAC $MAC2) is not enslaved to vmbr0"
[ "$(link nic1 | jq -r .mac)" = "$MAC1" ] || fail "nic1 is not the NIC with $MAC1 (renamed by MAC)"
pass "reported facts: host name, VLAN 42 on nic1, vmbr0 over nic2, both addresses"
# The console prints it once the agent has written its runtime file.
wait_for 20 "resolv.conf on the console" grep -aq "midwife-fact: resolv nameserver 10.99.5.1" "$T/serial1.log" ||
  { grep -a "midwife-fact: resolv" "$T/serial1.log" >&2; fail "the VM's resolv.conf lacks nameserver 10.99.5.1"; }
grep -aq "midwife-fact: resolv search lab.example" "$T/serial1.log" || fail "the VM's resolv.conf lacks search lab.example"
pass "the VM's resolv.conf has the profile's DNS server and search domain"

# The configuration works on the wire, not only in the facts.
arp=$(nsx "$NS" python3 "$E2E_LIB_DIR/vlan_arp.py" mwtatap1 42 10.99.42.1 10.99.42.5 8) ||
  { vm_logs "$T/serial1.log"; fail "10.99.42.5 did not answer a tagged ARP on VLAN 42 (got: ${arp:-nothing})"; }
[ "${arp#* }" = "$MAC1" ] || fail "the VLAN 42 answer came from ${arp#* }, not NIC 1 ($MAC1)"
nsx "$NS" ping -c 2 -W 2 10.99.2.5 >/dev/null || { vm_logs "$T/serial1.log"; fail "no ping answer from 10.99.2.5 (bridge)"; }
pass "10.99.42.5 answers on tagged VLAN 42 from NIC 1, 10.99.2.5 answers pings over the bridge"

# The boot in the flight recorder, in order.
api GET "/api/v1/events?host=vm1&limit=1000"
jq -r '.items[] | .kind + " " + (.data.role // .data.to // .data.status // "")' "$T/out" >"$T/kinds1"
want=("dhcp.ack" "tftp.done" "dhcp.ack" "http.script" "http.file kernel" "http.file module" "http.file agent" "birth.accepted"
  "state.changed configuring" "report.step" "report.ready" "state.changed ready")
# SeaBIOS' iPXE ROM is iPXE already: one DHCP exchange, no TFTP.
[ "$VM_FIRMWARE" = uefi ] || want=("dhcp.ack" "${want[@]:3}")
i=0
while read -r line; do
  [ $i -lt ${#want[@]} ] && [[ "$line" == "${want[i]}"* ]] && i=$((i + 1))
done <"$T/kinds1"
[ $i -eq ${#want[@]} ] || { sed 's/^/    /' "$T/kinds1" >&2; fail "events lack '${want[i]}' in order"; }
pass "events: ${want[*]}"

# --- second life ---------------------------------------------------------------
QEMU1=$QEMU_PID
qemu_wait_exit 120 || { vm_logs "$T/serial1.log"; fail "the first life did not reboot"; }
WORD=$(fact "$T/serial1.log" wrote=)
[ -n "$WORD" ] || { vm_logs "$T/serial1.log"; fail "the first life wrote nothing under /var/lib/lab"; }
api GET "/api/v1/events?host=vm1&kind=state&limit=100"
jq -e '.items[] | select(.kind == "state.uploaded")' "$T/out" >/dev/null ||
  { vm_logs "$T/serial1.log"; fail "no state.uploaded event: the agent did not save at shutdown"; }
pass "first life: wrote $WORD, saved its state at shutdown, rebooted (pid $QEMU1)"

start=$SECONDS
qemu_start_nics "$NS" "$T/serial2.log" mwtatap1 "$MAC1" mwtatap2 "$MAC2"
persisted() { grep -aq "midwife-fact: persisted=" "$T/serial2.log"; }
second_done() { persisted || vm_console_failed "$T/serial2.log" || ! kill -0 "$QEMU_PID" 2>/dev/null; }
wait_for "$VM_TIMEOUT" "the second life" second_done || { vm_logs "$T/serial2.log"; fail "no second life in ${VM_TIMEOUT}s"; }
[ "$(fact "$T/serial2.log" persisted=)" = "$WORD" ] ||
  { vm_logs "$T/serial2.log"; fail "second life: /var/lib/lab/life is '$(fact "$T/serial2.log" persisted=)', expected $WORD"; }
wait_for 30 "vm1 ready again" is_ready || fail "vm1 not ready in its second life (state $(state_of))"
pass "second life after $((SECONDS - start))s: $WORD restored from the saved state, ready again"
qemu_wait_exit 60 || { vm_logs "$T/serial2.log"; fail "the second life did not power off"; }

api GET "/api/v1/hosts?q=${MAC1}"
[ "$(jq '.items | length' "$T/out")" = 1 ] || fail "not one host record for $MAC1: $(cat "$T/out")"
n=$(store_query "$T/state" "SELECT count(*) FROM leases WHERE hex(hwaddr) = '$(mac_hex "$MAC1")'")
[ "$n" = 1 ] || fail "$n leases for $MAC1, expected 1"
api GET /api/v1/hosts/vm1
jq -e '.boot_id >= 2' "$T/out" >/dev/null || fail "boot_id did not advance: $(jq -c .boot_id "$T/out")"
CODE=$(nsx "$NS" curl -sS -o "$T/out" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN1" \
  -H 'Content-Type: application/json' --data-binary '{"step":"late","status":"ok"}' "$URL/api/v1/report")
[ "$CODE" = 401 ] || fail "the first boot's token still works (status $CODE)"
pass "one host record, one lease, boot 2; the first boot's token is refused (401)"

midwife_stop 10
pass "server stopped cleanly"
