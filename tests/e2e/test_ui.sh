#!/usr/bin/env bash
# The web UI (docs/ui.md) in a real browser against a real midwife:
#
#   client ns (a0, udhcpc, curl as the booting host) ──veth── server ns
#                                        s0 10.77.9.1/24: midwife, node + headless
#                                                             chromium, then firefox
#
# First curl checks the /ui/ routes (redirect, headers, CSP, 304 on the
# ETag, 404) and that every file in web/ is embedded byte for byte. Then
# tests/browser/ui.test.mjs drives Debian's chromium through playwright-core:
# log in (a wrong token shows the API's error), watch node1 go booting →
# ready in the hosts table while the client namespace fetches its script
# and posts the birth and reports, open its timeline, change its build and
# see the API reflect it, see an API error rendered with the API's words,
# the rule tester, and screenshots of every main page (one in a narrow
# window) saved for review. Then tests/browser/firefox.test.mjs drives
# Debian's firefox-esr over WebDriver BiDi through puppeteer-core through
# the main flows again (login, node1 booting → ready live on a fresh boot,
# its timeline, a build change, an API error, no script errors), with
# screenshots named -firefox beside Chromium's; its profile is in the
# test's temporary directory, and no Firefox fails the test.
#
# Usage: tests/e2e/test_ui.sh MIDWIFE_BINARY
#   Screenshots go to $E2E_LOG_DIR/ui-screenshots, else next to the binary
#   (BUILD_DIR/ui-screenshots); the path is printed.
set -u
export E2E_NAME=ui
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
FIREFOX=${FIREFOX:-/usr/bin/firefox-esr}

e2e_init
need_cmd curl jq udhcpc node npm sha256sum
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"
[ -x "$CHROMIUM" ] || fail "no chromium at $CHROMIUM (run: make deps-test)"
[ -x "$FIREFOX" ] || fail "no firefox at $FIREFOX (run: make deps-test)"

BROWSER_DIR=$REPO/tests/browser
SHOTS=${E2E_LOG_DIR:+$E2E_LOG_DIR/ui-screenshots}
SHOTS=${SHOTS:-$(dirname "$MIDWIFE")/ui-screenshots}
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

T=$E2E_TMP
mkdir -p "$T/state" "$T/img1" "$T/img2" "$T/hooks" "$T/out"
NS_S=$(ns_name uis)
NS_A=$(ns_name uia)
ns_create "$NS_S"
ns_create "$NS_A"
MAC_A=02:00:00:77:09:0a
ns_veth "$NS_S" s0 "$NS_A" a0 10.77.9.1/24 "" $MAC_A
URL=http://10.77.9.1:8080

cat >"$T/hooks/born" <<'EOF2'
#!/bin/sh
echo "born hook saw $MIDWIFE_HOST"
EOF2
chmod 755 "$T/hooks/born"

cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = s0

[subnet lab]
network = 10.77.9.0/24
range = 10.77.9.100-10.77.9.150
lease_time = 10m

[tftp]
enabled = no

[http]
address = 0.0.0.0
port = 8080
public_url = $URL

[hooks]
born = $T/hooks/born
timeout = 10s
EOF
midwife_start "$NS_S" "$T/midwife.conf" "$T/midwife.log"
ADMIN=$(cat "$T/state/admin.token")

# ---- the /ui/ routes over plain HTTP ------------------------------------------------
get() { # PATH [CURL_ARGS...]: status in $CODE, headers (lower-cased names) in out/head
  local p=$1
  shift
  rm -f "$T/out/body"
  CODE=$(nsx "$NS_S" curl -sS -o "$T/out/body" -D "$T/out/head.raw" -w '%{http_code}' "$@" "$URL$p")
  tr -d '\r' <"$T/out/head.raw" | sed 's/^\([^:]*\):/\L\1:/' >"$T/out/head"
}
hdr() { sed -n "s/^$1: *//p" "$T/out/head" | tail -n 1; }

get /ui
[ "$CODE" = 301 ] && [ "$(hdr location)" = /ui/ ] || fail "/ui: $CODE, Location '$(hdr location)'"
get /ui/
[ "$CODE" = 200 ] || fail "/ui/: $CODE"
case $(hdr content-type) in text/html*) ;; *) fail "/ui/: Content-Type $(hdr content-type)" ;; esac
case $(hdr content-security-policy) in "default-src 'self';"*) ;; *) fail "/ui/: CSP '$(hdr content-security-policy)'" ;; esac
[ "$(hdr x-content-type-options)" = nosniff ] || fail "/ui/: no nosniff"
[ "$(hdr cache-control)" = no-cache ] || fail "/ui/: Cache-Control '$(hdr cache-control)'"
cmp -s "$T/out/body" "$REPO/web/index.html" || fail "/ui/ is not web/index.html"
ETAG=$(hdr etag)
[ "$ETAG" = "\"$(sha256sum "$REPO/web/index.html" | cut -d' ' -f1)\"" ] || fail "/ui/: ETag $ETAG is not the SHA-256 of index.html"
get /ui/ -H "If-None-Match: $ETAG"
[ "$CODE" = 304 ] && [ ! -s "$T/out/body" ] || fail "/ui/ with its ETag: $CODE"
get /ui/js/nothing.js
[ "$CODE" = 404 ] || fail "/ui/js/nothing.js: $CODE"
get /ui/ -X POST
[ "$CODE" = 405 ] || fail "POST /ui/: $CODE"
pass "/ui → /ui/ (301); index.html with CSP, nosniff, no-cache and its SHA-256 as ETag; 304, 404, 405"

# Every file of web/ (but the build's own) is embedded as it is, with its type.
n=0
while IFS= read -r f; do
  rel=${f#"$REPO/web/"}
  get "/ui/$rel"
  [ "$CODE" = 200 ] || fail "web/$rel is not served (status $CODE): missing from web/meson.build?"
  cmp -s "$T/out/body" "$f" || fail "/ui/$rel differs from web/$rel"
  case $rel in
    *.js) want=text/javascript ;; *.css) want=text/css ;; *.html) want=text/html ;; *) want=unknown ;;
  esac
  case $(hdr content-type) in "$want"*) ;; *) fail "/ui/$rel: Content-Type $(hdr content-type)" ;; esac
  n=$((n + 1))
done < <(find "$REPO/web" -type f ! -name embed.py ! -name meson.build | sort)
[ "$n" -ge 10 ] || fail "only $n web files found"
pass "all $n files of web/ are served byte for byte with their content types"

# ---- inventory through the API ---------------------------------------------------------
api() { # METHOD PATH [BODY]: as the admin; body in out/api, status in $CODE
  local m=$1 p=$2
  if [ $# -ge 3 ]; then
    CODE=$(nsx "$NS_S" curl -sS -o "$T/out/api" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $ADMIN" \
      -H 'Content-Type: application/json' --data-binary "$3" "$URL$p")
  else
    CODE=$(nsx "$NS_S" curl -sS -o "$T/out/api" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $ADMIN" "$URL$p")
  fi
}
head -c 4096 /dev/urandom >"$T/img1/vmlinuz"
head -c 2048 /dev/urandom >"$T/img1/initrd.img"
head -c 5000 /dev/urandom >"$T/img2/vmlinuz"
head -c 3000 /dev/urandom >"$T/img2/initrd.img"
for b in lab:img1 lab2:img2; do
  api POST /api/v1/builds "{\"name\":\"${b%%:*}\",\"path\":\"$T/${b#*:}\",\"kernel\":\"vmlinuz\",\"initrds\":[\"initrd.img\"],\"cmdline\":\"console=ttyS0\"}"
  [ "$CODE" = 201 ] || fail "build ${b%%:*}: $CODE $(cat "$T/out/api")"
done
# shellcheck disable=SC2016 # ${...} is the profile's own syntax
api POST /api/v1/profiles '{"name":"node","doc":{"hostname":"node-${index}","dns":{"servers":["10.77.9.1"]}}}'
[ "$CODE" = 201 ] || fail "profile: $CODE $(cat "$T/out/api")"
api POST /api/v1/hosts "{\"name\":\"node1\",\"macs\":[\"$MAC_A\"],\"build\":\"lab\",\"profile\":\"node\",\"vlan\":42,\"labels\":{\"rack\":\"r9\"},\"vars\":{\"index\":\"01\"}}"
[ "$CODE" = 201 ] || fail "host node1: $CODE $(cat "$T/out/api")"
api POST /api/v1/hosts '{"name":"spare-1","macs":["02:00:00:77:09:f1"],"build":"lab","labels":{"rack":"r8"}}'
[ "$CODE" = 201 ] || fail "host spare-1: $CODE $(cat "$T/out/api")"
api POST /api/v1/rules '{"name":"rack9-dell","rank":10,"match":{"mac":["02:00:00:77:09:*"],"vendor":["Dell*"]},"build":"lab","profile":"node","labels":{"rack":"r9"}}'
[ "$CODE" = 201 ] || fail "rule: $CODE $(cat "$T/out/api")"
api POST /api/v1/rules '{"name":"catch-all","rank":100,"match":{},"build":"lab2"}'
[ "$CODE" = 201 ] || fail "rule catch-all: $CODE $(cat "$T/out/api")"
pass "builds lab and lab2, profile node, hosts node1 and spare-1, two rules"

# The client gets its lease now: the script it asks for later carries a token.
nsx "$NS_A" udhcpc -i a0 -n -q -t 5 -T 1 -s /bin/true >"$T/udhcpc" 2>&1 || fail "udhcpc: $(cat "$T/udhcpc")"
ADDR_A=$(sed -n 's/.*[Ll]ease of \([0-9.]*\) obtained.*/\1/p' "$T/udhcpc" | head -1)
[ -n "$ADDR_A" ] || fail "no lease: $(cat "$T/udhcpc")"
nsx "$NS_A" ip addr add "$ADDR_A/24" dev a0
pass "node1's machine leased $ADDR_A"

# What the browser test calls to act as the booting machine, from its
# namespace: "script" prints the boot token of a fresh script; "call
# METHOD PATH TOKEN BODY" prints "STATUS BODY".
# shellcheck disable=SC2016 # $1..$5 are the client script's own
{
  printf '#!/bin/sh\n'
  printf 'case $1 in\n'
  printf '  script) ip netns exec %s curl -sS "%s/boot/ipxe?mac=%s" | grep -o "midwife\\.token=[0-9a-f]*" | head -1 | cut -d= -f2 ;;\n' "$NS_A" "$URL" "$MAC_A"
  printf '  call) ip netns exec %s curl -sS -o "%s" -w "%%{http_code} " -X "$2" -H "Authorization: Bearer $4" -H "Content-Type: application/json" --data-binary "$5" "%s$3" && cat "%s" ;;\n' "$NS_A" "$T/out/client" "$URL" "$T/out/client"
  printf '  *) echo "usage: client script | call METHOD PATH TOKEN BODY" >&2; exit 2 ;;\n'
  printf 'esac\n'
} >"$T/client"
chmod 755 "$T/client"

# ---- the browser test ------------------------------------------------------------------------
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ] || [ ! -d "$BROWSER_DIR/node_modules/puppeteer-core" ] ||
  [ "$BROWSER_DIR/package-lock.json" -nt "$BROWSER_DIR/node_modules/.package-lock.json" ]; then
  log "npm ci in tests/browser"
  (cd "$BROWSER_DIR" && with_timeout 240 npm ci --no-audit --no-fund) >"$T/npm.log" 2>&1 ||
    fail "npm ci: $(tail -n 20 "$T/npm.log")"
fi
with_timeout 30 node --test "$BROWSER_DIR/timeline.test.mjs" >"$T/timeline.log" 2>&1 ||
  { cat "$T/timeline.log" >&2; fail "timeline unit tests"; }
pass "timeline steps from events (node --test timeline.test.mjs)"

log "screenshots: $SHOTS"
# The browser test asks for a restart of midwife (to see the event stream
# come back) by creating ctl/restart; ctl/restarted says it is done. The
# browsers' profiles and temporary files stay under the test's directory.
mkdir -p "$T/ctl" "$T/tmp" "$T/firefox-profile"
nsx "$NS_S" env MIDWIFE_URL="$URL" MIDWIFE_TOKEN="$ADMIN" UI_CLIENT="$T/client" UI_MAC="$MAC_A" \
  UI_SCREENSHOTS="$SHOTS" UI_CONTROL="$T/ctl" CHROMIUM="$CHROMIUM" HOME="$T" TMPDIR="$T/tmp" \
  timeout --kill-after=5 180 node --test --test-reporter=spec "$BROWSER_DIR/ui.test.mjs" >"$T/browser.log" 2>&1 &
NODE_PID=$!
E2E_PIDS+=("$NODE_PID")
while kill -0 "$NODE_PID" 2>/dev/null; do
  if [ -e "$T/ctl/restart" ]; then
    rm -f "$T/ctl/restart"
    # shellcheck disable=SC2119 # the default wait
    midwife_stop
    midwife_start "$NS_S" "$T/midwife.conf" "$T/midwife.log"
    touch "$T/ctl/restarted"
  fi
  sleep 0.1
done
wait "$NODE_PID"
rc=$?
forget_pid "$NODE_PID"
sed 's/^/  browser| /' "$T/browser.log"
[ $rc = 0 ] || fail "browser test failed (status $rc); screenshots so far in $SHOTS"
for p in login hosts hosts-narrow host-node1 host-node1-failed builds profiles rules events status; do
  [ -s "$SHOTS/$p.png" ] || fail "no screenshot $p.png"
done
pass "browser: login, live booting → ready, timeline, build change, API error, rule tester; screenshots in $SHOTS"

# ---- the same midwife in Firefox ------------------------------------------------------------
ffstart=$(date +%s)
nsx "$NS_S" env MIDWIFE_URL="$URL" MIDWIFE_TOKEN="$ADMIN" UI_CLIENT="$T/client" UI_MAC="$MAC_A" \
  UI_SCREENSHOTS="$SHOTS" FIREFOX="$FIREFOX" FIREFOX_PROFILE="$T/firefox-profile" HOME="$T" TMPDIR="$T/tmp" \
  timeout --kill-after=5 180 node --test --test-reporter=spec "$BROWSER_DIR/firefox.test.mjs" >"$T/firefox.log" 2>&1 &
NODE_PID=$!
E2E_PIDS+=("$NODE_PID")
wait "$NODE_PID"
rc=$?
forget_pid "$NODE_PID"
sed 's/^/  firefox| /' "$T/firefox.log"
[ $rc = 0 ] || fail "Firefox browser test failed (status $rc); screenshots so far in $SHOTS"
for p in hosts host-node1; do
  [ -s "$SHOTS/$p-firefox.png" ] || fail "no screenshot $p-firefox.png"
done
[ -s "$T/firefox-profile/prefs.js" ] || fail "Firefox did not keep its profile in $T/firefox-profile"
ffver=$(sed -n 's/.* browser \(firefox\/[0-9.a-z]*\).*/\1/p' "$T/firefox.log" | head -1)
pass "${ffver:-firefox}: login, live booting → ready, timeline, build change, API error, no script errors in $(($(date +%s) - ffstart)) s"

# shellcheck disable=SC2119 # the default wait
midwife_stop
midwife_check_sanitizers
pass "midwife stopped cleanly, no sanitizer reports"
