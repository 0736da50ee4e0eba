#!/usr/bin/env bash
# Build and run dvm's tests with CTest.
#   ./test.sh          the normal build (./build)
#   ./test.sh --asan   an AddressSanitizer + UndefinedBehaviorSanitizer build (./build-asan)
#   ./test.sh --fuzz   libFuzzer harnesses with clang, each run for a short bounded time (./build-fuzz)
#   ./test.sh --tsan   a ThreadSanitizer build (./build-tsan): the unit tests and the
#                      control-socket sessions, where threads meet
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
--tsan)
	cmake -S . -B build-tsan -DDVM_TSAN=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-tsan -j"$(nproc)"
	TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -R '^(test_|ctl_)'
	;;
--fuzz)
	CC=clang cmake -S . -B build-fuzz -DDVM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-fuzz -j"$(nproc)"
	ctest --test-dir build-fuzz --output-on-failure -R '^fuzz_'
	;;
*)
	echo "usage: ./test.sh [--asan|--tsan|--fuzz]" >&2
	exit 2
	;;
esac
