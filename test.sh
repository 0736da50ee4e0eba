#!/usr/bin/env bash
# Build and run dvm's tests with CTest.
#   ./test.sh          the normal build (./build)
#   ./test.sh --asan   an AddressSanitizer + UndefinedBehaviorSanitizer build (./build-asan)
#   ./test.sh --fuzz   libFuzzer harnesses with clang, each run for a short bounded time (./build-fuzz)
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-}
case "$mode" in
"")
	[ -f build/CMakeCache.txt ] || ./setup.sh
	cmake --build build -j"$(nproc)"
	ctest --test-dir build --output-on-failure
	;;
--asan)
	cmake -S . -B build-asan -DDVM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j"$(nproc)"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir build-asan --output-on-failure
	;;
--fuzz)
	CC=clang cmake -S . -B build-fuzz -DDVM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-fuzz -j"$(nproc)"
	ctest --test-dir build-fuzz --output-on-failure -R '^fuzz_'
	;;
*)
	echo "usage: ./test.sh [--asan|--fuzz]" >&2
	exit 2
	;;
esac
