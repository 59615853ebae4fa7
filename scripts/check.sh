#!/bin/sh
# make check: every test, sanitized. Counts each unit test program, each
# end-to-end test and each fuzz target, and ends with one summary line:
#   "check: N passed, M failed"
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# add_counts OK FAIL: fold one stage's figures into the totals.
add_counts() { passed=$((passed + $1)); failed=$((failed + $2)); }

[ -f build-san/build.ninja ] || meson setup build-san -Db_sanitize=address,undefined \
  -Db_lundef=false -Dc_args=-fno-sanitize-recover=all -Dbuildtype=debug || exit 1
if ! ninja -C build-san; then
  echo "check: 0 passed, 1 failed"
  exit 1
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Optimised builds warn about things -O0 does not see (truncation, null
# dereference paths): both compilers at -O3 must be clean too.
echo "=== release builds (gcc and clang, -O3, -Werror)"
[ -f build-rel/build.ninja ] || meson setup build-rel --buildtype=release || exit 1
[ -f build-rel-clang/build.ninja ] || CC=clang meson setup build-rel-clang --buildtype=release || exit 1
if ninja -C build-rel && ninja -C build-rel-clang; then add_counts 1 0; else add_counts 0 1; fi

echo "=== unit (cmocka, ASan+UBSan)"
meson test -C build-san --suite unit --print-errorlogs 2>&1 | tee "$log"
ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log")
bad=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log")
[ -n "$ok" ] || { ok=0; bad=1; } # the runner itself broke
add_counts "$ok" "${bad:-1}"

echo "=== e2e (network namespaces, QEMU, real clients; ASan+UBSan)"
# Booted hosts run the static agent of the release build (a sanitized
# binary cannot be linked statically).
export MIDWIFE_AGENT_DIR="${MIDWIFE_AGENT_DIR:-$PWD/build-rel/agent}"
tests/e2e/run.sh build-san/midwife 2>&1 | tee "$log"
ok=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log")
bad=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log")
[ -n "$ok" ] || { ok=0; bad=1; }
add_counts "$ok" "$bad"

echo "=== fuzz (libFuzzer, ${FUZZ_SECONDS:-60}s per target)"
[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true \
  -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug || exit 1
if ninja -C build-fuzz; then
  tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-60}" 2>&1 | tee "$log"
  add_counts "$(grep -c '^fuzz: .* ok$' "$log")" "$(grep -c '^fuzz: .* FAILED$' "$log")"
else
  add_counts 0 1
fi

echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
