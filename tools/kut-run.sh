#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs kvm-unit-tests' x86 images (built elsewhere; see README) under dvm, one
# line per test as kvm-unit-tests' own runner prints them, and optionally the
# same images under QEMU side by side.
#
# usage: tools/kut-run.sh [--dvm PATH] [--qemu] [--timeout SEC] KUT_DIR [TEST...]
#   KUT_DIR   a configured and built kvm-unit-tests tree (x86/*.flat)
#   TEST      test names from x86/unittests.cfg (default: all x86_64 ones)
#   --qemu    also run each test under qemu-system-x86_64 -accel kvm, as
#             kvm-unit-tests' x86/run does, and print both results
#
# The translation from unittests.cfg: smp -> --cpus, test_args -> --append,
# -cpu MODEL,FEATURES -> --cpu FEATURES, -m N -> --memory NM, -machine pit=off
# -> --without pit; the environment
# (TARGET, kernel version) goes in as --module, as QEMU's -initrd.  A test
# whose qemu_params need a QEMU device or machine option dvm lacks is SKIPped
# with the reason.  Status: (code << 1) | 1 from isa-debug-exit, so 1 = PASS,
# 77 = SKIP (the suite exits 38 to skip), anything else = FAIL.
set -u
dvm=$(dirname "$0")/../build/dvm
use_qemu=0
default_timeout=90
while [ $# -gt 0 ]; do
	case "$1" in
	--dvm) dvm=$2; shift 2 ;;
	--qemu) use_qemu=1; shift ;;
	--timeout) default_timeout=$2; shift 2 ;;
	-h|--help) sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "kut-run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { echo "usage: tools/kut-run.sh [--dvm PATH] [--qemu] KUT_DIR [TEST...]" >&2; exit 2; }
kut=$1; shift
only=("$@")
cfg=$kut/x86/unittests.cfg
[ -f "$cfg" ] || { echo "kut-run.sh: no $cfg" >&2; exit 2; }
[ -x "$dvm" ] || { echo "kut-run.sh: no dvm at $dvm" >&2; exit 2; }
logdir=$(mktemp -d)
envfile=$logdir/env
{
	echo "TARGET=dvm"
	echo "KERNEL_VERSION_STRING=$(uname -r)"
} >"$envfile"

# Emit "name|file|smp|qemu_params|test_args|arch|timeout" per section.
sections() {
	awk '
	function flush() { if (name != "") print name "|" file "|" smp "|" params "|" args "|" arch "|" tmo }
	/^\[/ { flush(); name = substr($0, 2, length($0) - 2); file = ""; smp = 1; params = ""; args = ""; arch = ""; tmo = ""; next }
	/^file *=/ { sub(/^file *= */, ""); file = $0 }
	/^smp *=/ { sub(/^smp *= */, ""); smp = $0 }
	/^(qemu_params|extra_params) *=/ { sub(/^[a-z_]+ *= */, ""); params = $0 }
	/^test_args *=/ { sub(/^test_args *= */, ""); args = $0 }
	/^arch *=/ { sub(/^arch *= */, ""); arch = $0 }
	/^timeout *=/ { sub(/^timeout *= */, ""); tmo = $0 }
	END { flush() }' "$cfg"
}

result() { # status -> PASS/FAIL/SKIP
	case "$1" in
	1) echo PASS ;;
	77) echo SKIP ;; # the suite returns 38 for a skip, so that (38 << 1) | 1 is 77
	124|137) echo "FAIL(timeout)" ;;
	*) echo "FAIL($1)" ;;
	esac
}

pass=0 fail=0 skip=0
while IFS='|' read -r name file smp params args arch tmo; do
	if [ ${#only[@]} -gt 0 ]; then
		want=0
		for t in "${only[@]}"; do [ "$t" = "$name" ] && want=1; done
		[ $want = 1 ] || continue
	fi
	[ "$arch" = i386 ] && continue
	timeout_s=${tmo:-$default_timeout}
	timeout_s=${timeout_s%s}
	smp=$(eval echo "$smp") # some use $MAX_SMP
	dvm_args=(--cpus "$smp" --module "$envfile")
	why=""
	# shellcheck disable=SC2086
	eval "set -- $params" 2>/dev/null || why="unparsable qemu_params"
	while [ $# -gt 0 ] && [ -z "$why" ]; do
		case "$1" in
		-cpu) feats=${2#*,}; [ "$feats" = "$2" ] && feats=""
		      [ -n "$feats" ] && dvm_args+=(--cpu "$feats"); shift 2 ;;
		-m) mem=$2; case "$mem" in *[0-9]) mem=${mem}M ;; esac
		    dvm_args+=(--memory "$mem"); shift 2 ;;
		-append) args="$2 $args"; shift 2 ;;
		-enable-kvm) shift ;;
		-machine|-M)
			case "$2" in
			pit=off) dvm_args+=(--without pit); shift 2 ;;
			*) why="needs QEMU option: $*"; break ;;
			esac ;;
		*) why="needs QEMU option: $*"; break ;;
		esac
	done
	if [ -n "$why" ]; then
		echo "SKIP $name ($why)"
		skip=$((skip + 1))
		continue
	fi
	[ -n "$args" ] && dvm_args+=(--append "$(eval echo "$args")")
	timeout -k 1 "$timeout_s" "$dvm" run "${dvm_args[@]}" "$kut/x86/$file" \
		>"$logdir/$name.dvm.log" 2>&1 </dev/null
	st=$?
	r=$(result $st)
	line="$r $name"
	case "$r" in PASS) pass=$((pass + 1)) ;; SKIP) skip=$((skip + 1)) ;; *) fail=$((fail + 1)) ;; esac
	if [ $use_qemu = 1 ]; then
		timeout -k 1 "$timeout_s" qemu-system-x86_64 --no-reboot -nodefaults \
			-device pc-testdev -device isa-debug-exit,iobase=0xf4,iosize=0x4 \
			-display none -serial stdio -device pci-testdev -machine accel=kvm \
			-kernel "$kut/x86/$file" -smp "$smp" -initrd "$envfile" $params \
			${args:+-append "$args"} >"$logdir/$name.qemu.log" 2>&1 </dev/null
		line="$line   (qemu: $(result $?))"
	fi
	echo "$line"
done < <(sections)
echo "dvm: $pass passed, $fail failed, $skip skipped; logs in $logdir"
