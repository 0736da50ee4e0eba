#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# dvm's benchmark suite: every ratio is measured side by side in this one run.
#
#   bash bench/run.sh [BUILD_DIR]        (default: build/ in the repository)
#
# Builds what it needs (configuring BUILD_DIR if it has no CMakeCache.txt),
# then prints one table: our figure, the peer's figure, the ratio, the target
# and PASS/MISS.  A miss never fails the run; the exit status is 0 unless
# the bench tools themselves could not be built.  See bench/README.md.
#
# Knobs (environment):
#   ROUNDS=N        timed rounds per launch/PIO benchmark (default 31 / 11)
#   GUEST_MEM_MIB   guest RAM for dvm, QEMU and the bare programs (default 64)
#   QEMU=path       qemu-system-x86_64 to compare with
#   SKIP_BUILD=1    use BUILD_DIR as it is
#   SKIP_QEMU=1     leave QEMU out
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(realpath -m "${1:-$ROOT/build}")
GUEST_MEM_MIB=${GUEST_MEM_MIB:-64}
LAUNCH_ROUNDS=${ROUNDS:-31}
LAUNCH_GAP=${LAUNCH_GAP:-0.1} # seconds between timed launches
PIO_ROUNDS=${ROUNDS:-11}
QEMU=${QEMU:-qemu-system-x86_64}
PIO_N1=1000
PIO_N2=41000
TMP=$(mktemp -d /tmp/dvm-bench.XXXXXX)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT

log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- build
BUILD_LOG=$BUILD/bench-build.log
BUILD_FAILED=""
build() {
	if [ "${SKIP_BUILD:-0}" = 1 ]; then
		return
	fi
	if [ ! -f "$BUILD/CMakeCache.txt" ]; then
		log "bench: configuring $BUILD"
		cmake -S "$ROOT" -B "$BUILD" >"$TMP/configure.log" 2>&1 ||
			{ log "bench: configure failed (see below); trying standalone build"; tail -5 "$TMP/configure.log" >&2; }
	fi
	if [ -f "$BUILD/CMakeCache.txt" ]; then
		log "bench: building in $BUILD (log: $BUILD_LOG)"
		if ! cmake --build "$BUILD" -j2 >"$BUILD_LOG" 2>&1; then
			log "bench: full build failed; building the bench targets one by one"
			for t in bench_spawn bare_kvm_floor bare_kvm_pio_loop bench_guests guests dvm bench_attr; do
				if ! cmake --build "$BUILD" -j2 --target "$t" >>"$BUILD_LOG" 2>&1; then
					log "bench:   target $t failed to build"
					BUILD_FAILED="$BUILD_FAILED $t"
				fi
			done
		fi
	fi
	# Without a working CMake tree, the programs that need nothing of dvm
	# are built directly, so the peers can still be measured.
	if [ ! -x "$BUILD/bench/bench_spawn" ]; then
		local sb="$BUILD/bench"
		mkdir -p "$sb"
		log "bench: standalone build of the peer programs in $sb"
		local cc=${CC:-cc}
		local f=(-O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE)
		"$cc" "${f[@]}" -static -o "$sb/bench_spawn" "$ROOT/bench/bench_spawn.c" 2>/dev/null ||
			"$cc" "${f[@]}" -o "$sb/bench_spawn" "$ROOT/bench/bench_spawn.c"
		"$cc" "${f[@]}" -o "$sb/bare_kvm_floor" "$ROOT/bench/bare_kvm_floor.c"
		"$cc" "${f[@]}" -o "$sb/bare_kvm_pio_loop" "$ROOT/bench/bare_kvm_pio_loop.c"
		"$cc" -nostdlib -static -o "$sb/noop" "$ROOT/bench/noop.S"
		for n in 0 $PIO_N1 $PIO_N2; do
			"$cc" -m32 -nostdlib -ffreestanding -c -DPIO_COUNT="$n" -DPIO_PORT=0x80 \
				"$ROOT/bench/pio_guest.S" -o "$sb/pio_guest_$n.o" &&
				objcopy -O binary -j .text "$sb/pio_guest_$n.o" "$sb/pio_guest_$n.bin"
		done
	fi
}
build

SPAWN=$BUILD/bench/bench_spawn
FLOOR=$BUILD/bench/bare_kvm_floor
PIOLOOP=$BUILD/bench/bare_kvm_pio_loop
NOOP=$BUILD/bench/noop
ATTR=$BUILD/bench/bench_attr
DVM=$BUILD/dvm
HELLO=$BUILD/guests/hello.elf
PIO0=$BUILD/bench/pio_guest_0.bin
PIO1=$BUILD/bench/pio_guest_$PIO_N1.bin
PIO2=$BUILD/bench/pio_guest_$PIO_N2.bin

for f in "$SPAWN" "$FLOOR" "$PIOLOOP" "$NOOP"; do
	if [ ! -x "$f" ]; then
		log "bench: $f is missing; cannot measure anything"
		exit 1
	fi
done
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	log "bench: SKIP: /dev/kvm is not usable here"
	exit 0
fi
have() { [ -e "$1" ]; }

# ---------------------------------------------------------------- helpers
# sample VAR_PREFIX STATUS CMD...: one timed run; appends the wall time (us)
# to $TMP/VAR.t, the CPU time (us) to $TMP/VAR.cpu and the peak RSS (KiB) to
# $TMP/VAR.rss.  Returns non-zero
# (and records nothing) when the command failed or exited with another status.
sample() {
	local key=$1 status=$2
	shift 2
	local line
	# Let the previous process's VM teardown finish first: dvm hands it to a
	# reaper that outlives dvm (see README), and a teardown still running
	# slows the next KVM_CREATE_VM of any VMM.  Each launch is timed alone.
	sleep "$LAUNCH_GAP"
	line=$("$SPAWN" -r 1 -w 0 -s "$status" -- "$@" 2>>"$TMP/$key.err") || return 1
	sed -n 's/.*median_us=\([0-9.]*\).*/\1/p' <<<"$line" >>"$TMP/$key.t"
	sed -n 's/.*rss_kib=\([0-9]*\).*/\1/p' <<<"$line" >>"$TMP/$key.rss"
	sed -n 's/.*cpu_us=\([0-9.]*\).*/\1/p' <<<"$line" >>"$TMP/$key.cpu"
}
# median FILE: the median of the numbers in FILE, or "n/a".
median() {
	[ -s "$1" ] || { echo n/a; return; }
	sort -g "$1" | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}
# calc EXPR: awk arithmetic, "n/a" when any operand is n/a.
calc() {
	case "$*" in *n/a*) echo n/a; return ;; esac
	awk "BEGIN {printf \"%.4g\\n\", $*}"
}
# ratio EXPR [SUFFIX]: like calc, with SUFFIX appended to a number.
ratio() {
	local v
	v=$(calc "$1")
	[ "$v" = n/a ] && echo n/a || echo "$v${2:-}"
}
# verdict OK_EXPR: PASS/MISS, or SKIP when a figure is missing.
verdict() {
	case "$*" in *n/a*) echo SKIP; return ;; esac
	awk "BEGIN {exit !($*)}" && echo PASS || echo MISS
}
ROWS=$TMP/rows
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"; }
NOTES=$TMP/notes
note() { printf '  - %s\n' "$*" >>"$NOTES"; }
# greeting FILE: the guest's greeting line from a console capture.
greeting() {
	local l
	l=$(tr -d '\r\033' <"$1" | grep -a -m1 -i hello) || l=$(tr -d '\r\033' <"$1" | grep -a -m1 .)
	printf '"%s"' "$(cut -c1-100 <<<"$l")"
}

# ---------------------------------------------------------------- 1. launch
log "bench: [1/3] launch-to-exit"
HELLO_STATUS=1 # isa-debug-exit: (0 << 1) | 1
dvm_hello=()
if have "$DVM" && have "$HELLO"; then
	dvm_hello=("$DVM" run --memory "${GUEST_MEM_MIB}M" --cmdline exit=0 "$HELLO")
	if ! "$SPAWN" -r 1 -w 0 -s $HELLO_STATUS -o "$TMP/dvm_hello.out" -- "${dvm_hello[@]}" >/dev/null 2>"$TMP/dvm_hello.err"; then
		note "dvm failed on the hello guest: $(tr '\n' ' ' <"$TMP/dvm_hello.err" | cut -c1-200)"
		dvm_hello=()
	else
		note "dvm's hello guest printed $(greeting "$TMP/dvm_hello.out")"
	fi
else
	note "dvm or the hello guest is not built yet ($DVM, $HELLO): dvm rows are SKIP"
fi
[ -n "$BUILD_FAILED" ] && note "these targets failed to build:$BUILD_FAILED (see $BUILD_LOG)"

qemu_hello=()
qemu_machine=n/a
if [ "${SKIP_QEMU:-0}" != 1 ] && command -v "$QEMU" >/dev/null && have "$HELLO"; then
	# shellcheck disable=SC2054 # the commas are QEMU's
	qbase=(-enable-kvm -cpu host,-arch-capabilities -m "${GUEST_MEM_MIB}M" -nodefaults
		-no-user-config -nographic -no-reboot -serial stdio -kernel "$HELLO"
		-append exit=0 -device isa-debug-exit,iobase=0xf4,iosize=4)
	# microvm's default firmware (qboot) runs QEMU's multiboot option ROM;
	# the later candidates are fallbacks for QEMUs where it does not.
	for m in microvm microvm,x-option-roms=on pc; do
		if "$SPAWN" -r 1 -w 0 -s $HELLO_STATUS -o "$TMP/qemu_hello.out" -- \
			"$QEMU" -M "$m" "${qbase[@]}" >/dev/null 2>&1 &&
			grep -q . "$TMP/qemu_hello.out"; then
			qemu_hello=("$QEMU" -M "$m" "${qbase[@]}")
			qemu_machine=$m
			break
		fi
	done
	if [ ${#qemu_hello[@]} -gt 0 ]; then
		note "QEMU ($qemu_machine) printed $(greeting "$TMP/qemu_hello.out")"
		[ "$qemu_machine" = pc ] && note "QEMU microvm could not run the image: the QEMU figure is -M pc (SeaBIOS), NOT microvm"
	else
		note "QEMU could not run the hello guest on microvm or pc: QEMU rows are SKIP"
	fi
fi

# dvm on the one-exit flat guest: the same guest work as the floor, so the
# difference is dvm's own launch and teardown (the default machine's devices
# included).  The hello guest does ~150 exits and some emulated code more.
dvm_one=()
if have "$DVM" && have "$PIO0"; then
	dvm_one=("$DVM" run --memory "${GUEST_MEM_MIB}M" --format flat --load-addr 0x100000 "$PIO0")
	if ! "$SPAWN" -r 1 -w 0 -s 1 -- "${dvm_one[@]}" >/dev/null 2>"$TMP/dvm_one.err"; then
		note "dvm failed on the one-exit flat guest: $(tr '\n' ' ' <"$TMP/dvm_one.err" | cut -c1-200)"
		dvm_one=()
	fi
fi

# The exec baseline: a static program that only exits (bench/noop.S).
for ((i = 0; i <= LAUNCH_ROUNDS; i++)); do
	k=""
	[ $i -eq 0 ] && k=warm_ # round 0 warms caches and is discarded
	sample "${k}floor" 0 "$FLOOR" "$((GUEST_MEM_MIB << 10))"
	sample "${k}floor_irq" 0 "$FLOOR" -i "$((GUEST_MEM_MIB << 10))"
	sample "${k}exec" 0 "$NOOP"
	[ ${#dvm_hello[@]} -gt 0 ] && sample "${k}dvm" $HELLO_STATUS "${dvm_hello[@]}"
	[ ${#dvm_hello[@]} -gt 0 ] && sample "${k}dvm_sync" $HELLO_STATUS "${dvm_hello[0]}" run --sync-exit "${dvm_hello[@]:2}"
	[ ${#dvm_one[@]} -gt 0 ] && sample "${k}dvm_one" 1 "${dvm_one[@]}"
	# QEMU takes ~10x longer than the others; a third of the rounds suffice.
	if [ ${#qemu_hello[@]} -gt 0 ] && { [ $i -eq 0 ] || [ $((i % 3)) -eq 1 ]; }; then
		sample "${k}qemu" $HELLO_STATUS "${qemu_hello[@]}"
	fi
done
t_floor=$(median "$TMP/floor.t")
t_floor_irq=$(median "$TMP/floor_irq.t")
t_exec=$(median "$TMP/exec.t")
t_dvm=$(median "$TMP/dvm.t")
t_one=$(median "$TMP/dvm_one.t")
t_qemu=$(median "$TMP/qemu.t")
r_floor=$(median "$TMP/floor.rss")
r_exec=$(median "$TMP/exec.rss")
r_dvm=$(median "$TMP/dvm.rss")
r_qemu=$(median "$TMP/qemu.rss")
ms() { calc "$1 / 1000"; }

row "launch-to-exit, hello (ms)" "$(ms "$t_dvm")" "floor $(ms "$t_floor")" \
	"$(ratio "$t_dvm / $t_floor" x)" "dvm <= 2x floor" "$(verdict "$t_dvm <= 2 * $t_floor")"
row "launch-to-exit vs QEMU (ms)" "$(ms "$t_dvm")" "$qemu_machine $(ms "$t_qemu")" \
	"$(ratio "$t_qemu / $t_dvm" "x faster")" "QEMU/dvm >= 5" "$(verdict "$t_qemu >= 5 * $t_dvm")"
t_sync=$(median "$TMP/dvm_sync.t")
row "  dvm --sync-exit: teardown before exit (ms)" "$(ms "$t_sync")" "floor -i $(ms "$t_floor_irq")" \
	"$(ratio "$t_sync / $t_floor_irq" x)" "context" "-"
row "  same, one-exit flat guest (ms)" "$(ms "$t_one")" "floor $(ms "$t_floor")" \
	"$(ratio "$t_one / $t_floor" x)" "like for like" "-"
row "  floor + kernel irqchip & PIT (ms)" "$(ms "$t_one")" "floor -i $(ms "$t_floor_irq")" \
	"$(ratio "$t_one / $t_floor_irq" x)" "context" "-"
c_one=$(median "$TMP/dvm_one.cpu")
c_floor_irq=$(median "$TMP/floor_irq.cpu")
row "  same, CPU time (ms)" "$(ms "$c_one")" "floor -i $(ms "$c_floor_irq")" \
	"$(ratio "$c_one / $c_floor_irq" x)" "context" "-"
row "  exec of an empty static program (ms)" "-" "$(ms "$t_exec")" "-" "context" "-"

# Guest memory the hello guest touches: the pages its PT_LOAD segments span
# (loader-written; .bss included) plus one page of multiboot info and
# command line.  This is what any VMM must have resident for it.
touched=n/a
if have "$HELLO" && command -v readelf >/dev/null; then
	declare -A pages=()
	while read -r _ _ _ pa _ msz _; do
		((msz == 0)) && continue
		for ((p = pa >> 12; p <= (pa + msz - 1) >> 12; p++)); do
			pages[$p]=1
		done
	done < <(readelf -lW "$HELLO" | awk '$1 == "LOAD"')
	touched=$(((${#pages[@]} + 1) * 4))
fi
row "peak RSS, hello (KiB)" "$r_dvm" "touched $touched + 3072" \
	"$(ratio "$r_dvm - $touched" " KiB over")" "dvm <= touched+3 MiB" \
	"$(verdict "$r_dvm <= $touched + 3072")"
row "  peak RSS vs QEMU (KiB)" "$r_dvm" "$qemu_machine $r_qemu" \
	"$(ratio "$r_qemu / $r_dvm" "x less")" "context" "-"
row "  peak RSS, floor / empty program (KiB)" "-" "$r_floor / $r_exec" "-" "context" "-"

# ---------------------------------------------------------------- 2. attributes
log "bench: [2/3] device attribute calls"
if [ -x "$ATTR" ]; then
	"$ATTR" 1000000 9 >"$TMP/attr.out" 2>"$TMP/attr.err" ||
		note "bench_attr failed: $(tr '\n' ' ' <"$TMP/attr.err" | cut -c1-200)"
	[ -s "$TMP/attr.err" ] && note "bench_attr: $(tr '\n' ' ' <"$TMP/attr.err" | cut -c1-200)"
else
	note "bench_attr is not built (dvmcore does not link yet?): attribute rows are SKIP"
	: >"$TMP/attr.out"
fi
akey() {
	local v
	v=$(sed -n "s/^$1=\([^ ]*\).*/\1/p" "$TMP/attr.out")
	echo "${v:-n/a}"
}
a_get=$(akey dvm_get_ns)
a_set=$(akey dvm_set_ns)
a_has=$(akey dvm_has_ns)
a_vfio=$(akey dvm_vfio_has_ns)
a_khas=$(akey kernel_has_ns)
a_which=$(akey dvm_attr)
[ "$a_which" != n/a ] && note "attribute timed: $a_which (first RW integer CONFIG row of the schema)"
row "GET_DEVICE_ATTR in-process (ns)" "$a_get" "kernel HAS $a_khas" \
	"$(ratio "$a_khas / $a_get" "x faster")" "dvm get <= 50 ns" "$(verdict "$a_get <= 50")"
row "  SET_DEVICE_ATTR in-process (ns)" "$a_set" "kernel HAS $a_khas" \
	"$(ratio "$a_khas / $a_set" "x faster")" "context" "-"
row "  HAS_DEVICE_ATTR in-process (ns)" "$a_has" "kernel HAS $a_khas" \
	"$(ratio "$a_khas / $a_has" "x faster")" "context" "-"
row "  HAS via dvm on kvm-vfio (ns)" "$a_vfio" "kernel HAS $a_khas" \
	"$(ratio "$a_vfio / $a_khas" x)" "context" "-"

# ---------------------------------------------------------------- 3. PIO exits
log "bench: [3/3] port-I/O exits"
dvm_flat=()
if have "$DVM" && have "$PIO1" && have "$PIO2"; then
	dvm_flat=("$DVM" run --memory "${GUEST_MEM_MIB}M" --format flat --load-addr 0x100000)
	if ! "$SPAWN" -r 1 -w 0 -s 1 -- "${dvm_flat[@]}" "$PIO1" >/dev/null 2>"$TMP/dvm_flat.err"; then
		note "dvm failed on the flat PIO guest: $(tr '\n' ' ' <"$TMP/dvm_flat.err" | cut -c1-200)"
		dvm_flat=()
	fi
fi
# once STATUS CMD...: "WALL_US CPU_US" of one run, or nothing on failure.
once() {
	local status=$1
	shift
	"$SPAWN" -r 1 -w 0 -s "$status" -- "$@" 2>/dev/null |
		sed -n 's/.*median_us=\([0-9.]*\).*cpu_us=\([0-9.]*\).*/\1 \2/p'
}
# Each round times both sides at both lengths, back to back, and yields one
# per-exit figure per side and their ratio, from wall time and from CPU time;
# the order of the sides alternates between rounds.  Pairing within a round
# cancels drift in host load, which on two shared CPUs is the main noise.
# Round 0 is a discarded warm-up.
dn=$((PIO_N2 - PIO_N1))
for ((i = 0; i <= PIO_ROUNDS; i++)); do
	sides=(bare dvm)
	((i % 2)) && sides=(dvm bare)
	declare -A pe=() pc=()
	for side in "${sides[@]}"; do
		if [ "$side" = bare ]; then
			r1=$(once 0 "$PIOLOOP" "$PIO1" "$GUEST_MEM_MIB")
			r2=$(once 0 "$PIOLOOP" "$PIO2" "$GUEST_MEM_MIB")
		elif [ ${#dvm_flat[@]} -gt 0 ]; then
			r1=$(once 1 "${dvm_flat[@]}" "$PIO1")
			r2=$(once 1 "${dvm_flat[@]}" "$PIO2")
		else
			continue
		fi
		if [ -z "$r1" ] || [ -z "$r2" ]; then continue; fi
		read -r w1 c1 <<<"$r1"
		read -r w2 c2 <<<"$r2"
		pe[$side]=$(calc "($w2 - $w1) * 1000 / $dn")
		pc[$side]=$(calc "($c2 - $c1) * 1000 / $dn")
	done
	if ((i > 0)); then
		[ -n "${pe[bare]:-}" ] && echo "${pe[bare]}" >>"$TMP/pio_bare"
		[ -n "${pe[dvm]:-}" ] && echo "${pe[dvm]}" >>"$TMP/pio_dvm"
		[ -n "${pc[bare]:-}" ] && echo "${pc[bare]}" >>"$TMP/pio_bare_cpu"
		[ -n "${pc[dvm]:-}" ] && echo "${pc[dvm]}" >>"$TMP/pio_dvm_cpu"
		if [ -n "${pe[bare]:-}" ] && [ -n "${pe[dvm]:-}" ]; then
			calc "${pe[dvm]} / ${pe[bare]}" >>"$TMP/pio_ratio"
			calc "${pc[dvm]} / ${pc[bare]}" >>"$TMP/pio_ratio_cpu"
		fi
	fi
	unset pe pc
done
pe_bare=$(median "$TMP/pio_bare")
pe_dvm=$(median "$TMP/pio_dvm")
pc_bare=$(median "$TMP/pio_bare_cpu")
pc_dvm=$(median "$TMP/pio_dvm_cpu")
pio_ratio=$(median "$TMP/pio_ratio")
pio_ratio_cpu=$(median "$TMP/pio_ratio_cpu")
pio_spread=n/a
if [ -s "$TMP/pio_ratio" ]; then
	pio_spread=$(sort -g "$TMP/pio_ratio" | awk '{v[NR] = $1} END {
		printf "%.3f .. %.3f", v[int((NR + 3) / 4)], v[int((3 * NR + 3) / 4)] }')
fi
"$PIOLOOP" "$PIO2" "$GUEST_MEM_MIB" >"$TMP/bare_inner.out" 2>/dev/null
pe_inner=$(sed -n 's/.*ns_per_exit=\([0-9.]*\).*/\1/p' "$TMP/bare_inner.out")
row "port-I/O exit (ns/exit)" "$pe_dvm" "bare KVM_RUN $pe_bare" \
	"$(ratio "$pio_ratio" "x paired")" "dvm <= 1.05x bare" "$(verdict "$pio_ratio <= 1.05")"
row "  ratio, quartiles over rounds" "-" "-" "$pio_spread" "noise check" "-"
row "  same in CPU time (ns/exit)" "$pc_dvm" "bare KVM_RUN $pc_bare" \
	"$(ratio "$pio_ratio_cpu" "x paired")" "context" "-"
row "  bare loop, timed inside (ns/exit)" "-" "${pe_inner:-n/a}" "-" "cross-check" "-"
note "PIO: per-exit = (wall at N=$PIO_N2 - wall at N=$PIO_N1) / $dn per side and round; the ratio is the median of the per-round ratios; an exit here includes emulating the guest's out/dec/jnz"

# ---------------------------------------------------------------- control socket
log "control socket ..."
"$BUILD/bench/bench_ctl" >"$TMP/ctl.out" 2>&1 || true
ctl_us=$(sed -n 's/^get-attr over the socket: median \([0-9.]*\) us.*/\1/p' "$TMP/ctl.out")
ctl_floor=$(sed -n 's/^bare AF_UNIX round trip: *median \([0-9.]*\) us.*polling.*/\1/p' "$TMP/ctl.out")
if [ -n "$ctl_us" ] && [ -n "$ctl_floor" ]; then
	row "get-attr over the socket (us)" "$ctl_us" "bare AF_UNIX round trip (polling) $ctl_floor" \
		"$(awk -v a="$ctl_us" -v b="$ctl_floor" 'BEGIN {printf "%.2fx", a / b}')" \
		"dvm <= 20 us" "$(verdict "$ctl_us <= 20")"
fi

# ---------------------------------------------------------------- snapshot
log "snapshot and restore ..."
"$BUILD/bench/bench_snapshot" 64 256 ${SNAPSHOT_BIG:-1024} >"$TMP/snapshot.out" 2>&1 || true
# The sparse 256 MiB row's restore+start: the default, memory check on.
snap256=$(awk '$1 == 256 {print $5}' "$TMP/snapshot.out")
if [ -n "$snap256" ]; then
	row "restore to running, 256 MiB (ms)" "$snap256" "Firecracker's published < 8" "-" \
		"dvm <= 5 ms" "$(verdict "$snap256 <= 5")"
fi
note "snapshot/restore (bench_snapshot, medians of 5; a sparse guest with 4 MiB written, and 'touched' rows with every page non-zero; restore+start checks the memory CRC, the last column doesn't):"
sed 's/^/    /' "$TMP/snapshot.out" >>"$NOTES"

# ---------------------------------------------------------------- report
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)
# The top-level CMakeLists defaults an empty build type to RelWithDebInfo.
[ -f "$BUILD/CMakeCache.txt" ] && build_type=${build_type:-RelWithDebInfo}
sanitize=$(sed -n 's/^DVM_SANITIZE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)
echo
echo "dvm benchmarks: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build: $BUILD (${build_type:-?}, sanitizers ${sanitize:-?}); guest RAM ${GUEST_MEM_MIB} MiB everywhere;" \
	"launch rounds $LAUNCH_ROUNDS (QEMU every third), PIO rounds $PIO_ROUNDS; figures are medians"
[ "${sanitize:-OFF}" = ON ] && echo "WARNING: sanitizer build: dvm figures are not representative"
echo
{
	printf 'metric\tdvm\tpeer\tratio\ttarget\tresult\n'
	cat "$ROWS"
} | column -t -s $'\t'
echo
echo "notes:"
note "peak RSS is wait4's ru_maxrss; it includes what exec inherits from the forked static bench_spawn (about the empty program's figure), so it overstates every process alike"
cat "$NOTES"
exit 0
