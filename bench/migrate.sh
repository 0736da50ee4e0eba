#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Live-migration downtime (pause to the destination's "running", through the
# ready/go handover) and total time, for an idle guest (guests/counter.elf: a
# line every 30 ms) and a busy one (guests/dirty.elf: 2048 pages rewritten as
# fast as it can), over a unix socket on this host.  Medians of ROUNDS
# (default 5).
#
#   bash bench/migrate.sh [BUILD_DIR]       (default: build/ in the repository)
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(realpath -m "${1:-$ROOT/build}")
ROUNDS=${ROUNDS:-5}
MEM=${GUEST_MEM_MIB:-128}
dvm=$BUILD/dvm
if ! [ -x "$dvm" ] || ! [ -f "$BUILD/guests/dirty.elf" ]; then
	echo "bench/migrate.sh: build dvm and the guests first ($BUILD)" >&2
	exit 2
fi
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm not available"
	exit 0
fi
tmp=$(mktemp -d /tmp/dvm-migrate-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (!NR) {print "-"; exit} v = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; if (v == int(v)) printf "%d\n", v; else printf "%.2f\n", v}'; }

wait_for() { # FILE PATTERN
	for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

# one NAME GUEST ARGS READY-PATTERN: one migration; appends the JSON result.
one() {
	local name=$1 guest=$2 args=$3 ready=$4 w=$tmp/$1
	rm -f "$w".*
	"$dvm" run --incoming "unix:$w.in" --api-sock "$w.dsock" >/dev/null 2>"$w.derr" </dev/null &
	local d=$!
	wait_for "$w.derr" waiting || { kill $d; return 1; }
	"$dvm" run --memory "${MEM}M" --api-sock "$w.sock" --append "$args" "$guest" >"$w.out" 2>/dev/null </dev/null &
	local s=$!
	wait_for "$w.out" "$ready"
	"$dvm" ctl --json "$w.sock" migrate "unix:$w.in" >>"$tmp/$name.json" 2>&1
	wait $s
	"$dvm" ctl "$w.dsock" quit >/dev/null 2>&1 # the destination ran; enough
	wait $d
}

for name in idle busy; do
	for _ in $(seq "$ROUNDS"); do
		if [ $name = idle ]; then
			one idle "$BUILD/guests/counter.elf" "max=40" "^count 3"
		else
			one busy "$BUILD/guests/dirty.elf" "passes=100000" "^pass 128"
		fi
	done
done

field() { grep -o "\"$2\":[0-9.a-z]*" "$tmp/$1.json" | cut -d: -f2; }
printf '%-6s %12s %10s %8s %8s %12s\n' guest downtime-ms total-ms rounds pages paused-pages
for name in idle busy; do
	printf '%-6s %12s %10s %8s %8s %12s\n' $name \
		"$(field $name downtime-ms | median)" "$(field $name total-ms | median)" \
		"$(field $name rounds | median)" "$(field $name pages | median)" \
		"$(field $name last-pages | median)"
done
echo "(medians of $ROUNDS; ${MEM} MiB guests; load average $(cut -d' ' -f1-3 /proc/loadavg))"
