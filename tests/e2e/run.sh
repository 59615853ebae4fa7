#!/usr/bin/env bash
# Runs every end-to-end test (tests/e2e/test_*.sh) against MIDWIFE_BINARY.
# The VM tests (test_*_vm.sh, slow, one core per VM under TCG; http_boot_vm
# runs two VMs side by side) run in the background, VM_JOBS (2) at a time;
# the fast client tests run one after another meanwhile.
# Prints one line per test and ends with "e2e: N passed, M failed".
#
# Usage: tests/e2e/run.sh MIDWIFE_BINARY [TEST_NAME...]
#   E2E_LOG_DIR=DIR keeps each test's output there (default: a temp dir,
#   removed when everything passed). A test exiting 77 counts as skipped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
  echo "usage: $0 MIDWIFE_BINARY [TEST_NAME...]" >&2
  exit 2
fi
midwife=$(realpath "$1")
shift
[ -x "$midwife" ] || { echo "e2e: not executable: $midwife" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
  echo "e2e: needs root (network namespaces, taps); run as root" >&2
  echo "e2e: 0 passed, 1 failed"
  exit 1
fi

tests=()
if [ $# -gt 0 ]; then
  for t in "$@"; do tests+=("$here/${t%.sh}.sh"); done
else
  for t in "$here"/test_*.sh; do tests+=("$t"); done
fi

logdir=${E2E_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/mwt-e2e-logs.XXXXXX")}
mkdir -p "$logdir"
passed=0 failed=0 skipped=0
failed_names=()

# The kernel and initrd are shared: fetch once, before tests run in parallel.
for t in "${tests[@]}"; do
  case $t in *_vm.sh) "$here/fetch-kernel.sh" >/dev/null || true; break ;; esac
done

report() { # NAME STATUS SECONDS
  local name=$1 rc=$2 secs=$3
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    printf '%-24s ok        (%ss)\n' "$name" "$secs"
  elif [ "$rc" -eq 77 ]; then
    skipped=$((skipped + 1))
    printf '%-24s skipped   (%ss) %s\n' "$name" "$secs" "$(grep -m1 SKIP "$logdir/$name.log")"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    printf '%-24s FAILED    (%ss, status %s) log: %s\n' "$name" "$secs" "$rc" "$logdir/$name.log"
    tail -n 40 "$logdir/$name.log" | sed 's/^/    | /'
  fi
}

# Whole-test limits: generous, but bounded.
limit_for() { case $1 in *agent_vm.sh) echo 900 ;; *_vm.sh) echo 600 ;; *) echo 300 ;; esac; }

serial=() vms=()
for t in "${tests[@]}"; do
  [ -f "$t" ] || { echo "e2e: no such test: $t" >&2; failed=$((failed + 1)); continue; }
  case $t in
    *_vm.sh) vms+=("$t") ;;
    *) serial+=("$t") ;;
  esac
done

# The VM tests run in the background, at most VM_JOBS at a time (default
# 2: one emulated CPU per core), each leaving NAME.rc and NAME.secs.
VM_JOBS=${VM_JOBS:-2}
run_vms() {
  local t name
  for t in "${vms[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$VM_JOBS" ]; do wait -n; done
    name=$(basename "$t" .sh)
    (
      start=$SECONDS
      timeout --kill-after=10 "$(limit_for "$t")" "$t" "$midwife" >"$logdir/$name.log" 2>&1
      echo $? >"$logdir/$name.rc"
      echo $((SECONDS - start)) >"$logdir/$name.secs"
    ) &
  done
  wait
}
run_vms &
vm_runner=$!

for t in "${serial[@]}"; do
  name=$(basename "$t" .sh)
  start=$SECONDS
  timeout --kill-after=10 "$(limit_for "$t")" "$t" "$midwife" >"$logdir/$name.log" 2>&1
  report "$name" $? $((SECONDS - start))
done

wait "$vm_runner"
for t in "${vms[@]}"; do
  name=$(basename "$t" .sh)
  report "$name" "$(cat "$logdir/$name.rc" 2>/dev/null || echo 1)" "$(cat "$logdir/$name.secs" 2>/dev/null || echo 0)"
done

summary="e2e: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
if [ "$failed" -eq 0 ] && [ -z "${E2E_LOG_DIR:-}" ]; then
  rm -rf "$logdir"
fi
[ "$failed" -eq 0 ]
