#!/usr/bin/env bash
# midwife's HTTP server against curl, on loopback inside a private namespace:
# build files (GET, HEAD, validators, single ranges, 206/416), boot programs
# from the TFTP root, per-host scripts, 404s, traversal attempts, oversized
# headers, keep-alive reuse, a connection that sends nothing, /healthz and
# /metrics; then imports of two small ISO images built here with xorriso (an
# ESXi-like one recognised by its BOOT.CFG, a Debian-netboot-like one) whose
# builds must list the right files, in order, with the right checksums, and
# serve them byte for byte.
#
# Usage: tests/e2e/test_http_clients.sh MIDWIFE_BINARY
set -u
export E2E_NAME=http_clients
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")

e2e_init
need_cmd curl jq xorriso sha256sum head tail cmp
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

NS=$(ns_name http)
ns_create "$NS"
T=$E2E_TMP
ROOT=$T/tftp
mkdir -p "$ROOT" "$T/state" "$T/out" "$T/files"
HOST=127.0.0.1
PORT=8080
B=http://$HOST:$PORT
CONF=$T/midwife.conf

head -c 300000 /dev/urandom >"$T/files/kernel.bin"
# over 1 MiB: the body leaves in several sendfile slices (http_service.c WRITE_SLICE)
head -c 3000000 /dev/urandom >"$T/files/data.bin"
head -c 70000 /dev/urandom >"$ROOT/undionly.kpxe"
echo "outside the root" >"$T/secret.txt"
ln -s "$T/secret.txt" "$ROOT/escape-file"

cat >"$CONF" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
enabled = no

[tftp]
root = $ROOT
address = $HOST
port = 6969

[http]
address = $HOST
port = $PORT
EOF

sha() { sha256sum "$1" | cut -d' ' -f1; }
# The CLI is a client of the server's API: the server runs first, and the
# CLI runs where it listens, inside the namespace.
midwife_start "$NS" "$CONF" "$T/midwife.log"
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
(cd "$T/files" && ns_cli build import files "$T/files" -c "$CONF" --kind linux \
  --kernel kernel.bin --initrd data.bin --cmdline "console=ttyS0") || fail "build import files"
DATA=$T/files/data.bin
SIZE=$(stat -c %s "$DATA")
URL=$B/boot/file/$(sha "$DATA")/data.bin

# req NAME URL [CURL_ARGS...]: one request; body in out/NAME, headers in
# out/NAME.h (lower-cased names), status in $CODE (000: no HTTP answer),
# body bytes received in $GOT (with -I, out/NAME has the headers instead).
req() {
  local name=$1 url=$2 w
  shift 2
  w=$(http_get "$NS" "$url" -o "$T/out/$name" -D "$T/out/$name.h" -w '%{http_code} %{size_download}' \
    "$@" 2>"$T/out/$name.err")
  CODE=${w%% *} GOT=${w##* }
  CODE=${CODE:-000}
  [ -f "$T/out/$name" ] || : >"$T/out/$name"
  [ -f "$T/out/$name.h" ] || : >"$T/out/$name.h"
  tr -d '\r' <"$T/out/$name.h" | sed 's/^\([^:]*\):/\L\1:/' >"$T/out/$name.hh"
}
hdr() { # NAME HEADER: the header's value (last response), "" if absent
  sed -n "s/^$2: *//p" "$T/out/$1.hh" | tail -n 1
}
expect_code() { # NAME WANT
  [ "$CODE" = "$2" ] || {
    sed 's/^/    | /' "$T/out/$1.hh" "$T/out/$1.err" >&2
    fail "$1: status $CODE, expected $2"
  }
}
bytes() { stat -c %s "$T/out/$1"; }

# --- whole files -----------------------------------------------------------------
req get "$URL"
expect_code get 200
cmp -s "$T/out/get" "$DATA" || fail "GET: body differs from the imported file"
[ "$(hdr get content-length)" = "$SIZE" ] || fail "GET: Content-Length $(hdr get content-length), expected $SIZE"
ETAG=$(hdr get etag)
LASTMOD=$(hdr get last-modified)
[ -n "$ETAG" ] || fail "GET: no ETag"
[ -n "$LASTMOD" ] || fail "GET: no Last-Modified"
date -d "$LASTMOD" >/dev/null 2>&1 || fail "GET: Last-Modified '$LASTMOD' is not a date"
pass "GET build file: 200, $SIZE bytes identical, ETag $ETAG, Last-Modified $LASTMOD"

req head "$URL" -I
expect_code head 200
[ "$GOT" = 0 ] || fail "HEAD: a body came back ($GOT bytes)"
[ "$(hdr head content-length)" = "$SIZE" ] || fail "HEAD: Content-Length $(hdr head content-length)"
[ "$(hdr head etag)" = "$ETAG" ] || fail "HEAD: ETag $(hdr head etag) differs from GET's $ETAG"
[ -n "$(hdr head last-modified)" ] || fail "HEAD: no Last-Modified"
pass "HEAD build file: same length and validators, no body"

req inm "$URL" -H "If-None-Match: $ETAG"
expect_code inm 304
[ "$GOT" = 0 ] || fail "304 came with a body ($GOT bytes)"
req ims "$URL" -H "If-Modified-Since: $LASTMOD"
expect_code ims 304
req inm2 "$URL" -H 'If-None-Match: "something-else"'
expect_code inm2 200
pass "conditional GET: If-None-Match / If-Modified-Since → 304, another ETag → 200"

# --- ranges ----------------------------------------------------------------------
req r1 "$URL" -H 'Range: bytes=0-99'
expect_code r1 206
[ "$(bytes r1)" -eq 100 ] || fail "bytes=0-99: got $(bytes r1) bytes"
cmp -s "$T/out/r1" <(head -c 100 "$DATA") || fail "bytes=0-99: wrong bytes"
[ "$(hdr r1 content-range)" = "bytes 0-99/$SIZE" ] || fail "bytes=0-99: Content-Range '$(hdr r1 content-range)'"
[ "$(hdr r1 content-length)" = 100 ] || fail "bytes=0-99: Content-Length '$(hdr r1 content-length)'"
req r2 "$URL" -H 'Range: bytes=-10'
expect_code r2 206
cmp -s "$T/out/r2" <(tail -c 10 "$DATA") || fail "bytes=-10: wrong bytes ($(bytes r2))"
[ "$(hdr r2 content-range)" = "bytes $((SIZE - 10))-$((SIZE - 1))/$SIZE" ] ||
  fail "bytes=-10: Content-Range '$(hdr r2 content-range)'"
req r3 "$URL" -H 'Range: bytes=100-'
expect_code r3 206
cmp -s "$T/out/r3" <(tail -c +101 "$DATA") || fail "bytes=100-: wrong bytes ($(bytes r3))"
[ "$(hdr r3 content-range)" = "bytes 100-$((SIZE - 1))/$SIZE" ] ||
  fail "bytes=100-: Content-Range '$(hdr r3 content-range)'"
req r4 "$URL" -H "Range: bytes=$((SIZE - 5))-$((SIZE + 1000))"
expect_code r4 206
cmp -s "$T/out/r4" <(tail -c 5 "$DATA") || fail "a range past the end: not clipped to the last 5 bytes"
req r5 "$URL" -H "Range: bytes=$SIZE-"
expect_code r5 416
[ "$(hdr r5 content-range)" = "bytes */$SIZE" ] || fail "416: Content-Range '$(hdr r5 content-range)'"
cmp -s "$T/out/r5" "$DATA" && fail "416 came with the file"
req r6 "$URL" -H 'Range: bytes=500-100'
case $CODE in 416 | 200) ;; *) fail "bytes=500-100: status $CODE (expected 416, or 200 ignoring it)" ;; esac
req r7 "$URL" -H 'Range: bytes=0-99' -I
expect_code r7 206
[ "$GOT" = 0 ] || fail "HEAD with a range: a body came back ($GOT bytes)"
pass "ranges: 0-99, -10, 100-, clipped end → 206 with the right bytes; past the end → 416"

# --- boot programs, scripts, unknown paths -----------------------------------------
req prog "$B/boot/program/undionly.kpxe"
expect_code prog 200
cmp -s "$T/out/prog" "$ROOT/undionly.kpxe" || fail "boot program: body differs"
req prog-r "$B/boot/program/undionly.kpxe" -H 'Range: bytes=10-19'
expect_code prog-r 206
cmp -s "$T/out/prog-r" <(tail -c +11 "$ROOT/undionly.kpxe" | head -c 10) || fail "boot program range: wrong bytes"
req script "$B/boot/ipxe?mac=52-54-00-00-00-99"
expect_code script 200
head -n 1 "$T/out/script" | grep -q '^#!ipxe' || fail "script for an unknown host: no #!ipxe header"
pass "boot program from the TFTP root (GET, range); script for an unknown host"

for p in /nope "/boot/file/$(printf '%064d' 0)/x" /boot/program/missing.kpxe /healthzz /boot/nope; do
  req nf "$B$p"
  case $CODE in 404) ;; *) fail "GET $p: status $CODE, expected 404" ;; esac
done
for p in /boot/ /boot/file/ /boot/file/abc/x /boot/program/; do
  req nf "$B$p"
  case $CODE in 4??) ;; *) fail "GET $p: status $CODE, expected 4xx" ;; esac
done
req badmac "$B/boot/ipxe?mac=not-a-mac"
case $CODE in 4??) ;; *) fail "GET /boot/ipxe?mac=not-a-mac: status $CODE, expected 4xx" ;; esac
pass "unknown paths → 404, a malformed MAC → $CODE"

# --- traversal ---------------------------------------------------------------------
n=0
for p in /boot/program/../../etc/passwd /boot/program/../../../../../../etc/passwd \
  /boot/program/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd /boot/program/..%2f..%2f..%2f..%2fetc%2fpasswd \
  /boot/program/%2fetc%2fpasswd /boot/program//etc/passwd "/boot/program/undionly.kpxe%00.txt" \
  /boot/program/escape-file /boot/program/../../secret.txt "/boot/file/$(sha "$DATA")/../../../../etc/passwd" \
  "/boot/file/..%2f..%2f..%2f..%2fetc%2fpasswd/data.bin" /boot/program/.%2e/.%2e/etc/passwd; do
  n=$((n + 1))
  req trav "$B$p" --path-as-is
  case $CODE in
    4??) ;;
    *) fail "GET $p: status $CODE, expected 4xx" ;;
  esac
  if grep -aq 'root:\|outside the root' "$T/out/trav"; then
    fail "GET $p: the body has content from outside the served trees"
  fi
done
midwife_alive || fail "midwife died during the traversal attempts"
pass "$n traversal attempts refused with 4xx, nothing leaked"

# --- limits, keep-alive, idle connections ------------------------------------------
big=$(head -c 40000 /dev/zero | tr '\0' x)
req bighdr "$URL" -H "X-Big: $big"
case $CODE in 4?? | 000) ;; *) fail "a 40 kB header: status $CODE, expected 4xx or a closed connection" ;; esac
bigcode=$CODE
many=()
for ((i = 0; i < 300; i++)); do many+=(-H "X-H$i: v"); done
req manyhdr "$URL" "${many[@]}"
case $CODE in 4?? | 000 | 200) ;; *) fail "300 headers: status $CODE" ;; esac
log "300 small headers → $CODE"
req after "$B/healthz"
expect_code after 200
pass "a 40 kB header refused (status $bigcode); the server answers afterwards"

http_get "$NS" "$URL" -v -o /dev/null -o /dev/null "$B/healthz" 2>"$T/out/ka.err" >/dev/null ||
  fail "two URLs in one curl failed"
grep -q 'Re-using existing connection' "$T/out/ka.err" || {
  grep -i 'connect\|close' "$T/out/ka.err" | sed 's/^/    | /' >&2
  fail "curl did not reuse the connection for the second request (keep-alive)"
}
pass "keep-alive: the second request reused the connection"

# A client that connects and sends nothing must not hold the server up.
bg_start "$NS" "$T/out/idle.log" bash -c "exec 3<>/dev/tcp/$HOST/$PORT; sleep 8"
IDLE=$BG_PID
sleep 0.5
t0=$(date +%s%N)
req while-idle "$URL" -H 'Range: bytes=0-0'
expect_code while-idle 206
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 3000 ] || fail "a request next to an idle connection took ${ms} ms"
kill "$IDLE" 2>/dev/null
forget_pid "$IDLE"
pass "a silent connection does not block others (${ms} ms)"

# --- /healthz, /metrics --------------------------------------------------------------
req healthz "$B/healthz"
expect_code healthz 200
req metrics "$B/metrics"
expect_code metrics 200
grep -E '^midwife_http' "$T/out/metrics" | head -n 12 | sed 's/^/    /'
grep -Eq '^midwife_http[a-z_]*(\{[^}]*\})? [1-9]' "$T/out/metrics" ||
  fail "/metrics: no non-zero midwife_http counter"
grep -Eq '^# (TYPE|HELP) midwife_http' "$T/out/metrics" || fail "/metrics: no TYPE/HELP for midwife_http"
pass "/healthz 200, /metrics with midwife_http counters"

# --- ISO imports -------------------------------------------------------------------
# ESXi-like: plain ISO 9660 names (upper case, as on VMware's media) while
# BOOT.CFG names them in lower case; a second copy under EFI/BOOT.
E=$T/esxi
mkdir -p "$E/EFI/BOOT"
head -c 20000 /dev/urandom >"$E/B.B00"
head -c 3000 /dev/urandom >"$E/JUMPSTRT.GZ"
head -c 500 /dev/urandom >"$E/USEROPTS.GZ"
head -c 40000 /dev/urandom >"$E/S.V00"
head -c 1000 /dev/urandom >"$E/MBOOT.C32"
head -c 2000 /dev/urandom >"$E/EFI/BOOT/BOOTX64.EFI"
cat >"$E/BOOT.CFG" <<'EOF'
bootstate=0
title=Loading ESXi installer
timeout=5
prefix=
kernel=/b.b00
kernelopt=runweasel
modules=/jumpstrt.gz --- /useropts.gz --- /s.v00
build=
updated=0
EOF
cp "$E/BOOT.CFG" "$E/EFI/BOOT/BOOT.CFG"
with_timeout 60 xorriso -as mkisofs -quiet -V ESXI-TEST -o "$T/esxi.iso" "$E" 2>"$T/out/xorriso.err" ||
  { cat "$T/out/xorriso.err" >&2; fail "xorriso (esxi)"; }
# Debian-netboot-like: Rock Ridge and Joliet names, as on Debian's media.
D=$T/debian
mkdir -p "$D/install.amd" "$D/.disk"
head -c 50000 /dev/urandom >"$D/install.amd/vmlinuz"
head -c 80000 /dev/urandom >"$D/install.amd/initrd.gz"
echo "Debian GNU/Linux 12 \"Bookworm\" - Official amd64 NETINST" >"$D/.disk/info"
with_timeout 60 xorriso -as mkisofs -quiet -R -J -V DEBIAN-TEST -o "$T/debian.iso" "$D" 2>"$T/out/xorriso.err" ||
  { cat "$T/out/xorriso.err" >&2; fail "xorriso (debian)"; }

# check_build NAME KIND FILE...: `build show NAME -o json` has that kind and
# exactly these files' checksums as its kernel and modules, in this order;
# every file of the build (loaders too) is served by HTTP under
# /boot/file/SHA/NAME with the same bytes.
BOOTFILES='[.. | objects | select(has("sha256") and (.role == "kernel" or .role == "module"))]'
check_build() {
  local name=$1 kind=$2 json got want f s fname
  shift 2
  json=$(ns_cli build show "$name" -c "$CONF" -o json) || fail "build show $name"
  printf '%s\n' "$json" >"$T/out/$name.json"
  got=$(jq -r 'first(.. | objects | select(has("kind")) | .kind)' <"$T/out/$name.json") ||
    fail "build show $name -o json: not JSON"
  [ "$got" = "$kind" ] || { cat "$T/out/$name.json" >&2; fail "build $name: kind '$got', expected '$kind'"; }
  got=$(jq -r "$BOOTFILES"' | map(.sha256) | join(" ")' <"$T/out/$name.json")
  want=""
  for f in "$@"; do want="$want${want:+ }$(sha "$f")"; done
  if [ "$got" != "$want" ]; then
    jq . "$T/out/$name.json" >&2
    fail "build $name: files [$got], expected [$want] ($*)"
  fi
  # Serve each, under the name the build gives it.
  while IFS='|' read -r s fname; do
    req iso-file "$B/boot/file/$s/$fname"
    expect_code iso-file 200
    [ "$(sha "$T/out/iso-file")" = "$s" ] || fail "build $name: /boot/file/$s/$fname has other content"
  done < <(jq -r '.. | objects | select(has("sha256")) | "\(.sha256)|\(.name)"' <"$T/out/$name.json")
}

ns_cli build import esxi "$T/esxi.iso" -c "$CONF" | sed 's/^/    /' ||
  fail "build import of the ESXi-like ISO"
check_build esxi esxi "$E/B.B00" "$E/JUMPSTRT.GZ" "$E/USEROPTS.GZ" "$E/S.V00"
grep -q runweasel "$T/out/esxi.json" || fail "build esxi: kernelopt 'runweasel' missing"
names=$(jq -r "$BOOTFILES"' | map(.name | ascii_downcase | ltrimstr("/")) | join(" ")' <"$T/out/esxi.json")
[ "$names" = "b.b00 jumpstrt.gz useropts.gz s.v00" ] || fail "build esxi: file names [$names]"
loader=$(jq -r '[.. | objects | select(.role? == "loader")] | map("\(.name)=\(.sha256)") | join(" ")' <"$T/out/esxi.json")
log "esxi loader files: ${loader:-none}"
case " $loader " in
  *" mboot.c32=$(sha "$E/MBOOT.C32") "*) ;;
  *) fail "build esxi: loader files [$loader]: no mboot.c32 with MBOOT.C32's checksum" ;;
esac
case " $loader " in
  *"=$(sha "$E/EFI/BOOT/BOOTX64.EFI") "*) ;;
  *) fail "build esxi: loader files [$loader]: no EFI loader with BOOTX64.EFI's checksum" ;;
esac
pass "ESXi-like ISO → kind esxi, b.b00 + jumpstrt.gz, useropts.gz, s.v00 in order, served intact"

# A host booting it: the script starts ESXi's BIOS loader (mboot.c32) with a
# per-host boot.cfg whose kernel and modules are pinned by checksum and
# resolve, relative to its prefix, to the files themselves.
ESX_MAC=52:54:00:00:0e:01
ns_cli host set esx1 --mac "$ESX_MAC" --build esxi -c "$CONF" >/dev/null || fail "host set esx1"
req esx-script "$B/boot/ipxe?mac=${ESX_MAC//:/-}"
expect_code esx-script 200
sed 's/^/    | /' "$T/out/esx-script"
cfg_url=$(sed -n "s|^kernel $B/boot/file/$(sha "$E/MBOOT.C32")/mboot.c32 -c \(http://[^ ]*\)\$|\1|p" "$T/out/esx-script")
[ -n "$cfg_url" ] || fail "the esxi script does not start mboot.c32 (by checksum) with -c BOOT.CFG-URL"
grep -q "^kernel $B/boot/file/$(sha "$E/EFI/BOOT/BOOTX64.EFI")/[^ ]* -c $cfg_url\$" "$T/out/esx-script" ||
  fail "the esxi script does not start the EFI loader (by checksum) with the same boot.cfg"
req esx-cfg "$cfg_url"
expect_code esx-cfg 200
sed 's/^/    | /' "$T/out/esx-cfg"
cfgv() { sed -n "s/^$1=//p" "$T/out/esx-cfg" | tr -d '\r'; }
prefix=$(cfgv prefix)
[ "$(cfgv kernel)" = "$(sha "$E/B.B00")/b.b00" ] || fail "boot.cfg: kernel=$(cfgv kernel)"
cfgv kernelopt | grep -q "runweasel.*midwife\.url=http://" || fail "boot.cfg: kernelopt=$(cfgv kernelopt)"
want="$(sha "$E/JUMPSTRT.GZ")/jumpstrt.gz --- $(sha "$E/USEROPTS.GZ")/useropts.gz --- $(sha "$E/S.V00")/s.v00"
[ "$(cfgv modules)" = "$want" ] || fail "boot.cfg: modules=$(cfgv modules), expected $want"
for m in "$(cfgv kernel)" $(cfgv modules | sed 's/ --- / /g'); do
  req esx-mod "$prefix/$m"
  expect_code esx-mod 200
  [ "$(sha "$T/out/esx-mod")" = "${m%%/*}" ] || fail "boot.cfg: $prefix/$m has other content"
done
pass "ESXi host: mboot.c32 / BOOTX64.EFI with its per-host boot.cfg; kernel and modules pinned, in order, fetchable"

ns_cli build import debian "$T/debian.iso" -c "$CONF" | sed 's/^/    /' ||
  fail "build import of the Debian-like ISO"
check_build debian linux "$D/install.amd/vmlinuz" "$D/install.amd/initrd.gz"
pass "Debian-netboot-like ISO → kind linux, vmlinuz + initrd.gz, served intact"

# The same layout as a tarball.
tar -C "$D" -czf "$T/debian.tar.gz" . || fail "tar"
ns_cli build import debian-tgz "$T/debian.tar.gz" -c "$CONF" >/dev/null || fail "build import of a tarball"
check_build debian-tgz linux "$D/install.amd/vmlinuz" "$D/install.amd/initrd.gz"
pass "the same layout as a .tar.gz → the same linux build"

# Content-addressed: importing the same ISO again stores nothing new.
nblobs=$(find "$T/state" -type f | wc -l)
ns_cli build import esxi-again "$T/esxi.iso" -c "$CONF" >/dev/null || fail "second ESXi import"
[ "$(find "$T/state" -type f | wc -l)" -le $((nblobs + 1)) ] ||
  log "note: a second import of the same ISO added files under state_dir"
ns_cli build list -c "$CONF" | sed 's/^/    /'

# rm refuses a build a host uses, and works once it does not.
if with_timeout 30 ip netns exec "$NS" "$MIDWIFE" build rm esxi -c "$CONF" >"$T/out/rm.err" 2>&1; then
  fail "build rm esxi succeeded while host esx1 uses it"
fi
log "build rm esxi (in use): $(head -n 1 "$T/out/rm.err")"
ns_cli host rm esx1 -c "$CONF" >/dev/null || fail "host rm esx1"
ns_cli build rm esxi -c "$CONF" >/dev/null || fail "build rm esxi once unused"
ns_cli build show esxi -c "$CONF" >/dev/null 2>&1 && fail "build esxi still there after rm"
req esx-gone "$B/boot/ipxe?mac=${ESX_MAC//:/-}"
expect_code esx-gone 200
grep -q '^exit' "$T/out/esx-gone" || fail "a removed host's script does not exit"
# Its files are still shared by esxi-again: still served.
req esx-shared "$B/boot/file/$(sha "$E/S.V00")/s.v00"
expect_code esx-shared 200
pass "build rm refused while in use; after host rm it goes, shared files stay"

midwife_alive || fail "midwife died"
midwife_stop 10
pass "server stopped cleanly (exit 0)"
