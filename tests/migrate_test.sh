#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live migration with the counting guest: the source's output followed by
# the destination's is exactly 1..60 (LAPIC timer, PIT through the 8259, two
# vCPUs, over a unix socket and over TCP); the source ends with status 0 and
# "migrated to"; a missing or refusing destination leaves the source running
# to the end of its count; a destination fed garbage starts nothing (status 2).
# The handover against fake peers (tests/migrate_peer.py): a destination that
# closes before "ready" or answers "error" after "go" leaves the source
# counting; one that takes "go" and closes leaves the source paused, silent
# until `dvm ctl resume`, then counting on; a destination given a whole
# valid stream but no "go" exits 2 without running the guest.
# usage: migrate_test.sh DVM GUEST_DIR
set -u
dvm=$1
guests=$2
. "$(dirname "$0")/kvm_lib.sh"
need_kvm
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; rm -rf "$work"' EXIT
. "$(dirname "$0")/counter_lib.sh"


wait_file() {
	for _ in $(seq 100); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

wait_text() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_exit PID: its exit status; killed (status 137) after 60 s, so that a
# destination left waiting by a failed source never hangs the test.
wait_exit() {
	for _ in $(seq 600); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1"
}


port=$((20000 + $$ % 20000))

# migrate NAME URI [dvm run options...]: source to a destination on URI.
migrate() {
	local name=$1 uri=$2; shift 2
	local w=$work/$name
	"$dvm" run --incoming "$uri" >"$w.dst" 2>"$w.dst.err" </dev/null &
	local dpid=$!
	pids+=($dpid)
	wait_text "$w.dst.err" "waiting for a migration" || fail "$name: the destination did not listen"
	"$dvm" run --api-sock "$w.sock" "$@" "$guests/counter.elf" >"$w.src" 2>"$w.src.err" </dev/null &
	local spid=$!
	pids+=($spid)
	wait_counts "$w.src" 5 || fail "$name: the guest did not count"
	"$dvm" ctl "$w.sock" migrate "$uri" >"$w.ctl" 2>&1
	local st=$?
	[ $st -eq 0 ] || fail "$name: dvm ctl migrate: status $st: $(cat "$w.ctl")"
	grep -q "migrated to $uri: .* downtime" "$w.ctl" || fail "$name: no figures: $(cat "$w.ctl")"
	wait_exit $spid
	st=$?
	[ $st -eq 0 ] || fail "$name: the source ended with $st, expected 0"
	grep -q "migrated to $uri" "$w.src.err" || fail "$name: no 'migrated' message from the source"
	wait_exit $dpid
	st=$?
	[ $st -eq 89 ] || { fail "$name: the destination ended with $st, expected 89"; cat "$w.dst.err"; }
	check_sequence 60 "$w.src" "$w.dst" || fail "$name: counts have a gap or a repeat"
	[ "$(grep -c '^count ' "$w.dst")" -ge 1 ] || fail "$name: nothing counted at the destination"
	echo "ok: $name ($(grep -c '^count ' "$w.src") counts before, $(grep -c '^count ' "$w.dst") after; $(cat "$w.ctl"))"
}

migrate lapic "unix:$work/lapic.in" --append max=60
migrate pit "unix:$work/pit.in" --append "max=60 pit=1"
migrate smp "unix:$work/smp.in" --cpus 2 --append max=60
migrate tcp "tcp:127.0.0.1:$port" --append max=60

# A guest dirtying 2048 pages as fast as it can: pre-copy goes round after
# round, the last dirty pages go while paused, and the guest's own check of
# every page after the move finds nothing stale (else status 39).
w=$work/dirty
"$dvm" run --incoming "unix:$w.in" >"$w.dst" 2>"$w.dst.err" </dev/null &
dpid=$!
pids+=($dpid)
wait_text "$w.dst.err" "waiting for a migration" || fail "dirty: the destination did not listen"
"$dvm" run --api-sock "$w.sock" --append "passes=1024" "$guests/dirty.elf" >"$w.src" 2>"$w.src.err" </dev/null &
spid=$!
pids+=($spid)
wait_text "$w.src" "^pass 128" || fail "dirty: the guest did not run"
# A client watching events sees the migration's progress, then the exit.
timeout 60 "$dvm" ctl "$w.sock" events >"$w.events" 2>"$w.events.err" &
wpid=$!
wait_text "$w.events.err" "watching" || fail "dirty: the event watcher did not connect"
"$dvm" ctl --json "$w.sock" migrate "unix:$w.in" >"$w.ctl" 2>&1 || fail "dirty: migrate: $(cat "$w.ctl")"
wait_exit $spid
[ $? -eq 0 ] || fail "dirty: the source did not end with 0"
wait $wpid || fail "dirty: the event watcher exited $?: $(cat "$w.events.err")"
order=$(awk '/^migration /{sub(",", "", $3); print $3} /^guest-exit/{print "exit"}' "$w.events" |
	uniq | tr '\n' ' ')
[ "$order" = "precopy stop-and-copy handover exit " ] ||
	fail "dirty: migration events in order: $order ($(cat "$w.events"))"
[ "$(grep -c "^migration unix:$w.in: precopy" "$w.events")" -ge 2 ] ||
	fail "dirty: one precopy event per round: $(cat "$w.events")"
grep -q '^guest-exit: status 0 (migrated)' "$w.events" || fail "dirty: no guest-exit event"
wait_exit $dpid
st=$?
[ $st -eq 89 ] || fail "dirty: the destination ended with $st: $(grep MISMATCH "$w.dst")"
grep -q '"dirty-log":true' "$w.ctl" || fail "dirty: no dirty logging: $(cat "$w.ctl")"
grep -q '"rounds":1,' "$w.ctl" && fail "dirty: a busy guest migrated in one round: $(cat "$w.ctl")"
grep -q '^pass 1024' "$w.dst" || fail "dirty: the destination did not finish"
echo "ok: dirty ($(cat "$w.ctl"))"

# runs_on NAME URI: a migration to URI fails; the source finishes its count.
runs_on() {
	local name=$1 uri=$2 want=$3
	local w=$work/$name
	"$dvm" run --api-sock "$w.sock" --append max=60 "$guests/counter.elf" >"$w.src" 2>"$w.src.err" </dev/null &
	local spid=$!
	pids+=($spid)
	wait_counts "$w.src" 5 || fail "$name: the guest did not count"
	"$dvm" ctl "$w.sock" migrate "$uri" >"$w.ctl" 2>&1
	local st=$?
	[ $st -eq 1 ] || fail "$name: dvm ctl migrate: status $st, expected 1"
	grep -q -- "$want" "$w.ctl" || fail "$name: message: $(cat "$w.ctl")"
	wait_exit $spid
	st=$?
	[ $st -eq 89 ] || fail "$name: the source ended with $st, expected 89"
	check_sequence 60 "$w.src" || fail "$name: the source's count was disturbed"
	echo "ok: $name (source ran on: $(head -c 200 "$w.ctl"))"
}

runs_on nobody "unix:$work/nobody.in" "No such file"
runs_on refused "tcp:127.0.0.1:$((port + 1))" "ECONNREFUSED"

# A destination that fails after receiving (its --api-sock path is taken)
# answers with an error: the source resumes and finishes.
touch "$work/taken"
"$dvm" run --incoming "unix:$work/err.in" --api-sock "$work/taken" >"$work/err.dst" 2>"$work/err.dst.err" </dev/null &
dpid=$!
pids+=($dpid)
wait_file "$work/err.in" || fail "err: the destination did not listen"
runs_on dst-error "unix:$work/err.in" "the destination refused"
wait_exit $dpid
st=$?
[ $st -eq 2 ] || fail "dst-error: the destination ended with $st, expected 2"
grep -q '^count' "$work/err.dst" && fail "dst-error: the destination ran the guest"

# ---- the handover against fake peers ----
peer="python3 $(dirname "$0")/migrate_peer.py"

# fake_dst NAME MODE [FILE]: a fake destination on $work/NAME.in; its pid in
# $fpid once it listens.
fake_dst() {
	$peer dst "$work/$1.in" "$2" ${3:+"$3"} >"$work/$1.fake" 2>&1 &
	fpid=$!
	pids+=($fpid)
	wait_text "$work/$1.fake" listening || fail "$1: the fake destination did not listen"
}

fake_dst closes close
runs_on closes "unix:$work/closes.in" "closed the connection without starting"
wait_exit $fpid

fake_dst go-error go-error
runs_on go-error "unix:$work/go-error.in" "the destination failed to start: EIO x"
wait_exit $fpid
grep -q '^got go$' "$work/go-error.fake" || fail "go-error: the source sent no go: $(cat "$work/go-error.fake")"

# go, then silence: the outcome is unknown, the source stays paused and
# silent until an operator resumes it; then it counts on, no gap, no repeat.
w=$work/go-close
fake_dst go-close go-close
"$dvm" run --api-sock "$w.sock" --append max=60 "$guests/counter.elf" >"$w.src" 2>"$w.src.err" </dev/null &
spid=$!
pids+=($spid)
wait_counts "$w.src" 5 || fail "go-close: the guest did not count"
"$dvm" ctl "$w.sock" migrate "unix:$w.in" >"$w.ctl" 2>&1
st=$?
[ $st -eq 1 ] || fail "go-close: dvm ctl migrate: status $st, expected 1"
grep -q "EINPROGRESS" "$w.ctl" && grep -q "did not confirm" "$w.ctl" &&
	grep -q "stays paused" "$w.ctl" || fail "go-close: message: $(cat "$w.ctl")"
wait_exit $fpid
grep -q '^got go$' "$w.fake" || fail "go-close: the source sent no go: $(cat "$w.fake")"
"$dvm" ctl "$w.sock" status >"$w.status" 2>&1
grep -q '^state: paused$' "$w.status" || fail "go-close: not paused: $(cat "$w.status")"
n1=$(grep -c '^count ' "$w.src")
sleep 1 # 30 lines' worth of ticks: a running guest would count on
n2=$(grep -c '^count ' "$w.src")
[ "$n1" -eq "$n2" ] || fail "go-close: the paused source counted on ($n1 -> $n2)"
[ "$n2" -lt 60 ] || fail "go-close: the count ended before the migration"
"$dvm" ctl "$w.sock" resume >/dev/null 2>&1 || fail "go-close: resume failed"
wait_exit $spid
st=$?
[ $st -eq 89 ] || fail "go-close: the source ended with $st after resume, expected 89"
check_sequence 60 "$w.src" || fail "go-close: the source's count was disturbed"
echo "ok: go-close (paused at count $n2 until resumed: $(head -c 160 "$w.ctl"))"

# A whole valid stream, recorded from a real source, then replayed to a real
# destination that is never told "go": it starts nothing (status 2).
w=$work/rec
fake_dst rec record "$w.stream"
runs_on record "unix:$w.in" "the destination refused: ECANCELED recorded"
wait_exit $fpid
[ -s "$w.stream" ] || fail "record: no stream recorded"
for mode in close junk; do
	w=$work/nogo-$mode
	"$dvm" run --incoming "unix:$w.in" >"$w.dst" 2>"$w.dst.err" </dev/null &
	dpid=$!
	pids+=($dpid)
	wait_text "$w.dst.err" "waiting for a migration" || fail "nogo-$mode: the destination did not listen"
	$peer src "$w.in" "$work/rec.stream" $mode >"$w.fake" 2>&1 || fail "nogo-$mode: $(cat "$w.fake")"
	wait_exit $dpid
	st=$?
	grep -q '^answer ready$' "$w.fake" || fail "nogo-$mode: the stream was not taken: $(cat "$w.fake") $(cat "$w.dst.err")"
	[ $st -eq 2 ] || fail "nogo-$mode: the destination ended with $st, expected 2"
	grep -q "the source did not hand over" "$w.dst.err" || fail "nogo-$mode: message: $(cat "$w.dst.err")"
	[ -s "$w.dst" ] && fail "nogo-$mode: the destination ran the guest: $(head -3 "$w.dst")"
	echo "ok: nogo-$mode ($(tail -1 "$w.dst.err"))"
done

# Garbage and a truncated stream: refused, nothing starts (status 2).
garbage() {
	local name=$1 want=$2 p=$3
	"$dvm" run --incoming "tcp:127.0.0.1:$p" >"$work/$name.dst" 2>"$work/$name.err" </dev/null &
	local dpid=$!
	pids+=($dpid)
	wait_text "$work/$name.err" "waiting for a migration" || fail "$name: the destination did not listen"
	cat >"/dev/tcp/127.0.0.1/$p" 2>/dev/null
	wait_exit $dpid
	local st=$?
	if [ $st -ne 2 ] || ! grep -q -- "$want" "$work/$name.err"; then
		fail "$name: status $st: $(cat "$work/$name.err")"
	elif [ -s "$work/$name.dst" ]; then
		fail "$name: the destination ran something"
	else
		echo "ok: $name refused ($(tail -1 "$work/$name.err"))"
	fi
}
head -c 100000 /dev/urandom | garbage garbage "not a dvm migration stream" $((port + 2))
printf 'DVMMIGR\n\1\0\0\0' | garbage truncated "truncated" $((port + 3))

# Usage: --incoming takes no GUEST; a non-loopback TCP address is refused.
"$dvm" run --incoming "unix:$work/x.in" "$guests/counter.elf" >/dev/null 2>"$work/u.err"
[ $? -eq 2 ] && grep -q "no GUEST" "$work/u.err" || fail "usage: --incoming with a GUEST: $(cat "$work/u.err")"
"$dvm" run --incoming "tcp:8.8.8.8:$port" >/dev/null 2>"$work/u.err"
[ $? -eq 2 ] && grep -q "loopback" "$work/u.err" || fail "usage: non-loopback: $(cat "$work/u.err")"

[ $failed -eq 0 ] && echo PASS
exit $failed
