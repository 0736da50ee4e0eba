#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Snapshot and restore through the CLI with the counting guest: the count
# goes on after a restore with no gap and no repeat (LAPIC timer, PIT through
# the 8259, two vCPUs); SIGUSR2 saves while the guest runs on; bad snapshots
# (state, header, memory: a changed byte, a zeroed page, a written hole) are
# refused before anything starts; kvm-vfio refuses by name.
# usage: snapshot_test.sh DVM GUEST_DIR
set -u
dvm=$1
guests=$2
. "$(dirname "$0")/kvm_lib.sh"
need_kvm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/counter_lib.sh"



# Stop with SIGTERM (snapshot on exit), restore, and check the sequence.
round_trip() {
	local name=$1; shift
	local snap=$work/$name
	"$dvm" run --snapshot-dir "$snap" --snapshot-on-exit "$@" "$guests/counter.elf" \
		>"$work/$name.1" 2>"$work/$name.err1" </dev/null &
	local pid=$!
	wait_counts "$work/$name.1" 5 || fail "$name: the guest did not count"
	kill -TERM $pid
	wait $pid
	local st=$?
	[ $st -eq 143 ] || fail "$name: run ended with $st, expected 143"
	grep -q "snapshot saved to $snap" "$work/$name.err1" || fail "$name: no snapshot message"
	"$dvm" restore "$snap" >"$work/$name.2" 2>"$work/$name.err2" </dev/null
	st=$?
	[ $st -eq 89 ] || { fail "$name: restore ended with $st, expected 89"; cat "$work/$name.err2"; }
	check_sequence 40 "$work/$name.1" "$work/$name.2" || fail "$name: counts have a gap or a repeat"
	[ "$(grep -c '^count ' "$work/$name.2")" -ge 1 ] || fail "$name: nothing after restore"
	echo "ok: $name ($(grep -c '^count ' "$work/$name.1") counts before, $(grep -c '^count ' "$work/$name.2") after)"
}

round_trip lapic --append max=40
round_trip pit --append "max=40 pit=1"
round_trip smp --cpus 2 --append max=40

# SIGUSR2: saved while running; the original runs to the end, the restore
# continues from the snapshot point.
snap=$work/usr2
"$dvm" run --snapshot-dir "$snap" --append max=30 "$guests/counter.elf" >"$work/usr2.1" 2>"$work/usr2.err1" </dev/null &
pid=$!
wait_counts "$work/usr2.1" 5 || fail "usr2: the guest did not count"
kill -USR2 $pid
wait $pid
st=$?
[ $st -eq 89 ] || fail "usr2: the original ended with $st, expected 89"
check_sequence 30 "$work/usr2.1" || fail "usr2: the original's counts were disturbed"
grep -q "snapshot saved" "$work/usr2.err1" || fail "usr2: no snapshot message"
"$dvm" restore "$snap" >"$work/usr2.2" 2>/dev/null </dev/null
[ $? -eq 89 ] || fail "usr2: restore did not finish the count"
first=$(grep '^count ' "$work/usr2.2" | head -1 | awk '{print $2}')
[ -n "$first" ] && [ "$first" -ge 6 ] && check_sequence 30 <(seq 1 $((first - 1)) | sed 's/^/count /') "$work/usr2.2" ||
	fail "usr2: the restore did not continue from the snapshot (first count '$first')"
echo "ok: usr2 (restore continued at count $first)"

# Bad snapshots: refused with status 2 before anything starts.
bad() {
	local name=$1 want=$2; shift 2
	"$dvm" restore "$@" >"$work/bad.out" 2>"$work/bad.err" </dev/null
	local st=$?
	if [ $st -ne 2 ] || ! grep -q -- "$want" "$work/bad.err"; then
		fail "$name: status $st, stderr: $(cat "$work/bad.err")"
	elif grep -q '^count' "$work/bad.out"; then
		fail "$name: the guest ran"
	else
		echo "ok: $name refused"
	fi
}
good=$work/lapic
cp -r "$good" "$work/flip"
printf '\xff' | dd of="$work/flip/state" bs=1 seek=200 conv=notrunc 2>/dev/null
bad corrupted-state "checksum mismatch" "$work/flip"
cp -r "$good" "$work/hdr"
printf 'X' | dd of="$work/hdr/state" bs=1 seek=8 conv=notrunc 2>/dev/null
bad corrupted-header "header checksum" "$work/hdr"
cp -r "$good" "$work/short"
truncate -s 4096 "$work/short/memory"
bad truncated-memory "wrong size" "$work/short"
cp -r "$good" "$work/trunc"
truncate -s 100 "$work/trunc/state"
bad truncated-state "" "$work/trunc"
cp -r "$good" "$work/mem"
printf '\x5a' | dd of="$work/mem/memory" bs=1 seek=$((0x100100)) conv=notrunc 2>/dev/null
bad corrupted-memory "memory: checksum mismatch" "$work/mem"
# The v2 memory sum covers the non-zero pages: a data page zeroed (the
# guest's image at 1 MiB) and a byte written into a never-touched page
# (64 MiB, a hole) both count.
cp -r "$good" "$work/zeroed"
dd if=/dev/zero of="$work/zeroed/memory" bs=4096 seek=256 count=1 conv=notrunc 2>/dev/null
bad zeroed-memory-page "memory: checksum mismatch" "$work/zeroed"
cp -r "$good" "$work/hole"
[ "$(od -An -tx1 -j $((64 << 20)) -N1 "$work/hole/memory" | tr -d ' ')" = 00 ] ||
	fail "hole: the byte at 64 MiB is not zero"
printf '\x5a' | dd of="$work/hole/memory" bs=1 seek=$((64 << 20)) conv=notrunc 2>/dev/null
bad written-hole "memory: checksum mismatch" "$work/hole"
mkdir -p "$work/foreign"
head -c 4096 /dev/urandom >"$work/foreign/state"
bad foreign "not a dvm snapshot" "$work/foreign"
bad missing "No such file" "$work/nothing-here"

# A device that can't be saved refuses by name, and leaves no snapshot.
"$dvm" run --device kvm-vfio --snapshot-dir "$work/vfio" --snapshot-on-exit --append max=40 \
	"$guests/counter.elf" >"$work/vfio.out" 2>"$work/vfio.err" </dev/null &
pid=$!
wait_counts "$work/vfio.out" 2
kill -TERM $pid
wait $pid
grep -q "kvm-vfio #0 can't be saved" "$work/vfio.err" || fail "kvm-vfio: $(cat "$work/vfio.err")"
ls "$work" | grep -q '^vfio\(\.partial\|$\)' && fail "kvm-vfio: a snapshot directory was left"
[ $failed -eq 0 ] && echo PASS
exit $failed
