#!/usr/bin/env bash
# make run: a private lab that boots a VM through midwife, from power-on to
# ready.
#
#   network namespace "mwlab"
#     bridge mwlabbr0 10.123.0.1/24  <- midwife (DHCP, TFTP, HTTP) listens here
#       tap mwlabtap0                <- VM NIC 1: UEFI (OVMF) network boot
#     bridge mwlabbr1 10.123.1.1/24
#       tap mwlabtap1                <- VM NIC 2: bridged inside the VM
#
# The VM's firmware gets an address and an EFI iPXE from midwife (DHCP,
# TFTP); iPXE asks again and gets its per-host script, then the kernel, the
# lab initrd and midwife's agent module over HTTP. The agent sends the
# birth, applies the host's profile (host name, VLAN 42 on NIC 1, a bridge
# over NIC 2 with a static address, DNS) and reports ready. The VM then
# reboots; its saved state (/var/lib/lab) comes back in the second boot.
#
# Safe on any machine: it creates its own namespace and touches no existing
# interface. Steps are printed as they happen; midwife's log is shown with a
# "midwife |" prefix and the VM's console lines about the boot with "vm |".
# After the VM's two boots, midwife keeps running until Ctrl-C; then
# everything is removed again.
#
# While it runs, midwife's web UI is forwarded to http://127.0.0.1:8480/ui/
# (this machine's loopback only).
#
# Usage: scripts/lab.sh MIDWIFE_BINARY
#   LAB_EXIT_AFTER_BOOT=1  exit once the VM powered off (non-interactive use)
#   LAB_UI_PORT=N          the UI forwarder's port (default 8480; 0: none)
#   LAB_BOOT_TIMEOUT=SECS  how long each boot may take (default 300)
#   LAB_FIRMWARE=bios      SeaBIOS with the iPXE ROM instead of UEFI
# Functions below run from traps and wait_for (shellcheck cannot see that).
# shellcheck disable=SC2317
set -u
export E2E_NAME=lab
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib.sh
. "$(dirname "$0")/../tests/e2e/lib.sh"

if [ $# -ne 1 ]; then
  echo "usage: $0 MIDWIFE_BINARY" >&2
  exit 2
fi
MIDWIFE=$(realpath "$1")
[ -x "$MIDWIFE" ] || { echo "lab: not executable: $1 (run: make build)" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
  echo "lab: needs root to create a network namespace (try: sudo make run)" >&2
  exit 1
fi
BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-300}
NS=mwlab
BR=mwlabbr0
TAP=mwlabtap0
VM_MAC=52:54:00:1a:b0:01
VM_MAC2=52:54:00:1a:b0:02
MARKER="midwife lab: booted"
export VM_FIRMWARE=${LAB_FIRMWARE:-uefi}

step_n=0
step() {
  step_n=$((step_n + 1))
  printf '\n==> %d. %s\n' "$step_n" "$*"
}
say() { printf '    %s\n' "$*"; }

e2e_init
need_cmd qemu-system-x86_64 sqlite3 cpio gzip curl jq
LAB=$(cache_dir)/lab
mkdir -p "$LAB/state" "$LAB/tftp" "$LAB/build"
SRV=10.123.0.1
CMDLINE="console=ttyS0,115200 panic=-1 quiet loglevel=3"

step "Preparing what the VM will boot (kept in $LAB/build)"
say "a Debian kernel and its network modules (downloaded once with apt-get download,"
say "not installed), and a busybox initrd that starts the host agent midwife appends."
cache=$(cache_dir)
"$E2E_LIB_DIR/fetch-kernel.sh" "$cache" >&2 || fail "cannot fetch a kernel"
cp "$cache/kernel/vmlinuz" "$LAB/build/vmlinuz"
"$E2E_LIB_DIR/make-agent-initrd.sh" "$LAB/build/initrd.gz" "$MARKER" "$cache/kernel/modules" 5 ||
  fail "cannot build the lab initrd"
rm -f "$LAB/build/boot.ipxe" "$LAB/tftp/vmlinuz" "$LAB/tftp/initrd.gz" "$LAB/tftp/boot.ipxe"
cp /usr/lib/ipxe/snponly.efi /usr/lib/ipxe/undionly.kpxe "$LAB/tftp/" 2>/dev/null ||
  fail "no iPXE boot programs in /usr/lib/ipxe (apt-get install ipxe)"
say "kernel $(cat "$cache/kernel/version" 2>/dev/null), initrd $(stat -c %s "$LAB/build/initrd.gz") bytes"
AGENT=$(dirname "$MIDWIFE")/agent/midwife-agent
[ -x "$AGENT" ] || fail "no $AGENT (make build builds it)"
ldd "$AGENT" >/dev/null 2>&1 && fail "$AGENT is not static: hosts cannot run it"
say "the agent: $AGENT ($(stat -c %s "$AGENT") bytes, static)"

step "Creating the private network: namespace $NS, bridges $BR (10.123.0.1/24) and mwlabbr1 (10.123.1.1/24), a tap on each"
if ip netns list | awk '{print $1}' | grep -qx "$NS"; then
  if [ -n "$(ip netns pids "$NS" 2>/dev/null)" ]; then
    echo "lab: namespace $NS exists and has processes: another lab is running?" >&2
    echo "lab: stop it (Ctrl-C there), or: ip netns pids $NS; ip netns del $NS" >&2
    exit 1
  fi
  say "removing a stale, empty namespace $NS left by an earlier run"
  ip netns del "$NS"
fi
ns_create "$NS"
ns_bridge "$NS" "$BR" 10.123.0.1/24
ns_tap "$NS" "$TAP" "$BR"
ns_bridge "$NS" mwlabbr1 10.123.1.1/24
ns_tap "$NS" mwlabtap1 mwlabbr1
say "nothing outside the namespace was touched: your interfaces are as they were"

step "Writing the lab config from examples/lab.conf"
sed "s|/tmp/midwife-lab|$LAB|g" "$REPO/examples/lab.conf" >"$LAB/lab.conf"
say "$LAB/lab.conf"
"$MIDWIFE" check -c "$LAB/lab.conf" | sed 's/^/    /' || fail "the lab config does not check"

step "Starting midwife in the namespace (DHCP on $BR, HTTP on $SRV:80, TFTP from $LAB/tftp)"
: >"$LAB/midwife.log"
(tail -n +1 -F --pid=$$ "$LAB/midwife.log" 2>/dev/null | sed -u 's/^/    midwife | /') &
E2E_PIDS+=("$!")
midwife_start "$NS" "$LAB/lab.conf" "$LAB/midwife.log"
say "midwife is ready (pid $MIDWIFE_PID); the CLI below talks to its API inside the namespace"

# The web UI, from this machine's browser: a forwarder on the loopback
# address only (no interface is touched), each connection carried into the
# namespace by socat. LAB_UI_PORT=0 turns it off.
UI_PORT=${LAB_UI_PORT:-8480}
if [ "$UI_PORT" != 0 ] && command -v socat >/dev/null 2>&1; then
  bg_start - "$LAB/ui-forward.log" socat "TCP-LISTEN:$UI_PORT,bind=127.0.0.1,reuseaddr,fork" \
    "EXEC:ip netns exec $NS socat STDIO TCP\:$SRV\:80"
  if wait_for 5 "the UI forwarder" curl -fsS -o /dev/null "http://127.0.0.1:$UI_PORT/healthz"; then
    say "watch the boot in the web UI: http://127.0.0.1:$UI_PORT/ui/"
    say "  log in with the admin token: $(cat "$LAB/state/admin.token")"
  else
    say "no web UI on 127.0.0.1:$UI_PORT (port in use? LAB_UI_PORT=N picks another): $(head -c 200 "$LAB/ui-forward.log")"
  fi
fi

step "Importing them as the build \"lab\" (content-addressed under $LAB/state)"
# The store survives lab runs: import again only when a file changed
# (every import publishes a new version; the files are stored once anyway).
current=$(nsx "$NS" "$MIDWIFE" build show lab -c "$LAB/lab.conf" -o json 2>/dev/null)
if printf '%s' "$current" | grep -q "$(sha256sum <"$LAB/build/vmlinuz" | cut -c1-64)" &&
  printf '%s' "$current" | grep -q "$(sha256sum <"$LAB/build/initrd.gz" | cut -c1-64)" &&
  printf '%s' "$current" | grep -qF "$CMDLINE"; then
  say "the latest version of \"lab\" already has this kernel, initrd and command line"
else
  say "midwife build import lab $LAB/build --kind linux --kernel vmlinuz --initrd initrd.gz --cmdline '$CMDLINE'"
  (cd "$LAB/build" && nsx "$NS" "$MIDWIFE" build import lab "$LAB/build" -c "$LAB/lab.conf" --kind linux \
    --kernel vmlinuz --initrd initrd.gz --cmdline "$CMDLINE") 2>&1 | sed 's/^/    /'
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "midwife build import failed"
fi
nsx "$NS" "$MIDWIFE" build show lab -c "$LAB/lab.conf" 2>&1 | sed 's/^/    /'

step "A profile: what the host is configured with once it is born"
PROFILE=$LAB/profile.json
cat >"$PROFILE" <<'JSON'
{"name": "lab", "doc": {
  "hostname": "${name}.lab.midwife.test",
  "interfaces": [{"name": "nic1", "mac": "${mac0}", "dhcp": true}, {"name": "nic2", "mac": "${mac1}"}],
  "vlans": [{"name": "mgmt42", "link": "nic1", "id": 42, "addresses": ["10.123.42.5/24"]}],
  "bridges": [{"name": "vmbr0", "uplinks": ["nic2"], "addresses": ["10.123.1.5/24"]}],
  "dns": {"servers": ["10.123.0.1"], "search": ["lab.midwife.test"]},
  "persist": ["/var/lib/lab"]}}
JSON
sed 's/^/    /' "$PROFILE"
say "midwife profile set -f $PROFILE"
nsx "$NS" "$MIDWIFE" profile set -f "$PROFILE" -c "$LAB/lab.conf" 2>&1 | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "midwife profile set failed"

step "Adding a host record: MACs $VM_MAC and $VM_MAC2 boot the build \"lab\" with profile \"lab\""
# A fresh record each run: the store outlives the lab, and the last run's
# saved state would otherwise come back in this run's first boot.
nsx "$NS" "$MIDWIFE" host rm lab-vm -c "$LAB/lab.conf" >/dev/null 2>&1 &&
  say "(removed the record an earlier lab run left, with its saved state)"
say "midwife host set lab-vm --mac $VM_MAC --mac $VM_MAC2 --build lab --profile lab --mode stateless"
nsx "$NS" "$MIDWIFE" host set lab-vm --mac "$VM_MAC" --mac "$VM_MAC2" --build lab --profile lab \
  --mode stateless -c "$LAB/lab.conf" 2>&1 | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "midwife host set failed"

SCRIPT_URL="http://$SRV/boot/ipxe?mac=${VM_MAC//:/-}"
step "The script the VM will get: $SCRIPT_URL"
script=$(http_get "$NS" "$SCRIPT_URL" -f) || fail "cannot fetch $SCRIPT_URL"
printf '%s\n' "$script" | sed 's/^/    script  | /'
printf '%s\n' "$script" | grep -q '^kernel http://' || fail "the script does not load a kernel over HTTP"

step "Booting a VM (QEMU, software emulation, UEFI firmware, MACs $VM_MAC and $VM_MAC2) from the network"
say "the firmware asks for an address (DHCP) and gets an EFI iPXE over TFTP; iPXE asks"
say "again, fetches its script, the kernel, the initrd and the agent over HTTP and boots."
say "The agent then sends the birth and applies the profile. About a minute."
say "The VM's console is in $LAB/console.log."
: >"$LAB/console.log"
# Line-buffered all the way (sed -u, grep --line-buffered): lines show as
# they come. Strips carriage returns and terminal escapes.
(tail -n +1 -F --pid=$$ "$LAB/console.log" 2>/dev/null |
  sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
  grep --line-buffered -a 'midwife\|Configuring\|Next server\|Filename\|http://\|tftp://\|Kernel panic' |
  sed -u 's/^/    vm      | /') &
E2E_PIDS+=("$!")
qemu_start_nics "$NS" "$LAB/console.log" "$TAP" "$VM_MAC" mwlabtap1 "$VM_MAC2"
t0=$SECONDS
host_state() {
  nsx "$NS" "$MIDWIFE" host show lab-vm -o json -c "$LAB/lab.conf" 2>/dev/null | jq -r .state
}
ready_or_gone() {
  case $(host_state) in ready | failed) return 0 ;; esac
  ! kill -0 "$QEMU_PID" 2>/dev/null
}
# Once a second: every poll is an API request in midwife's log.
for ((i = 0; i < BOOT_TIMEOUT; i++)); do
  ready_or_gone && break
  sleep 1
done
ready_or_gone || fail "the host was not ready within ${BOOT_TIMEOUT}s"
[ "$(host_state)" = ready ] || fail "the host is $(host_state), not ready; see $LAB/console.log and: midwife explain $VM_MAC"
step "lab-vm was born and is ready, $((SECONDS - t0))s after power-on"
nsx "$NS" "$MIDWIFE" host show lab-vm -c "$LAB/lab.conf" 2>&1 | sed 's/^/    /'
say "what the agent reported after applying the profile:"
nsx "$NS" "$MIDWIFE" host show lab-vm -o json -c "$LAB/lab.conf" 2>/dev/null |
  jq -r '"    host name " + .facts.hostname, (.facts.links[]? | select(.kind != "loopback") |
    "    \(.name): \(.kind)\(if .vlan_id then " \(.vlan_id)" else "" end)\(if .master then " in \(.master)" else "" end) \(.addresses | join(" "))")'
if nsx "$NS" ping -c 1 -W 2 10.123.1.5 >/dev/null 2>&1; then
  say "10.123.1.5 (the VM's bridge vmbr0 over NIC 2) answers pings from the namespace"
fi

step "The VM saves its state (/var/lib/lab) and reboots"
qemu_wait_exit 120 || fail "the VM did not reboot"
WORD=$(grep -a 'midwife-fact: wrote=' "$LAB/console.log" | tr -d '\r' | head -n 1 | sed 's/.*wrote=//')
say "its first life wrote $WORD to /var/lib/lab/life"
mv "$LAB/console.log" "$LAB/console-1.log"
: >"$LAB/console.log"
qemu_start_nics "$NS" "$LAB/console.log" "$TAP" "$VM_MAC" mwlabtap1 "$VM_MAC2"
t0=$SECONDS
second() { grep -aq 'midwife-fact: persisted=' "$LAB/console.log" || ! kill -0 "$QEMU_PID" 2>/dev/null; }
wait_for "$BOOT_TIMEOUT" "the second boot" second || fail "no second boot within ${BOOT_TIMEOUT}s"
got=$(grep -a 'midwife-fact: persisted=' "$LAB/console.log" | tr -d '\r' | head -n 1 | sed 's/.*persisted=//')
[ "$got" = "$WORD" ] || fail "the second boot found '$got' in /var/lib/lab/life, expected $WORD"
step "Second boot, $((SECONDS - t0))s: /var/lib/lab/life is back ($got), restored by the agent"
qemu_wait_exit 60 || fail "the VM did not power off"
say "and the VM powered itself off (the lab initrd's last step)"

step "What midwife recorded: midwife events --host lab-vm"
nsx "$NS" "$MIDWIFE" events --host lab-vm --limit 60 -c "$LAB/lab.conf" 2>&1 | sed 's/^/    /'
step "midwife explain $VM_MAC"
nsx "$NS" "$MIDWIFE" explain "$VM_MAC" -c "$LAB/lab.conf" 2>&1 | sed 's/^/    /'

if [ "${LAB_EXIT_AFTER_BOOT:-0}" = 1 ]; then
  step "LAB_EXIT_AFTER_BOOT=1: stopping midwife and removing the lab"
  midwife_stop 10
  say "done"
  exit 0
fi

step "midwife keeps running in namespace $NS. Press Ctrl-C to stop and clean up."
[ -n "${UI_PORT:-}" ] && [ "$UI_PORT" != 0 ] && say "web UI:  http://127.0.0.1:$UI_PORT/ui/ (token in $LAB/state/admin.token)"
say "try:  ip netns exec $NS curl -s '$SCRIPT_URL'"
say "      ip netns exec $NS curl -s http://$SRV/metrics | grep ^midwife_http"
say "      ip netns exec $NS $MIDWIFE build list -c $LAB/lab.conf"
say "      ip netns exec $NS $MIDWIFE host config lab-vm -c $LAB/lab.conf"
say "      ip netns exec $NS $MIDWIFE events --follow -c $LAB/lab.conf"
say "      sqlite3 $LAB/state/midwife.db 'SELECT hex(hwaddr), state FROM leases'"
# lab_stop int|term. Ctrl-C (SIGINT) reaches midwife too (same process
# group), so it is already shutting down: give it 10 s before a SIGTERM of
# our own. Either way it must end with status 0.
lab_stop() {
  local i rc
  trap - INT TERM
  printf '\n'
  step "Stopping: midwife, then the namespace"
  if [ "$1" = int ]; then
    for ((i = 0; i < 100; i++)); do
      midwife_alive || break
      sleep 0.1
    done
  fi
  if midwife_alive; then
    midwife_stop 10
  else
    wait "$MIDWIFE_PID" 2>/dev/null
    rc=$?
    forget_pid "$MIDWIFE_PID"
    midwife_check_sanitizers
    [ "$rc" -eq 0 ] || fail "midwife exited with status $rc"
  fi
  say "done: namespace $NS and every process of the lab are gone"
  exit 0
}
trap 'lab_stop int' INT
trap 'lab_stop term' TERM
while midwife_alive; do
  sleep 1
done
fail "midwife exited on its own; see $LAB/midwife.log"
