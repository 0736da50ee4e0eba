#!/usr/bin/env bash
# dvm run --api-sock with dvm ctl against a running guest:
#   ctl_test.sh DVM GUEST_DIR CASE.  Exit 0 pass, 1 fail, 77 skip.
set -u
dvm=$1
guests=$2
case_name=$3
tmp=$(mktemp -d)
sock=$tmp/api.sock
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	[ -f "$tmp/run.out" ] && { echo "--- dvm run output:"; cat "$tmp/run.out"; }
	exit 1
}

. "$(dirname "$0")/kvm_lib.sh"

# ctl WANT_STATUS ARGS...: run dvm ctl, output in $tmp/out.
ctl() {
	local want=$1
	shift
	timeout 30 "$dvm" ctl "$@" >"$tmp/out" 2>&1
	local got=$?
	if [ "$got" != "$want" ]; then
		cat "$tmp/out"
		fail "dvm ctl $* exited $got, expected $want"
	fi
}

# A guest that sleeps 4 s with interrupts on and then halts for good;
# --halt-timeout 0 keeps dvm running until it is told to quit.
start_guest() {
	"$dvm" run --api-sock "$sock" --append wait=4000 --halt-timeout 0 \
		"$guests/halt.elf" >"$tmp/run.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || fail "dvm run exited early"
		sleep 0.1
	done
	fail "no socket at $sock"
}

wait_guest() {
	local want=$1 status
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid"
	status=$?
	pid=
	[ "$status" = "$want" ] || fail "dvm run exited $status, expected $want"
}

handle_of() {
	ctl 0 "$sock" devices
	awk -v t="$1" '$2 == t { print $1; exit }' "$tmp/out"
}

case "$case_name" in
session)
	need_kvm
	start_guest
	[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode $(stat -c %a "$sock")"
	ctl 0 "$sock" status
	grep -q '^state: running' "$tmp/out" || fail "status: $(cat "$tmp/out")"
	grep -q '^vcpus: 1' "$tmp/out" || fail "status: $(cat "$tmp/out")"
	ctl 0 "$sock" devices
	grep -Eq '^[0-9]+ +serial-8250 +0x104 +0' "$tmp/out" || fail "devices: $(cat "$tmp/out")"
	grep -Eq '^[0-9]+ +vcpu +0x100 +0' "$tmp/out" || fail "devices: $(cat "$tmp/out")"
	serial=$(handle_of serial-8250)
	vcpu=$(handle_of vcpu)
	# The UART's registers: readable while running (a 32-byte blob).
	ctl 0 "$sock" get "$serial" regs
	grep -q '^0010:' "$tmp/out" || fail "serial regs: $(cat "$tmp/out")"
	ctl 0 "$sock" get "$serial" base
	grep -q '^0x3f8 (1016)' "$tmp/out" || fail "serial base: $(cat "$tmp/out")"
	ctl 0 "$sock" --json get "$serial" 0:1
	grep -q '"value":4' "$tmp/out" || grep -q '"value": 4' "$tmp/out" || fail "irq json: $(cat "$tmp/out")"
	# The LAPIC is vCPU state: EBUSY while running, readable once paused.
	ctl 1 "$sock" get "$vcpu" lapic
	grep -q 'EBUSY.*pause' "$tmp/out" || fail "lapic while running: $(cat "$tmp/out")"
	ctl 0 "$sock" pause
	ctl 0 "$sock" status
	grep -q '^state: paused' "$tmp/out" || fail "status: $(cat "$tmp/out")"
	ctl 0 "$sock" get "$vcpu" lapic
	# 1 KiB of registers; the APIC version register (0x30) reads 0x14 or 0x15.
	grep -q '^03f0:' "$tmp/out" || fail "lapic: $(cat "$tmp/out")"
	grep -Eq '^0030: 1[45] ' "$tmp/out" || fail "lapic version: $(cat "$tmp/out")"
	ctl 0 "$sock" has "$vcpu" regs
	grep -q '^yes' "$tmp/out" || fail "has regs"
	ctl 0 "$sock" has "$vcpu" nonsense
	grep -q '^no' "$tmp/out" || fail "has nonsense"
	ctl 1 "$sock" get 4000 regs
	grep -q 'EBADF' "$tmp/out" || fail "bad handle: $(cat "$tmp/out")"
	ctl 1 "$sock" set "$serial" base 0x2f8
	grep -q 'EBUSY.*before the VM starts' "$tmp/out" || fail "set base: $(cat "$tmp/out")"
	ctl 0 "$sock" resume
	ctl 0 "$sock" quit
	wait_guest 0
	grep -q 'quit through the control socket' "$tmp/run.out" || fail "no quit message"
	[ -e "$sock" ] && fail "socket left behind"
	;;
usage)
	ctl 2 "$tmp/none.sock" status
	grep -q 'cannot connect' "$tmp/out" || fail "connect error: $(cat "$tmp/out")"
	ctl 2
	ctl 2 "$sock"
	ctl 2 "$sock" frobnicate
	ctl 2 "$sock" get 1
	ctl 2 "$sock" get x regs
	ctl 2 "$sock" get 1 1:
	ctl 2 "$sock" create serial-8250 base
	ctl 2 "$sock" events --bogus 1
	ctl 2 "$sock" events --count 0
	ctl 2 "$sock" events --timeout
	grep -q 'needs a positive number' "$tmp/out" || fail "events usage: $(cat "$tmp/out")"
	ctl 0 --help
	grep -q 'usage: dvm ctl' "$tmp/out" || fail "help"
	# --api-sock on something that is not a socket: refused, left alone.
	need_kvm
	echo keep >"$tmp/file"
	timeout 30 "$dvm" run --api-sock "$tmp/file" "$guests/halt.elf" >"$tmp/o" 2>&1
	[ $? = 2 ] || fail "--api-sock on a file: $(cat "$tmp/o")"
	grep -q EEXIST "$tmp/o" || fail "--api-sock on a file: $(cat "$tmp/o")"
	[ "$(cat "$tmp/file")" = keep ] || fail "file replaced"
	;;
live-socket)
	need_kvm
	start_guest
	# A second dvm on the same live socket is refused; the first keeps it.
	timeout 30 "$dvm" run --api-sock "$sock" "$guests/halt.elf" >"$tmp/o" 2>&1
	[ $? = 2 ] || fail "second dvm on a live socket: $(cat "$tmp/o")"
	grep -q EADDRINUSE "$tmp/o" || fail "second dvm: $(cat "$tmp/o")"
	ctl 0 "$sock" status
	# A client that stops mid-line does not disturb the next.
	if command -v socat >/dev/null; then
		printf '{"id":1,"cmd":"query-st' | timeout 5 socat - UNIX-CONNECT:"$sock" >/dev/null 2>&1
	fi
	ctl 0 "$sock" --json status
	grep -q '"running"' "$tmp/out" || fail "json status: $(cat "$tmp/out")"
	# SIGTERM still ends dvm (the server thread takes no signals), socket removed.
	kill -TERM "$pid"
	wait_guest 143
	[ -e "$sock" ] && fail "socket left behind"
	;;
events)
	# Events reach a watching client while the guest runs: a snapshot's
	# progress, a device error (the console's reader goes away), guest exit.
	need_kvm
	mkfifo "$tmp/console"
	"$dvm" run --api-sock "$sock" --append max=100000 "$guests/counter.elf" \
		>"$tmp/console" 2>"$tmp/run.out" </dev/null &
	pid=$!
	exec 3<"$tmp/console"
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	timeout 60 "$dvm" ctl "$sock" events >"$tmp/events" 2>"$tmp/events.err" 3<&- &
	wpid=$!
	for _ in $(seq 100); do
		grep -q 'watching' "$tmp/events.err" && break
		sleep 0.1
	done
	grep -q 'watching' "$tmp/events.err" || fail "watcher: $(cat "$tmp/events.err")"
	head -n 3 <&3 >/dev/null # the guest is counting
	ctl 0 "$sock" snapshot "$tmp/snap"
	exec 3<&- # nobody reads the console any more
	for _ in $(seq 100); do
		grep -q '^device-error' "$tmp/events" && break
		sleep 0.1
	done
	ctl 0 "$sock" quit
	wait "$wpid" || fail "watcher exited $? (events: $(cat "$tmp/events" "$tmp/events.err"))"
	wait_guest 0
	cat "$tmp/events"
	# Phases in order: state, memory..., sync, done; then the error; then exit.
	order=$(awk '/^snapshot /{print $3} /^device-error/{print "error"} /^guest-exit/{print "exit"}' \
		"$tmp/events" | uniq | tr '\n' ' ')
	[ "$order" = "state memory sync done error exit " ] || fail "event order: $order"
	grep -q "^snapshot $tmp/snap: done" "$tmp/events" || fail "snapshot done event"
	grep -Eq '^device-error serial-8250 #0 \(handle [0-9]+\): console output .*\[EPIPE\]' \
		"$tmp/events" || fail "device-error event"
	[ "$(grep -c '^device-error' "$tmp/events")" = 1 ] || fail "one device-error event per failure run"
	grep -q '^guest-exit: status 0 (quit)' "$tmp/events" || fail "guest-exit event"
	ctl 2 "$sock" events --count
	;;
*)
	echo "unknown case $case_name"
	exit 1
	;;
esac
echo PASS
