/* SPDX-License-Identifier: MIT */
/*
 * The peer for the port-I/O exit cost: a bare KVM_RUN loop around the same
 * flat guest image that dvm runs (bench/pio_guest.S).  The image is loaded at
 * LOAD_ADDR and entered the way `dvm run --format flat` enters it: 32-bit
 * protected mode, flat 4 GiB segments, paging off, EIP = LOAD_ADDR.  Every
 * OUT exit is handed back to KVM_RUN with no work besides a port compare;
 * a write to port 0xf4 ends the run.
 *
 * Usage: bare_kvm_pio_loop IMAGE [MEM_MIB] [LOAD_ADDR]
 * Prints "exits=E run_ns=T ns_per_exit=X" (the KVM_RUN loop alone) and exits
 * 0; 1 on failure; 77 without /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "bare_kvm_pio_loop: %s: %s\n", what, strerror(errno));
	return 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = 1;
	s->s = 1;
	s->l = 0;
	s->g = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bare_kvm_pio_loop IMAGE [MEM_MIB] [LOAD_ADDR]\n");
		return 1;
	}
	uint64_t mem_size = (argc > 2 ? strtoull(argv[2], NULL, 0) : 16) << 20;
	uint64_t load = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x100000;

	int img = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (img < 0)
		return fail(argv[1]);
	struct stat st;
	if (fstat(img, &st) < 0)
		return fail("fstat");
	if (load >= mem_size || (uint64_t)st.st_size > mem_size - load) {
		fprintf(stderr, "bare_kvm_pio_loop: image does not fit in guest memory\n");
		return 1;
	}

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "bare_kvm_pio_loop: SKIP: /dev/kvm: %s\n", strerror(errno));
		return 77;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	for (off_t done = 0; done < st.st_size;) {
		ssize_t n = read(img, mem + load + done, st.st_size - done);
		if (n <= 0)
			return fail("read image");
		done += n;
	}
	close(img);
	struct kvm_userspace_memory_region region = {
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = mem_size,
	    .userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	flat_seg(&sregs.cs, 0x08, 0xb); /* code, execute/read, accessed */
	flat_seg(&sregs.ds, 0x10, 0x3); /* data, read/write, accessed */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 |= 0x1;	     /* PE */
	sregs.cr0 &= ~0x80000000ull; /* PG off */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = {.rip = load, .rflags = 0x2};
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	uint64_t exits = 0;
	uint64_t t0 = now_ns();
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail("KVM_RUN");
		}
		if (run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "bare_kvm_pio_loop: unexpected exit %u after %llu exits\n",
				run->exit_reason, (unsigned long long)exits);
			return 1;
		}
		if (run->io.port == 0xf4)
			break;
		exits++;
	}
	uint64_t t = now_ns() - t0;
	printf("exits=%llu run_ns=%llu ns_per_exit=%.0f\n", (unsigned long long)exits,
	       (unsigned long long)t, exits ? (double)t / (double)exits : 0.0);
	return 0;
}
