# SPDX-License-Identifier: MIT
# Sourced by the tests that drive guests/counter.elf (snapshot, migration).

failed=0
fail() { echo "FAIL: $*"; failed=1; }

# Wait until FILE has at least N "count" lines (at most 20 s).
wait_counts() {
	for _ in $(seq 200); do
		[ "$(grep -c '^count ' "$1" 2>/dev/null)" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# The counts in FILE..., concatenated, must be exactly 1..MAX.
check_sequence() {
	local max=$1; shift
	local got want
	got=$(cat "$@" | grep '^count ' | awk '{print $2}' | tr '\n' ' ')
	want=$(seq 1 "$max" | tr '\n' ' ')
	[ "$got" = "$want" ] || { echo "counts: $got"; return 1; }
}
