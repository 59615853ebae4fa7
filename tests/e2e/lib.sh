# shellcheck shell=bash
# Shared helpers for the end-to-end tests (sourced by tests/e2e/test_*.sh and
# scripts/lab.sh). Bash only.
#
# Network rule: everything here talks to loopback or to namespaces the caller
# created through these helpers. Namespaces are named "mwt-<what>-<pid>" (the
# lab uses "mwlab"); nothing touches an interface of the host. Every wait is
# bounded; e2e_cleanup (an EXIT trap installed by e2e_init) kills what we
# started and deletes the namespaces we created, also on failure.

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_LIB_DIR/../.." && pwd)
export REPO

E2E_NAME=${E2E_NAME:-$(basename "$0" .sh)}
E2E_NETNS=()    # namespaces to delete at exit
E2E_PIDS=()     # processes to kill at exit (we started them)
E2E_PIDFILES=() # pid files of daemons that fork (dhclient)
E2E_TMP=""
E2E_KEEP=${E2E_KEEP:-0} # 1: keep the temp dir for a post-mortem

log() { printf '%s: %s\n' "$E2E_NAME" "$*"; }
pass() { printf '%s: ok: %s\n' "$E2E_NAME" "$*"; }
# fail MESSAGE: report and exit non-zero; the EXIT trap cleans up.
fail() {
  printf '%s: FAIL: %s\n' "$E2E_NAME" "$*" >&2
  exit 1
}
skip() {
  printf '%s: SKIP: %s\n' "$E2E_NAME" "$*"
  exit 77
}

cache_dir() {
  local d=${MIDWIFE_CACHE:-$REPO/.cache}
  mkdir -p "$d"
  printf '%s\n' "$d"
}

# with_timeout SECONDS CMD...: runs CMD, killed (TERM, then KILL 5 s later)
# after SECONDS. Returns CMD's status, 124 on timeout.
with_timeout() {
  local secs=$1
  shift
  timeout --kill-after=5 "$secs" "$@"
}

# wait_for SECONDS DESCRIPTION CMD...: polls CMD every 0.2 s until it
# succeeds; returns 1 after SECONDS.
wait_for() {
  local secs=$1 what=$2 i n
  shift 2
  n=$((secs * 5))
  for ((i = 0; i < n; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  log "timed out after ${secs}s waiting for: $what"
  return 1
}

need_root() {
  [ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
}

need_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || fail "missing command '$c' (run: make deps-test)"
  done
}

# Deletes namespaces named mwt-*-PID left behind by runs that were killed
# with SIGKILL (no trap), when PID is gone. Never touches a live run's ones.
reap_stale_netns() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    case $ns in
      mwt-*) ;;
      *) continue ;;
    esac
    pid=${ns##*-}
    case $pid in
      '' | *[!0-9]*) continue ;;
    esac
    if ! kill -0 "$pid" 2>/dev/null; then
      ip netns pids "$ns" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null; done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
}

e2e_cleanup() {
  local rc=$? pid ns f
  trap - EXIT INT TERM
  for pid in "${E2E_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for f in "${E2E_PIDFILES[@]}"; do
    [ -s "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
  done
  # Up to 3 s for them to go, then KILL.
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
    local alive=0
    for pid in "${E2E_PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for pid in "${E2E_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  for ns in "${E2E_NETNS[@]}"; do
    # Anything still running inside one of our namespaces is ours.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || true
  done
  if [ -n "$E2E_TMP" ] && [ -d "$E2E_TMP" ]; then
    if [ "$E2E_KEEP" = 1 ] || { [ $rc -ne 0 ] && [ "${E2E_KEEP_ON_FAIL:-0}" = 1 ]; }; then
      log "kept $E2E_TMP"
    else
      rm -rf "$E2E_TMP"
    fi
  fi
  exit $rc
}

# e2e_init: temp dir in $E2E_TMP, cleanup trap. Call once, first.
e2e_init() {
  need_root
  need_cmd ip timeout
  E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mwt-$E2E_NAME.XXXXXX")
  chmod 755 "$E2E_TMP"
  trap e2e_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  reap_stale_netns
}

# ns_name WHAT: a namespace name unique to this run: mwt-WHAT-PID.
ns_name() { printf 'mwt-%s-%s\n' "$1" "$$"; }

# ns_create NAME: a fresh namespace with lo up, deleted at exit.
ns_create() {
  local ns=$1
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns" || fail "cannot create netns $ns"
  E2E_NETNS+=("$ns")
  ip -n "$ns" link set lo up
}

# ns_bridge NS BR [ADDR/PREFIX]: a bridge inside NS, up, optionally addressed.
ns_bridge() {
  local ns=$1 br=$2 addr=${3:-}
  ip -n "$ns" link add "$br" type bridge || fail "cannot create bridge $br in $ns"
  # No STP, no forwarding delay: ports forward at once.
  ip -n "$ns" link set "$br" type bridge stp_state 0 forward_delay 0 2>/dev/null || true
  [ -n "$addr" ] && ip -n "$ns" addr add "$addr" dev "$br"
  ip -n "$ns" link set "$br" up
}

# ns_tap NS TAP BR: a tap inside NS, enslaved to BR, for a QEMU run in NS.
ns_tap() {
  local ns=$1 tap=$2 br=$3
  ip -n "$ns" tuntap add dev "$tap" mode tap || fail "cannot create tap $tap in $ns"
  ip -n "$ns" link set "$tap" master "$br"
  ip -n "$ns" link set "$tap" up
}

# ns_veth NS1 IF1 NS2 IF2 [ADDR1] [ADDR2] [MAC2]: a veth pair from NS1 to
# NS2 (both ends created inside NS1's namespace, never in the host's).
ns_veth() {
  local ns1=$1 if1=$2 ns2=$3 if2=$4 a1=${5:-} a2=${6:-} mac2=${7:-}
  ip -n "$ns1" link add "$if1" type veth peer name "$if2" netns "$ns2" ||
    fail "cannot create veth $if1/$if2"
  [ -n "$mac2" ] && ip -n "$ns2" link set "$if2" address "$mac2"
  [ -n "$a1" ] && ip -n "$ns1" addr add "$a1" dev "$if1"
  [ -n "$a2" ] && ip -n "$ns2" addr add "$a2" dev "$if2"
  ip -n "$ns1" link set "$if1" up
  ip -n "$ns2" link set "$if2" up
}

# nsx NS CMD...: run CMD inside NS.
nsx() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

# bg_start NS LOG CMD...: start CMD in the background inside NS (or in the
# host's namespace if NS is "-"), output to LOG. Sets BG_PID; killed at exit.
bg_start() {
  local ns=$1 out=$2
  shift 2
  if [ "$ns" = - ]; then
    "$@" >"$out" 2>&1 </dev/null &
  else
    ip netns exec "$ns" "$@" >"$out" 2>&1 </dev/null &
  fi
  BG_PID=$!
  E2E_PIDS+=("$BG_PID")
}

forget_pid() {
  local p=$1 i
  for i in "${!E2E_PIDS[@]}"; do
    [ "${E2E_PIDS[$i]}" = "$p" ] && unset 'E2E_PIDS[i]'
  done
}

# --- midwife -----------------------------------------------------------------

MIDWIFE_PID=""
MIDWIFE_LOG=""
MIDWIFE_MARK=0 # lines of MIDWIFE_LOG written before the current server

# midwife_start NS CONF LOG [SECONDS]: starts "$MIDWIFE serve -c CONF" inside
# NS ("-": the host's namespace, for loopback-only configs), appending to LOG,
# and waits for the "ready" log line. Sets MIDWIFE_PID and MIDWIFE_LOG. Fails
# the test if the server exits or is not ready in time (default 20 s).
midwife_start() {
  local ns=$1 conf=$2 out=$3 secs=${4:-20} i rc
  [ -n "${MIDWIFE:-}" ] || fail "MIDWIFE is not set"
  touch "$out"
  MIDWIFE_LOG=$out
  MIDWIFE_MARK=$(wc -l <"$out")
  if [ "$ns" = - ]; then
    "$MIDWIFE" serve -c "$conf" >>"$out" 2>&1 </dev/null &
  else
    ip netns exec "$ns" "$MIDWIFE" serve -c "$conf" >>"$out" 2>&1 </dev/null &
  fi
  MIDWIFE_PID=$!
  E2E_PIDS+=("$MIDWIFE_PID")
  for ((i = 0; i < secs * 10; i++)); do
    if midwife_log | grep -q '\bready\b'; then
      return 0
    fi
    if ! kill -0 "$MIDWIFE_PID" 2>/dev/null; then
      wait "$MIDWIFE_PID" 2>/dev/null
      rc=$?
      forget_pid "$MIDWIFE_PID"
      midwife_log | sed 's/^/  midwife| /' >&2
      MIDWIFE_PID=""
      fail "midwife exited with status $rc before it was ready (config $conf)"
    fi
    sleep 0.1
  done
  midwife_log | sed 's/^/  midwife| /' >&2
  fail "midwife not ready after ${secs}s"
}

# midwife_log: what the current (or last) server wrote so far.
midwife_log() {
  tail -n +"$((MIDWIFE_MARK + 1))" "$MIDWIFE_LOG" 2>/dev/null
}

# midwife_alive: is the server we started still running?
midwife_alive() {
  [ -n "$MIDWIFE_PID" ] && kill -0 "$MIDWIFE_PID" 2>/dev/null
}

# midwife_wait_log SECONDS REGEX: waits until the current server's log has a
# line matching REGEX (grep -E).
midwife_wait_log() {
  local secs=$1 re=$2 i
  for ((i = 0; i < secs * 10; i++)); do
    midwife_log | grep -Eq -- "$re" && return 0
    sleep 0.1
  done
  return 1
}

# midwife_check_sanitizers: fails on an ASan/UBSan report in the log.
midwife_check_sanitizers() {
  if grep -q 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$MIDWIFE_LOG" 2>/dev/null; then
    grep -A 40 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$MIDWIFE_LOG" |
      head -n 60 | sed 's/^/  midwife| /' >&2
    fail "sanitizer report in the midwife log ($MIDWIFE_LOG)"
  fi
}

# midwife_stop [SECONDS]: SIGTERM, wait (default 10 s), assert exit status 0
# and a log free of sanitizer reports.
midwife_stop() {
  local secs=${1:-10} i rc
  [ -n "$MIDWIFE_PID" ] || fail "midwife_stop: no server running"
  kill -TERM "$MIDWIFE_PID" 2>/dev/null || fail "midwife (pid $MIDWIFE_PID) was not running at stop"
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$MIDWIFE_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$MIDWIFE_PID" 2>/dev/null; then
    kill -KILL "$MIDWIFE_PID" 2>/dev/null
    fail "midwife did not exit within ${secs}s of SIGTERM"
  fi
  wait "$MIDWIFE_PID" 2>/dev/null
  rc=$?
  forget_pid "$MIDWIFE_PID"
  MIDWIFE_PID=""
  midwife_check_sanitizers
  if [ $rc -ne 0 ]; then
    midwife_log | tail -n 40 | sed 's/^/  midwife| /' >&2
    fail "midwife exited with status $rc after SIGTERM (expected 0)"
  fi
  return 0
}

# --- the store ---------------------------------------------------------------

# SQL expression: an INTEGER host-order address column as dotted quad.
SQL_ADDR="((address>>24)&255)||'.'||((address>>16)&255)||'.'||((address>>8)&255)||'.'||(address&255)"
SQL_GIADDR="((giaddr>>24)&255)||'.'||((giaddr>>16)&255)||'.'||((giaddr>>8)&255)||'.'||(giaddr&255)"

# store_query STATE_DIR SQL: runs SQL read-only against STATE_DIR/midwife.db
# (fine while the server runs: WAL mode). Output: sqlite3 -separator '|'.
store_query() {
  local db=$1/midwife.db
  [ -f "$db" ] || fail "no store at $db"
  with_timeout 10 sqlite3 -readonly -cmd '.timeout 3000' "$db" "$2"
}

# mac_hex aa:bb:cc:dd:ee:ff -> AABBCCDDEEFF (what hex(hwaddr) prints).
mac_hex() {
  printf '%s\n' "$1" | tr -d ':' | tr '[:lower:]' '[:upper:]'
}

# lease_of STATE_DIR MAC: "ADDRESS|STATE|GIADDR" rows for that MAC.
lease_of() {
  store_query "$1" "SELECT $SQL_ADDR, state, $SQL_GIADDR FROM leases WHERE hex(hwaddr) = '$(mac_hex "$2")' ORDER BY starts DESC"
}

# ip_in_range ADDR FIRST LAST: is ADDR inside FIRST..LAST (inclusive)?
ip_to_int() {
  local IFS=. a b c d
  read -r a b c d <<<"$1"
  printf '%s\n' $(((a << 24) | (b << 16) | (c << 8) | d))
}
ip_in_range() {
  local x f l
  x=$(ip_to_int "$1") f=$(ip_to_int "$2") l=$(ip_to_int "$3")
  [ "$x" -ge "$f" ] && [ "$x" -le "$l" ]
}

# --- QEMU --------------------------------------------------------------------

# ipxe_rom_present: Debian's ipxe-qemu ROM for virtio-net is installed.
# QEMU loads it by default for virtio-net-pci (Debian's firmware path includes
# /usr/lib/ipxe/qemu). Passing it explicitly (romfile=/abs/path or even
# romfile=efi-virtio.rom) makes QEMU 7.2 + SeaBIOS skip the ROM ("No bootable
# device"), so qemu_start relies on the default.
ipxe_rom_present() {
  [ -f /usr/lib/ipxe/qemu/efi-virtio.rom ] || [ -f /usr/lib/ipxe/qemu/pxe-virtio.rom ] ||
    [ -f /usr/share/qemu/efi-virtio.rom ]
}

# boot_files DIR MARKER: fills DIR with vmlinuz, initrd.gz (printing MARKER)
# and boot.ipxe. Kernel and initrd come from the cache (built once).
boot_files() {
  local dir=$1 marker=$2 cache
  cache=$(cache_dir)
  "$E2E_LIB_DIR/fetch-kernel.sh" "$cache" >&2 || fail "cannot fetch a kernel"
  local initrd
  initrd="$cache/initrd-$(printf '%s' "$marker" | sha256sum | cut -c1-12).gz"
  "$E2E_LIB_DIR/make-initrd.sh" "$initrd" "$marker" || fail "cannot build the initrd"
  mkdir -p "$dir"
  cp "$cache/kernel/vmlinuz" "$dir/vmlinuz"
  cp "$initrd" "$dir/initrd.gz"
  # panic=-1: a kernel panic reboots, and -no-reboot turns that into an exit.
  cat >"$dir/boot.ipxe" <<'IPXE'
#!ipxe
echo midwife: booting ${net0/mac} from ${next-server}
kernel tftp://${next-server}/vmlinuz console=ttyS0,115200 panic=-1 quiet loglevel=3 initrd=initrd.gz
initrd tftp://${next-server}/initrd.gz
boot
IPXE
}

# qemu_start NS TAP MAC SERIAL_LOG: a BIOS VM that network-boots through TAP
# (inside NS) with Debian's iPXE ROM; serial console to SERIAL_LOG. Sets
# QEMU_PID (killed at exit).
qemu_start() {
  local ns=$1 tap=$2 mac=$3 serial=$4
  ipxe_rom_present || fail "no iPXE ROM for virtio-net (apt-get install ipxe-qemu)"
  bg_start "$ns" "$serial.qemu" qemu-system-x86_64 \
    -machine accel=tcg -m 256 -smp 1 -nographic -no-reboot -boot n \
    -nodefaults -serial "file:$serial" -monitor none -display none \
    -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=n0,mac=$mac,bootindex=1"
  QEMU_PID=$BG_PID
}

# qemu_start_nics NS SERIAL TAP MAC [TAP MAC...]: as qemu_start with one
# virtio NIC per TAP/MAC pair; the first boots. A TAP of the form
# udp:PEER_PORT:OWN_PORT connects that NIC to a UDP peer on loopback
# instead (vlan_switch.py). 384 MiB: the agent tests'
# initrd carries kernel modules. VM_FIRMWARE=uefi boots OVMF with the NICs'
# option ROMs off, so the firmware's own PXE client starts the boot (DHCP,
# then an EFI iPXE over TFTP, which asks DHCP again and goes on over HTTP);
# VM_FIRMWARE=uefi-http is OVMF with its PXE turned off (fw_cfg), so the
# firmware boots by UEFI HTTP Boot (vendor class HTTPClient, an http://
# URL from DHCP). VM_FIRMWARE=bios (the default) is SeaBIOS with Debian's
# iPXE ROM.
qemu_start_nics() {
  local ns=$1 serial=$2 n=0 args=() rom=
  shift 2
  if [ "${VM_FIRMWARE:-bios}" = uefi-http ]; then
    args+=(-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n
      -fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n)
  fi
  if [ "${VM_FIRMWARE:-bios}" = uefi ] || [ "${VM_FIRMWARE:-bios}" = uefi-http ]; then
    [ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || fail "no OVMF (apt-get install ovmf)"
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$serial.vars"
    args+=(-machine q35,accel=tcg
      -drive "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"
      -drive "if=pflash,format=raw,file=$serial.vars")
    rom=",romfile="
  else
    ipxe_rom_present || fail "no iPXE ROM for virtio-net (apt-get install ipxe-qemu)"
    args+=(-machine accel=tcg -boot n)
  fi
  while [ $# -ge 2 ]; do
    case $1 in
      # udp:PEER_PORT:OWN_PORT: the NIC's frames as UDP datagrams on
      # loopback (vlan_switch.py), instead of a tap.
      udp:*:*)
        local peer=${1#udp:}
        args+=(-netdev "socket,id=n$n,udp=127.0.0.1:${peer%%:*},localaddr=127.0.0.1:${peer#*:}") ;;
      *) args+=(-netdev "tap,id=n$n,ifname=$1,script=no,downscript=no") ;;
    esac
    if [ $n = 0 ]; then
      args+=(-device "virtio-net-pci,netdev=n$n,mac=$2$rom,bootindex=1")
    else
      args+=(-device "virtio-net-pci,netdev=n$n,mac=$2$rom")
    fi
    n=$((n + 1))
    shift 2
  done
  bg_start "$ns" "$serial.qemu" qemu-system-x86_64 -m 384 -smp 1 -nographic -no-reboot \
    -nodefaults -serial "file:$serial" -monitor none -display none "${args[@]}"
  QEMU_PID=$BG_PID
}

# vm_console_failed SERIAL_LOG: the firmware gave up (no point waiting on).
vm_console_failed() {
  grep -aq 'No bootable device\|Kernel panic' "$1" 2>/dev/null
}

# vm_finished SERIAL_LOG: the boot is over one way or the other — the
# initrd printed "midwife-fact: done", the firmware gave up, or QEMU
# ($QEMU_PID) exited. For wait_for.
vm_finished() {
  grep -aq "midwife-fact: done" "$1" 2>/dev/null || vm_console_failed "$1" || ! kill -0 "$QEMU_PID" 2>/dev/null
}

# vm_logs SERIAL_LOG: what a failing VM test shows: the tail of the serial
# console, QEMU's own output and the tail of midwife's log ($T/server.log).
vm_logs() {
  echo "--- serial console (tail)" >&2
  tail -n 60 "$1" 2>/dev/null | tr -d '\r' | sed 's/^/  vm| /' >&2
  sed 's/^/  qemu| /' "$1.qemu" >&2 2>/dev/null
  echo "--- server log (tail)" >&2
  tail -n 40 "$T/server.log" | sed 's/^/  server| /' >&2
}

# qemu_wait_exit SECONDS: waits for the VM to power off; returns 1 on timeout.
qemu_wait_exit() {
  local secs=$1 i
  for ((i = 0; i < secs * 5; i++)); do
    if ! kill -0 "$QEMU_PID" 2>/dev/null; then
      wait "$QEMU_PID" 2>/dev/null
      QEMU_RC=$?
      export QEMU_RC
      forget_pid "$QEMU_PID"
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# --- HTTP boot -----------------------------------------------------------------

# initrd_module DEST NAME=CONTENT...: a gzip'd cpio (newc) holding
# /modules/NAME with CONTENT for each pair: an extra initrd module that the
# kernel unpacks over the main initrd (see make-initrd.sh, which lists them).
initrd_module() {
  local dest=$1 d kv
  shift
  d=$(mktemp -d "${TMPDIR:-/tmp}/mwt-module.XXXXXX")
  mkdir -p "$d/modules"
  for kv in "$@"; do
    printf '%s\n' "${kv#*=}" >"$d/modules/${kv%%=*}"
  done
  (cd "$d" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 >"$dest"
  local rc=$?
  rm -rf "$d"
  return $rc
}

# http_get NS URL [CURL_ARGS...]: curl inside NS ("-": here), bounded, no
# proxy from the environment. Body on stdout.
http_get() {
  local ns=$1 url=$2
  shift 2
  if [ "$ns" = - ]; then
    with_timeout 20 curl --noproxy '*' -sS --max-time 15 "$@" "$url"
  else
    with_timeout 20 ip netns exec "$ns" curl --noproxy '*' -sS --max-time 15 "$@" "$url"
  fi
}

# midwife_cli ARGS...: "$MIDWIFE ARGS..." with its output shown on failure.
midwife_cli() {
  local out rc
  out=$(with_timeout 60 "$MIDWIFE" "$@" 2>&1)
  rc=$?
  if [ $rc -ne 0 ]; then
    printf '%s\n' "$out" | sed 's/^/  cli| /' >&2
    log "command failed (status $rc): midwife $*"
    return $rc
  fi
  printf '%s\n' "$out"
}

# --- iSCSI target (Debian's tgt) ---------------------------------------------

TGT_NS=""
TGT_PORT=""
TGT_PID=""


# The admin API from inside a namespace, for tests that set API_NS (the
# namespace the calls come from), API_URL (http://ADDR[:PORT]) and ADMIN
# (the token, e.g. $(cat STATE/admin.token)); API_OUT is where the body
# goes (default $E2E_TMP/out).
# api METHOD PATH [BODY]: the call; its status in $CODE.
api() {
  local m=$1 p=$2 body=${3:-}
  CODE=$(nsx "$API_NS" curl --noproxy '*' -sS --max-time 120 -o "${API_OUT:-$E2E_TMP/out}" -w '%{http_code}' \
    -X "$m" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    ${body:+--data-binary "$body"} "$API_URL$p")
}
# expect STATUS WHAT: the last call answered STATUS, else the test fails
# with WHAT and the start of the body.
expect() { [ "$CODE" = "$1" ] || fail "$2: status $CODE, expected $1: $(head -c 400 "${API_OUT:-$E2E_TMP/out}")"; }

# find_static_agent MIDWIFE: sets AGENT_DIR to MIDWIFE_AGENT_DIR, else the
# first of MIDWIFE's dir/agent, build-rel/agent, build/agent holding a
# static midwife-agent with its init files; fails the test when none does.
find_static_agent() {
  local d
  static_agent() { [ -x "$1/midwife-agent" ] && ! ldd "$1/midwife-agent" >/dev/null 2>&1; }
  AGENT_DIR=${MIDWIFE_AGENT_DIR:-}
  if [ -z "$AGENT_DIR" ]; then
    for d in "$(dirname "$1")/agent" "$REPO/build-rel/agent" "$REPO/build/agent"; do
      static_agent "$d" && { AGENT_DIR=$d; break; }
    done
  fi
  [ -n "$AGENT_DIR" ] && static_agent "$AGENT_DIR" ||
    fail "no static midwife-agent (build one: meson setup build-rel --buildtype=release && ninja -C build-rel)"
  AGENT_DIR=$(realpath "$AGENT_DIR")
  for d in midwife-agent.init midwife-agent.service; do
    [ -f "$AGENT_DIR/$d" ] || fail "$AGENT_DIR has no $d"
  done
}
# tgt_start NS PORTAL LOG: tgtd inside NS serving iSCSI at PORTAL
# (ADDR:PORT, an address NS has), output to LOG. Its management socket,
# /var/run/tgtd/socket.N, lives in the host's file system: N (TGT_PORT) is
# this run's own, so it never meets a system tgtd (N = 0) or another run.
# Sets TGT_PID (killed at exit); call tgt_stop before the end.
tgt_start() {
  local ns=$1 portal=$2 out=$3
  need_cmd tgtd tgtadm
  TGT_NS=$ns
  TGT_PORT=$((10000 + $$ % 20000)) # tgtd takes 0..32767
  mkdir -p /var/run/tgtd
  rm -f "/var/run/tgtd/socket.$TGT_PORT" "/var/run/tgtd/socket.$TGT_PORT.lock"
  bg_start "$ns" "$out" tgtd -f -C "$TGT_PORT" --iscsi "portal=$portal"
  TGT_PID=$BG_PID
  wait_for 10 "tgtd's management socket" tgt_adm --mode target --op show ||
    { sed 's/^/  tgtd| /' "$out" >&2; fail "tgtd did not come up"; }
}

# tgt_adm ARGS...: tgtadm against our tgtd (iSCSI driver).
tgt_adm() {
  with_timeout 10 ip netns exec "$TGT_NS" tgtadm -C "$TGT_PORT" --lld iscsi "$@"
}

# tgt_stop: asks tgtd to exit (KILL after 5 s) and removes its socket files.
tgt_stop() {
  [ -n "$TGT_PID" ] || return 0
  tgt_adm --mode system --op delete >/dev/null 2>&1 || kill -TERM "$TGT_PID" 2>/dev/null
  for _ in $(seq 25); do
    kill -0 "$TGT_PID" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL "$TGT_PID" 2>/dev/null
  wait "$TGT_PID" 2>/dev/null
  forget_pid "$TGT_PID"
  TGT_PID=""
  rm -f "/var/run/tgtd/socket.$TGT_PORT" "/var/run/tgtd/socket.$TGT_PORT.lock"
}
