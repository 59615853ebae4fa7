#!/usr/bin/env bash
# Real TFTP clients against midwife's TFTP server, on the loopback of a
# private namespace: tftp-hpa, curl (default and --tftp-blksize), atftp with
# blksize + windowsize, a file past block-number rollover (> 65535 * 512
# bytes), path traversal and absolute paths refused, a missing file refused.
# Every download is compared by SHA-256.
#
# Usage: tests/e2e/test_tftp_clients.sh MIDWIFE_BINARY
set -u
export E2E_NAME=tftp_clients
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")

e2e_init
need_cmd tftp curl atftp sha256sum head
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

NS=$(ns_name tftp)
ns_create "$NS"
T=$E2E_TMP
ROOT=$T/root
mkdir -p "$ROOT/sub" "$T/state" "$T/out"
HOST=127.0.0.1
PORT=6969

# Test files: sizes around block edges and one past the 16-bit block counter
# at 512-byte blocks (65535 * 512 = 33553920 bytes): 40 MiB.
head -c 0 /dev/zero >"$ROOT/empty.bin"
head -c 511 /dev/urandom >"$ROOT/small.bin"
head -c 512 /dev/urandom >"$ROOT/exact512.bin"
head -c 1468 /dev/urandom >"$ROOT/exact1468.bin"
head -c 1000000 /dev/urandom >"$ROOT/medium.bin"
head -c 3000 /dev/urandom >"$ROOT/sub/nested.bin"
# Deterministic, non-repeating at block scale: 40 MiB from a seeded stream.
openssl enc -aes-128-ctr -nosalt -pass pass:midwife-rollover -in /dev/zero 2>/dev/null |
  head -c $((40 * 1024 * 1024)) >"$ROOT/big.bin" ||
  head -c $((40 * 1024 * 1024)) /dev/urandom >"$ROOT/big.bin"
[ "$(stat -c %s "$ROOT/big.bin")" -eq $((40 * 1024 * 1024)) ] || fail "cannot make big.bin"
# A secret outside the root that traversal must not reach.
echo "outside the root" >"$T/secret.txt"
# Symlinks that lead out of the root must not be followed out of it.
ln -s "$T/secret.txt" "$ROOT/escape-file"
ln -s "$T" "$ROOT/escape-dir"

cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
enabled = no

[tftp]
root = $ROOT
address = $HOST
port = $PORT
max_blksize = 1468
max_windowsize = 64
EOF

midwife_start "$NS" "$T/midwife.conf" "$T/midwife.log"

sha() { sha256sum "$1" | cut -d' ' -f1; }
# same NAME OUT CLIENT: downloaded OUT equals ROOT/NAME.
same() {
  local name=$1 out=$2 client=$3
  [ -f "$out" ] || fail "$client: $name: no file written"
  if [ "$(sha "$ROOT/$name")" != "$(sha "$out")" ]; then
    fail "$client: $name: SHA-256 differs ($(stat -c %s "$out") of $(stat -c %s "$ROOT/$name") bytes)"
  fi
}

# --- tftp-hpa
for f in empty.bin small.bin exact512.bin medium.bin sub/nested.bin; do
  out=$T/out/hpa-${f//\//_}
  (cd "$T/out" && with_timeout 60 ip netns exec "$NS" tftp -m binary "$HOST" "$PORT" -c get "$f" "$out") ||
    fail "tftp-hpa: get $f failed"
  same "$f" "$out" tftp-hpa
done
pass "tftp-hpa: 5 files, default blksize 512"

# --- curl, default and negotiated block sizes (curl sends blksize/tsize)
for f in small.bin exact1468.bin medium.bin; do
  out=$T/out/curl-$f
  with_timeout 60 ip netns exec "$NS" curl -sS --fail -o "$out" "tftp://$HOST:$PORT/$f" || fail "curl: $f failed"
  same "$f" "$out" curl
  for bs in 512 1024 1468 8192; do
    out=$T/out/curl-$bs-$f
    with_timeout 60 ip netns exec "$NS" curl -sS --fail --tftp-blksize "$bs" -o "$out" "tftp://$HOST:$PORT/$f" ||
      fail "curl --tftp-blksize $bs: $f failed"
    same "$f" "$out" "curl --tftp-blksize $bs"
  done
done
# --tftp-no-options: plain RFC 1350 from curl
with_timeout 60 ip netns exec "$NS" curl -sS --fail --tftp-no-options -o "$T/out/curl-noopt" \
  "tftp://$HOST:$PORT/medium.bin" || fail "curl --tftp-no-options failed"
same medium.bin "$T/out/curl-noopt" "curl --tftp-no-options"
pass "curl: default, blksize 512/1024/1468/8192 (clamped to max_blksize), no options"

# --- atftp with blksize + windowsize (RFC 7440)
for f in medium.bin exact1468.bin; do
  out=$T/out/atftp-$f
  with_timeout 60 ip netns exec "$NS" atftp --option "blksize 1468" --option "windowsize 16" \
    -g -r "$f" -l "$out" "$HOST" "$PORT" >"$T/atftp.log" 2>&1 ||
    { cat "$T/atftp.log" >&2; fail "atftp blksize 1468 windowsize 16: $f failed"; }
  same "$f" "$out" "atftp windowsize 16"
done
pass "atftp: blksize 1468, windowsize 16"

# --- block-number rollover: 40 MiB at 512-byte blocks is 81920 blocks
t0=$SECONDS
with_timeout 300 ip netns exec "$NS" curl -sS --fail --tftp-blksize 512 -o "$T/out/big-512" \
  "tftp://$HOST:$PORT/big.bin" || fail "curl: big.bin at blksize 512 failed (rollover)"
same big.bin "$T/out/big-512" "curl blksize 512 (rollover)"
pass "rollover: 40 MiB at blksize 512 (81920 blocks) in $((SECONDS - t0))s"
t0=$SECONDS
(cd "$T/out" && with_timeout 300 ip netns exec "$NS" tftp -m binary "$HOST" "$PORT" -c get big.bin "$T/out/big-hpa") ||
  fail "tftp-hpa: big.bin failed (rollover, no options)"
same big.bin "$T/out/big-hpa" "tftp-hpa (rollover, no options)"
pass "rollover: 40 MiB with tftp-hpa, no options, in $((SECONDS - t0))s"
t0=$SECONDS
with_timeout 300 ip netns exec "$NS" atftp --option "blksize 1468" --option "windowsize 16" \
  -g -r big.bin -l "$T/out/big-atftp" "$HOST" "$PORT" >"$T/atftp.log" 2>&1 ||
  { cat "$T/atftp.log" >&2; fail "atftp: big.bin failed"; }
same big.bin "$T/out/big-atftp" "atftp windowsize 16 (big)"
pass "40 MiB with atftp blksize 1468 windowsize 16 in $((SECONDS - t0))s"

# --- refusals: each must end in a TFTP error and leave no file
refused() {
  local what=$1 name=$2 out
  out=$T/out/refused-$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '_')
  rm -f "$out"
  # --path-as-is: curl would otherwise squash "../" before sending.
  if with_timeout 20 ip netns exec "$NS" curl -sS --fail --path-as-is -o "$out" "tftp://$HOST:$PORT/$name" 2>"$T/curl.err"; then
    fail "$what: '$name' was served ($(stat -c %s "$out" 2>/dev/null) bytes)"
  fi
  # curl exit 68/69/71...: a TFTP error from the server, not a timeout (28).
  grep -qi 'timed out\|timeout' "$T/curl.err" && fail "$what: '$name': no error packet, the client timed out"
  if [ -s "$out" ]; then
    fail "$what: '$name': data written to the client file"
  fi
  rm -f "$out"
}
refused "traversal" "../secret.txt"
refused "traversal" "../../etc/passwd"
refused "traversal" "sub/../../secret.txt"
refused "absolute path" "/etc/passwd"
refused "absolute path" "$T/secret.txt"
refused "symlink out of the root" "escape-file"
refused "symlink out of the root" "escape-dir/secret.txt"
refused "missing file" "no-such-file.bin"
# tftp-hpa too: it prints the server's error text.
(cd "$T/out" && with_timeout 20 ip netns exec "$NS" tftp -m binary "$HOST" "$PORT" -c get ../../etc/passwd "$T/out/hpa-passwd") \
  >"$T/hpa.err" 2>&1
grep -qi 'error' "$T/hpa.err" || { cat "$T/hpa.err" >&2; fail "tftp-hpa: traversal got no error"; }
[ -s "$T/out/hpa-passwd" ] && fail "tftp-hpa: traversal wrote data"
(cd "$T/out" && with_timeout 20 ip netns exec "$NS" tftp -m binary "$HOST" "$PORT" -c get missing.bin "$T/out/hpa-missing") \
  >"$T/hpa.err" 2>&1
grep -qi 'error' "$T/hpa.err" || { cat "$T/hpa.err" >&2; fail "tftp-hpa: missing file got no error"; }
log "tftp-hpa says for a missing file: $(tr -d '\r' <"$T/hpa.err" | head -n 1)"
for name in ../secret.txt ../../etc/passwd sub/../../secret.txt; do
  midwife_log | grep -qF "refused \"$name\"" || fail "no 'refused \"$name\"' line in the server log"
done
pass "refused with an error: ../ traversal (3 forms), absolute paths, symlinks out of the root, missing file"

# --- a write request is refused (read-only server)
echo data >"$T/upload.txt"
if with_timeout 20 ip netns exec "$NS" curl -sS --fail -T "$T/upload.txt" "tftp://$HOST:$PORT/upload.txt" 2>/dev/null; then
  fail "a write request (WRQ) was accepted"
fi
[ -e "$ROOT/upload.txt" ] && fail "a WRQ created a file in the root"
pass "write request refused"

# --- concurrent clients
pids=()
for i in 1 2 3 4 5 6; do
  with_timeout 120 ip netns exec "$NS" curl -sS --fail --tftp-blksize 1468 -o "$T/out/par-$i" \
    "tftp://$HOST:$PORT/medium.bin" &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || fail "concurrent download $((i + 1)) failed"
done
for i in 1 2 3 4 5 6; do same medium.bin "$T/out/par-$i" "concurrent curl $i"; done
pass "6 concurrent downloads"

# --- garbage on port 69 is dropped and counted; valid clients still served
with_timeout 20 ip netns exec "$NS" /usr/bin/python3 - "$HOST" "$PORT" <<'PY' || fail "could not send garbage"
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = (sys.argv[1], int(sys.argv[2]))
bad = [b"\x00", b"\x00\x01", b"\x00\x01file", b"\x00\x01file\x00octet",  # no NULs
       b"\x00\x04\x00\x01", b"\x00\x05\x00\x01oops\x00",                 # ACK/ERROR to 69
       b"\x00\x09junk", b"\x00\x01\x00octet\x00", os.urandom(600)]
for _ in range(100):
    for b in bad:
        s.sendto(b, dst)
PY
sleep 0.5
midwife_alive || fail "midwife died on garbage datagrams"
kill -USR1 "$MIDWIFE_PID"
tftp_dropped() { grep -q 'midwife_tftp_dropped_total{reason="[a-z_]*"} [1-9]' "$T/midwife.log"; }
wait_for 5 "tftp drop counters in the log" tftp_dropped || fail "no TFTP drop counter after garbage datagrams"
grep -o 'midwife_tftp_dropped_total{[^}]*} [0-9]*' "$T/midwife.log" | grep -v '} 0$' | sed 's/^/  /'
with_timeout 30 ip netns exec "$NS" curl -sS --fail -o "$T/out/after-garbage" "tftp://$HOST:$PORT/small.bin" ||
  fail "no answer to a valid request after garbage"
same small.bin "$T/out/after-garbage" "curl after garbage"
pass "malformed datagrams dropped and counted; valid client served after them"

midwife_alive || fail "midwife died during the test"
midwife_stop 10
pass "server stopped cleanly (exit 0)"
