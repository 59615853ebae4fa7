#!/usr/bin/env bash
# iSCSI SAN boot with a real target: a QEMU VM (SeaBIOS + Debian's iPXE ROM
# on virtio-net) boots from a disk that Debian's tgtd exports, inside a
# private namespace (one bridge: midwife at .1, the target's portal at .2).
#
#   The disk: a 1 MiB raw image whose boot sector (hand-assembled below)
#     prints a marker on COM1 and on the screen, then halts.
#   midwife: a sanboot build whose san_uri names the portal and LUN and a
#     placeholder target; host "vm-san" in mode sanboot whose var
#     iscsi_target names the real one; its initiator name is the default,
#     iqn.2026-12.midwife:vm-san. tgtd lets only that initiator in.
#
# Boot 1 (mode sanboot) asserts: the script carries `set initiator-iqn` and
# the host's target; the VM's DHCP ACK carried the root path (option 17;
# the dhcp.ack event's root_path); tgtd saw a login from the host's
# initiator; the marker came out of the boot sector on the serial console.
# Boot 2 (mode stateless, its own iscsi_initiator var): no root path from
# DHCP, and the script alone gets the VM to the disk under that name. The
# VM halts (it never powers off): it is killed once the marker shows.
#
# Usage: tests/e2e/test_sanboot_vm.sh MIDWIFE_BINARY
#   VM_TIMEOUT=SECONDS: how long the boot may take (default 90).
set -u
export E2E_NAME=sanboot_vm
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")
VM_TIMEOUT=${VM_TIMEOUT:-90}
MARKER="midwife-e2e: sanboot disk reached"
MAC=52:54:00:6d:77:51
HOST=vm-san
INITIATOR=iqn.2026-12.midwife:$HOST
TARGET=iqn.2026-12.lab.san:$HOST
SRV=10.99.6.1
SAN=10.99.6.2
BUILD_URI="iscsi:$SAN::3260:1:iqn.2026-12.lab.san:placeholder"
WANT_URI="iscsi:$SAN::3260:1:$TARGET"

e2e_init
need_cmd qemu-system-x86_64 python3 curl jq tgtd tgtadm
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

NS=$(ns_name svm)
BR=mwtsbr0
T=$E2E_TMP
mkdir -p "$T/tftp" "$T/state"

# --- the disk ------------------------------------------------------------------
# 16-bit real-mode code, loaded by the BIOS (here iPXE's INT 13h boot) at
# 0000:7C00 and entered with DL = the drive. Every instruction is written
# out with its bytes; jumps are relative to the next instruction.
python3 - "$T/disk.img" "$MARKER" <<'PY' || fail "cannot build the disk image"
import sys

ORG = 0x7C00
code = bytearray()
labels, fixups = {}, []  # fixups: (where the rel8 byte is, label)


def op(*b):
    code.extend(b)


def label(name):
    labels[name] = len(code)


def rel8(opcode, name):  # a short jump: opcode, then target - next instruction
    op(opcode, 0)
    fixups.append((len(code) - 1, name))


op(0xFA)              # cli            no interrupts while the stack moves
op(0x31, 0xC0)        # xor ax, ax     ax = 0
op(0x8E, 0xD8)        # mov ds, ax     data segment 0: the text is at 0x7C00 + offset
op(0x8E, 0xD0)        # mov ss, ax     stack segment 0 ...
op(0xBC, 0x00, 0x7C)  # mov sp, 0x7C00 ... growing down from below the boot sector
op(0xFB)              # sti
op(0xFC)              # cld            lodsb walks upwards
op(0xBE, 0, 0)        # mov si, text   (the address is filled in below)
si_imm = [len(code) - 2]
label("screen")       # first the whole text on the screen ...
op(0xAC)              # lodsb          al = [ds:si], si += 1
op(0x84, 0xC0)        # test al, al    the terminating NUL?
rel8(0x74, "serial")  # jz serial
op(0xB4, 0x0E)        # mov ah, 0x0E   video BIOS: teletype output of al
op(0x31, 0xDB)        # xor bx, bx     page 0, colour 0
op(0xCD, 0x10)        # int 0x10
rel8(0xEB, "screen")  # jmp screen
label("serial")       # ... then again on COM1. Two passes, not one: without
                      # a VGA, SeaBIOS's serial console (sercon) copies INT 10h
                      # text to COM1 too (it may hold back the last character),
                      # and one pass would interleave the copies.
op(0xBE, 0, 0)        # mov si, text
si_imm.append(len(code) - 2)
label("next")
op(0xAC)              # lodsb
op(0x84, 0xC0)        # test al, al
rel8(0x74, "done")    # jz done
op(0x88, 0xC4)        # mov ah, al     keep the character: "in" below uses al
op(0xBA, 0xFD, 0x03)  # mov dx, 0x3FD  COM1 line status register
label("wait")
op(0xEC)              # in al, dx
op(0xA8, 0x20)        # test al, 0x20  transmit holding register empty?
rel8(0x74, "wait")    # jz wait        not yet: ask again
op(0x88, 0xE0)        # mov al, ah     the character back
op(0xBA, 0xF8, 0x03)  # mov dx, 0x3F8  COM1 data register
op(0xEE)              # out dx, al     on the serial line
rel8(0xEB, "next")    # jmp next
label("done")
op(0xFA)              # cli            nothing may wake us ...
label("halt")
op(0xF4)              # hlt
rel8(0xEB, "halt")    # jmp halt       ... and an NMI only halts again
label("text")
code.extend(sys.argv[2].encode() + b"\r\n\0")

for at, name in fixups:
    d = labels[name] - (at + 1)
    assert -128 <= d <= 127, name
    code[at] = d & 0xFF
text = ORG + labels["text"]
for at in si_imm:
    code[at:at + 2] = text.to_bytes(2, "little")
assert len(code) <= 446, "the code must leave the partition table's place free"

# One partition entry, only for its geometry: iPXE's INT 13h (1.0.0+git-
# 20190125) takes heads and sectors per track from the partition table's
# end CHS, else guesses 255 x 63. A 1 MiB disk is less than one such
# cylinder: zero cylinders, and every CHS read (the MBR's too) out of
# range. Ending at head 15, sector 32 makes it 16 x 32: 4 cylinders.
HEADS, SECTORS, TOTAL = 16, 32, 2048
first, last = SECTORS, TOTAL - 1  # from the second track to the end


def chs(lba):  # the 3 CHS bytes of an entry: head, sector | cylinder bits 8-9, cylinder
    c, rest = divmod(lba, HEADS * SECTORS)
    h, s = divmod(rest, SECTORS)
    return bytes([h, (s + 1) | ((c >> 2) & 0xC0), c & 0xFF])


entry = (b"\x00" + chs(first) + b"\xDA" + chs(last)  # not active; type DA: no file system
         + first.to_bytes(4, "little") + (last - first + 1).to_bytes(4, "little"))
table = entry + bytes(48)  # the other three entries unused
sector = bytes(code) + bytes(446 - len(code)) + table + b"\x55\xAA"  # the boot signature
assert len(sector) == 512
with open(sys.argv[1], "wb") as f:
    f.write(sector + bytes(1024 * 1024 - 512))
PY
[ "$(stat -c %s "$T/disk.img")" = 1048576 ] || fail "the disk image is not 1 MiB"

# --- the network, the target, midwife --------------------------------------------
ns_create "$NS"
ns_bridge "$NS" "$BR" "$SRV/24"
ip -n "$NS" addr add "$SAN/24" dev "$BR"
ns_tap "$NS" mwtstap0 "$BR"

tgt_start "$NS" "$SAN:3260" "$T/tgtd.log"
# Stop tgtd (and drop its socket files) whatever way the test ends.
sanboot_exit() {
  local rc=$?
  tgt_stop
  (exit $rc)
  e2e_cleanup
}
trap sanboot_exit EXIT
tgt_adm --mode target --op new --tid 1 --targetname "$TARGET" || fail "tgtadm: new target"
tgt_adm --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$T/disk.img" || fail "tgtadm: new LUN"
# Only the host's initiator name may log in.
tgt_adm --mode target --op bind --tid 1 --initiator-name "$INITIATOR" || fail "tgtadm: bind initiator"
pass "tgtd exports $TARGET LUN 1 at $SAN:3260 to $INITIATOR only (control port $TGT_PORT)"

cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = $BR

[subnet vm]
network = 10.99.6.0/24
range = 10.99.6.100-10.99.6.120
router = $SRV
lease_time = 10m

[tftp]
root = $T/tftp

[http]
port = 80
EOF
midwife_start "$NS" "$T/midwife.conf" "$T/server.log"
ADMIN=$(cat "$T/state/admin.token")

API_NS=$NS API_URL=http://$SRV # api, expect (lib.sh)

api POST /api/v1/builds "{\"name\":\"sandisk\",\"kind\":\"sanboot\",\"san_uri\":\"$BUILD_URI\"}"
[ "$CODE" = 201 ] || [ "$CODE" = 200 ] || fail "build import: status $CODE: $(cat "$T/out")"
api POST /api/v1/hosts "{\"name\":\"$HOST\",\"macs\":[\"$MAC\"],\"build\":\"sandisk\",\"mode\":\"sanboot\",
  \"vars\":{\"iscsi_target\":\"$TARGET\"}}"
expect 201 "host create"

# The script as the VM will get it (asked from midwife's own address: no
# lease there, so no boot token, and nothing else changes).
http_get "$NS" "http://$SRV/boot/ipxe?mac=${MAC//:/-}" -f -o "$T/script" ||
  { midwife_log | tail -n 20 >&2; fail "GET /boot/ipxe"; }
sed 's/^/    | /' "$T/script"
grep -qx "set initiator-iqn $INITIATOR" "$T/script" || fail "the script does not set the host's initiator name"
grep -qx "sanboot $WANT_URI" "$T/script" || fail "the script does not sanboot the host's target ($WANT_URI)"
pass "script: set initiator-iqn $INITIATOR, sanboot $WANT_URI"

# --- the boots ------------------------------------------------------------------
show_logs() { # SERIAL_LOG
  echo "--- serial console (tail)" >&2
  tail -n 30 "$1" 2>/dev/null | tr -d '\r' | sed 's/^/  vm| /' >&2
  sed 's/^/  qemu| /' "$1.qemu" >&2 2>/dev/null
  echo "--- tgtd" >&2
  tail -n 20 "$T/tgtd.log" | sed 's/^/  tgtd| /' >&2
  echo "--- server log (tail)" >&2
  tail -n 40 "$T/server.log" | sed 's/^/  server| /' >&2
}

# boot_vm N INITIATOR: powers the VM on (serial console $T/serialN.log),
# waits for the boot sector's marker, checks that tgtd has a session from
# INITIATOR, then kills the VM (it halts: it never powers off). Sets
# BOOT_S, the seconds from power-on to the marker.
boot_vm() {
  local n=$1 initiator=$2 serial=$T/serial$1.log t0=$SECONDS
  qemu_start "$NS" mwtstap0 "$MAC" "$serial"
  log "boot $n: VM started ($MAC), waiting up to ${VM_TIMEOUT}s for the boot sector's marker"
  marker_or_gone() { grep -aqF "$MARKER" "$serial" || vm_console_failed "$serial" || ! kill -0 "$QEMU_PID" 2>/dev/null; }
  wait_for "$VM_TIMEOUT" "the marker on the serial console" marker_or_gone ||
    { show_logs "$serial"; fail "boot $n: no marker within ${VM_TIMEOUT}s"; }
  grep -aqF "$MARKER" "$serial" || { show_logs "$serial"; fail "boot $n: the VM gave up before the disk's boot sector ran"; }
  BOOT_S=$((SECONDS - t0))
  pass "boot $n: the disk's boot sector printed its marker ${BOOT_S}s after power-on"
  # The session is still open (the boot sector halted on top of iPXE's
  # SAN drive): tgtd shows who logged in.
  tgt_adm --mode target --op show >"$T/tgt-show$n" || fail "tgtadm show"
  sed -n '/I_T nexus information/,/LUN information/p' "$T/tgt-show$n" | sed 's/^/    /'
  grep -q "Initiator: $initiator\b" "$T/tgt-show$n" || { show_logs "$serial"; fail "boot $n: tgtd saw no login from $initiator"; }
  pass "boot $n: tgtd has a session from $initiator"
  # Disowned first, so bash does not report the KILL as a failed job.
  disown "$QEMU_PID" 2>/dev/null
  kill -KILL "$QEMU_PID" 2>/dev/null
  qemu_gone() { ! kill -0 "$QEMU_PID" 2>/dev/null; }
  wait_for 10 "QEMU to go after KILL" qemu_gone || fail "QEMU did not go away after KILL"
  forget_pid "$QEMU_PID"
}

# last_ack_field FIELD: that data field of the newest dhcp.ack to iPXE.
last_ack_field() {
  api GET "/api/v1/events?host=$HOST&kind=dhcp.ack&limit=100"
  expect 200 "events"
  jq -r --arg f "$1" '[.items[] | select(.data.client == "ipxe")] | last | .data[$f] // ""' "$T/out"
}

# script_served_to ADDR: a sanboot script went to ADDR, after event id $2.
script_served_to() {
  api GET "/api/v1/events?host=$HOST&kind=http.script&limit=100"
  jq -e --arg to "served to $1:" --argjson after "$2" '.items[] | select(.id > $after and .status == "ok"
    and .data.kind == "sanboot" and (.message | contains($to)))' "$T/out" >/dev/null
}
last_event_id() {
  api GET "/api/v1/events?limit=1"
  jq -r '[.items[].id] | max // 0' "$T/out"
}

# Boot 1: mode sanboot. DHCP hands iPXE the root path (option 17) and the
# initiator (203); iPXE opens the disk before it runs the script, which
# boots that drive.
start=$SECONDS
mark=$(last_event_id)
boot_vm 1 "$INITIATOR"
BOOT1_S=$BOOT_S
got=$(last_ack_field root_path)
[ "$got" = "$WANT_URI" ] || fail "boot 1: the iPXE ACK's root path (option 17) was '$got', expected $WANT_URI"
pass "boot 1: DHCP ACK to iPXE carried option 17 = $WANT_URI"
VM_ADDR=$(last_ack_field address)
# The VM itself (not only this test, above) fetched the script.
script_served_to "$VM_ADDR" "$mark" ||
  { jq -c '.items[] | .message' "$T/out" >&2; fail "boot 1: no sanboot script served to the VM ($VM_ADDR)"; }
pass "boot 1: the VM ($VM_ADDR) fetched its sanboot script"

# Boot 2: mode stateless (still the sanboot build) and its own initiator
# name: DHCP hands no root path, so the script's `set initiator-iqn` and
# `sanboot URI` do it all.
INITIATOR2=iqn.2026-12.lab.example:vm-san-2
tgt_adm --mode target --op bind --tid 1 --initiator-name "$INITIATOR2" || fail "tgtadm: bind initiator 2"
api PATCH "/api/v1/hosts/$HOST" "{\"mode\":\"stateless\",
  \"vars\":{\"iscsi_target\":\"$TARGET\",\"iscsi_initiator\":\"$INITIATOR2\"}}"
expect 200 "host patch"
mark=$(last_event_id)
boot_vm 2 "$INITIATOR2"
BOOT2_S=$BOOT_S
[ "$(last_ack_field xid)" != "" ] || fail "boot 2: no DHCP ACK to iPXE"
got=$(last_ack_field root_path)
[ -z "$got" ] || fail "boot 2: a stateless host got a root path ($got)"
script_served_to "$VM_ADDR" "$mark" || fail "boot 2: no sanboot script served to the VM ($VM_ADDR)"
grep -aq "^Root path" "$T/serial2.log" && fail "boot 2: iPXE printed a root path from DHCP"
pass "boot 2: no option 17; the script logged in as $INITIATOR2 by itself"

tgt_stop
midwife_stop 10
pass "tgtd and midwife stopped cleanly; boots ${BOOT1_S}s and ${BOOT2_S}s, total $((SECONDS - start))s"
