#!/bin/sh
# SPDX-License-Identifier: MIT
# --fw-cfg errors: bad syntax, missing or oversized files and duplicate names
# are usage errors (status 2) with a message, found before any VM exists, so
# no /dev/kvm is needed.  usage: fw_cfg_cli.sh DVM GUEST
set -u
dvm=$1
guest=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# expect STATUS TEXT ARGS...: dvm run ARGS GUEST ends with STATUS and its
# stderr contains TEXT (a fixed string).
expect() {
	want=$1 text=$2
	shift 2
	timeout 30 "$dvm" run "$@" "$guest" </dev/null >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$want" ] || ! grep -qF -- "$text" "$tmp/err"; then
		echo "FAIL: dvm run $* -> $got (want $want and stderr with: $text)"
		cat "$tmp/err"
		failed=1
	else
		echo "ok: dvm run $* -> $got: $text"
	fi
}

long=opt/$(printf '%052d' 0) # 56 characters: one too many
printf 'x' >"$tmp/small"
truncate -s 16777217 "$tmp/huge" # 16 MiB + 1, sparse

expect 2 "'greeting' is not key=value" --fw-cfg greeting
expect 2 "'file' is not key=value" --fw-cfg name=opt/a,file
expect 2 "name=NAME is required" --fw-cfg string=hello
expect 2 "name=NAME is required" --fw-cfg name=,string=hello
expect 2 "unknown key 'colour'" --fw-cfg name=opt/a,colour=red
expect 2 "string= given twice" --fw-cfg name=opt/a,string=1,string=2
expect 2 "exactly one of file=PATH or string=STR" --fw-cfg name=opt/a
expect 2 "exactly one of file=PATH or string=STR" --fw-cfg name=opt/a,string=
expect 2 "exactly one of file=PATH or string=STR" --fw-cfg "name=opt/a,string=x,file=$tmp/small"
expect 2 "is longer than 55 characters" --fw-cfg "name=$long,string=x"
expect 2 "duplicate fw_cfg file name 'opt/a'" --fw-cfg name=opt/a,string=1 --fw-cfg "name=opt/a,file=$tmp/small"
expect 2 "cannot read '$tmp/missing': No such file or directory" --fw-cfg "name=opt/a,file=$tmp/missing"
expect 2 "'$tmp' is not a regular file" --fw-cfg "name=opt/a,file=$tmp"
expect 2 "'$tmp/huge' is larger than 16 MiB" --fw-cfg "name=opt/a,file=$tmp/huge"
# ",," is a comma inside a value, not a separator: this name is 'opt/a,b'.
expect 2 "duplicate fw_cfg file name 'opt/a,b'" --fw-cfg name=opt/a,,b,string=1 --fw-cfg name=opt/a,,b,string=2
# QEMU's warning for names outside opt/ (the run then fails on its guest).
expect 2 "name 'etc/mine' should start with opt/" --fw-cfg name=etc/mine,string=x --format exe
exit $failed
