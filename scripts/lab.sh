#!/usr/bin/env bash
# make run: a private lab that boots a VM through midwife.
#
#   network namespace "mwlab"
#     bridge mwlabbr0 10.123.0.1/24  <- midwife (DHCP, TFTP, HTTP) listens here
#     tap mwlabtap0 (on the bridge)  <- QEMU VM: SeaBIOS + iPXE, network boot
#
# The VM's iPXE gets an address and the URL of its per-host script from
# midwife's DHCP, then the script, the kernel and the initrd over HTTP: the
# lab kernel and initrd are imported as the build "lab", and a host record
# for the VM's MAC names it.
#
# Safe on any machine: it creates its own namespace and touches no existing
# interface. Steps are printed as they happen; midwife's log is shown with a
# "midwife |" prefix and the VM's console lines about the boot with "vm |".
# After the VM boots and powers off, midwife keeps running until Ctrl-C; then
# everything is removed again.
#
# Usage: scripts/lab.sh MIDWIFE_BINARY
#   LAB_EXIT_AFTER_BOOT=1  exit once the VM powered off (non-interactive use)
#   LAB_BOOT_TIMEOUT=SECS  how long the VM may take (default 300)
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
MARKER="midwife lab: booted"

step_n=0
step() {
  step_n=$((step_n + 1))
  printf '\n==> %d. %s\n' "$step_n" "$*"
}
say() { printf '    %s\n' "$*"; }

e2e_init
need_cmd qemu-system-x86_64 sqlite3 cpio gzip curl
LAB=$(cache_dir)/lab
mkdir -p "$LAB/state" "$LAB/tftp" "$LAB/build"
SRV=10.123.0.1
CMDLINE="console=ttyS0,115200 panic=-1 quiet loglevel=3"

step "Preparing what the VM will boot (kept in $LAB/build)"
say "a Debian kernel (downloaded once with apt-get download, not installed)"
say "and a tiny initrd that prints \"$MARKER\" and powers the VM off."
boot_files "$LAB/build" "$MARKER"
rm -f "$LAB/build/boot.ipxe" "$LAB/tftp/vmlinuz" "$LAB/tftp/initrd.gz" "$LAB/tftp/boot.ipxe"
say "kernel $(cat "$(cache_dir)/kernel/version" 2>/dev/null), initrd $(stat -c %s "$LAB/build/initrd.gz") bytes"

step "Creating the private network: namespace $NS, bridge $BR (10.123.0.1/24), tap $TAP"
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

step "Adding a host record: MAC $VM_MAC boots the build \"lab\""
say "midwife host set lab-vm --mac $VM_MAC --build lab"
nsx "$NS" "$MIDWIFE" host set lab-vm --mac "$VM_MAC" --build lab -c "$LAB/lab.conf" 2>&1 | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "midwife host set failed"

SCRIPT_URL="http://$SRV/boot/ipxe?mac=${VM_MAC//:/-}"
step "The script the VM will get: $SCRIPT_URL"
script=$(http_get "$NS" "$SCRIPT_URL" -f) || fail "cannot fetch $SCRIPT_URL"
printf '%s\n' "$script" | sed 's/^/    script  | /'
printf '%s\n' "$script" | grep -q '^kernel http://' || fail "the script does not load a kernel over HTTP"

step "Booting a VM (QEMU, software emulation, MAC $VM_MAC) from the network"
say "the firmware's iPXE asks for an address (DHCP), gets the URL of its script,"
say "fetches the script, the kernel and the initrd over HTTP and boots them."
say "This takes about half a minute."
say "The VM's console is in $LAB/console.log."
: >"$LAB/console.log"
# Line-buffered all the way (sed -u, grep --line-buffered): lines show as
# they come. Strips carriage returns and terminal escapes.
(tail -n +1 -F --pid=$$ "$LAB/console.log" 2>/dev/null |
  sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
  grep --line-buffered -a 'midwife\|Configuring\|Next server\|Filename\|http://\|tftp://\|Kernel panic' |
  sed -u 's/^/    vm      | /') &
E2E_PIDS+=("$!")
qemu_start "$NS" "$TAP" "$VM_MAC" "$LAB/console.log"
t0=$SECONDS

booted() { grep -aqF "$MARKER" "$LAB/console.log" || ! kill -0 "$QEMU_PID" 2>/dev/null; }
wait_for "$BOOT_TIMEOUT" "the VM to boot" booted || fail "the VM did not boot within ${BOOT_TIMEOUT}s"
grep -aqF "$MARKER" "$LAB/console.log" || fail "the VM stopped without booting; see $LAB/console.log"
step "The VM booted through midwife in $((SECONDS - t0))s"
qemu_wait_exit 60 || fail "the VM did not power off"
say "and powered itself off (the initrd's last step)"
cmdline=$(grep -a 'midwife-fact: cmdline=' "$LAB/console.log" | tr -d '\r' | head -n 1)
say "its kernel command line: ${cmdline#midwife-fact: cmdline=}"
nreq=$(midwife_log | grep -c '"GET /boot/\(ipxe\|file/\)')
say "midwife's log has $nreq HTTP requests for the script and the build's files"
lease=$(lease_of "$LAB/state" "$VM_MAC" | awk -F'|' '$2 == 1 {print $1; exit}')
if [ -n "$lease" ]; then
  say "midwife's store records a lease for $VM_MAC: $lease (state: bound)"
else
  say "warning: no bound lease for $VM_MAC in $LAB/state/midwife.db"
fi

step "What midwife recorded about the VM: midwife events --mac $VM_MAC"
nsx "$NS" "$MIDWIFE" events --mac "$VM_MAC" --limit 40 -c "$LAB/lab.conf" 2>&1 | sed 's/^/    /'
step "midwife explain $VM_MAC"
say "(the lab's initrd has no agent yet, so no birth follows the kernel)"
nsx "$NS" "$MIDWIFE" explain "$VM_MAC" -c "$LAB/lab.conf" 2>&1 | sed 's/^/    /'

if [ "${LAB_EXIT_AFTER_BOOT:-0}" = 1 ]; then
  step "LAB_EXIT_AFTER_BOOT=1: stopping midwife and removing the lab"
  midwife_stop 10
  say "done"
  exit 0
fi

step "midwife keeps running in namespace $NS. Press Ctrl-C to stop and clean up."
say "try:  ip netns exec $NS curl -s '$SCRIPT_URL'"
say "      ip netns exec $NS curl -s http://$SRV/metrics | grep ^midwife_http"
say "      ip netns exec $NS $MIDWIFE build list -c $LAB/lab.conf"
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
