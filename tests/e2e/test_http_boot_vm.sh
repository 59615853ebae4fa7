#!/usr/bin/env bash
# HTTP boot with real firmware: two QEMU VMs (SeaBIOS + Debian's iPXE ROM on
# virtio-net) boot side by side through midwife's DHCP and HTTP inside a
# private namespace (one bridge, two taps):
#
#   VM 1 (host "vm-one"): a linux build imported from a directory (kernel +
#     one initrd). DHCP hands iPXE the per-host script URL; the script, the
#     kernel and the initrd come over HTTP. Asserts the initrd's marker, a
#     kernel command line with midwife.url=http://..., HTTP requests for
#     /boot/ipxe and /boot/file/... in midwife's log and no TFTP transfer.
#   VM 2 (host "vm-multi"): a build with two initrd modules (a, b) plus a
#     third (c) added by `midwife build layer`. The kernel unpacks them over
#     the main initrd, whose /init lists /modules: all three must be there,
#     unpacked in order (each module k writes /modules/pos-K..pos-3 with its
#     name, so pos-1=a, pos-2=b, pos-3=c holds only for the order a, b, c).
#
# Usage: tests/e2e/test_http_boot_vm.sh MIDWIFE_BINARY
#   E2E_STANDIN=python: midwife does DHCP only; the scripts and files are
#   rendered by this test and served by python3's http.server (to tell a
#   problem of the VM/initrd part from one of midwife's HTTP side).
#   VM_TIMEOUT=SECONDS: how long the boots may take (default 240).
set -u
export E2E_NAME=http_boot_vm
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")
STANDIN=${E2E_STANDIN:-}
VM_TIMEOUT=${VM_TIMEOUT:-240}
MARKER=("" "midwife-e2e: http boot one" "midwife-e2e: http boot multi") # by VM number
MAC1=52:54:00:6d:77:11
MAC2=52:54:00:6d:77:12
CMDLINE="console=ttyS0,115200 panic=-1 quiet loglevel=3"

e2e_init
need_cmd qemu-system-x86_64 sqlite3 busybox cpio gzip apt-get dpkg-deb curl sha256sum
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

NS=$(ns_name hvm)
BR=mwthbr0
SRV=10.99.1.1
T=$E2E_TMP
mkdir -p "$T/tftp" "$T/state" "$T/one" "$T/multi"

# --- what the VMs boot ---------------------------------------------------------
cache=$(cache_dir)
"$E2E_LIB_DIR/fetch-kernel.sh" "$cache" >&2 || fail "cannot fetch a kernel"
INITRD=()
for m in 1 2; do
  INITRD[m]="$cache/initrd-$(printf '%s' "${MARKER[m]}" | sha256sum | cut -c1-12).gz"
  "$E2E_LIB_DIR/make-initrd.sh" "${INITRD[m]}" "${MARKER[m]}" || fail "cannot build the initrd"
done
cp "$cache/kernel/vmlinuz" "$T/one/vmlinuz"
cp "${INITRD[1]}" "$T/one/initrd.gz"
cp "$cache/kernel/vmlinuz" "$T/multi/vmlinuz"
cp "${INITRD[2]}" "$T/multi/initrd.gz"
initrd_module "$T/multi/a.cpio.gz" a="module a" pos-1=a pos-2=a pos-3=a || fail "module a"
initrd_module "$T/multi/b.cpio.gz" b="module b" pos-2=b pos-3=b || fail "module b"
initrd_module "$T/layer-c.cpio.gz" c="module c" pos-3=c || fail "module c"
# The TFTP root has nothing to boot: the kernel can only come over HTTP.
printf 'not a boot file\n' >"$T/tftp/README"

ns_create "$NS"
ns_bridge "$NS" "$BR" "$SRV/24"
ns_tap "$NS" mwthtap1 "$BR"
ns_tap "$NS" mwthtap2 "$BR"

if [ "$STANDIN" = python ]; then
  PORT=8080
  IPXE_SCRIPT="ipxe_script = http://$SRV:$PORT/boot/ipxe-{mac}"
  HTTP_SECTION="enabled = no"
else
  PORT=80
  IPXE_SCRIPT="; ipxe_script: the default, {http}/boot/ipxe?mac={mac}"
  HTTP_SECTION="port = $PORT"
fi
cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = $BR

[subnet vm]
network = 10.99.1.0/24
range = 10.99.1.100-10.99.1.120
router = $SRV
lease_time = 10m

[pxe]
$IPXE_SCRIPT

[tftp]
root = $T/tftp

[http]
$HTTP_SECTION
EOF

# --- builds and hosts ----------------------------------------------------------
# The CLI is a client of the server's API: the server runs first, and the
# CLI runs where it listens, inside the namespace.
midwife_start "$NS" "$T/midwife.conf" "$T/server.log"
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
sha() { sha256sum "$1" | cut -d' ' -f1; }
if [ "$STANDIN" = python ]; then
  # What midwife would serve: per-host scripts and content-addressed files.
  W=$T/www
  base=http://$SRV:$PORT
  put() { # FILE -> URL
    local s
    s=$(sha "$1")
    mkdir -p "$W/boot/file/$s"
    cp "$1" "$W/boot/file/$s/$(basename "$1")"
    printf '%s/boot/file/%s/%s\n' "$base" "$s" "$(basename "$1")"
  }
  mkdir -p "$W/boot"
  {
    echo '#!ipxe'
    echo "kernel $(put "$T/one/vmlinuz") $CMDLINE midwife.url=$base"
    echo "initrd $(put "$T/one/initrd.gz")"
    echo boot
  } >"$W/boot/ipxe-${MAC1//:/-}"
  {
    echo '#!ipxe'
    echo "kernel $(put "$T/multi/vmlinuz") $CMDLINE midwife.url=$base"
    for f in "$T/multi/initrd.gz" "$T/multi/a.cpio.gz" "$T/multi/b.cpio.gz" "$T/layer-c.cpio.gz"; do
      echo "initrd $(put "$f")"
    done
    echo boot
  } >"$W/boot/ipxe-${MAC2//:/-}"
  need_cmd python3
  bg_start "$NS" "$T/python-http.log" python3 -u -m http.server "$PORT" --bind "$SRV" --directory "$W"
else
  # Relative paths from inside the directory: the same whether the CLI
  # resolves --kernel/--initrd against PATH or the working directory.
  (cd "$T/one" && ns_cli build import one "$T/one" -c "$T/midwife.conf" --kind linux \
    --kernel vmlinuz --initrd initrd.gz --cmdline "$CMDLINE") || fail "build import one"
  (cd "$T/multi" && ns_cli build import multi "$T/multi" -c "$T/midwife.conf" --kind linux \
    --kernel vmlinuz --initrd initrd.gz --initrd a.cpio.gz --initrd b.cpio.gz \
    --cmdline "$CMDLINE") || fail "build import multi"
  ns_cli build layer multi "$T/layer-c.cpio.gz" -c "$T/midwife.conf" || fail "build layer multi"
  ns_cli host set vm-one --mac "$MAC1" --build one -c "$T/midwife.conf" || fail "host set vm-one"
  ns_cli host set vm-multi --mac "$MAC2" --build multi -c "$T/midwife.conf" || fail "host set vm-multi"
  ns_cli build list -c "$T/midwife.conf" | sed 's/^/  /'
  ns_cli host list -c "$T/midwife.conf" | sed 's/^/  /'
  # The layered build: kernel, then initrd.gz, a, b and the layered c.
  json=$(ns_cli build show multi -c "$T/midwife.conf" -o json) || fail "build show multi"
  printf '%s\n' "$json" >"$T/multi.json"
  want="$(sha "$T/multi/initrd.gz") $(sha "$T/multi/a.cpio.gz") $(sha "$T/multi/b.cpio.gz") $(sha "$T/layer-c.cpio.gz")"
  for s in $want; do
    grep -q "$s" "$T/multi.json" || { cat "$T/multi.json" >&2; fail "build show multi lacks module $s"; }
  done
  pass "builds imported (one; multi with a layered module), hosts set"
fi

start=$SECONDS
if [ "$STANDIN" = python ]; then
  wait_for 10 "python's http.server" http_get "$NS" "http://$SRV:$PORT/boot/" -o /dev/null ||
    fail "the stand-in HTTP server did not come up"
fi

# The scripts as the VMs will get them (also a first check of the server).
for mac in "$MAC1" "$MAC2"; do
  if [ "$STANDIN" = python ]; then
    url="http://$SRV:$PORT/boot/ipxe-${mac//:/-}"
  else
    url="http://$SRV/boot/ipxe?mac=${mac//:/-}"
  fi
  http_get "$NS" "$url" -f -o "$T/script-$mac" || { midwife_log | tail -n 20 >&2; fail "GET $url"; }
  log "script for $mac:"
  sed 's/^/    | /' "$T/script-$mac"
done
grep -q "^kernel http://.*/boot/file/$(sha "$T/one/vmlinuz")/" "$T/script-$MAC1" ||
  fail "the script for $MAC1 does not load the kernel over HTTP by checksum"
# The modules in boot order.
got=$(sed -n 's|^initrd .*/boot/file/\([0-9a-f]\{64\}\)/.*|\1|p' "$T/script-$MAC2" | tr '\n' ' ')
want="$(sha "$T/multi/initrd.gz") $(sha "$T/multi/a.cpio.gz") $(sha "$T/multi/b.cpio.gz") $(sha "$T/layer-c.cpio.gz") "
[ "$got" = "$want" ] || fail "the script for $MAC2 loads initrds [$got], expected [$want]"
pass "per-host scripts: kernel and initrds by checksum, modules in order"

VM=()
qemu_start "$NS" mwthtap1 "$MAC1" "$T/serial1.log"
VM[1]=$QEMU_PID
qemu_start "$NS" mwthtap2 "$MAC2" "$T/serial2.log"
VM[2]=$QEMU_PID
log "VMs started ($MAC1, $MAC2), waiting up to ${VM_TIMEOUT}s"

show_logs() {
  local n
  for n in 1 2; do
    echo "--- serial console $n (tail)" >&2
    tail -n 30 "$T/serial$n.log" 2>/dev/null | tr -d '\r' | sed "s/^/  vm$n| /" >&2
    sed "s/^/  qemu$n| /" "$T/serial$n.log.qemu" >&2 2>/dev/null
  done
  echo "--- server log (tail)" >&2
  tail -n 60 "$MIDWIFE_LOG" 2>/dev/null | sed 's/^/  server| /' >&2
  if [ "$STANDIN" = python ]; then
    tail -n 20 "$T/python-http.log" | sed 's/^/  python| /' >&2
  fi
}

# Done when both printed "done" (or clearly failed: no need to wait on).
vm_done() { # N PID
  grep -aq "midwife-fact: done" "$T/serial$1.log" && return 0
  vm_console_failed "$T/serial$1.log" && return 0
  ! kill -0 "$2" 2>/dev/null
}
both_done() { vm_done 1 "${VM[1]}" && vm_done 2 "${VM[2]}"; }
if ! wait_for "$VM_TIMEOUT" "both VMs to boot" both_done; then
  show_logs
  fail "the VMs did not finish booting within ${VM_TIMEOUT}s"
fi
log "both VMs done after $((SECONDS - start))s"
for n in 1 2; do
  grep -aqF "${MARKER[n]}" "$T/serial$n.log" || { show_logs; fail "VM $n: no marker '${MARKER[n]}'"; }
  grep -aq "midwife-fact: done" "$T/serial$n.log" || { show_logs; fail "VM $n: initrd facts incomplete"; }
done
pass "both markers on the consoles"

fact() { grep -a "midwife-fact: $2" "$T/serial$1.log" | tr -d '\r' | head -n 1; }
for n in 1 2; do
  cl=$(fact "$n" cmdline=)
  log "VM $n ${cl#midwife-fact: }"
  printf '%s\n' "$cl" | grep -Eq 'midwife\.url=http://[^ ]+' ||
    fail "VM $n: no midwife.url=http://... on the kernel command line"
  printf '%s\n' "$cl" | grep -q "console=ttyS0" || fail "VM $n: the build's command line is missing"
done
pass "kernel command lines carry the build's arguments and midwife.url=http://..."

grep -a "midwife-fact: module" "$T/serial2.log" | tr -d '\r' | sed 's/^/    /'
[ "$(fact 2 modules=)" = "midwife-fact: modules=6" ] || fail "VM 2: expected 6 files under /modules"
for kv in "a=module a" "b=module b" "c=module c" pos-1=a pos-2=b pos-3=c; do
  grep -aq "midwife-fact: module $kv" "$T/serial2.log" || fail "VM 2: /modules/${kv%%=*} is not '${kv#*=}'"
done
grep -aq "midwife-fact: module" "$T/serial1.log" && fail "VM 1 saw modules it should not have"
pass "VM 2: modules a, b and the layered c all arrived, unpacked in that order"

for n in 1 2; do
  QEMU_PID=${VM[n]}
  qemu_wait_exit 60 || { show_logs; fail "VM $n did not power off"; }
  [ "${QEMU_RC:-1}" -eq 0 ] || { show_logs; fail "VM $n: qemu exited with status $QEMU_RC"; }
done
pass "both VMs powered off after $((SECONDS - start))s"

if [ "$STANDIN" = python ]; then
  grep -c "GET /boot/" "$T/python-http.log" | sed 's/^/  stand-in requests: /'
  exit 0
fi

# midwife's side: the HTTP requests it logged (from the VMs, not from this
# test's own curl at $SRV), no TFTP transfers at all.
vm_requests() { midwife_log | grep -F '"GET /boot/' | grep -vF " $SRV:"; }
vm_requests | sed 's/^/    /' | head -n 20
for mac in "$MAC1" "$MAC2"; do
  vm_requests | grep -qF "/boot/ipxe?mac=${mac//:/-} " ||
    { show_logs; fail "no HTTP request from a VM for /boot/ipxe?mac=${mac//:/-} in midwife's log"; }
done
for f in "$T/one/vmlinuz" "$T/one/initrd.gz" "$T/multi/a.cpio.gz" "$T/multi/b.cpio.gz" "$T/layer-c.cpio.gz"; do
  vm_requests | grep -q "/boot/file/$(sha "$f")/" ||
    { show_logs; fail "no HTTP request for /boot/file/$(sha "$f")/... ($(basename "$f")) in the log"; }
done
if midwife_log | grep -Ei 'tftp.*(requested by|sent )'; then
  fail "midwife served something over TFTP; everything should have come over HTTP"
fi
pass "midwife's log: scripts and files over HTTP, no TFTP transfer"

metrics=$(http_get "$NS" "http://$SRV/metrics" -f) || fail "GET /metrics"
printf '%s\n' "$metrics" | grep -E '^midwife_http' | head -n 12 | sed 's/^/    /'
printf '%s\n' "$metrics" | grep -Eq '^midwife_http[a-z_]*(\{[^}]*\})? [1-9]' ||
  fail "/metrics has no non-zero midwife_http counter after the boots"

for mac in "$MAC1" "$MAC2"; do
  addr=$(lease_of "$T/state" "$mac" | awk -F'|' '$2 == 1 {print $1; exit}')
  [ -n "$addr" ] || fail "no bound lease for $mac"
done
midwife_stop 10
pass "server stopped cleanly (exit 0); total $((SECONDS - start))s"
