#!/bin/sh
# make check: every test, sanitized. Prints one summary line at the end:
#   "check: N passed, M failed"
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
step() {
  name=$1; shift
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok"
  else
    failed=$((failed + 1)); echo "=== $name: FAILED"
  fi
}
[ -f build-san/build.ninja ] || meson setup build-san -Db_sanitize=address,undefined \
  -Db_lundef=false -Dc_args=-fno-sanitize-recover=all -Dbuildtype=debug || exit 1
ninja -C build-san || { echo "check: 0 passed, 1 failed"; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
step unit meson test -C build-san --suite unit --print-errorlogs
step e2e tests/e2e/run.sh build-san/midwife
[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true \
  -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug || exit 1
if ninja -C build-fuzz; then
  step fuzz tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-60}"
else
  failed=$((failed + 1)); echo "=== fuzz build: FAILED"
fi
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
