#!/usr/bin/env bash
# The real agent against the real midwife, no VM: a client namespace plays
# the booted host.
#
#   server ns (midwife: DHCP + HTTP) s0 10.77.9.1/24  ──veth── c0 (DHCP)   client ns
#                                    s1 10.77.19.1/24 ──veth── c1 (static)
#
# The client gets a lease from midwife's DHCP and fetches its iPXE script
# from the leased address, which mints a boot token; the script's
# midwife.* words become the agent's --cmdline file. The host's profile
# uses only what is safe inside the namespace: DNS (resolv.conf under the
# agent's --root), c0 kept on its lease ("dhcp": true), a static address
# on c1, and a persisted directory in this test's temp dir.
# Asserts: `run --once` exits 0; the host is ready; the events go birth →
# report steps → ready; resolv.conf has the server; the address is on c1,
# answers pings and is in the facts of the ready report; `midwife-agent save` uploads an
# archive holding the persisted tree. Then a second boot (a new token)
# runs in the foreground with the archive unpacked where the kernel puts
# it: the deleted file is restored, and SIGTERM saves again and exits 0.
# Hostile: replaying the first boot's token → exit 1 with midwife's 401
# text ("replayed"); a command line without midwife.* → exit 2.
#
# Usage: tests/e2e/test_agent.sh MIDWIFE_BINARY
#   MIDWIFE_AGENT: the agent (default: agent/midwife-agent next to midwife).
set -u
export E2E_NAME=agent
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")
AGENT=${MIDWIFE_AGENT:-$(dirname "$MIDWIFE")/agent/midwife-agent}

e2e_init
need_cmd udhcpc curl jq cpio gzip ping
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"
[ -x "$AGENT" ] || fail "no agent at $AGENT (set MIDWIFE_AGENT)"
AGENT=$(realpath "$AGENT")

T=$E2E_TMP
{ [ -n "$T" ] && [ -d "$T" ]; } || fail "no temp dir"
mkdir -p "$T/state" "$T/img" "$T/root" "$T/keep/sub"
NS_S=$(ns_name ags)
NS_C=$(ns_name agc)
ns_create "$NS_S"
ns_create "$NS_C"
MAC=02:00:00:77:09:0c
MAC1=02:00:00:77:19:0c
ns_veth "$NS_S" s0 "$NS_C" c0 10.77.9.1/24 "" $MAC
ns_veth "$NS_S" s1 "$NS_C" c1 10.77.19.1/24 "" $MAC1
URL=http://10.77.9.1:8080

cat >"$T/midwife.conf" <<CONF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = s0

[subnet a]
network = 10.77.9.0/24
range = 10.77.9.100-10.77.9.150
lease_time = 10m

[tftp]
enabled = no

[http]
address = 0.0.0.0
port = 8080
public_url = $URL

[lifecycle]
token_ttl = 1h
CONF
midwife_start "$NS_S" "$T/midwife.conf" "$T/midwife.log"
ADMIN=$(cat "$T/state/admin.token")

API_NS=$NS_S API_URL=$URL

head -c 4096 /dev/urandom >"$T/img/vmlinuz"
head -c 2048 /dev/urandom >"$T/img/initrd.img"
api POST /api/v1/builds "{\"name\":\"lab\",\"path\":\"$T/img\",\"kernel\":\"vmlinuz\",\"initrds\":[\"initrd.img\"],\"cmdline\":\"console=ttyS0\"}"
[ "$CODE" = 201 ] || [ "$CODE" = 200 ] || fail "build import: status $CODE: $(cat "$T/out")"
api POST /api/v1/profiles "{\"name\":\"agent\",\"doc\":{
  \"hostname\":\"agent-\${index}.lab.example\",
  \"interfaces\":[{\"name\":\"c0\",\"mac\":\"\${mac0}\",\"dhcp\":true},
                  {\"name\":\"c1\",\"mac\":\"\${mac1}\",\"addresses\":[\"10.77.19.5/24\"]}],
  \"dns\":{\"servers\":[\"10.77.9.1\"],\"search\":[\"lab.example\"]},
  \"persist\":[\"$T/keep\"]}}"
expect 201 "profile create"
api POST /api/v1/hosts "{\"name\":\"h1\",\"macs\":[\"$MAC\",\"$MAC1\"],\"build\":\"lab\",\"profile\":\"agent\",\"vars\":{\"index\":\"01\"}}"
expect 201 "host create"
pass "build, profile (DNS, c0 on DHCP, a static address on c1, a persisted directory) and host made through the API"

# --- a lease, a script, a token -------------------------------------------------
nsx "$NS_C" udhcpc -i c0 -n -q -t 5 -T 1 -s /bin/true >"$T/udhcpc" 2>&1 || fail "udhcpc: $(cat "$T/udhcpc")"
ADDR=$(sed -n 's/.*[Ll]ease of \([0-9.]*\) obtained.*/\1/p' "$T/udhcpc" | head -1)
[ -n "$ADDR" ] || fail "no lease: $(cat "$T/udhcpc")"
nsx "$NS_C" ip addr add "$ADDR/24" dev c0

# boot_cmdline FILE: the script's midwife.* words, as the kernel would get them.
boot_cmdline() {
  local code
  code=$(nsx "$NS_C" curl -sS -o "$T/script" -w '%{http_code}' "$URL/boot/ipxe?mac=$MAC")
  [ "$code" = 200 ] || fail "script: status $code: $(cat "$T/script")"
  { printf 'BOOT_IMAGE=vmlinuz console=ttyS0 '; grep -o 'midwife\.[a-z_]*=[^ ]*' "$T/script" | tr '\n' ' '; echo; } >"$1"
  grep -q 'midwife\.token=[0-9a-f]\{64\}' "$1" || fail "no boot token in the script: $(cat "$T/script")"
}
token_in() { tr ' ' '\n' <"$1" | sed -n 's/^midwife\.token=//p'; }
boot_cmdline "$T/cmdline1"
TOKEN1=$(token_in "$T/cmdline1")
echo "kept" >"$T/keep/file"
echo "deeper" >"$T/keep/sub/two"
ln -s /etc/passwd "$T/keep/link"

# no_sanitizer_report LOG: the agent may be a sanitized build.
no_sanitizer_report() {
  if grep -q 'runtime error:\|AddressSanitizer\|LeakSanitizer' "$1"; then
    sed 's/^/  agent| /' "$1" >&2
    fail "sanitizer report in $1"
  fi
}

# --- the first boot: run --once ------------------------------------------------------
start=$SECONDS
with_timeout 60 ip netns exec "$NS_C" "$AGENT" run --cmdline "$T/cmdline1" --root "$T/root" --once --no-hostname \
  >"$T/agent1.log" 2>&1
rc=$?
sed 's/^/  agent| /' "$T/agent1.log"
[ $rc = 0 ] || fail "agent run --once exited $rc"
no_sanitizer_report "$T/agent1.log"
api GET /api/v1/hosts/h1
[ "$(jq -r .state "$T/out")" = ready ] || fail "h1 is $(jq -r '.state + ": " + .state_reason' "$T/out")"
pass "agent run --once exited 0 after $((SECONDS - start))s; h1 is ready"
jq -e --arg a 10.77.19.5/24 '.facts.links[] | select(.name == "c1") | .addresses | index($a)' "$T/out" >/dev/null ||
  fail "the ready report's facts lack 10.77.19.5/24 on c1: $(jq -c '.facts.links' "$T/out")"
[ "$(jq -r .facts.boot_mac "$T/out")" = "$MAC" ] || fail "facts boot_mac: $(jq -r .facts.boot_mac "$T/out")"
pass "the facts stored after ready show the applied address and the boot MAC"

api GET "/api/v1/events?host=h1&limit=1000"
jq -r '.items[] | .kind + " " + (.data.to // .data.step // "")' "$T/out" >"$T/kinds"
want=("http.script" "birth.accepted" "report.step persist.restore" "state.changed configuring"
  "report.step" "report.ready" "state.changed ready")
i=0
while read -r line; do
  [ $i -lt ${#want[@]} ] && [[ "$line" == "${want[i]}"* ]] && i=$((i + 1))
done <"$T/kinds"
[ $i -eq ${#want[@]} ] || { sed 's/^/    /' "$T/kinds" >&2; fail "events lack '${want[i]}' in order"; }
pass "events: birth → report steps → ready, in order"

grep -q '^nameserver 10.77.9.1$' "$T/root/etc/resolv.conf" 2>/dev/null ||
  fail "resolv.conf under the root: $(cat "$T/root/etc/resolv.conf" 2>&1)"
nsx "$NS_C" ip -o -4 addr show dev c1 | grep -q 'inet 10.77.19.5/24' || fail "10.77.19.5/24 is not on c1"
nsx "$NS_S" ping -c 1 -W 2 10.77.19.5 >/dev/null || fail "no ping answer from 10.77.19.5"
nsx "$NS_C" ip -o -4 addr show dev c0 | grep -q "inet $ADDR/24" || fail "c0 lost its lease ($ADDR) though dhcp is true"
pass "resolv.conf names 10.77.9.1; c1 has 10.77.19.5/24 (it answers pings); c0 kept its lease"

# --- hostile: the first boot's token again (spent by its birth) -----------------------
with_timeout 60 ip netns exec "$NS_C" "$AGENT" run --cmdline "$T/cmdline1" --root "$T/root" --once --no-hostname \
  >"$T/replay.log" 2>&1
rc=$?
[ $rc = 1 ] || { cat "$T/replay.log" >&2; fail "a replayed token: exit $rc, expected 1"; }
grep -q '(401): birth refused: replayed boot token' "$T/replay.log" || fail "no 401 text from midwife: $(cat "$T/replay.log")"
pass "a replayed birth token: exit 1 with midwife's words ($(grep -o 'birth refused: [^)]*' "$T/replay.log" | head -1))"

# --- save on request -------------------------------------------------------------------
[ "$(stat -c %a "$T/root/run/midwife/agent.json")" = 600 ] || fail "agent.json is not 0600"
with_timeout 30 ip netns exec "$NS_C" "$AGENT" save --root "$T/root" >"$T/save.log" 2>&1 ||
  fail "midwife-agent save: $(cat "$T/save.log")"
grep -q 'persist.save: ok' "$T/save.log" || fail "save said: $(cat "$T/save.log")"
CODE=$(nsx "$NS_C" curl -sS -o "$T/state.cpio.gz" -w '%{http_code}' -H "Authorization: Bearer $TOKEN1" "$URL/api/v1/state")
[ "$CODE" = 200 ] || fail "GET /api/v1/state: $CODE"
gzip -dc "$T/state.cpio.gz" | cpio -t --quiet >"$T/state.list" 2>/dev/null || fail "the saved state is not a gzip'd cpio"
grep -qx "midwife-state$T/keep/file" "$T/state.list" || fail "the archive lacks midwife-state$T/keep/file: $(cat "$T/state.list")"
grep -qx "midwife-state$T/keep/sub/two" "$T/state.list" || fail "the archive lacks the subdirectory's file"
grep -qx "midwife-state$T/keep/link" "$T/state.list" || fail "the archive lacks the symlink"
grep -q 'passwd' "$T/state.list" && fail "the archive followed a symlink"
pass "midwife-agent save uploaded the persisted directory ($(wc -l <"$T/state.list") entries)"

# --- the second boot: restore, stay, SIGTERM saves ---------------------------------
# What the kernel does with the saved state module: unpack it at the root.
(cd "$T/root" && gzip -dc "$T/state.cpio.gz" | cpio -id --quiet) || fail "cannot unpack the saved state"
rm -f "$T/keep/file" "$T/root/run/midwife/agent.json"
boot_cmdline "$T/cmdline2"
bg_start "$NS_C" "$T/agent2.log" "$AGENT" run --cmdline "$T/cmdline2" --root "$T/root" --no-hostname
AGENT2=$BG_PID
wait_for 30 "the second run to be ready" test -f "$T/root/run/midwife/agent.json" ||
  { sed 's/^/  agent| /' "$T/agent2.log"; fail "the second run did not get ready"; }
[ "$(cat "$T/keep/file" 2>/dev/null)" = kept ] || fail "the persisted file was not restored"
[ -L "$T/keep/link" ] || fail "the symlink was not restored as a symlink"
grep -q 'persist.restore: ok' "$T/agent2.log" || fail "no persist.restore ok: $(cat "$T/agent2.log")"
wait_for 5 "the pid file" test -s "$T/root/run/midwife-agent.pid" || fail "no pid file"
[ "$(cat "$T/root/run/midwife-agent.pid")" = "$AGENT2" ] || fail "pid file: $(cat "$T/root/run/midwife-agent.pid" 2>&1)"
pass "second boot: the saved file restored from midwife-state, the agent stays (pid $AGENT2)"
api GET "/api/v1/events?host=h1&kind=state&limit=100"
before=$(jq '[.items[] | select(.kind == "state.uploaded")] | length' "$T/out")
kill -TERM "$AGENT2"
for _ in $(seq 1 50); do
  kill -0 "$AGENT2" 2>/dev/null || break
  sleep 0.2
done
kill -0 "$AGENT2" 2>/dev/null && fail "the agent did not stop within 10 s of SIGTERM"
wait "$AGENT2"
rc=$?
forget_pid "$AGENT2"
sed 's/^/  agent| /' "$T/agent2.log"
[ $rc = 0 ] || fail "the agent exited $rc after SIGTERM"
no_sanitizer_report "$T/agent2.log"
api GET "/api/v1/events?host=h1&kind=state&limit=100"
after=$(jq '[.items[] | select(.kind == "state.uploaded")] | length' "$T/out")
[ "$after" -gt "$before" ] || fail "no state upload at SIGTERM ($before before, $after after)"
[ -e "$T/root/run/midwife-agent.pid" ] && fail "the pid file is left behind"
pass "SIGTERM: the state saved once more, exit 0, pid file removed"

# --- and the rest of the hostile cases ------------------------------------------
echo "console=ttyS0 quiet" >"$T/cmdline-none"
"$AGENT" run --cmdline "$T/cmdline-none" --root "$T/root" --once >"$T/none.log" 2>&1
rc=$?
{ [ $rc = 2 ] && grep -q 'did not come from midwife' "$T/none.log"; } || fail "no midwife.* words: exit $rc: $(cat "$T/none.log")"
pass "a boot without midwife.url/midwife.token: exit 2, nothing to do"

midwife_stop 10
pass "server stopped cleanly"
