#!/usr/bin/env bash
# The midwife's lifecycle over real DHCP and HTTP, in private namespaces:
#
#   client ns c1 ──veth── server ns (midwife) ──veth── client ns c2
#     a0 (udhcpc)         s0 10.77.6.1/24   s1 10.77.7.1/24    b0 (udhcpc)
#
# Host records, a build and a profile are made through the REST API. Each
# client gets its lease from midwife's DHCP and asks for its script from
# the leased address: only then does the script carry a boot token. The
# test then plays the agent with curl: birth (the configuration document
# comes back, rendered from the profile), replay and foreign and expired
# tokens refused with 401, reports (configuring → ready, failed), saved
# state up and down, the born hook run with hostile facts, a failing born
# hook holding the host in configuring; events and explain. Last, the
# machine's MAC moves to a new record and it boots again: one record, one
# lease, the old token dead, and the events say why.
#
# Usage: tests/e2e/test_lifecycle.sh MIDWIFE_BINARY
set -u
export E2E_NAME=lifecycle
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")

e2e_init
need_cmd udhcpc curl jq sqlite3 sha256sum
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

T=$E2E_TMP
mkdir -p "$T/state" "$T/img" "$T/hooks"
NS_S=$(ns_name lcs)
NS_A=$(ns_name lca)
NS_B=$(ns_name lcb)
NS_C=$(ns_name lcc)
for ns in "$NS_S" "$NS_A" "$NS_B" "$NS_C"; do ns_create "$ns"; done
MAC_A=02:00:00:77:06:0a
MAC_B=02:00:00:77:07:0b
MAC_C=02:00:00:77:08:0c
ns_veth "$NS_S" s0 "$NS_A" a0 10.77.6.1/24 "" $MAC_A
ns_veth "$NS_S" s1 "$NS_B" b0 10.77.7.1/24 "" $MAC_B
ns_veth "$NS_S" s2 "$NS_C" c0 10.77.8.1/24 "" $MAC_C
URL=http://10.77.6.1:8080

# The born hook writes what it got; a second one fails while the flag
# file exists, so the test can make born hooks fail on demand.
cat >"$T/hooks/record" <<EOF
#!/bin/sh
cat > "$T/hooks/stdin.\$MIDWIFE_BOOT_ID.json"
env | grep '^MIDWIFE_' | sort > "$T/hooks/env.\$MIDWIFE_BOOT_ID"
echo "recorded \$MIDWIFE_HOST"
EOF
cat >"$T/hooks/gate" <<EOF
#!/bin/sh
if [ -e "$T/hooks/fail" ]; then echo "gate closed for \$MIDWIFE_HOST" >&2; exit 3; fi
exit 0
EOF
chmod 755 "$T/hooks/record" "$T/hooks/gate"

write_conf() {
  cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = s0, s1, s2

[subnet a]
network = 10.77.6.0/24
range = 10.77.6.100-10.77.6.150
lease_time = 10m

[subnet b]
network = 10.77.7.0/24
range = 10.77.7.100-10.77.7.150
lease_time = 10m

[subnet c]
network = 10.77.8.0/24
range = 10.77.8.100-10.77.8.150
lease_time = 10m

[tftp]
enabled = no

[http]
address = 0.0.0.0
port = 8080
public_url = $URL

[lifecycle]
token_ttl = 1h

[hooks]
born = $T/hooks/record $T/hooks/gate
timeout = 10s
EOF
}
write_conf
midwife_start "$NS_S" "$T/midwife.conf" "$T/midwife.log"
[ -s "$T/state/admin.token" ] || fail "no admin token written to state_dir/admin.token"
ADMIN=$(cat "$T/state/admin.token")
[ "$(stat -c %a "$T/state/admin.token")" = 600 ] || fail "admin.token is not mode 0600"
pass "admin token created on first start, mode 0600"

# api METHOD PATH [BODY]: an admin call from the server's own namespace.
# Body in $T/out, status in $CODE.
api() {
  local m=$1 p=$2 body=${3:-}
  if [ -n "$body" ]; then
    CODE=$(nsx "$NS_S" curl -sS -o "$T/out" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $ADMIN" \
      -H 'Content-Type: application/json' --data-binary "$body" "$URL$p")
  else
    CODE=$(nsx "$NS_S" curl -sS -o "$T/out" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $ADMIN" "$URL$p")
  fi
}
expect() { # STATUS WHAT
  [ "$CODE" = "$1" ] || fail "$2: status $CODE, expected $1: $(head -c 400 "$T/out")"
}
# host_call NS METHOD PATH TOKEN [BODY]: a call as the booted host would make it.
host_call() {
  local ns=$1 m=$2 p=$3 tok=$4 body=${5:-}
  CODE=$(nsx "$ns" curl -sS -o "$T/out" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $tok" \
    -H 'Content-Type: application/json' --data-binary "$body" "$URL$p")
}
host_state() { api GET "/api/v1/hosts/$1"; jq -r .state "$T/out"; }

# --- inventory through the API -------------------------------------------
head -c 4096 /dev/urandom >"$T/img/vmlinuz"
head -c 2048 /dev/urandom >"$T/img/initrd.img"
api POST /api/v1/builds "{\"name\":\"lab\",\"path\":\"$T/img\",\"kernel\":\"vmlinuz\",\"initrds\":[\"initrd.img\"],\"cmdline\":\"console=ttyS0\"}"
[ "$CODE" = 201 ] || [ "$CODE" = 200 ] || fail "build import: status $CODE: $(cat "$T/out")"
api POST /api/v1/profiles '{"name":"node","doc":{"hostname":"node-${index}","dns":{"servers":["10.77.6.1"]},"persist":["/etc/ssh"]}}'
expect 201 "profile create"
api POST /api/v1/hosts "{\"name\":\"node1\",\"macs\":[\"$MAC_A\"],\"build\":\"lab\",\"profile\":\"node\",\"vars\":{\"index\":\"01\"}}"
expect 201 "host node1 create"
api POST /api/v1/hosts "{\"name\":\"node2\",\"macs\":[\"$MAC_B\"],\"build\":\"lab\",\"profile\":\"node\",\"vars\":{\"index\":\"02\"}}"
expect 201 "host node2 create"
pass "build, profile and two hosts created through the API"

# --- leases, scripts and tokens --------------------------------------------
lease() { # NS IF -> address
  nsx "$1" udhcpc -i "$2" -n -q -t 5 -T 1 -s /bin/true >"$T/udhcpc.$2" 2>&1 || fail "udhcpc on $2: $(cat "$T/udhcpc.$2")"
  sed -n 's/.*[Ll]ease of \([0-9.]*\) obtained.*/\1/p' "$T/udhcpc.$2" | head -1
}
ADDR_A=$(lease "$NS_A" a0)
ADDR_B=$(lease "$NS_B" b0)
[ -n "$ADDR_A" ] && [ -n "$ADDR_B" ] || fail "no lease: a=$ADDR_A b=$ADDR_B"
nsx "$NS_A" ip addr add "$ADDR_A/24" dev a0
nsx "$NS_B" ip addr add "$ADDR_B/24" dev b0
nsx "$NS_B" ip route add 10.77.6.0/24 dev b0 2>/dev/null || true
ip -n "$NS_S" route add "$ADDR_B/32" dev s1 2>/dev/null || true

script() { # NS MAC -> script text in $T/script
  nsx "$1" curl -sS -o "$T/script" -w '%{http_code}' "$URL/boot/ipxe?mac=$2" >"$T/code" || fail "script fetch for $2"
  [ "$(cat "$T/code")" = 200 ] || fail "script for $2: status $(cat "$T/code"): $(cat "$T/script")"
}
token_of() { grep -o 'midwife\.token=[0-9a-f]*' "$T/script" | head -1 | cut -d= -f2; }

# Asked from the server's own address, which is not the MAC's lease: no token.
script "$NS_S" "$MAC_A"
[ -z "$(token_of)" ] || fail "a script asked from another address carried a boot token"
script "$NS_S" "$MAC_A"
api GET "/api/v1/events?host=node1&kind=http.script"
[ "$(jq '.items | length' "$T/out")" = 1 ] || fail "a token-less repeat within 10 s was not folded: $(jq -c '[.items[].message]' "$T/out")"
jq -r '.items[0].message' "$T/out" | grep -q 'did not lease to this MAC' || fail "the script event does not say why there is no token: $(cat "$T/out")"
pass "a script asked for from an address not leased to the MAC has no token, says why, and a repeat is folded"

script "$NS_A" "$MAC_A"
TOK_A1=$(token_of)
[ ${#TOK_A1} = 64 ] || fail "no boot token in the script from the leased address: $(cat "$T/script")"
grep -q "midwife.url=$URL" "$T/script" || fail "script lacks midwife.url=$URL"
[ "$(host_state node1)" = booting ] || fail "node1 is $(host_state node1), expected booting"
script "$NS_B" "$MAC_B"
TOK_B=$(token_of)
[ ${#TOK_B} = 64 ] || fail "no boot token for node2"
pass "scripts from the leased addresses carry a token; node1 is booting"

FACTS_A="{\"macs\":[\"$MAC_A\"],\"boot_mac\":\"$MAC_A\",\"uuid\":\"4C4C4544-0000-1111-2222-333344445555\",\"serial\":\"SER-A1\",\"vendor\":\"QEMU \\\"quoted\\\"\",\"model\":\"line1\\nline2 \$(touch $T/hooks/PWNED)\",\"cpus\":2,\"memory_bytes\":1073741824}"

# --- refusals: nothing changes ---------------------------------------------
host_call "$NS_A" POST /api/v1/birth "" "$FACTS_A"
[ "$CODE" = 401 ] || fail "birth without a token: $CODE"
host_call "$NS_A" POST /api/v1/birth "0000000000000000000000000000000000000000000000000000000000000000" "$FACTS_A"
[ "$CODE" = 401 ] || fail "birth with an unknown token: $CODE"
host_call "$NS_B" POST /api/v1/birth "$TOK_B" "$FACTS_A"
[ "$CODE" = 401 ] || fail "birth with node2's token and node1's facts: $CODE"
jq -r .error "$T/out" | grep -q foreign || fail "foreign token not named as such: $(cat "$T/out")"
host_call "$NS_A" POST /api/v1/report "$TOK_A1" '{"step":"network","status":"running"}'
[ "$CODE" = 401 ] || fail "report before the birth: $CODE"
host_call "$NS_A" POST /api/v1/birth "$TOK_A1" '{"macs":["not-a-mac"]}'
[ "$CODE" = 400 ] || fail "birth with bad facts: $CODE"
[ "$(jq -r .field "$T/out")" = "macs[0]" ] || fail "bad facts: field not named: $(cat "$T/out")"
[ "$(host_state node1)" = booting ] || fail "a refused birth changed node1's state"
pass "births without, with unknown, with a foreign token, reports before birth, bad facts: refused, nothing changed"

# --- the birth -----------------------------------------------------------------
host_call "$NS_A" POST /api/v1/birth "$TOK_A1" "$FACTS_A"
[ "$CODE" = 200 ] || fail "birth: status $CODE: $(cat "$T/out")"
cp "$T/out" "$T/doc1.json"
[ "$(jq -r .hostname "$T/doc1.json")" = node-01 ] || fail "config doc hostname: $(cat "$T/doc1.json")"
[ "$(jq -r '.dns.servers[0]' "$T/doc1.json")" = 10.77.6.1 ] || fail "config doc dns: $(cat "$T/doc1.json")"
[ "$(jq -r .report_url "$T/doc1.json")" = "$URL/api/v1/report" ] || fail "config doc report_url"
[ "$(host_state node1)" = born ] || fail "node1 is $(host_state node1) after the birth, expected born"
host_call "$NS_A" POST /api/v1/birth "$TOK_A1" "$FACTS_A"
[ "$CODE" = 401 ] || fail "replayed birth: $CODE"
jq -r .error "$T/out" | grep -q replayed || fail "replay not named: $(cat "$T/out")"
pass "birth accepted, configuration document rendered from the profile; the replay gets 401"

# The born hooks ran with the event on stdin and validated environment.
wait_for 10 "born hook output" test -s "$T/hooks/stdin.1.json" || fail "the born hook did not run"
jq -e . "$T/hooks/stdin.1.json" >/dev/null || fail "hook stdin is not JSON"
[ "$(jq -r .event "$T/hooks/stdin.1.json")" = born ] || fail "hook event: $(cat "$T/hooks/stdin.1.json")"
[ "$(jq -r .host.name "$T/hooks/stdin.1.json")" = node1 ] || fail "hook host name"
grep -qx 'MIDWIFE_HOST=node1' "$T/hooks/env.1" || fail "hook env lacks MIDWIFE_HOST: $(cat "$T/hooks/env.1")"
grep -qx "MIDWIFE_MAC=$MAC_A" "$T/hooks/env.1" || fail "hook env lacks MIDWIFE_MAC"
[ ! -e "$T/hooks/PWNED" ] || fail "a value from the facts was executed"
pass "born hooks ran: JSON event on stdin, validated environment, hostile facts inert"

# --- reports -------------------------------------------------------------------
host_call "$NS_A" POST /api/v1/report "$TOK_A1" '{"step":"network","status":"running","message":"vlan 42 on eth0"}'
[ "$CODE" = 200 ] || fail "report step: $CODE $(cat "$T/out")"
[ "$(jq -r .state "$T/out")" = configuring ] || fail "after a step: $(cat "$T/out")"
host_call "$NS_A" POST /api/v1/report "$TOK_A1" '{"step":"bad step;rm","status":"ok"}'
[ "$CODE" = 400 ] && [ "$(jq -r .field "$T/out")" = step ] || fail "a bad step name: $CODE $(cat "$T/out")"
born_done() { api GET /api/v1/hosts/node1/operations; jq -e '[.items[] | select(.kind == "hook:born" and .status == "done")] | length == 1' "$T/out"; }
wait_for 10 "node1's born hooks done" born_done || fail "node1's born hooks did not finish: $(cat "$T/out")"
host_call "$NS_A" POST /api/v1/report "$TOK_A1" '{"ready":true}'
[ "$CODE" = 200 ] && [ "$(jq -r .state "$T/out")" = ready ] || fail "ready: $CODE $(cat "$T/out")"
pass "reports: a step moves born → configuring, ready → ready, a bad step name is refused"

# --- saved state -----------------------------------------------------------------
head -c 10000 /dev/urandom >"$T/state.tgz"
SUM=$(sha256sum "$T/state.tgz" | cut -d' ' -f1)
CODE=$(nsx "$NS_A" curl -sS -o "$T/out" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOK_A1" \
  -H 'Content-Type: application/octet-stream' --data-binary @"$T/state.tgz" "$URL/api/v1/state?sha256=$SUM")
[ "$CODE" = 200 ] && [ "$(jq -r .sha256 "$T/out")" = "$SUM" ] || fail "state upload: $CODE $(cat "$T/out")"
CODE=$(nsx "$NS_A" curl -sS -o "$T/got.tgz" -w '%{http_code}' -H "Authorization: Bearer $TOK_A1" "$URL/api/v1/state")
[ "$CODE" = 200 ] && cmp -s "$T/got.tgz" "$T/state.tgz" || fail "state download: $CODE, or bytes differ"
CODE=$(nsx "$NS_A" curl -sS -o "$T/out" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOK_A1" \
  --data-binary @"$T/state.tgz" "$URL/api/v1/state?sha256=$(printf '%064d' 0)")
[ "$CODE" = 400 ] || fail "state upload with a wrong checksum: $CODE"
CODE=$(nsx "$NS_B" curl -sS -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $TOK_B" "$URL/api/v1/state")
[ "$CODE" = 401 ] || fail "state download by an unborn host: $CODE"
pass "saved state: upload with checksum, download byte for byte, a wrong checksum refused"

# --- a failing born hook holds the host ---------------------------------------
touch "$T/hooks/fail"
host_call "$NS_B" POST /api/v1/birth "$TOK_B" "{\"macs\":[\"$MAC_B\"],\"serial\":\"SER-B\"}"
[ "$CODE" = 200 ] || fail "node2 birth: $CODE $(cat "$T/out")"
wait_for 10 "node2 held" sh -c "[ \"\$(ip netns exec $NS_S curl -s -H 'Authorization: Bearer $ADMIN' $URL/api/v1/hosts/node2 | jq -r .state_reason | grep -c held)\" = 1 ]" ||
  fail "a failing born hook did not hold node2: $(api GET /api/v1/hosts/node2; cat "$T/out")"
host_call "$NS_B" POST /api/v1/report "$TOK_B" '{"ready":true}'
[ "$(jq -r .state "$T/out")" = configuring ] || fail "node2 ready despite a failed born hook: $(cat "$T/out")"
jq -r .reason "$T/out" | grep -q 'born hook' || fail "held reason does not name the hook: $(cat "$T/out")"
rm -f "$T/hooks/fail"
host_call "$NS_B" POST /api/v1/report "$TOK_B" '{"failed":"mount /mnt/iso: connection refused","step":"storage"}'
[ "$(jq -r .state "$T/out")" = failed ] || fail "a failed report: $(cat "$T/out")"
pass "a failing born hook holds the host in configuring with the reason; a failed report → failed"

# --- events and explain -------------------------------------------------------------
api GET "/api/v1/events?host=node1&limit=1000"
expect 200 "events"
for k in dhcp.ack http.script token.issued birth.refused birth.accepted state.changed hook.done report.step report.ready state.uploaded; do
  jq -e --arg k "$k" '[.items[].kind] | index($k)' "$T/out" >/dev/null || fail "no $k event for node1: $(jq -c '[.items[].kind]' "$T/out")"
done
pass "events for node1: every step from DHCP to ready is recorded"
api GET "/api/v1/explain/$MAC_B"
expect 200 "explain"
jq -r '.diagnosis[].finding' "$T/out" | grep -q 'agent-failed' || fail "explain node2: $(jq -c .diagnosis "$T/out")"
jq -r '.diagnosis[0].summary' "$T/out" | grep -q storage || fail "explain node2 does not name the step: $(jq -c .diagnosis "$T/out")"
jq -r '.diagnosis[0].summary' "$T/out" | grep -q 'mount /mnt/iso: connection refused' ||
  fail "explain node2 does not give the agent's words: $(jq -c .diagnosis "$T/out")"
api GET "/api/v1/explain/02:00:00:77:99:99"
jq -r '.diagnosis[0].finding' "$T/out" | grep -q 'never-seen' || fail "explain unknown MAC: $(jq -c .diagnosis "$T/out")"
pass "explain: node2's failed step, an unknown MAC never seen"

# Live events: a stream opened now sees a report made after it.
nsx "$NS_S" timeout 4 curl -sN -H "Authorization: Bearer $ADMIN" -H 'Accept: text/event-stream' "$URL/api/v1/events?host=node1" >"$T/sse" 2>/dev/null &
SSE=$!
sleep 1
host_call "$NS_A" POST /api/v1/report "$TOK_A1" '{"step":"late-step","status":"ok"}'
wait "$SSE" 2>/dev/null
grep -q '^event: report.step' "$T/sse" && grep -q 'late-step' "$T/sse" || fail "the SSE stream missed the report: $(head -c 600 "$T/sse")"
pass "Server-Sent Events: a report arrives on an open stream"

# --- expired tokens --------------------------------------------------------------
# A fresh token for node2; its expiry is moved into the past in the store
# while midwife is stopped below (waiting out even the shortest token_ttl
# would slow the test for nothing: expiry is a comparison with that time).
script "$NS_B" "$MAC_B"
TOK_B2=$(token_of)
[ ${#TOK_B2} = 64 ] || fail "no second token for node2"

# --- the MAC moves to a new record; the machine boots again ------------------------
# A stale lease of the same MAC on another address, as an earlier life on
# another link would leave it (written while midwife is stopped).
midwife_stop
MAC_HEX=$(echo "$MAC_A" | tr -d :)
sqlite3 "$T/state/midwife.db" "INSERT INTO leases (address, hwtype, hwaddr, client_id, hostname, subnet, state, starts, expires, giaddr, relay_info, arch, vendor_class, user_class)
  VALUES ($(( (10<<24) + (77<<16) + (6<<8) + 149 )), 1, x'$MAC_HEX', NULL, '', 'a', 1, strftime('%s','now'), strftime('%s','now') + 600, 0, NULL, -1, '', '')" ||
  fail "cannot plant a stale lease"
[ "$(sqlite3 "$T/state/midwife.db" "SELECT count(*) FROM leases WHERE hwaddr = x'$MAC_HEX'")" = 2 ] || fail "stale lease not planted"
sqlite3 "$T/state/midwife.db" "UPDATE boot_tokens SET expires = 1 WHERE host_id = (SELECT id FROM hosts WHERE name = 'node2')" ||
  fail "cannot age node2's token"
midwife_start "$NS_S" "$T/midwife.conf" "$T/midwife.log"
host_call "$NS_B" POST /api/v1/birth "$TOK_B2" "{\"macs\":[\"$MAC_B\"]}"
[ "$CODE" = 401 ] && jq -r .error "$T/out" | grep -q expired || fail "expired token: $CODE $(cat "$T/out")"
pass "an expired token gets 401 naming it"
api PATCH /api/v1/hosts/node1 '{"macs":[]}'
expect 200 "node1 loses its MAC"
api POST /api/v1/hosts "{\"name\":\"node1b\",\"macs\":[\"$MAC_A\"],\"build\":\"lab\",\"profile\":\"node\",\"vars\":{\"index\":\"1b\"}}"
expect 201 "node1b takes the MAC"
script "$NS_A" "$MAC_A"
TOK_A2=$(token_of)
[ ${#TOK_A2} = 64 ] || fail "no token for node1b"
host_call "$NS_A" POST /api/v1/birth "$TOK_A2" "$FACTS_A"
[ "$CODE" = 200 ] || fail "second birth: $CODE $(cat "$T/out")"
[ "$(jq -r .hostname "$T/out")" = node-1b ] || fail "second birth doc: $(cat "$T/out")"
api GET /api/v1/hosts/node1
expect 404 "node1 (the same UUID and serial) was folded into node1b"
[ "$(sqlite3 "$T/state/midwife.db" "SELECT count(*) FROM leases WHERE hwaddr = x'$MAC_HEX'")" = 1 ] ||
  fail "leases of the MAC after the birth: $(sqlite3 "$T/state/midwife.db" "SELECT address FROM leases WHERE hwaddr = x'$MAC_HEX'")"
host_call "$NS_A" POST /api/v1/report "$TOK_A1" '{"step":"x","status":"ok"}'
[ "$CODE" = 401 ] || fail "the first life's token still works: $CODE"
api GET "/api/v1/events?host=node1b&kind=birth&limit=100"
jq -r '.items[].message' "$T/out" | grep -q 'duplicate record node1' || fail "no event explains the folded record: $(jq -c '[.items[].message]' "$T/out")"
jq -e '[.items[] | select(.kind == "birth.accepted")][0].data.leases >= 1' "$T/out" >/dev/null ||
  fail "the birth event does not count the stale lease: $(jq -c '.items' "$T/out")"
pass "second life: one record, one lease, the old token dead, events explaining it"

# --- an unknown machine meets the rules -------------------------------------------
api POST /api/v1/rules '{"name":"rack3","rank":10,"match":{"serial":["SER-C*"],"subnet":["c"]},"build":"lab","profile":"node","labels":{"rack":"r3"}}'
expect 201 "rule create"
ADDR_C=$(lease "$NS_C" c0)
[ -n "$ADDR_C" ] || fail "no lease for the unknown machine"
nsx "$NS_C" ip addr add "$ADDR_C/24" dev c0
nsx "$NS_C" ip route add default via 10.77.8.1
# First ask: only the MAC is known, the rules need the serial: iPXE is
# asked to say it.
script "$NS_C" "$MAC_C"
grep -q 'asked=1&uuid=${uuid}&serial=${serial:uristring}' "$T/script" || fail "no identity script for an unknown machine: $(cat "$T/script")"
# As iPXE would ask again, with a serial no rule matches: no record, no token.
script "$NS_C" "$MAC_C&asked=1&uuid=&serial=OTHER-1&vendor=QEMU&model=Standard%20PC"
[ -z "$(token_of)" ] || fail "a machine no rule matched got a token"
api GET "/api/v1/hosts?q=$MAC_C"
[ "$(jq '.items | length' "$T/out")" = 0 ] || fail "a record was made though no rule matched: $(cat "$T/out")"
# With a matching serial: the rule makes its record, the boot starts.
script "$NS_C" "$MAC_C&asked=1&uuid=4c4c4544-0000-1111-2222-cccccccccccc&serial=SER-C42&vendor=QEMU&model=Standard%20PC"
TOK_C=$(token_of)
[ ${#TOK_C} = 64 ] || fail "no token for the machine the rule matched: $(cat "$T/script")"
api GET "/api/v1/hosts?q=$MAC_C"
[ "$(jq -r '.items[0].name' "$T/out")" = host-02000077080c ] || fail "the rule's record: $(cat "$T/out")"
[ "$(jq -r '.items[0].state' "$T/out")" = booting ] && [ "$(jq -r '.items[0].labels.rack' "$T/out")" = r3 ] &&
  [ "$(jq -r '.items[0].build' "$T/out")" = lab ] && [ "$(jq -r '.items[0].uuid' "$T/out")" = 4c4c4544-0000-1111-2222-cccccccccccc ] ||
  fail "the rule's record has the wrong fields: $(cat "$T/out")"
api GET "/api/v1/events?host=host-02000077080c&kind=state.changed"
jq -r '.items[].message' "$T/out" | grep -q 'rule rack3 matched' || fail "no event says which rule made the record: $(cat "$T/out")"
pass "an unknown machine: identity script, no match → no record, the rule's match → record (discovered → booting) with its labels"

# --- explain from recorded events, an hour later ------------------------------
# node2 boots once more and fetches its kernel, but never sends a birth;
# node1b was born and never reports. Both are real recorded events; the
# store's clock for them is then moved back an hour (midwife stopped), as
# if the operator asked an hour later.
script "$NS_B" "$MAC_B"
KERNEL=$(grep -o "^kernel [^ ]*" "$T/script" | cut -d' ' -f2)
[ -n "$KERNEL" ] || fail "no kernel line in node2's script: $(cat "$T/script")"
CODE=$(nsx "$NS_B" curl -sS -o /dev/null -w '%{http_code}' "$KERNEL")
[ "$CODE" = 200 ] || fail "kernel fetch: $CODE"
INITRD=$(grep -o "^initrd [^ ]*" "$T/script" | head -1 | cut -d' ' -f2)
CODE=$(nsx "$NS_B" curl -sS -o /dev/null -w '%{http_code}' "$INITRD")
[ "$CODE" = 200 ] || fail "initrd fetch: $CODE"
api GET "/api/v1/events?host=node2&kind=http.file&limit=10"
jq -e '[.items[] | select(.data.role == "kernel" and .data.name == "vmlinuz")] | length >= 1' "$T/out" >/dev/null ||
  fail "the kernel fetch is not an http.file event with role kernel: $(cat "$T/out")"
jq -e '[.items[] | select(.data.role == "module" and .data.name == "initrd.img" and .data.build == "lab")] | length >= 1' "$T/out" >/dev/null ||
  fail "the initrd fetch is not an http.file event with role module: $(cat "$T/out")"
midwife_stop
sqlite3 "$T/state/midwife.db" "UPDATE events SET ts = ts - 3600000" || fail "cannot age the events"
midwife_start "$NS_S" "$T/midwife.conf" "$T/midwife.log"
api GET "/api/v1/explain/$MAC_B"
[ "$(jq -r '.diagnosis[0].finding' "$T/out")" = no-birth ] || fail "explain node2 an hour later: $(jq -c .diagnosis "$T/out")"
jq -r '.diagnosis[0].summary' "$T/out" | grep -qi kernel || fail "no-birth does not mention the kernel: $(jq -c .diagnosis "$T/out")"
api GET "/api/v1/explain/$MAC_A"
[ "$(jq -r '.diagnosis[0].finding' "$T/out")" = stuck-configuring ] || fail "explain node1b an hour later: $(jq -c .diagnosis "$T/out")"
[ "$(jq -r '.host.name' "$T/out")" = node1b ] || fail "explain names the wrong host: $(jq -c .host "$T/out")"
jq -r '.script.text' "$T/out" | grep -q '^kernel ' || fail "explain does not show the script it would serve: $(jq -c .script "$T/out")"
pass "explain from recorded events: kernel fetched but no birth, born but never ready (and the failed step above)"

midwife_stop
midwife_check_sanitizers
pass "midwife stopped cleanly, no sanitizer reports"
