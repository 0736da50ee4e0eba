# SPDX-License-Identifier: MIT
# Sourced by the shell tests: need_kvm prints SKIP with the reason and exits
# 77 (CTest's skip) where /dev/kvm can't be used.
need_kvm() {
	# The device node first: `<>` on a missing path would create a file.
	if ! [ -c /dev/kvm ]; then
		echo "SKIP: /dev/kvm not available (no such device)"
		exit 77
	fi
	if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
		echo "SKIP: /dev/kvm not available (cannot open it read-write)"
		exit 77
	fi
}
