#!/usr/bin/env bash
# The ESXi kickstart over real DHCP and HTTP, in private namespaces:
#
#   client ns (udhcpc, curl) ──veth── server ns (midwife) s0 10.77.20.1/24
#
# An ESXi-like build (a directory with BOOT.CFG) and the docs/profiles.md
# ESXi profile are made through the REST API. The client leases an address
# and asks for its script from it: the esxi script points the loader at
# /boot/esxi/MAC/TOKEN/boot.cfg, whose kernelopt carries midwife.token and
# ks=.../ks.cfg. The kickstart is served for that token and MAC (its
# %firstboot passes sh -n, its esxcli lines are the profile's), and is a
# bare 404 for a wrong token, another MAC, and the token once the birth
# has spent it.
#
# Usage: tests/e2e/test_esxi_kickstart.sh MIDWIFE_BINARY
set -u
export E2E_NAME=esxi_kickstart
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")

e2e_init
need_cmd udhcpc curl jq
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

T=$E2E_TMP
mkdir -p "$T/state" "$T/esxi/EFI/BOOT"
NS_S=$(ns_name kss)
NS_C=$(ns_name ksc)
ns_create "$NS_S"
ns_create "$NS_C"
MAC=02:00:00:77:20:0a
MACD=${MAC//:/-}
ns_veth "$NS_S" s0 "$NS_C" c0 10.77.20.1/24 "" $MAC
URL=http://10.77.20.1:8080

cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = s0

[subnet a]
network = 10.77.20.0/24
range = 10.77.20.100-10.77.20.150
lease_time = 10m

[tftp]
enabled = no

[http]
address = 0.0.0.0
port = 8080
public_url = $URL
EOF
midwife_start "$NS_S" "$T/midwife.conf" "$T/midwife.log"
ADMIN=$(cat "$T/state/admin.token")

API_NS=$NS_S API_URL=$URL # api METHOD PATH [BODY] (lib.sh)
get() { # PATH -> body in $T/out, status in $CODE; from the client, as the installer asks
  CODE=$(nsx "$NS_C" curl -sS -o "$T/out" -w '%{http_code}' "$URL$1")
}

# --- an ESXi-like build, the ESXi example profile, a host -------------------
E=$T/esxi
head -c 20000 /dev/urandom >"$E/B.B00"
head -c 3000 /dev/urandom >"$E/JUMPSTRT.GZ"
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
modules=/jumpstrt.gz --- /s.v00
EOF
api POST /api/v1/builds "{\"name\":\"esxi8\",\"path\":\"$E\"}"
[ "$CODE" = 201 ] || [ "$CODE" = 200 ] || fail "build import: status $CODE: $(cat "$T/out")"
[ "$(jq -r .kind "$T/out")" = esxi ] || fail "the build is not kind esxi: $(cat "$T/out")"
api POST /api/v1/profiles '{"name":"esx-lab","doc":{
  "hostname": "esx-${index}.lab.example",
  "interfaces": [{"name": "vmnic0", "mac": "${mac}"}, {"name": "vmnic1"}],
  "bridges": [{"name": "vSwitch0", "uplinks": ["vmnic0", "vmnic1"], "mtu": 9000,
    "port_groups": [{"name": "Management Network", "vlan": 0}, {"name": "VM Network", "vlan": 0},
                    {"name": "Trunk", "vlan": 4095}]}],
  "dns": {"servers": ["10.0.0.53"], "search": ["lab.example"]},
  "ntp": ["10.0.0.1"],
  "storage": {"iscsi": [{"portal": "10.0.0.10:3260", "target": "iqn.2000-01.com.example:${name}"}]},
  "commands": ["esxcli system settings advanced set -o /UserVars/SuppressShellWarning -i 1"]}}'
[ "$CODE" = 201 ] || fail "profile create: status $CODE: $(cat "$T/out")"
api POST /api/v1/hosts "{\"name\":\"esx-01\",\"macs\":[\"$MAC\"],\"build\":\"esxi8\",\"profile\":\"esx-lab\",\"mode\":\"stateful\",\"vars\":{\"index\":\"01\"}}"
[ "$CODE" = 201 ] || fail "host create: status $CODE: $(cat "$T/out")"
pass "esxi build, the ESXi example profile and a host, through the API"

# --- lease, script, boot.cfg ---------------------------------------------------
nsx "$NS_C" udhcpc -i c0 -n -q -t 5 -T 1 -s /bin/true >"$T/udhcpc" 2>&1 || fail "udhcpc: $(cat "$T/udhcpc")"
ADDR=$(sed -n 's/.*[Ll]ease of \([0-9.]*\) obtained.*/\1/p' "$T/udhcpc" | head -1)
[ -n "$ADDR" ] || fail "no lease: $(cat "$T/udhcpc")"
nsx "$NS_C" ip addr add "$ADDR/24" dev c0
get "/boot/ipxe?mac=$MAC"
[ "$CODE" = 200 ] || fail "script: status $CODE: $(cat "$T/out")"
cp "$T/out" "$T/script"
TOKEN=$(sed -n "s|.* -c $URL/boot/esxi/$MACD/\([0-9a-f]\{64\}\)/boot.cfg\$|\1|p" "$T/script" | head -1)
[ -n "$TOKEN" ] || { sed 's/^/    | /' "$T/script"; fail "the esxi script does not name boot.cfg under a token"; }
[ "$(grep -c -- "-c $URL/boot/esxi/$MACD/$TOKEN/boot.cfg\$" "$T/script")" = 2 ] ||
  fail "the BIOS and EFI loaders do not both get the token's boot.cfg"
get "/boot/esxi/$MACD/$TOKEN/boot.cfg"
[ "$CODE" = 200 ] || fail "boot.cfg with the token: status $CODE"
grep -qx "kernelopt=runweasel midwife.url=$URL midwife.token=$TOKEN ks=$URL/boot/esxi/$MACD/$TOKEN/ks.cfg" "$T/out" ||
  { sed 's/^/    | /' "$T/out"; fail "boot.cfg kernelopt lacks midwife.token and ks="; }
get "/boot/esxi/$MACD/boot.cfg"
[ "$CODE" = 200 ] || fail "boot.cfg without a token: status $CODE"
grep -qx "kernelopt=runweasel midwife.url=$URL" "$T/out" || fail "token-less boot.cfg: $(grep kernelopt "$T/out")"
pass "the script names boot.cfg under its token; that boot.cfg has midwife.token= and ks=, the token-less one neither"

# --- the kickstart -----------------------------------------------------------------
get "/boot/esxi/$MACD/$TOKEN/ks.cfg"
[ "$CODE" = 200 ] || fail "ks.cfg: status $CODE: $(cat "$T/out")"
cp "$T/out" "$T/ks.cfg"
for want in "vmaccepteula" "network --device=$MAC --bootproto=dhcp" "%firstboot --interpreter=busybox" \
  "MW_TOKEN='$TOKEN'" "MW_URL='$URL'" \
  "esxcli system hostname set --fqdn='esx-01.lab.example' || mw_fail" \
  "mw_add esxcli network vswitch standard uplink add --uplink-name='vmnic1' --vswitch-name='vSwitch0' || mw_fail" \
  "esxcli network vswitch standard portgroup set --portgroup-name='Trunk' --vlan-id='4095' || mw_fail" \
  "mw_add esxcli iscsi adapter discovery sendtarget add --adapter=\"\$MW_HBA\" --address='10.0.0.10:3260' || mw_fail" \
  "mw_post '{\"ready\":true}'"; do
  grep -qxF -- "$want" "$T/ks.cfg" || { sed 's/^/    | /' "$T/ks.cfg"; fail "ks.cfg lacks the line: $want"; }
done
sed -n '/^%firstboot/,$p' "$T/ks.cfg" | tail -n +2 >"$T/firstboot.sh"
sh -n "$T/firstboot.sh" || fail "the %firstboot script does not parse (sh -n)"
[ "$(grep -c "$TOKEN" "$T/ks.cfg")" = 1 ] || fail "the token is in ks.cfg more than once"
pass "ks.cfg for the token: the preamble, the profile's esxcli lines, a %firstboot that sh -n accepts"

for path in "/boot/esxi/$MACD/0000000000000000000000000000000000000000000000000000000000000000/ks.cfg" \
  "/boot/esxi/02-00-00-77-20-0b/$TOKEN/ks.cfg" "/boot/esxi/$MACD/${TOKEN:0:63}/ks.cfg" "/boot/esxi/$MACD/ks.cfg"; do
  get "$path"
  [ "$CODE" = 404 ] || fail "$path: status $CODE, expected 404"
  [ "$(cat "$T/out")" = "not found" ] || fail "$path: the 404 says more than 'not found': $(cat "$T/out")"
done
pass "a wrong token, another MAC, a malformed token, no token: 404 not found"

# The installer has its kickstart: netbooting again must not install again
# (nor revoke the kickstart's token); the host boots from its disk.
get "/boot/ipxe?mac=$MAC"
grep -q '^sanboot --no-describe --drive 0x80' "$T/out" || { sed 's/^/    | /' "$T/out"; fail "after the kickstart, the script is not the local one"; }
grep -q 'token' "$T/out" && fail "the local script carries a token"
get "/boot/esxi/$MACD/$TOKEN/ks.cfg"
[ "$CODE" = 200 ] || fail "the kickstart's token died when the host netbooted to its disk (status $CODE)"
api GET "/api/v1/events?host=esx-01&kind=install"
jq -e '.items[] | select(.kind == "install.started")' "$T/out" >/dev/null || fail "no install.started event"
pass "a stateful host whose installer fetched its kickstart netboots to its disk; the token lives on"

# The birth, as the %firstboot sends it, spends the token: no kickstart after.
CODE=$(nsx "$NS_C" curl -sS -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' --data-binary "{\"macs\":[\"$MAC\"],\"boot_mac\":\"$MAC\",\"os\":\"esxi\"}" \
  "$URL/api/v1/birth")
[ "$CODE" = 200 ] || fail "birth with the kickstart's token: status $CODE: $(cat "$T/out")"
get "/boot/esxi/$MACD/$TOKEN/ks.cfg"
[ "$CODE" = 404 ] || fail "ks.cfg after the birth: status $CODE, expected 404"
pass "the birth takes the token; the kickstart is gone after it"

api POST /api/v1/hosts/esx-01/reinstall
[ "$CODE" = 200 ] || fail "reinstall: status $CODE: $(cat "$T/out")"
get "/boot/ipxe?mac=$MAC"
grep -q "/boot/esxi/$MACD/[0-9a-f]\{64\}/boot.cfg" "$T/out" || { sed 's/^/    | /' "$T/out"; fail "after reinstall the installer is not served again"; }
pass "reinstall: the next netboot gets the installer again, with a new token"

midwife_stop
midwife_check_sanitizers
pass "midwife stopped cleanly, no sanitizer reports"
