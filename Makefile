# Thin wrapper over Meson. The two commands a newcomer needs:
#   make run    build and start a private lab that boots a VM through midwife
#   make check  every test: unit (cmocka), end-to-end and fuzz, sanitized
.PHONY: all build run check unit e2e fuzz bench clean deps-build deps-test deps-bench

all: build

deps-build:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

build/build.ninja:
	meson setup build
build: deps-build build/build.ninja
	ninja -C build

# The sanitized build that unit and end-to-end tests run against.
build-san/build.ninja:
	meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false \
	  -Dc_args=-fno-sanitize-recover=all -Dbuildtype=debug
# libFuzzer needs clang.
build-fuzz/build.ninja:
	CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
	  -Db_lundef=false -Dbuildtype=debug

run: deps-test build
	scripts/lab.sh build/midwife

check: deps-test
	scripts/check.sh

unit: deps-build build-san/build.ninja
	ninja -C build-san
	meson test -C build-san --suite unit --print-errorlogs

e2e: deps-test build-san/build.ninja
	ninja -C build-san
	tests/e2e/run.sh build-san/midwife

fuzz: deps-build build-fuzz/build.ninja
	ninja -C build-fuzz
	tests/fuzz/run.sh build-fuzz 60

bench: deps-bench build
	bench/dhcp build/midwife
	bench/tftp build/midwife
	bench/http build/midwife

clean:
	rm -rf build build-san build-fuzz
