/* SPDX-License-Identifier: MIT */
/*
 * The floor for launch-to-exit: the least a KVM VMM can do to run a guest to
 * its first exit.  Create a VM with one small memory slot and one vCPU, run a
 * three-byte real-mode guest (`mov al, 0; out 0xf4, al`) and exit when the
 * port write reaches userspace.  No devices, no firmware, no loader, no
 * threads.
 *
 * Usage: bare_kvm_floor [-i] [MEM_KIB]   (guest memory slot size, default 64)
 *   -i  also create the in-kernel irqchip and PIT (KVM_CREATE_IRQCHIP,
 *       KVM_CREATE_PIT2) before the vCPU, as a PC-like VMM does: the kernel's
 *       own price of those devices, creation and teardown.
 * Exit status 0 when the guest's write arrived, 1 on any failure, 77 when
 * /dev/kvm is absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "bare_kvm_floor: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	/* mov al, 0x00 ; out 0xf4, al ; hlt */
	static const unsigned char code[] = {0xb0, 0x00, 0xe6, 0xf4, 0xf4};
	size_t mem_size = 64 << 10;
	int irqchip = 0;
	if (argc > 1 && !strcmp(argv[1], "-i")) {
		irqchip = 1;
		argc--;
		argv++;
	}
	if (argc > 1)
		mem_size = strtoul(argv[1], NULL, 0) << 10;
	if (mem_size < 0x2000)
		mem_size = 0x2000;

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "bare_kvm_floor: SKIP: /dev/kvm: %s\n", strerror(errno));
		return 77;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	unsigned char *mem =
	    mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem + 0x1000, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = mem_size,
	    .userspace_addr = (unsigned long)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	if (irqchip) {
		struct kvm_pit_config pit = {0};
		if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
			return fail("KVM_CREATE_IRQCHIP");
		if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
			return fail("KVM_CREATE_PIT2");
	}
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
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = {.rip = 0x1000, .rflags = 0x2};
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
		    run->io.port == 0xf4)
			return 0;
		fprintf(stderr, "bare_kvm_floor: unexpected exit %u\n", run->exit_reason);
		return 1;
	}
}
