#!/usr/bin/env bash
# CLI tests: cli_test.sh DVM CASE.  Exit 0 pass, 1 fail, 77 skip.
set -u
dvm=$1
case_name=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "$0")/kvm_lib.sh"

# expect STATUS PATTERN -- ARGS...: run dvm, check the status and that
# stdout+stderr match PATTERN (grep -E).
expect() {
	local want=$1 pattern=$2
	shift 3
	timeout 60 "$dvm" "$@" </dev/null >"$tmp/out" 2>&1
	local got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: dvm $* exited $got, expected $want"
		cat "$tmp/out"
		exit 1
	fi
	if ! grep -Eq -- "$pattern" "$tmp/out"; then
		echo "FAIL: dvm $* output lacks /$pattern/:"
		cat "$tmp/out"
		exit 1
	fi
	echo "ok: dvm $* -> $got, /$pattern/"
}

case "$case_name" in
help)
	expect 0 'usage: dvm COMMAND' -- --help
	expect 0 'Exit status' -- run --help
	expect 0 'usage: dvm types' -- types --help
	expect 0 'attribute schema' -- describe --help
	expect 2 'unknown command' -- frobnicate
	expect 2 'usage: dvm COMMAND' --
	;;
types)
	need_kvm
	for t in vcpu pic ioapic pit serial-8250 i8042 debug-exit kvm-vfio; do
		expect 0 "^$t +0x[0-9a-f]+ +[a-z-]+ +yes" -- types
	done
	expect 0 '^kvm-vfio +0x4 +kernel' -- types
	;;
describe)
	expect 0 'lapic +state' -- describe vcpu
	expect 0 'features +config +rw,before-start,derived ' -- describe vcpu
	expect 0 'add-file +command +w,before-start,host-ref ' -- describe fw-cfg
	expect 0 'base +config +rw,before-start +2 +uint +0x3f8' -- describe serial-8250
	expect 0 'iobase' -- describe debug-exit
	expect 2 "unknown device type 'nope'" -- describe nope
	;;
bad-options)
	expect 2 'expected a size' -- run --memory 12Q
	expect 2 'expected a size' -- run --memory -5
	expect 2 'expected a number from 1' -- run --cpus 0
	expect 2 'expected a number from 1' -- run --cpus lots
	expect 2 'expected elf64, multiboot' -- run --format exe
	expect 2 'unexpected argument' -- run a b
	expect 2 "cannot read guest '/nonexistent/guest'" -- run /nonexistent/guest
	;;
bad-devices)
	need_kvm
	expect 2 "unknown device type 'nope'" -- run --device nope
	expect 2 "has no attribute 'colour'" -- run --device serial-8250,colour=blue
	expect 2 "'zz' is not a number" -- run --device serial-8250,base=zz
	expect 2 'does not fit in 2 bytes' -- run --device serial-8250,base=0x10000
	expect 2 'not name=value' -- run --device serial-8250,base
	# one per VM: the default machine already has an i8042
	expect 2 'cannot create i8042: File exists \(EEXIST\)' -- run --device i8042
	expect 2 'setting iosize=3: Invalid argument \(EINVAL\)' -- run --device debug-exit,iobase=0x501,iosize=3
	;;
device-config)
	need_kvm
	# A second debug-exit port: the hello guest's exit=N goes to 0xf4; moving
	# the default elsewhere is refused because the ports would overlap.
	expect 7 'Hello from the dvm guest' -- run --device debug-exit,iobase=0x501 --cmdline exit=3
	;;
guest-crash)
	need_kvm
	printf '\x0f\x0b' >"$tmp/crash.bin" # ud2 with no IDT: a triple fault
	expect 6 'triple fault.*' -- run --format flat "$tmp/crash.bin"
	expect 6 'rip 0000000000100000' -- run --format flat "$tmp/crash.bin"
	;;
closed-stdio)
	need_kvm
	# With stdin closed (as under some CI runners) the guest still runs and
	# dvm exits with its status: no crash, no hang on a missing console.
	timeout 60 "$dvm" run --cmdline exit=2 <&- >"$tmp/out" 2>&1
	got=$?
	if [ $got != 5 ] || ! grep -q 'Hello from the dvm guest' "$tmp/out"; then
		echo "FAIL: with stdin closed: status $got"
		cat "$tmp/out"
		exit 1
	fi
	echo "ok: stdin closed -> 5"
	;;
signal)
	need_kvm
	printf '\xfa\xf4\xeb\xfd' >"$tmp/hang.bin" # cli; hlt; jmp: halts for ever
	"$dvm" run --format flat "$tmp/hang.bin" </dev/null >"$tmp/out" 2>&1 &
	pid=$!
	sleep 1
	kill -TERM $pid
	wait $pid
	got=$?
	if [ $got != 143 ] || ! grep -q 'stopped by signal 15' "$tmp/out"; then
		echo "FAIL: SIGTERM gave status $got, expected 143"
		cat "$tmp/out"
		exit 1
	fi
	echo "ok: SIGTERM -> 143"
	;;
*)
	echo "unknown case $case_name"
	exit 2
	;;
esac
