#!/bin/sh
# Runs every fuzz target for SECONDS on its committed corpus. New inputs go
# to a scratch dir (the committed corpus stays as it is); a crash fails the
# run and leaves the crashing input in tests/fuzz/crashes/.
# Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -u
build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
secs=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$here/crashes"
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  t=$(basename "$bin")
  mkdir -p "$scratch/$t" "$here/corpus/$t"
  echo "fuzz: $t for ${secs}s"
  if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$here/crashes/$t-" -print_final_stats=1 \
      "$scratch/$t" "$here/corpus/$t" > "$scratch/$t.log" 2>&1; then
    tail -40 "$scratch/$t.log"
    echo "fuzz: $t FAILED"
    status=1
  else
    grep -E 'stat::number_of_executed_units|cov:' "$scratch/$t.log" | tail -2
    echo "fuzz: $t ok"
  fi
done
exit $status
