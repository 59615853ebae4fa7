#!/bin/sh
# Install the Debian packages midwife needs to build, test and benchmark.
# Usage: scripts/deps.sh [build|test|bench|all]   (default: all)
# Only missing packages are installed; nothing is downloaded outside apt.
set -eu

build_pkgs="meson ninja-build pkg-config gcc clang libclang-rt-14-dev
  libevent-dev libsqlite3-dev libjansson-dev libinih-dev libssl-dev
  libarchive-dev libnl-3-dev libnl-route-3-dev zlib1g-dev libcmocka-dev sqlite3
  libcurl4-openssl-dev"
test_pkgs="iproute2 qemu-system-x86 ipxe-qemu ipxe ovmf busybox-static udhcpc
  isc-dhcp-client isc-dhcp-relay tftp-hpa atftp curl cpio dpkg-dev procps psmisc
  iputils-ping openssl xorriso jq python3 util-linux gzip dnsmasq-base tgt
  chromium firefox-esr nodejs socat"
bench_pkgs="kea-admin kea-dhcp4-server tftpd-hpa wrk nginx-light"

case "${1:-all}" in
  build) want="$build_pkgs" ;;
  test) want="$build_pkgs $test_pkgs" ;;
  bench) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
  all) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
  *) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

# The browser tests need npm; Debian ships it apart from nodejs (another
# nodejs build may bring its own npm, and then the package is not needed).
case $want in *nodejs*) command -v npm >/dev/null 2>&1 || want="$want npm" ;; esac

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "midwife: missing packages:$missing" >&2
  echo "midwife: run as root (or: sudo $0 ${1:-all})" >&2
  exit 1
fi

echo "midwife: installing:$missing"
# Peer servers (tftpd-hpa, atftpd, kea) must not start as system services
# here: the benchmarks start them by hand inside network namespaces.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends $missing; then
  apt-get update
  apt-get install -y --no-install-recommends $missing
fi
