#!/usr/bin/env bash
# Real DHCP clients against midwife, in private namespaces:
#
#   client ns ──veth── server ns (midwife) ──veth── router ns (dhcrelay) ──veth── relayed client ns
#     c0 (no addr)     s0 10.77.1.1/24  s1 10.77.2.1/24    r0 10.77.2.2  r1 10.77.3.1     rc0 (no addr)
#
# udhcpc and dhclient get leases in range with the configured options; a MAC
# reservation gets its fixed address; a client gets the same address after a
# server restart; a client behind dhcrelay gets an address in the relayed
# subnet and the store records the relay's giaddr; dhclient -r releases.
#
# Usage: tests/e2e/test_dhcp_clients.sh MIDWIFE_BINARY
set -u
export E2E_NAME=dhcp_clients
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MIDWIFE=${1:-${MIDWIFE:-}}
[ -n "$MIDWIFE" ] || { echo "usage: $0 MIDWIFE_BINARY" >&2; exit 2; }
MIDWIFE=$(realpath "$MIDWIFE")

e2e_init
need_cmd udhcpc dhclient dhcrelay sqlite3
[ -x "$MIDWIFE" ] || fail "not executable: $MIDWIFE"

T=$E2E_TMP
mkdir -p "$T/state"
NS_S=$(ns_name dhs)  # server
NS_C=$(ns_name dhc)  # direct client
NS_R=$(ns_name dhr)  # relay
NS_RC=$(ns_name dhrc) # client behind the relay
NS_X=$(ns_name dhx)  # client on an interface midwife is not told to serve
for ns in "$NS_S" "$NS_C" "$NS_R" "$NS_RC" "$NS_X"; do ns_create "$ns"; done
ns_veth "$NS_S" s0 "$NS_C" c0 10.77.1.1/24 "" 02:00:00:77:00:01
ns_veth "$NS_S" s1 "$NS_R" r0 10.77.2.1/24 10.77.2.2/24
ns_veth "$NS_R" r1 "$NS_RC" rc0 10.77.3.1/24 "" 02:00:00:77:03:01
ns_veth "$NS_S" s2 "$NS_X" x0 10.77.4.1/24 "" 02:00:00:77:04:01
ip -n "$NS_S" route add 10.77.3.0/24 via 10.77.2.2
nsx "$NS_R" sysctl -qw net.ipv4.ip_forward=1

MAC_UDHCPC=02:00:00:77:00:01
MAC_DHCLIENT=02:00:00:77:00:02
MAC_RESERVED=02:00:00:77:00:0f
MAC_RELAYED=02:00:00:77:03:01

cat >"$T/midwife.conf" <<EOF
[server]
state_dir = $T/state
log_level = debug

[dhcp]
interfaces = s0, s1

[subnet lan]
network = 10.77.1.0/24
range = 10.77.1.100-10.77.1.150
router = 10.77.1.1
dns = 10.77.1.1, 10.77.1.2
domain = lan.test
lease_time = 10m

[subnet relayed]
network = 10.77.3.0/24
range = 10.77.3.100-10.77.3.150
router = 10.77.3.1
lease_time = 15m

# On s2, which [dhcp] interfaces does not list: must never be answered.
[subnet unlisted]
network = 10.77.4.0/24
range = 10.77.4.100-10.77.4.150

[reservation fixed]
mac = $MAC_RESERVED
address = 10.77.1.50
hostname = fixed1

[tftp]
enabled = no
EOF

# udhcpc's script: records what it got, one KEY=VALUE per line.
cat >"$T/udhcpc.sh" <<'EOF'
#!/bin/sh
case "$1" in
  bound|renew)
    {
      echo "event=$1"
      echo "ip=$ip"
      echo "subnet=$subnet"
      echo "router=$router"
      echo "dns=$dns"
      echo "domain=$domain"
      echo "lease=$lease"
      echo "serverid=$serverid"
      echo "hostname=$hostname"
    } >"$UDHCPC_OUT"
    ;;
esac
exit 0
EOF
# dhclient's script: records the reason and address, configures the address
# on BOUND (so a later unicast RELEASE has a source), removes it on RELEASE.
cat >"$T/dhclient.sh" <<'EOF'
#!/bin/sh
# dhclient runs its script with a clean environment: write next to it.
echo "reason=$reason ip=$new_ip_address mask=$new_subnet_mask routers=$new_routers old=$old_ip_address" >>"${0%/*}/dh.out"
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT)
    ip -4 addr flush dev "$interface"
    ip -4 addr add "$new_ip_address/$new_subnet_mask" dev "$interface"
    ;;
  RELEASE|EXPIRE|FAIL|STOP)
    ip -4 addr flush dev "$interface"
    ;;
esac
exit 0
EOF
printf 'timeout 20;\ninitial-interval 1;\nretry 5;\n' >"$T/dhclient.conf"
chmod 755 "$T/udhcpc.sh" "$T/dhclient.sh"

set_mac() { # NS IF MAC
  ip -n "$1" link set "$2" down
  ip -n "$1" link set "$2" address "$3"
  ip -n "$1" link set "$2" up
}

# udhcpc_get NS IF OUTFILE [extra args]: one lease with udhcpc, quits.
udhcpc_get() {
  local ns=$1 ifc=$2 out=$3
  shift 3
  rm -f "$out"
  UDHCPC_OUT=$out with_timeout 30 ip netns exec "$ns" \
    udhcpc -f -q -n -t 5 -T 1 -i "$ifc" -s "$T/udhcpc.sh" "$@" >"$out.log" 2>&1 ||
    { sed 's/^/  udhcpc| /' "$out.log" >&2; return 1; }
  [ -s "$out" ] || { sed 's/^/  udhcpc| /' "$out.log" >&2; return 1; }
}
val() { sed -n "s/^$2=//p" "$1"; } # val FILE KEY

midwife_start "$NS_S" "$T/midwife.conf" "$T/midwife.log"

# --- 1. udhcpc, with a host name
udhcpc_get "$NS_C" c0 "$T/u1" -x hostname:mwt-udhcpc || fail "udhcpc got no lease"
A1=$(val "$T/u1" ip)
ip_in_range "$A1" 10.77.1.100 10.77.1.150 || fail "udhcpc: $A1 is outside the range"
[ "$(val "$T/u1" subnet)" = 255.255.255.0 ] || fail "udhcpc: subnet mask $(val "$T/u1" subnet)"
[ "$(val "$T/u1" router)" = 10.77.1.1 ] || fail "udhcpc: router '$(val "$T/u1" router)'"
[ "$(val "$T/u1" dns)" = "10.77.1.1 10.77.1.2" ] || fail "udhcpc: dns '$(val "$T/u1" dns)'"
[ "$(val "$T/u1" domain)" = lan.test ] || fail "udhcpc: domain '$(val "$T/u1" domain)'"
[ "$(val "$T/u1" lease)" = 600 ] || fail "udhcpc: lease time '$(val "$T/u1" lease)'"
[ "$(val "$T/u1" serverid)" = 10.77.1.1 ] || fail "udhcpc: server id '$(val "$T/u1" serverid)'"
row=$(lease_of "$T/state" "$MAC_UDHCPC")
[ "$row" = "$A1|1|0.0.0.0" ] || fail "udhcpc: store has '$row', expected '$A1|1|0.0.0.0'"
hn=$(store_query "$T/state" "SELECT hostname FROM leases WHERE hex(hwaddr) = '$(mac_hex "$MAC_UDHCPC")'")
[ "$hn" = mwt-udhcpc ] || fail "udhcpc: store hostname '$hn'"
pass "udhcpc: $A1 with mask, router, dns, domain, lease 600 s; bound in the store"

# --- 1b. garbage on port 67 is dropped and counted; the server keeps answering
/usr/bin/python3 - "$NS_C" <<'PY' || fail "could not send garbage datagrams"
import os, socket, subprocess, sys
# Run inside the client namespace: c0 has no address, so send from a
# temporary one on the link, to the server's address only.
ns = sys.argv[1]
code = r"""
import os, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"c0")
dst = ("10.77.1.1", 67)
bad = [b"", b"\x01", os.urandom(100), b"\x01" + b"\x00" * 300,
       b"\x01\x01\x11" + b"\x00" * 233 + b"\x63\x82\x53\x63\x35\x01\x01\xff",   # hlen 17
       b"\x01\x01\x06" + b"\x00" * 233 + b"\x63\x82\x53\x63\x35\x09\x01",        # option past end
       b"\x02\x01\x06" + b"\x00" * 233 + b"\x63\x82\x53\x63\x35\x01\x01\xff"]   # BOOTREPLY
for i in range(200):
    for b in bad:
        s.sendto(b if b else b"\x00", dst)
"""
subprocess.run(["ip", "-n", ns, "addr", "add", "10.77.1.250/24", "dev", "c0"], check=True)
try:
    subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", code], check=True, timeout=20)
finally:
    subprocess.run(["ip", "-n", ns, "addr", "del", "10.77.1.250/24", "dev", "c0"])
PY
sleep 0.5
midwife_alive || fail "midwife died on garbage datagrams"
kill -USR1 "$MIDWIFE_PID"
dropped_logged() { grep -q 'midwife_dhcp_dropped_total{reason="[a-z_]*"} [1-9]' "$T/midwife.log"; }
wait_for 5 "drop counters in the log" dropped_logged || fail "no DHCP drop counter after garbage datagrams"
grep -o 'midwife_dhcp_dropped_total{[^}]*} [0-9]*' "$T/midwife.log" | grep -v '} 0$' | sed 's/^/  /'
pass "malformed datagrams dropped and counted by reason; server alive and answering"

# --- 2. dhclient (ISC), then DHCPRELEASE with dhclient -r
set_mac "$NS_C" c0 "$MAC_DHCLIENT"
DH=(-4 -v -cf "$T/dhclient.conf" -sf "$T/dhclient.sh" -lf "$T/dhclient.leases" -pf "$T/dhclient.pid")
E2E_PIDFILES+=("$T/dhclient.pid")
with_timeout 40 ip netns exec "$NS_C" dhclient -1 "${DH[@]}" c0 \
  >"$T/dh.log" 2>&1 || { sed 's/^/  dhclient| /' "$T/dh.log" >&2; fail "dhclient got no lease"; }
A2=$(sed -n 's/^reason=BOUND ip=\([0-9.]*\) .*/\1/p' "$T/dh.out" | tail -n 1)
[ -n "$A2" ] || { cat "$T/dh.out" >&2; fail "dhclient: no BOUND"; }
ip_in_range "$A2" 10.77.1.100 10.77.1.150 || fail "dhclient: $A2 is outside the range"
[ "$A2" != "$A1" ] || fail "dhclient got $A2, the address udhcpc (another MAC) holds"
grep -q "routers=10.77.1.1" "$T/dh.out" || fail "dhclient: no router option"
row=$(lease_of "$T/state" "$MAC_DHCLIENT")
[ "$row" = "$A2|1|0.0.0.0" ] || fail "dhclient: store has '$row', expected '$A2|1|0.0.0.0'"
pass "dhclient: $A2, bound in the store"

with_timeout 30 ip netns exec "$NS_C" dhclient -r "${DH[@]}" c0 \
  >"$T/dhr.log" 2>&1 || { sed 's/^/  dhclient| /' "$T/dhr.log" >&2; fail "dhclient -r failed"; }
grep -q "DHCPRELEASE" "$T/dhr.log" || { sed 's/^/  dhclient| /' "$T/dhr.log" >&2; fail "dhclient -r sent no DHCPRELEASE"; }
released() { lease_of "$T/state" "$MAC_DHCLIENT" | grep -q "^$A2|2|"; }
wait_for 10 "lease $A2 released in the store" released ||
  fail "after DHCPRELEASE the store has '$(lease_of "$T/state" "$MAC_DHCLIENT")', expected state 2"
pass "dhclient -r: DHCPRELEASE marks $A2 released (state 2)"

# --- 3. reservation by MAC
set_mac "$NS_C" c0 "$MAC_RESERVED"
udhcpc_get "$NS_C" c0 "$T/u3" || fail "reserved client got no lease"
[ "$(val "$T/u3" ip)" = 10.77.1.50 ] || fail "reserved client got $(val "$T/u3" ip), expected 10.77.1.50"
row=$(lease_of "$T/state" "$MAC_RESERVED")
[ "$row" = "10.77.1.50|1|0.0.0.0" ] || fail "reservation: store has '$row'"
log "reserved client's host name option: '$(val "$T/u3" hostname)'"
pass "reservation: $MAC_RESERVED gets 10.77.1.50"

# --- 4. relayed: client -> dhcrelay (giaddr 10.77.3.1) -> server
bg_start "$NS_R" "$T/dhcrelay.log" dhcrelay -d -4 -pf "$T/dhcrelay.pid" -iu r0 -id r1 10.77.2.1
relay_up() { grep -q 'Listening on\|Sending on' "$T/dhcrelay.log"; }
wait_for 10 "dhcrelay to start" relay_up || { cat "$T/dhcrelay.log" >&2; fail "dhcrelay did not start"; }
sleep 0.5
udhcpc_get "$NS_RC" rc0 "$T/u4" || { sed 's/^/  dhcrelay| /' "$T/dhcrelay.log" >&2; fail "relayed client got no lease"; }
A4=$(val "$T/u4" ip)
ip_in_range "$A4" 10.77.3.100 10.77.3.150 || fail "relayed client: $A4 is outside the relayed range"
[ "$(val "$T/u4" router)" = 10.77.3.1 ] || fail "relayed client: router '$(val "$T/u4" router)'"
[ "$(val "$T/u4" lease)" = 900 ] || fail "relayed client: lease time '$(val "$T/u4" lease)'"
row=$(lease_of "$T/state" "$MAC_RELAYED")
[ "$row" = "$A4|1|10.77.3.1" ] || fail "relayed: store has '$row', expected '$A4|1|10.77.3.1'"
sub=$(store_query "$T/state" "SELECT subnet FROM leases WHERE hex(hwaddr) = '$(mac_hex "$MAC_RELAYED")'")
[ "$sub" = relayed ] || fail "relayed: store subnet '$sub'"
pass "relayed through dhcrelay: $A4 in [subnet relayed], giaddr 10.77.3.1 in the store"

# --- 4b. an interface not named in [dhcp] interfaces is never answered
if UDHCPC_OUT=$T/x1 with_timeout 15 ip netns exec "$NS_X" \
    udhcpc -f -q -n -t 3 -T 1 -i x0 -s "$T/udhcpc.sh" >"$T/x1.log" 2>&1; then
  fail "a client on the unlisted interface s2 got a lease: $(cat "$T/x1")"
fi
[ -z "$(lease_of "$T/state" 02:00:00:77:04:01)" ] || fail "the store has a lease for the unlisted interface's client"
pass "no answer on an interface not listed in [dhcp] interfaces"

# --- 5. stability across a restart: same MAC, fresh DISCOVER, same address
midwife_stop 10
midwife_start "$NS_S" "$T/midwife.conf" "$T/midwife.log"
# A newcomer asks first: a server that forgot its leases would hand it the
# lowest free address, which is A1.
set_mac "$NS_C" c0 02:00:00:77:00:09
udhcpc_get "$NS_C" c0 "$T/u8" || fail "a new client got no lease after the restart"
A8=$(val "$T/u8" ip)
case " $A1 $A2 10.77.1.50 " in
  *" $A8 "*) fail "after a restart a new client got $A8, held by another client before" ;;
esac
set_mac "$NS_C" c0 "$MAC_UDHCPC"
udhcpc_get "$NS_C" c0 "$T/u5" || fail "udhcpc got no lease after the restart"
[ "$(val "$T/u5" ip)" = "$A1" ] || fail "after a restart udhcpc got $(val "$T/u5" ip), expected $A1"
udhcpc_get "$NS_RC" rc0 "$T/u6" || fail "relayed client got no lease after the restart"
[ "$(val "$T/u6" ip)" = "$A4" ] || fail "after a restart the relayed client got $(val "$T/u6" ip), expected $A4"
# The released address goes back to the client that released it.
set_mac "$NS_C" c0 "$MAC_DHCLIENT"
udhcpc_get "$NS_C" c0 "$T/u7" || fail "the releasing client got no lease after the restart"
[ "$(val "$T/u7" ip)" = "$A2" ] || log "note: the releasing client got $(val "$T/u7" ip), before $A2"
pass "restart: same addresses again ($A1 direct, $A4 relayed)"

n=$(store_query "$T/state" "SELECT count(*) FROM leases WHERE state = 1")
log "bound leases in the store: $n"
midwife_alive || fail "midwife died during the test"
midwife_stop 10
pass "server stopped cleanly (exit 0)"
