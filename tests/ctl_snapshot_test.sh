#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's second-terminal session: list a running VM's devices, read the
# UART's registers and a vCPU's LAPIC, snapshot it, kill it, restore it; the
# restored guest counts on from the snapshot.
# usage: ctl_snapshot_test.sh DVM GUEST_DIR
set -u
dvm=$1
guests=$2
. "$(dirname "$0")/kvm_lib.sh"
need_kvm
work=$(mktemp -d)
trap 'kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }
sock=$work/vm.sock

"$dvm" run --api-sock "$sock" --append max=100 "$guests/counter.elf" >"$work/out1" 2>"$work/err1" </dev/null &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && grep -q '^count 3' "$work/out1" && break; sleep 0.1; done

"$dvm" ctl "$sock" devices >"$work/devices" || fail "ctl devices"
cat "$work/devices"
uart=$(awk '$2 == "serial-8250" {print $1; exit}' "$work/devices")
vcpu=$(awk '$2 == "vcpu" {print $1; exit}' "$work/devices")
[ -n "$uart" ] && [ -n "$vcpu" ] || fail "no serial-8250 or vcpu in the device list"
"$dvm" ctl "$sock" get "$uart" regs >"$work/regs" || fail "ctl get uart regs"
grep -q '^0000:' "$work/regs" || fail "uart regs: $(cat "$work/regs")"
"$dvm" ctl "$sock" pause || fail "ctl pause"
"$dvm" ctl "$sock" get "$vcpu" lapic >"$work/lapic" || fail "ctl get lapic"
[ "$(wc -l <"$work/lapic")" -ge 64 ] || fail "lapic: $(head -3 "$work/lapic")"
"$dvm" ctl "$sock" resume || fail "ctl resume"
"$dvm" ctl "$sock" snapshot "$work/snap" >"$work/snapmsg" || fail "ctl snapshot: $(cat "$work/snapmsg")"
grep -q "snapshot saved to $work/snap" "$work/snapmsg" || fail "snapshot message: $(cat "$work/snapmsg")"
kill -9 $pid
wait $pid 2>/dev/null

"$dvm" restore "$work/snap" >"$work/out2" 2>"$work/err2" </dev/null
st=$?
[ $st -eq 89 ] || fail "restore ended with $st: $(cat "$work/err2")"
first=$(grep '^count ' "$work/out2" | head -1 | awk '{print $2}')
last=$(grep '^count ' "$work/out2" | tail -1 | awk '{print $2}')
n=$(grep -c '^count ' "$work/out2")
[ -n "$first" ] && [ "$first" -ge 4 ] && [ "$last" = 100 ] && [ "$n" -eq $((100 - first + 1)) ] ||
	fail "restored counts: first '$first', last '$last', $n lines"
grep -q "^count $((first - 1))\$" "$work/out1" || fail "count $((first - 1)) was never printed before the snapshot"
[ $failed -eq 0 ] && echo "PASS (restored at count $first)"
exit $failed
