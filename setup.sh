#!/usr/bin/env bash
# Install what dvm needs from Debian's packages (if missing) and build it in ./build.
set -euo pipefail
cd "$(dirname "$0")"

# build-essential: gcc/make (also builds the freestanding test guests)
# cmake: build and CTest;  libcmocka-dev: unit-test framework
# clang, libclang-rt-14-dev: libFuzzer harnesses (./test.sh --fuzz)
# zlib1g-dev: CRC-32 of snapshots
# libjson-c-dev, pkg-config: the control socket's JSON protocol
PACKAGES=(build-essential cmake libcmocka-dev clang libclang-rt-14-dev zlib1g-dev libjson-c-dev pkg-config)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	echo "setup: installing ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
