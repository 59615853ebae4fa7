#!/usr/bin/env bash
# Broken configs: "midwife check" and "midwife serve" name FILE:LINE and exit
# non-zero; SIGHUP with a broken config keeps the running server on its old
# config ("reload refused"); SIGHUP with a good one applies it; SIGTERM exits 0.
#
# Usage: tests/e2e/test_config_errors.sh MIDWIFE_BINARY
set -u
export E2E_NAME=config_errors
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")

e2e_init
need_cmd curl
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"
T=$E2E_TMP
NS=$(ns_name cfg)
ns_create "$NS"
mkdir -p "$T/state" "$T/root"
echo "old config" >"$T/root/probe.txt"

# good_conf FILE: a valid config (TFTP on the namespace's loopback only).
good_conf() {
  cat >"$1" <<EOF
[server]
state_dir = $T/state

[dhcp]
enabled = no

[subnet lan]
network = 10.88.0.0/24
range = 10.88.0.10-10.88.0.20

[tftp]
root = $T/root
address = 127.0.0.1
port = 6969
EOF
}

# expect_error NAME LINE REGEX: $T/NAME.conf must fail with "FILE:LINE: ..."
# matching REGEX, from both check and serve, with a non-zero status.
expect_error() {
  local name=$1 line=$2 re=$3 f=$T/$1.conf cmd out rc
  for cmd in check serve; do
    out=$(with_timeout 10 ip netns exec "$NS" "$MIDWIFE" "$cmd" -c "$f" 2>&1 </dev/null)
    rc=$?
    [ $rc -ne 0 ] || fail "$name: midwife $cmd exited 0 on a broken config"
    [ $rc -ne 124 ] || fail "$name: midwife $cmd kept running on a broken config"
    printf '%s\n' "$out" | grep -qF "$f:$line: " ||
      fail "$name: midwife $cmd: expected '$f:$line: ...', got: $out"
    printf '%s\n' "$out" | grep -Eq -- "$re" || fail "$name: midwife $cmd: message does not match /$re/: $out"
  done
  log "$name -> ${out#"$T/"}"
}

# --- the good config passes
good_conf "$T/good.conf"
out=$("$MIDWIFE" check -c "$T/good.conf" 2>&1) || fail "check rejects a good config: $out"
pass "check accepts a good config: $out"
for ex in "$REPO"/examples/*.conf; do
  [ -f "$ex" ] || continue
  out=$("$MIDWIFE" check -c "$ex" 2>&1) || fail "check rejects the shipped $ex: $out"
done
pass "check accepts the shipped examples/*.conf"

# --- unknown key (line 3)
good_conf "$T/unknown_key.conf"
sed -i '3i\bogus_key = 1' "$T/unknown_key.conf"
expect_error unknown_key 3 "unknown key 'bogus_key'"

# good_conf's lines: 1 [server], 2 state_dir, 4 [dhcp], 5 enabled, 7 [subnet lan],
# 8 network, 9 range, 11 [tftp], 12 root, 13 address, 14 port (14 lines).

# --- bad value (line 10: lease_time inside [subnet lan])
good_conf "$T/bad_value.conf"
sed -i '9a\lease_time = forever' "$T/bad_value.conf"
expect_error bad_value 10 "lease_time"

# --- bad address value
good_conf "$T/bad_addr.conf"
sed -i 's/^range = .*/range = 10.88.0.10-10.88.0.300/' "$T/bad_addr.conf"
expect_error bad_addr 9 "range"

# --- missing required key: a [subnet] without range, reported at its header
cat >"$T/missing_key.conf" <<EOF
[server]
state_dir = $T/state

[dhcp]
interfaces = lo

[subnet lan]
network = 10.88.0.0/24
router = 10.88.0.1

[tftp]
enabled = no
EOF
expect_error missing_key 7 "missing required key 'range'"

# --- missing required key: a [reservation] without mac (last section, line 16)
good_conf "$T/missing_mac.conf"
printf '\n[reservation r1]\naddress = 10.88.0.5\n' >>"$T/missing_mac.conf"
expect_error missing_mac 16 "missing required key 'mac'"

# --- duplicate section: the second [subnet lan] at line 16
good_conf "$T/duplicate.conf"
printf '\n[subnet lan]\nnetwork = 10.89.0.0/24\nrange = 10.89.0.10-10.89.0.20\n' >>"$T/duplicate.conf"
expect_error duplicate 16 "defined twice"

# --- syntax error: a line that is neither [section] nor key = value (line 9)
good_conf "$T/syntax.conf"
sed -i '9i\this line is not ini' "$T/syntax.conf"
expect_error syntax 9 "syntax|expected"

# --- two errors: the first one is reported (a bad value at 3, an unknown key at 13)
good_conf "$T/two_errors.conf"
sed -i '3i\log_level = loud' "$T/two_errors.conf"
sed -i '13i\bogus_key = 1' "$T/two_errors.conf"
expect_error two_errors 3 "log_level"

# --- a syntax error after a bad value: the bad value (line 3) is reported
good_conf "$T/two_errors2.conf"
sed -i '3i\log_level = loud' "$T/two_errors2.conf"
sed -i '10i\not ini at all' "$T/two_errors2.conf"
expect_error two_errors2 3 "log_level"

# --- unknown section (line 16)
good_conf "$T/unknown_section.conf"
printf '\n[bogus]\nkey = value\n' >>"$T/unknown_section.conf"
expect_error unknown_section 16 "unknown section"
pass "broken configs: check and serve print FILE:LINE and exit non-zero (11 cases)"

# --- SIGHUP with a broken config keeps the old one; a good one is applied
good_conf "$T/live.conf"
midwife_start "$NS" "$T/live.conf" "$T/midwife.log"
probe() {
  with_timeout 10 ip netns exec "$NS" curl -sS --fail "tftp://127.0.0.1:6969/probe.txt"
}
[ "$(probe)" = "old config" ] || fail "TFTP probe failed before the reload"

sed -i '3i\bogus_key = 1' "$T/live.conf"
kill -HUP "$MIDWIFE_PID"
midwife_wait_log 10 'reload refused' || fail "no 'reload refused' in the log after SIGHUP with a broken config"
midwife_log | grep 'reload refused' | grep -qF "live.conf:3:" ||
  fail "the refusal does not name live.conf:3: $(midwife_log | grep 'reload refused')"
midwife_alive || fail "midwife died on SIGHUP with a broken config"
[ "$(probe)" = "old config" ] || fail "TFTP stopped serving after a refused reload"
pass "SIGHUP with a broken config: reload refused, still serving the old config"

# A good config that moves the TFTP root: the reload must take effect.
mkdir -p "$T/root2"
echo "new config" >"$T/root2/probe.txt"
good_conf "$T/live.conf"
sed -i "s|^root = .*|root = $T/root2|" "$T/live.conf"
kill -HUP "$MIDWIFE_PID"
midwife_wait_log 10 'config reloaded' || fail "no 'config reloaded' after SIGHUP with a good config"
midwife_alive || fail "midwife died on SIGHUP with a good config"
got=$(probe)
[ "$got" = "new config" ] || fail "after the reload TFTP serves '$got', expected the new root's file"
pass "SIGHUP with a good config: reloaded, new TFTP root in force"

midwife_stop 10
midwife_log | grep -q 'stopped' || fail "no 'stopped' line at exit"
pass "SIGTERM: exit status 0"
