#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one guest under dvm and checks how it ended.
#
# usage: run_guest.sh [--status N] [--stdout TEXT]... [--stderr TEXT]...
#                     [--write FILE PRINTF-FORMAT]... [--stdin PRINTF-FORMAT]
#                     [--timeout SECONDS]
#                     -- DVM-COMMAND...
#   --status N       the exit status dvm must end with (default 0)
#   --stdout TEXT    stdout must contain TEXT (fixed string)
#   --stderr TEXT    stderr must contain TEXT
#   --write F FMT    create F with printf FMT before running (test inputs)
#   --stdin FMT      feed printf FMT to dvm's stdin (the guest console);
#                    otherwise stdin is /dev/null
# Exits 0 on success, 1 on failure, 77 (CTest skip) without /dev/kvm.
set -u

want_status=0
timeout_s=60
stdout_checks=$(mktemp)
stderr_checks=$(mktemp)
out=$(mktemp)
errout=$(mktemp)
input=$(mktemp)
trap 'rm -f "$stdout_checks" "$stderr_checks" "$out" "$errout" "$input"' EXIT
stdin_file=/dev/null

while [ $# -gt 0 ]; do
	case "$1" in
	--status) want_status=$2; shift 2 ;;
	--stdout) printf '%s\n' "$2" >>"$stdout_checks"; shift 2 ;;
	--stderr) printf '%s\n' "$2" >>"$stderr_checks"; shift 2 ;;
	--write) printf "$3" >"$2" || exit 1; shift 3 ;;
	--stdin) printf "$2" >"$input" || exit 1; stdin_file=$input; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "run_guest.sh: unknown option $1" >&2; exit 1 ;;
	esac
done
if [ $# -eq 0 ]; then
	echo "run_guest.sh: no dvm command given" >&2
	exit 1
fi

# Every guest test needs a usable KVM; skip cleanly where there is none.
. "$(dirname "$0")/kvm_lib.sh"
need_kvm

echo "running: $*"
timeout -k 5 "$timeout_s" "$@" <"$stdin_file" >"$out" 2>"$errout"
status=$?

echo "--- stdout"
cat "$out"
echo "--- stderr"
cat "$errout"
echo "--- exit status $status (want $want_status)"

failed=0
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	echo "FAIL: dvm did not finish within ${timeout_s}s"
	failed=1
elif [ "$status" -ne "$want_status" ]; then
	echo "FAIL: exit status $status, expected $want_status"
	failed=1
fi
while IFS= read -r text; do
	if ! grep -qF -- "$text" "$out"; then
		echo "FAIL: stdout lacks: $text"
		failed=1
	fi
done <"$stdout_checks"
while IFS= read -r text; do
	if ! grep -qF -- "$text" "$errout"; then
		echo "FAIL: stderr lacks: $text"
		failed=1
	fi
done <"$stderr_checks"
[ "$failed" -eq 0 ] && echo PASS
exit "$failed"
