#!/usr/bin/env bash
# The CLI against a real `midwife serve`, on loopback inside a private
# namespace: every subcommand (host, build, profile, rule, events with
# --follow across a server restart, explain, status, apply, export, token
# rotate), tables and -o json, exit codes (0 done, 1 refused, 2 usage), and
# API errors printed exactly as the API gave them (checked against the same
# request made with curl).
#
# Usage: tests/e2e/test_cli.sh MIDWIFE_BINARY
set -u
export E2E_NAME=cli
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")

e2e_init
need_cmd curl jq sha256sum
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

NS=$(ns_name cli)
ns_create "$NS"
T=$E2E_TMP
mkdir -p "$T/state" "$T/out" "$T/files" "$T/elsewhere"
PORT=8080
B=http://127.0.0.1:$PORT
CONF=$T/midwife.conf
cat >"$CONF" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
enabled = no

[tftp]
enabled = no

[http]
address = 127.0.0.1
port = $PORT
EOF
# The CLI finds the server ([http]) and the token (STATE_DIR/admin.token)
# from the config alone.
export MIDWIFE_CONFIG=$CONF
unset MIDWIFE_SERVER MIDWIFE_TOKEN MIDWIFE_TOKEN_FILE NO_COLOR

# mw NAME ARGS...: runs the CLI in the namespace; stdout in out/NAME,
# stderr in out/NAME.err, exit status in $RC; stdin from $MW_IN.
mw() {
  local name=$1
  shift
  with_timeout 60 ip netns exec "$NS" "$MIDWIFE" "$@" >"$T/out/$name" 2>"$T/out/$name.err" <"${MW_IN:-/dev/null}"
  RC=$?
  # A sanitizer build of the CLI reports on stderr.
  if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$T/out/$name.err"; then
    head -n 40 "$T/out/$name.err" | sed 's/^/    err| /' >&2
    fail "midwife $*: sanitizer report"
  fi
}
# ok NAME ARGS...: mw, and it must succeed.
ok() {
  mw "$@"
  if [ "$RC" -ne 0 ]; then
    sed 's/^/    err| /' "$T/out/$1.err" >&2
    shift
    fail "midwife $* exited $RC, expected 0"
  fi
}
# refused NAME WANT_RC ARGS...: mw, and it must exit WANT_RC.
refused() {
  local name=$1 want=$2
  shift 2
  mw "$name" "$@"
  if [ "$RC" -ne "$want" ]; then
    sed 's/^/    out| /' "$T/out/$name" >&2
    sed 's/^/    err| /' "$T/out/$name.err" >&2
    fail "midwife $* exited $RC, expected $want"
  fi
}
out() { cat "$T/out/$1"; }
err() { cat "$T/out/$1.err"; }
# jqo NAME [JQ_ARGS...] FILTER: a -o json answer, queried (false/null fails).
jqo() {
  local n=$1
  shift
  jq -er "$@" <"$T/out/$n"
}
# api METHOD PATH [BODY]: the same request with curl; "STATUS ERROR" (the
# API's own error text) on stdout.
api() {
  local body=${3:-}
  local args=(-X "$1" -H "Authorization: Bearer $(head -n 1 "$T/state/admin.token")" -o "$T/out/api" -w '%{http_code}')
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  local code
  code=$(http_get "$NS" "$B/api/v1$2" "${args[@]}")
  printf '%s %s\n' "$code" "$(jq -r .error <"$T/out/api")"
}
# same_error NAME METHOD PATH [BODY]: the CLI's stderr starts with the
# API's error exactly: "midwife: STATUS ERROR".
same_error() {
  local name=$1 want
  shift
  want="midwife: $(api "$@")"
  [ "$(head -n 1 "$T/out/$name.err")" = "$want" ] ||
    fail "$name: the CLI said '$(head -n 1 "$T/out/$name.err")', the API says '$want'"
}

midwife_start "$NS" "$CONF" "$T/midwife.log"
[ -s "$T/state/admin.token" ] || fail "serve wrote no $T/state/admin.token"
[ "$(stat -c %a "$T/state/admin.token")" = 600 ] || fail "admin.token is mode $(stat -c %a "$T/state/admin.token")"

# --- the command line itself ------------------------------------------------------
for c in host build profile rule events explain status apply export token; do
  ok "help-$c" "$c" help
  grep -q '^usage: midwife' "$T/out/help-$c" || fail "midwife $c help: no usage"
done
grep -q 'never the token itself on the command line' "$T/out/help-host" || fail "help does not warn about tokens in ps"
refused bad-cmd 2 frobnicate
refused bad-sub 2 host frobnicate
refused bad-opt 2 host list --no-such-option
refused bad-o 2 host list -o yaml
refused bad-vlan 2 host set h --vlan ten
refused bad-label 2 host set h --label novalue
refused no-args 2 host show
pass "usage errors exit 2; every command has help"

# --- status -----------------------------------------------------------------------
ok status status
ok status-json status -o json
jqo status-json 'type == "object" and (.version | type == "string")' >/dev/null ||
  fail "status -o json: no version ($(out status-json | head -c 300))"
grep -q '^version: ' "$T/out/status" || fail "status (text) has no 'version:' line"
# Global options before the command too.
ok status-json2 -o json status
jqo status-json2 .version >/dev/null || fail "midwife -o json status: not JSON"
pass "status: text and -o json (before or after the command)"

# --- builds -----------------------------------------------------------------------
sha() { sha256sum "$1" | cut -d' ' -f1; }
head -c 30000 /dev/urandom >"$T/files/kernel.bin"
head -c 50000 /dev/urandom >"$T/files/initrd.bin"
initrd_module "$T/layer.cpio.gz" extra="layered module" || fail "layer archive"
# Relative paths, from a directory the server knows nothing of: the CLI
# makes them absolute.
(cd "$T/files" && ok import build import files . --kind linux --kernel kernel.bin --initrd initrd.bin \
  --cmdline "console=ttyS0") || exit 1
grep -q '^published files@1 (linux, 2 files)' "$T/out/import" || fail "build import: $(out import)"
(cd "$T" && ok layer build layer files layer.cpio.gz) || exit 1
grep -q '^published files@2 ' "$T/out/layer" || fail "build layer: $(out layer)"
ok bshow build show files -o json
[ "$(jqo bshow .version)" = 2 ] || fail "build show files: version $(jqo bshow .version), expected 2 (latest)"
for f in "$T/files/kernel.bin" "$T/files/initrd.bin" "$T/layer.cpio.gz"; do
  grep -q "$(sha "$f")" "$T/out/bshow" || fail "build show files lacks $(basename "$f") by checksum"
done
ok bshow1 build show files@1 -o json
[ "$(jqo bshow1 .version)" = 1 ] || fail "build show files@1: version $(jqo bshow1 .version)"
ok blist build list
head -n 1 "$T/out/blist" | grep -q '^NAME  *VERSION  *KIND  *CREATED  *SOURCE$' || fail "build list header: $(head -n 1 "$T/out/blist")"
[ "$(grep -c '^files ' "$T/out/blist")" = 2 ] || fail "build list: not two versions of files"
ok blistj build list -o json
[ "$(jqo blistj 'length')" = 2 ] || fail "build list -o json: $(jqo blistj length) items"
ok bsan build import san --kind sanboot --san-uri iscsi:10.0.0.9::::iqn.2026-01.lab:disk1 --no-agent
ok bsanj build show san -o json
[ "$(jqo bsanj -c '[.kind, .san_uri, .no_agent]')" = '["sanboot","iscsi:10.0.0.9::::iqn.2026-01.lab:disk1",true]' ] ||
  fail "build import --kind sanboot --san-uri --no-agent: $(jqo bsanj -c '[.kind, .san_uri, .no_agent]')"
ok bsanrm build rm san
refused bmissing 1 build show nosuch
same_error bmissing GET /builds/nosuch
refused bimport-bad 1 build import broken "$T/no/such/dir"
grep -q '^midwife: 4[0-9][0-9] ' "$T/out/bimport-bad.err" || fail "import of a missing path: $(err bimport-bad)"
pass "build import/layer with relative paths, sanboot without a path, list, show NAME and NAME@V, errors as the API gave them"

# --- hosts ------------------------------------------------------------------------
M1=52:54:00:c1:00:01 M2=52:54:00:c1:00:02
ok hadd host add h1 --mac "$M1" --build files --label rack=r1 --var index=01
grep -q '^added host h1: ' "$T/out/hadd" || fail "host add: $(out hadd)"
refused hadd-again 1 host add h1 --mac 52:54:00:c1:00:99
grep -q '^midwife: 409 ' "$T/out/hadd-again.err" || fail "host add of an existing name: $(err hadd-again)"
refused hbad 1 host add hbad --mac "$M2" --mac not-a-mac
same_error hbad POST /hosts '{"name":"hbad","macs":["'"$M2"'","not-a-mac"]}'
grep -q '^midwife: 400 macs\[1\]' "$T/out/hbad.err" || fail "a bad second MAC is not named macs[1]: $(err hbad)"
refused hdup 1 host set h2 --mac "$M1"
grep -q '^midwife: 409 ' "$T/out/hdup.err" || fail "a MAC of another host: $(err hdup)"
ok hset-new host set h2 --mac "$M2" --build files@1
grep -q '^added host h2' "$T/out/hset-new" || fail "host set of a new host: $(out hset-new)"
ok hset host set h1 --vlan 12 --label role=esx --mode stateful
ok hshow host show h1 -o json
[ "$(jqo hshow .vlan)" = 12 ] || fail "host set --vlan: vlan $(jqo hshow .vlan)"
[ "$(jqo hshow .mode)" = stateful ] || fail "host set --mode: mode $(jqo hshow .mode)"
[ "$(jqo hshow -c .labels)" = '{"rack":"r1","role":"esx"}' ] || fail "labels not merged: $(jqo hshow -c .labels)"
[ "$(jqo hshow -c .vars)" = '{"index":"01"}' ] || fail "vars: $(jqo hshow -c .vars)"
[ "$(jqo hshow -c .macs)" = "[\"$M1\"]" ] || fail "a PATCH without --mac changed the MACs: $(jqo hshow -c .macs)"
ok hset2 host set h1 --label rack=
ok hshow2 host show h1 -o json
[ "$(jqo hshow2 -c .labels)" = '{"role":"esx"}' ] || fail "--label rack= did not remove rack: $(jqo hshow2 -c .labels)"
ok hshowt host show h1
grep -q '^name: h1$' "$T/out/hshowt" || fail "host show (text): $(head -n 3 "$T/out/hshowt")"
grep -q "^  - $M1\$\|^macs: $M1\$" "$T/out/hshowt" || fail "host show (text) lacks the MAC"
for i in 3 4 5; do ok "hadd$i" host add "h$i" --mac "52:54:00:c1:00:0$i" --label rack=r2; done
ok hlist host list
head -n 1 "$T/out/hlist" | grep -q '^NAME  *STATE  *MACS  *BUILD  *PROFILE  *MODE  *ADDRESS  *LAST SEEN$' ||
  fail "host list header: $(head -n 1 "$T/out/hlist")"
[ "$(tail -n +2 "$T/out/hlist" | awk '{print $1}' | tr '\n' ' ')" = "h1 h2 h3 h4 h5 " ] ||
  fail "host list rows: $(tail -n +2 "$T/out/hlist" | awk '{print $1}' | tr '\n' ' ')"
# Aligned: the STATE column starts at the same place on every line.
[ "$(awk '{ print index($0, $2) }' "$T/out/hlist" | sort -u | wc -l)" = 1 ] || fail "host list columns not aligned"
grep -q $'\033' "$T/out/hlist" && fail "colours in a table that is not on a terminal"
ok hpaged host list --page-size 2 -o json
[ "$(jqo hpaged 'map(.name) | join(" ")')" = "h1 h2 h3 h4 h5" ] || fail "host list following next: $(jqo hpaged 'map(.name)|join(" ")')"
ok hlimit host list --limit 3 --page-size 2 -o json
[ "$(jqo hlimit 'map(.name) | join(" ")')" = "h1 h2 h3" ] || fail "host list --limit 3: $(jqo hlimit 'map(.name)|join(" ")')"
ok hlabel host list --label rack=r2 -o json
[ "$(jqo hlabel 'map(.name) | join(" ")')" = "h3 h4 h5" ] || fail "host list --label rack=r2: $(jqo hlabel 'map(.name)|join(" ")')"
ok hsearch host list --search "c1:00:02" -o json
[ "$(jqo hsearch 'map(.name) | join(" ")')" = h2 ] || fail "host list --search: $(jqo hsearch 'map(.name)|join(" ")')"
ok hbuild host list --build files -o json
jqo hbuild 'map(.name) | index("h1") != null' >/dev/null || fail "host list --build files lacks h1"
ok hconfig host config h1
jqo hconfig '.host == "h1"' >/dev/null || fail "host config h1: $(out hconfig | head -c 300)"
ok hretire host retire h2
ok hstate2 host show h2 -o json
[ "$(jqo hstate2 .state)" = retired ] || fail "host retire: state $(jqo hstate2 .state)"
ok hretired host list --state retired -o json
[ "$(jqo hretired 'map(.name) | join(" ")')" = h2 ] || fail "host list --state retired: $(jqo hretired 'map(.name)|join(" ")')"
ok hreinstall host reinstall h1
ok hstate1 host show h1 -o json
[ "$(jqo hstate1 .state)" = discovered ] || fail "host reinstall: state $(jqo hstate1 .state)"
ok hrm host rm h5
refused hgone 1 host show h5
same_error hgone GET /hosts/h5
grep -q '^midwife: 404 ' "$T/out/hgone.err" || fail "a removed host: $(err hgone)"
pass "host add/set (PATCH, PUT for a new one)/show/list with filters and paging/config/retire/reinstall/rm"

# A build a host uses cannot go.
refused brm-used 1 build rm files
grep -q '^midwife: 409 ' "$T/out/brm-used.err" || fail "build rm of a build in use: $(err brm-used)"
pass "build rm refused while in use (409 as given)"

# --- profiles ---------------------------------------------------------------------
cat >"$T/p1.json" <<'EOF'
{"name": "p1", "doc": {"hostname": "esx-${index}", "ntp": ["10.0.0.1"]}}
EOF
printf '{"dns": {"servers": ["10.0.0.53"]}}\n' >"$T/p2-doc.json"
ok pset1 profile set -f "$T/p1.json"
MW_IN=$T/p2-doc.json ok pset2 profile set p2 -f -
ok pset2f profile set p2 -f "$T/p2-doc.json"
ok pshow profile show p1 -o json
# shellcheck disable=SC2016 # the profile's own ${index}, not the shell's
[ "$(jqo pshow '.doc.hostname')" = 'esx-${index}' ] || fail "profile show p1: $(out pshow)"
ok plist profile list
head -n 1 "$T/out/plist" | grep -q '^NAME  *SETS  *UPDATED$' || fail "profile list header: $(head -n 1 "$T/out/plist")"
grep -q '^p1  *hostname,ntp ' "$T/out/plist" || fail "profile list row p1: $(grep p1 "$T/out/plist")"
printf '{"bonds": [{"name": "bond0", "mode": "sideways", "members": ["eth0"]}]}\n' >"$T/bad-doc.json"
refused pbad 1 profile set pbad -f "$T/bad-doc.json"
same_error pbad PUT /profiles/pbad "{\"name\":\"pbad\",\"doc\":$(cat "$T/bad-doc.json")}"
refused pnoname 2 profile set -f "$T/p2-doc.json"
ok hprof host set h1 --profile p1
ok hconfig2 host config h1
[ "$(jqo hconfig2 .hostname)" = esx-01 ] || fail "host config with profile p1: hostname $(jqo hconfig2 .hostname)"
refused prm-used 1 profile rm p1
grep -q '^midwife: 409 ' "$T/out/prm-used.err" || fail "profile rm while a host names it: $(err prm-used)"
ok prm profile rm p2
refused pgone 1 profile show p2
pass "profile set -f FILE / NAME -f DOC / stdin, show, list, rm; bad documents and 409 as given"

# --- rules ------------------------------------------------------------------------
ok rset1 rule set lab --rank 10 --mac '52:54:00:aa:*' --build files --profile p1
grep -q '^rule lab added' "$T/out/rset1" || fail "rule set: $(out rset1)"
ok rset0 rule set serials --rank 5 --match '{"serial": ["ABC*"]}' --build files
refused rrank 1 rule set other --rank 10 --match '{}'
grep -q '^midwife: 409 ' "$T/out/rrank.err" || fail "a taken rank: $(err rrank)"
refused rbad 1 rule set bad --rank 1 --match '{"mac": ["zz"]}'
same_error rbad PUT /rules/bad '{"name":"bad","rank":1,"match":{"mac":["zz"]}}'
refused rbadjson 2 rule set bad --rank 1 --match '{not json'
ok rchange rule set lab --build files@1
ok rshow rule show lab -o json
[ "$(jqo rshow .rank)" = 10 ] || fail "rule set without --rank lost the rank: $(out rshow)"
[ "$(jqo rshow -c .match)" = '{"mac":["52:54:00:aa:*"]}' ] || fail "rule set without --match lost it: $(jqo rshow -c .match)"
ok rlist rule list
[ "$(tail -n +2 "$T/out/rlist" | awk '{print $2}' | tr '\n' ' ')" = "serials lab " ] ||
  fail "rule list not in rank order: $(cat "$T/out/rlist")"
ok rtest rule test 52:54:00:aa:00:01
grep -q '^52:54:00:aa:00:01 gets rule lab$' "$T/out/rtest" || fail "rule test: $(out rtest)"
grep -q '^serials  *no  ' "$T/out/rtest" || fail "rule test trace lacks why serials does not match: $(out rtest)"
grep -q '^lab  *yes  ' "$T/out/rtest" || fail "rule test trace lacks the match: $(out rtest)"
ok rtestj rule test 52:54:00:aa:00:01 --serial XYZ --arch 7 -o json
[ "$(jqo rtestj .match)" = lab ] || fail "rule test -o json: $(out rtestj)"
[ "$(jqo rtestj '.trace | length')" = 2 ] || fail "rule test -o json: trace $(jqo rtestj -c .trace)"
ok rtests rule test 52:54:00:bb:00:01 --serial ABC123
grep -q 'gets rule serials$' "$T/out/rtests" || fail "rule test by serial: $(out rtests)"
ok rnone rule test 52:54:00:bb:00:01
grep -q '^52:54:00:bb:00:01 matches no rule$' "$T/out/rnone" || fail "rule test without a match: $(out rnone)"
ok rrm rule rm serials
refused rgone 1 rule show serials
pass "rule set (--mac, --match, merge on change), show, list in rank order, test with the trace, rm; errors as given"

# --- events -----------------------------------------------------------------------
# An iPXE client asking for its script is an event for its MAC.
http_get "$NS" "$B/boot/ipxe?mac=${M1//:/-}" -o /dev/null || fail "GET /boot/ipxe"
has_event() { ip netns exec "$NS" "$MIDWIFE" events --mac "$M1" -o json | jq -e 'length > 0'; }
wait_for 10 "an event for $M1" has_event || true
ok ev events --mac "$M1" -o json
[ "$(jqo ev 'length')" -ge 1 ] || fail "events --mac $M1: none after a script fetch"
jqo ev "all(.[]; .mac == \"$M1\")" >/dev/null || fail "events --mac $M1 has events of other MACs"
ok evt events --mac "$M1"
head -n 1 "$T/out/evt" | grep -q '^ID  *TIME  *KIND  *STATUS  *HOST  *MAC  *MESSAGE$' || fail "events header: $(head -n 1 "$T/out/evt")"
ok evlim events --limit 1 -o json
[ "$(jqo evlim length)" = 1 ] || fail "events --limit 1: $(jqo evlim length)"
LAST=$(jqo ev '.[-1].id')

# --follow: new events as they happen, across a server restart.
FOLLOW=$T/out/follow
bg_start "$NS" "$FOLLOW" "$MIDWIFE" events --follow --mac "$M1" --after "$LAST" -o json
FPID=$BG_PID
sleep 1
# A state change of h1 (MAC M1). (Another script fetch would not do: the
# same machine asking again within 10 s without a boot starting is folded
# into the event already recorded.)
ok fretire host retire h1
wait_for 10 "the first followed event" grep -q '^{' "$FOLLOW" || { cat "$FOLLOW" >&2; fail "events --follow showed nothing"; }
n1=$(grep -c '^{' "$FOLLOW")
midwife_stop 10
midwife_start "$NS" "$CONF" "$T/midwife.log"
ok freinstall host reinstall h1
wait_for 20 "an event after the restart" bash -c "[ \$(grep -c '^{' '$FOLLOW') -gt $n1 ]" ||
  { cat "$FOLLOW" >&2; fail "events --follow did not resume after the server restarted"; }
kill "$FPID" 2>/dev/null
grep -q '^midwife: the event stream ended.* after event ' "$FOLLOW" ||
  { cat "$FOLLOW" >&2; fail "events --follow did not say it lost the stream and where it resumes"; }
ids=$(grep '^{' "$FOLLOW" | jq -r .id | tr '\n' ' ')
[ "$(grep '^{' "$FOLLOW" | jq -r .id | sort -n | uniq | tr '\n' ' ')" = "$ids" ] ||
  fail "events --follow: ids not ascending or repeated after the reconnection: $ids"
[ "$(grep '^{' "$FOLLOW" | jq -r .id | head -n 1)" -gt "$LAST" ] || fail "events --follow --after $LAST began at or before it"
grep '^{' "$FOLLOW" | jq -e "select(.mac != \"$M1\")" >/dev/null && fail "events --follow --mac: other MACs"
# --follow --limit N ends by itself.
bg_start "$NS" "$T/out/follow1" "$MIDWIFE" events --follow --limit 1 --mac "$M1" --after "$LAST"
F1=$BG_PID
wait_for 10 "events --follow --limit 1 to end" bash -c "! kill -0 $F1" || fail "events --follow --limit 1 did not end"
wait "$F1"
rc=$?
forget_pid "$F1"
[ $rc = 0 ] || fail "events --follow --limit 1 exited $rc"
[ "$(wc -l <"$T/out/follow1")" = 1 ] || fail "events --follow --limit 1 printed $(wc -l <"$T/out/follow1") lines"
pass "events: filters, table, -o json, --limit; --follow resumed after a server restart without repeats ($ids)"

# --- explain ----------------------------------------------------------------------
ok explain explain "$M1" -o json
jqo explain 'type == "object"' >/dev/null || fail "explain -o json: $(out explain | head -c 300)"
ok explaint explain "$M1"
grep -q "^$M1: host h1, " "$T/out/explaint" || fail "explain (text): no host line: $(out explaint | head -c 300)"
grep -q '^diagnosis:$' "$T/out/explaint" && grep -q '^    → ' "$T/out/explaint" ||
  fail "explain (text): no diagnosis with advice: $(out explaint | head -c 600)"
grep -q '^DHCP to PXE firmware: ' "$T/out/explaint" || fail "explain (text): no DHCP answer: $(out explaint | head -c 600)"
refused explain-bad 1 explain not-a-mac
grep -q '^midwife: 400 ' "$T/out/explain-bad.err" || fail "explain not-a-mac: $(err explain-bad)"
pass "explain MAC: text and JSON; a bad MAC is the API's 400"

# --- export / apply ---------------------------------------------------------------
ok export export
jqo export '(.hosts | type == "array") and (.profiles | type == "array") and (.rules | type == "array")' >/dev/null ||
  fail "export: not {hosts, profiles, rules}"
[ "$(jqo export '.hosts | map(.name) | sort | join(" ")')" = "h1 h2 h3 h4" ] || fail "export hosts: $(jqo export '.hosts|map(.name)|join(" ")')"
cp "$T/out/export" "$T/inventory.json"
ok hrm3 host rm h3
ok apply apply -f "$T/inventory.json"
ok h3back host show h3 -o json
[ "$(jqo h3back -c .labels)" = '{"rack":"r2"}' ] || fail "apply did not bring h3 back as it was"
# All or nothing: a good new host beside a bad one is not created either.
jq '.hosts += [{"name": "h6", "macs": ["52:54:00:c1:00:06"]}, {"name": "h7", "macs": ["bad"]}]' \
  "$T/inventory.json" >"$T/bad-inventory.json"
MW_IN=$T/bad-inventory.json refused apply-bad 1 apply -f -
same_error apply-bad POST /apply "$(cat "$T/bad-inventory.json")"
refused h6none 1 host show h6
pass "export → apply round trip; apply -f - refused all or nothing, error as given"

# --- the token --------------------------------------------------------------------
cp "$T/state/admin.token" "$T/old.token"
chmod 600 "$T/old.token"
refused wrongtok 1 status --token-file "$T/files/kernel.bin"
MIDWIFE_TOKEN=not-the-token mw wrongtok2 status
[ "$RC" = 1 ] || fail "a wrong \$MIDWIFE_TOKEN: exit $RC"
grep -q '^midwife: 401 ' "$T/out/wrongtok2.err" || fail "a wrong token: $(err wrongtok2)"
grep -q 'MIDWIFE_TOKEN' "$T/out/wrongtok2.err" || fail "a refused token does not say where it came from"
ok rotate token rotate -c "$CONF"
NEW=$(out rotate)
[[ $NEW =~ ^[0-9a-f]{64}$ ]] || fail "token rotate printed '$NEW', not one 64-hex token"
[ "$(head -n 1 "$T/state/admin.token")" = "$NEW" ] || fail "admin.token does not hold the new token"
[ "$(stat -c %a "$T/state/admin.token")" = 600 ] || fail "admin.token is mode $(stat -c %a "$T/state/admin.token") after rotate"
refused oldtok 1 status --token-file "$T/old.token"
grep -q '^midwife: 401 ' "$T/out/oldtok.err" || fail "the old token after rotate: $(err oldtok)"
ok newtok status
MIDWIFE_TOKEN=$NEW mw newtok2 --server "$B" -c /nonexistent status
[ "$RC" = 0 ] || fail "\$MIDWIFE_TOKEN and --server without a config: $(err newtok2)"
pass "token rotate: new token printed once and in admin.token (0600); the old one is refused by the running server"

midwife_alive || fail "midwife died"
midwife_stop 10
refused down 1 status
grep -q "^midwife: cannot reach $B" "$T/out/down.err" || fail "server down: $(err down)"
pass "server stopped cleanly; the CLI says it cannot reach it (exit 1)"
