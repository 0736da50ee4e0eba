// SPDX-License-Identifier: MIT
/*
 * Snapshot time and restore-to-running time for guests of several sizes:
 * a VM with the in-kernel irqchip and PIT, a UART, an RTC and one vCPU
 * parked on hlt.  Two memory shapes:
 *   MiB rows      a guest that has touched SPARSE_MIB of its RAM (a small
 *                 kernel and its data); the rest was never written and is
 *                 holes in the memory file
 *   touched rows  every byte of guest RAM written with a pattern: every
 *                 page is data and goes through the checksum (the worst case)
 * "restore to running" is dvm_snapshot_restore() + dvm_vm_start(): the vCPU
 * thread is in KVM_RUN when it returns.  Medians of N rounds; the snapshot
 * directory is on /tmp (set TMPDIR to move it), page cache warm.
 *
 * usage: bench_snapshot [MiB ...]   (default: 64 256 1024)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dvm/device.h"
#include "dvm/devices/vcpu.h"
#include "dvm/snapshot.h"
#include "dvm/vm.h"

#define ROUNDS 5
#define SPARSE_MIB 4

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

static struct dvm_vm *make_vm(uint64_t mib, bool touched)
{
	struct dvm_vm_config cfg = {.mem_size = mib << 20};
	struct dvm_vm *vm;
	static const uint32_t types[] = {DVM_DEV_TYPE_PIC,	DVM_DEV_TYPE_IOAPIC,
					 DVM_DEV_TYPE_PIT,	DVM_DEV_TYPE_SERIAL_8250,
					 DVM_DEV_TYPE_CMOS_RTC, DVM_DEV_TYPE_VCPU};
	if (dvm_vm_create(&cfg, &vm))
		return NULL;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct kvm_create_device cd = {.type = types[i]};
		if (dvm_create_device(vm, &cd))
			return NULL;
		if (types[i] == DVM_DEV_TYPE_VCPU) {
			struct dvm_vcpu_reset park = {.mode = DVM_VCPU_RESET_REAL_MODE,
						      .entry = 0x1000};
			dvm_device_set(vm, (int)cd.fd, DVM_VCPU_GRP_CONTROL, DVM_VCPU_CONTROL_RESET,
				       &park);
		}
	}
	uint64_t size = mib << 20, written = touched ? size : (uint64_t)SPARSE_MIB << 20;
	uint8_t *m = dvm_vm_gpa_to_hva(vm, 0, size);
	if (!m)
		return NULL;
	if (written > size)
		written = size;
	/* Each page its own bytes, none zero. */
	for (uint64_t off = 0; off < written; off += 4096)
		memset(m + off, (int)(off >> 12) | 1, 4096);
	m[0x1000] = 0xf4; /* hlt */
	return vm;
}

/* One row: medians of ROUNDS saves and restores.  0 or 1 (said why). */
static int bench_row(const char *label, unsigned mib, bool touched, const char *dir)
{
	struct dvm_vm *vm = make_vm(mib, touched);
	double save[ROUNDS], rest[ROUNDS], fast[ROUNDS];
	char err[256];

	if (!vm || dvm_vm_start(vm) || dvm_vm_pause(vm)) {
		fprintf(stderr, "bench_snapshot: no VM (is /dev/kvm usable?)\n");
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ms();
		if (dvm_snapshot_save(vm, dir, err, sizeof(err))) {
			fprintf(stderr, "bench_snapshot: %s\n", err);
			return 1;
		}
		save[r] = now_ms() - t0;
		for (int verify = 0; verify < 2; verify++) {
			struct dvm_restored res;
			t0 = now_ms();
			if (dvm_snapshot_restore(dir, 0, verify ? 0 : DVM_RESTORE_NO_VERIFY, &res,
						 err, sizeof(err)) ||
			    dvm_vm_start(res.vm)) {
				fprintf(stderr, "bench_snapshot: %s\n", err);
				return 1;
			}
			(verify ? rest : fast)[r] = now_ms() - t0;
			dvm_restored_free(&res);
			dvm_vm_shutdown(res.vm);
		}
	}
	printf("%s%4u MiB %9.1f ms %13.1f ms %17.2f ms\n", label, mib, median(save, ROUNDS),
	       median(rest, ROUNDS), median(fast, ROUNDS));
	fflush(stdout);
	dvm_vm_shutdown(vm);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd)) {
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned defaults[] = {64, 256, 1024};
	unsigned n = argc > 1 ? (unsigned)argc - 1 : 3;
	char dir[256];

	dvm_register_builtin_devices();
	snprintf(dir, sizeof(dir), "%s/dvm-bench-snapshot-%d",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	printf("%-8s %12s %16s %20s\n", "guest", "snapshot", "restore+start",
	       "restore (no verify)");
	/* The first column of a plain row is the size alone (bench/run.sh
	 * picks the 256 MiB row by it); the worst case follows, labelled. */
	for (int touched = 0; touched < 2; touched++) {
		if (touched)
			printf("touched: every page of guest RAM non-zero\n");
		else
			printf("sparse: %u MiB of guest RAM written, the rest never touched\n",
			       SPARSE_MIB);
		for (unsigned i = 0; i < n; i++) {
			unsigned mib = argc > 1 ? (unsigned)atoi(argv[i + 1]) : defaults[i];
			if (bench_row(touched ? "touched " : "", mib, touched, dir))
				return 1;
		}
	}
	return 0;
}
