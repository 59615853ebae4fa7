# Shared helpers for bench/dhcp and bench/tftp (sourced, not run).
# shellcheck disable=SC2034 # MWB_* variables are used by the sourcing scripts
#
# Network rule: all traffic stays on a veth pair between two network
# namespaces this script creates (names start with "mwb") and removes on
# exit, failure or interrupt. Nothing binds on the host's interfaces.
#
#   $MWB_NS_S  server namespace, veth mwb0, 10.99.0.1/16
#   $MWB_NS_C  client namespace, veth mwb1, 10.99.0.2/16
# shellcheck shell=bash

MWB_NS_S="mwb-s-$$"
MWB_NS_C="mwb-c-$$"
MWB_SERVER_IP=10.99.0.1
MWB_CLIENT_IP=10.99.0.2
MWB_TMP=""
MWB_PIDS=()
MWB_NS_CREATED=0
MWB_CG=""

# CPU pinning: the server under test on one core, the load generator on
# another, so neither steals the other's cycles. BENCH_PIN=0 disables.
MWB_SERVER_CPU="${BENCH_SERVER_CPU:-0}"
MWB_CLIENT_CPU="${BENCH_CLIENT_CPU:-1}"
if [ "${BENCH_PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    MWB_PIN=1
else
    MWB_PIN=0
fi

mwb_log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
mwb_die() { mwb_log "error: $*"; exit 1; }

mwb_require_root() {
    [ "$(id -u)" -eq 0 ] || mwb_die "run as root (network namespaces)"
}

mwb_require() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] ||
            mwb_die "missing '$c' (install peers with: scripts/deps.sh bench)"
    done
}

# Runs a command in namespace $1, pinned to the server (s) or client (c) CPU.
mwb_in() {
    local ns=$1 role=$2
    shift 2
    if [ "$MWB_PIN" = 1 ]; then
        local cpu=$MWB_SERVER_CPU
        [ "$role" = c ] && cpu=$MWB_CLIENT_CPU
        ip netns exec "$ns" taskset -c "$cpu" "$@"
    else
        ip netns exec "$ns" "$@"
    fi
}
mwb_srv() { mwb_in "$MWB_NS_S" s "$@"; }
mwb_cli() { mwb_in "$MWB_NS_C" c "$@"; }

mwb_cleanup() {
    local rc=$? p ns
    trap - EXIT INT TERM
    for p in "${MWB_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    if [ "$MWB_NS_CREATED" = 1 ]; then
        # Anything still running in our namespaces was started by us.
        for ns in "$MWB_NS_S" "$MWB_NS_C"; do
            for p in $(ip netns pids "$ns" 2>/dev/null); do
                kill "$p" 2>/dev/null
            done
        done
        sleep 0.3
        for ns in "$MWB_NS_S" "$MWB_NS_C"; do
            for p in $(ip netns pids "$ns" 2>/dev/null); do
                kill -9 "$p" 2>/dev/null
            done
            ip netns del "$ns" 2>/dev/null
        done
    fi
    if [ -n "$MWB_CG" ] && [ -d "$MWB_CG" ]; then
        # Empty once its processes are gone (they were killed above).
        for _ in $(seq 20); do rmdir "$MWB_CG" 2>/dev/null && break; sleep 0.1; done
    fi
    if [ -n "$MWB_TMP" ] && [ -d "$MWB_TMP" ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
        rm -rf "$MWB_TMP"
    elif [ -n "$MWB_TMP" ]; then
        mwb_log "kept $MWB_TMP"
    fi
    exit "$rc"
}

# mwb_setup: namespaces, veth pair, temp dir (under $MWB_TMP_BASE, /tmp by
# default), and the cleanup traps.
mwb_setup() {
    mwb_require_root
    trap mwb_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    MWB_TMP=$(mktemp -d "${MWB_TMP_BASE:-/tmp}/mwb-bench.XXXXXX")
    chmod 755 "$MWB_TMP" # tftpd-hpa and dnsmasq may read as another user
    ulimit -n 65536 2>/dev/null || ulimit -n 4096
    ip netns add "$MWB_NS_S" || mwb_die "ip netns add failed"
    MWB_NS_CREATED=1
    ip netns add "$MWB_NS_C" || mwb_die "ip netns add failed"
    # The pair is created inside the server namespace with its peer moved
    # straight into the client namespace: it never appears on the host.
    ip -n "$MWB_NS_S" link add mwb0 type veth peer name mwb1 netns "$MWB_NS_C"
    ip -n "$MWB_NS_S" addr add "$MWB_SERVER_IP/16" dev mwb0
    ip -n "$MWB_NS_C" addr add "$MWB_CLIENT_IP/16" dev mwb1
    ip -n "$MWB_NS_S" link set lo up
    ip -n "$MWB_NS_C" link set lo up
    ip -n "$MWB_NS_S" link set mwb0 up
    ip -n "$MWB_NS_C" link set mwb1 up
    local i
    for i in $(seq 50); do
        ip netns exec "$MWB_NS_C" ping -c1 -W1 "$MWB_SERVER_IP" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    mwb_die "veth pair did not come up"
}

# A fixed CPU budget for a server: the cgroup v1 cpu controller's CFS
# bandwidth limit. mwb_cg_create PCT creates $MWB_CG (mwb-PID under
# /sys/fs/cgroup/cpu, removed by the cleanup) allowing PCT% of one core;
# mwb_cg_add PID moves a process (all its threads) into it. The period is
# short (MWB_CG_PERIOD_US, 5 ms) so a server waits at most a few ms when
# its budget is spent: the packets that arrive meanwhile must fit in the
# default socket buffers, or the pauses, not the CPU, would be measured.
# The group's weight (cpu.shares) is the highest there is, so against other
# work on the host the budget is a floor as well as a ceiling: the server
# gets its PCT% whenever it wants it, and the rest of its core stays free.
MWB_CG_ROOT=/sys/fs/cgroup/cpu
MWB_CG_PERIOD_US=${BENCH_CG_PERIOD_US:-5000}
mwb_cg_create() {
    local pct=$1
    if [ ! -w "$MWB_CG_ROOT/cgroup.procs" ] || [ ! -e "$MWB_CG_ROOT/cpu.cfs_quota_us" ]; then
        mwb_die "no cgroup v1 cpu controller at $MWB_CG_ROOT (needed for BENCH_SERVER_QUOTA)"
    fi
    MWB_CG=$MWB_CG_ROOT/mwb-$$
    mkdir -p "$MWB_CG" || mwb_die "cannot create $MWB_CG"
    if ! echo "$MWB_CG_PERIOD_US" >"$MWB_CG/cpu.cfs_period_us" ||
        ! echo $((MWB_CG_PERIOD_US * pct / 100)) >"$MWB_CG/cpu.cfs_quota_us" ||
        ! echo 262144 >"$MWB_CG/cpu.shares"; then
        mwb_die "cannot set the CPU budget of $MWB_CG"
    fi
}
mwb_cg_add() { echo "$1" >"$MWB_CG/cgroup.procs"; }
# Times the cgroup's processes were stopped for having spent their budget.
mwb_cg_throttled() { awk '$1 == "nr_throttled" { print $2 }' "$MWB_CG/cpu.stat" 2>/dev/null || echo 0; }

# mwb_start NAME LOGFILE CMD...: starts a server in the server namespace.
# Sets MWB_LAST_PID.
mwb_start() {
    local name=$1 log=$2
    shift 2
    local pre=(ip netns exec "$MWB_NS_S")
    [ "$MWB_PIN" = 1 ] && pre+=(taskset -c "$MWB_SERVER_CPU")
    # A simple command, so $! is the server itself (ip and taskset exec).
    "${pre[@]}" "$@" >"$log" 2>&1 &
    MWB_LAST_PID=$!
    MWB_PIDS+=("$MWB_LAST_PID")
    mwb_log "started $name (pid $MWB_LAST_PID)"
}

# mwb_stop PID: stops a server and everything left in the server namespace.
mwb_stop() {
    local pid=$1 p i
    kill "$pid" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    for p in $(ip netns pids "$MWB_NS_S" 2>/dev/null); do
        kill -9 "$p" 2>/dev/null
    done
    return 0
}

# mwb_wait_udp PORT PID [SECONDS]: waits until something listens on UDP
# PORT in the server namespace; fails if PID died first.
mwb_wait_udp() {
    local port=$1 pid=$2 secs=${3:-10}
    for _ in $(seq $((secs * 10))); do
        kill -0 "$pid" 2>/dev/null || return 1
        if ip netns exec "$MWB_NS_S" ss -Huln "sport = :$port" 2>/dev/null | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# mwb_ratio A B: A/B to two decimals, "-" when either is missing or B is 0.
mwb_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) { print "-"; exit }
        printf "%.2fx\n", a / b }'
}

# 1-minute load average: other work on the host skews every figure.
mwb_load() { cut -d' ' -f1 /proc/loadavg; }

mwb_now() { date +%s.%N; }
mwb_elapsed() { awk -v s="$1" -v e="$(mwb_now)" 'BEGIN { printf "%.3f\n", e - s }'; }

# Resolves the midwife binary argument ($1, default build/midwife) to an
# absolute path; sets MWB_MIDWIFE ("" if not usable, with a warning).
mwb_find_midwife() {
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    local bin=${1:-$here/build/midwife}
    case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
    if [ -x "$bin" ]; then
        MWB_MIDWIFE=$bin
    else
        mwb_log "warning: midwife binary '$bin' not found; midwife rows will be empty"
        MWB_MIDWIFE=""
    fi
}

# Repository root (for .cache/peers).
mwb_repo() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }
