/* SPDX-License-Identifier: MIT */
/*
 * The KVM-backed types through the device API: vcpu state groups (REGS,
 * SREGS, MSRS, LAPIC, MP_STATE, ...), pic, ioapic and pit state, and the
 * run-state rules (EBUSY while running, readable while paused).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dvm/device.h"
#include "dvm/devices/kvm_irqchip.h"
#include "dvm/devices/vcpu.h"
#include "dvm/vm.h"

static struct dvm_vm *new_vm(void)
{
	struct dvm_vm_config cfg = {.mem_size = 2 << 20};
	struct dvm_vm *vm;
	dvm_register_builtin_devices();
	assert_int_equal(dvm_vm_create(&cfg, &vm), 0);
	return vm;
}

static int create(struct dvm_vm *vm, uint32_t type)
{
	struct kvm_create_device cd = {.type = type};
	int ret = dvm_create_device(vm, &cd);
	assert_int_equal(ret, 0);
	return (int)cd.fd;
}

static void irqchip_types_are_singletons_and_stay(void **state)
{
	(void)state;
	struct dvm_vm *vm = new_vm();
	int pic = create(vm, DVM_DEV_TYPE_PIC);
	int ioapic = create(vm, DVM_DEV_TYPE_IOAPIC);
	int pit = create(vm, DVM_DEV_TYPE_PIT);
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_PIC};
	assert_int_equal(dvm_create_device(vm, &cd), -EEXIST);
	/* KVM can't remove them: closing the handle leaves them in place. */
	assert_int_equal(dvm_device_close(vm, pic), 0);
	assert_int_equal(dvm_create_device(vm, &cd), -EEXIST);
	cd.type = DVM_DEV_TYPE_PIT;
	assert_int_equal(dvm_create_device(vm, &cd), -EEXIST);

	/* IOAPIC state round trip: a redirection entry written reads back. */
	struct kvm_ioapic_state io;
	assert_int_equal(dvm_device_get(vm, ioapic, DVM_IOAPIC_GRP_STATE, 0, &io), 0);
	assert_int_equal(io.base_address, 0xfec00000);
	io.redirtbl[5].bits = 0x10000 | 0x35; /* masked, vector 0x35 */
	assert_int_equal(dvm_device_set(vm, ioapic, DVM_IOAPIC_GRP_STATE, 0, &io), 0);
	memset(&io, 0, sizeof(io));
	assert_int_equal(dvm_device_get(vm, ioapic, DVM_IOAPIC_GRP_STATE, 0, &io), 0);
	assert_int_equal(io.redirtbl[5].bits & 0x100ff, 0x10035);

	/* PIT: the state group reads what KVM_GET_PIT2 carries. */
	struct kvm_pit_state2 ps;
	assert_int_equal(dvm_device_get(vm, pit, DVM_PIT_GRP_STATE, 0, &ps), 0);
	ps.channels[2].count = 0x1234;
	assert_int_equal(dvm_device_set(vm, pit, DVM_PIT_GRP_STATE, 0, &ps), 0);
	assert_int_equal(dvm_device_get(vm, pit, DVM_PIT_GRP_STATE, 0, &ps), 0);
	assert_int_equal(ps.channels[2].count, 0x1234);

	assert_int_equal(dvm_device_close(vm, ioapic), 0);
	assert_int_equal(dvm_device_close(vm, pit), 0);
	dvm_vm_shutdown(vm);

	/* The PIC's slave state, on a fresh VM: a new IMR reads back. */
	struct kvm_pic_state pic_state;
	vm = new_vm();
	pic = create(vm, DVM_DEV_TYPE_PIC);
	assert_int_equal(dvm_device_get(vm, pic, DVM_PIC_GRP_STATE, DVM_PIC_SLAVE, &pic_state), 0);
	pic_state.imr = 0xa5;
	assert_int_equal(dvm_device_set(vm, pic, DVM_PIC_GRP_STATE, DVM_PIC_SLAVE, &pic_state), 0);
	memset(&pic_state, 0, sizeof(pic_state));
	assert_int_equal(dvm_device_get(vm, pic, DVM_PIC_GRP_STATE, DVM_PIC_SLAVE, &pic_state), 0);
	assert_int_equal(pic_state.imr, 0xa5);
	assert_int_equal(dvm_device_get(vm, pic, DVM_PIC_GRP_STATE, 7, &pic_state), -ENXIO);
	dvm_device_close(vm, pic);
	dvm_vm_shutdown(vm);
}

static void vcpu_state_groups(void **state)
{
	(void)state;
	struct dvm_vm *vm = new_vm();
	create(vm, DVM_DEV_TYPE_PIC);
	int v0 = create(vm, DVM_DEV_TYPE_VCPU);
	int v1 = create(vm, DVM_DEV_TYPE_VCPU);
	uint32_t id;
	assert_int_equal(dvm_device_get(vm, v1, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_ID, &id), 0);
	assert_int_equal(id, 1);
	/* The id is read-only. */
	assert_int_equal(dvm_device_set(vm, v1, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_ID, &id),
			 -EPERM);

	/* LAPIC, the seed's example of the old way, is an attribute: APIC ID in 0x20. */
	struct kvm_lapic_state lapic;
	assert_int_equal(dvm_device_has(vm, v1, DVM_VCPU_GRP_LAPIC, 0), 0);
	assert_int_equal(dvm_device_get(vm, v1, DVM_VCPU_GRP_LAPIC, 0, &lapic), 0);
	uint32_t apic_id;
	memcpy(&apic_id, &lapic.regs[0x20], 4);
	assert_int_equal(apic_id >> 24, 1);

	/* Each vCPU's CPUID carries its APIC ID (leaf 1 EBX[31:24]). */
	struct dvm_cpuid *cpuid = malloc(sizeof(*cpuid));
	assert_int_equal(dvm_device_get(vm, v1, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_CPUID, cpuid),
			 0);
	bool found = false;
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 1) {
			assert_int_equal(cpuid->entries[i].ebx >> 24, 1);
			found = true;
		}
	assert_true(found);
	cpuid->nent = DVM_CPUID_MAX_ENTRIES + 1;
	assert_int_equal(dvm_device_set(vm, v1, DVM_VCPU_GRP_CONFIG, DVM_VCPU_CONFIG_CPUID, cpuid),
			 -EINVAL);
	free(cpuid);

	/* REGS and SREGS round trip. */
	struct kvm_regs regs;
	assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_REGS, 0, &regs), 0);
	regs.rip = 0x1234;
	regs.rax = 0xfeedface;
	assert_int_equal(dvm_device_set(vm, v0, DVM_VCPU_GRP_REGS, 0, &regs), 0);
	memset(&regs, 0, sizeof(regs));
	assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_REGS, 0, &regs), 0);
	assert_int_equal(regs.rip, 0x1234);
	assert_int_equal(regs.rax, 0xfeedface);

	/* MSRS: attr = index.  SYSENTER_CS (0x174) round trips; an unknown index is ENXIO. */
	uint64_t msr = 0x10;
	assert_int_equal(dvm_device_has(vm, v0, DVM_VCPU_GRP_MSRS, 0x174), 0);
	assert_int_equal(dvm_device_set(vm, v0, DVM_VCPU_GRP_MSRS, 0x174, &msr), 0);
	msr = 0;
	assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_MSRS, 0x174, &msr), 0);
	assert_int_equal(msr, 0x10);
	assert_int_equal(dvm_device_has(vm, v0, DVM_VCPU_GRP_MSRS, 0x7777777), -ENXIO);
	assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_MSRS, 0x7777777, &msr), -ENXIO);
	/* ENXIO comes before the value pointer is looked at, as in the kernel. */
	assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_MSRS, 0x7777777, NULL), -ENXIO);

	/* MP_STATE: the boot CPU runs, the others wait for INIT/SIPI. */
	struct kvm_mp_state mp;
	assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_MP_STATE, 0, &mp), 0);
	assert_int_equal(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	assert_int_equal(dvm_device_get(vm, v1, DVM_VCPU_GRP_MP_STATE, 0, &mp), 0);
	assert_int_equal(mp.mp_state, KVM_MP_STATE_UNINITIALIZED);

	/* The other groups read. */
	static uint8_t buf[8192];
	static const uint32_t groups[] = {DVM_VCPU_GRP_SREGS, DVM_VCPU_GRP_FPU, DVM_VCPU_GRP_EVENTS,
					  DVM_VCPU_GRP_DEBUGREGS};
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		assert_int_equal(dvm_device_get(vm, v0, groups[i], 0, buf), 0);
		assert_int_equal(dvm_device_set(vm, v0, groups[i], 0, buf), 0);
	}
	if (dvm_device_has(vm, v0, DVM_VCPU_GRP_XSAVE, 0) == 0)
		assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_XSAVE, 0, buf), 0);
	assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_REGS, 0, (void *)16), -EFAULT);
	dvm_vm_shutdown(vm);
}

/* Real-mode code at 0x1000: `jmp $`. */
static void state_is_busy_while_running_and_readable_when_paused(void **state)
{
	(void)state;
	struct dvm_vm *vm = new_vm();
	create(vm, DVM_DEV_TYPE_PIC);
	int v0 = create(vm, DVM_DEV_TYPE_VCPU);
	uint8_t *mem = dvm_vm_gpa_to_hva(vm, 0x1000, 2);
	assert_non_null(mem);
	mem[0] = 0xeb;
	mem[1] = 0xfe;
	struct kvm_sregs s;
	assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_SREGS, 0, &s), 0);
	s.cs.base = 0;
	s.cs.selector = 0;
	assert_int_equal(dvm_device_set(vm, v0, DVM_VCPU_GRP_SREGS, 0, &s), 0);
	struct kvm_regs r = {.rip = 0x1000, .rflags = 2};
	assert_int_equal(dvm_device_set(vm, v0, DVM_VCPU_GRP_REGS, 0, &r), 0);

	assert_int_equal(dvm_vm_start(vm), 0);
	assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_REGS, 0, &r), -EBUSY);
	/* Configuration is fixed once running. */
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_VCPU};
	assert_int_equal(dvm_create_device(vm, &cd), -EBUSY);
	assert_int_equal(dvm_vm_pause(vm), 0);
	assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_REGS, 0, &r), 0);
	assert_true(r.rip == 0x1000 || r.rip == 0x1002);
	assert_int_equal(dvm_vm_resume(vm), 0);
	assert_int_equal(dvm_device_get(vm, v0, DVM_VCPU_GRP_REGS, 0, &r), -EBUSY);
	dvm_vm_request_stop(vm, DVM_STOP_POWEROFF, 0, "test done");
	enum dvm_stop_reason reason;
	assert_int_equal(dvm_vm_wait(vm, &reason, NULL), 0);
	assert_int_equal(reason, DVM_STOP_POWEROFF);
	dvm_vm_shutdown(vm);
}

static void irq_line_goes_to_kernel_irqchip(void **state)
{
	(void)state;
	struct dvm_vm *vm = new_vm();
	assert_false(dvm_irq_has_kernel_irqchip(vm));
	create(vm, DVM_DEV_TYPE_IOAPIC);
	assert_true(dvm_irq_has_kernel_irqchip(vm));
	assert_int_equal(dvm_irq_set_line(vm, 4, 1), 0);
	assert_int_equal(dvm_irq_get_line(vm, 4), 1);
	assert_int_equal(dvm_irq_set_line(vm, 4, 0), 0);
	assert_int_equal(dvm_irq_set_line(vm, 99, 1), -EINVAL);
	dvm_vm_shutdown(vm);
}

static void irqchip_after_vcpu_is_busy(void **state)
{
	(void)state;
	struct dvm_vm *vm = new_vm();
	create(vm, DVM_DEV_TYPE_VCPU);
	struct kvm_create_device cd = {.type = DVM_DEV_TYPE_PIC};
	assert_int_equal(dvm_create_device(vm, &cd), -EBUSY);
	dvm_vm_shutdown(vm);
}

int main(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("SKIP: /dev/kvm not available (%s)\n", strerror(errno));
		return 77;
	}
	close(fd);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(irqchip_types_are_singletons_and_stay),
	    cmocka_unit_test(vcpu_state_groups),
	    cmocka_unit_test(state_is_busy_while_running_and_readable_when_paused),
	    cmocka_unit_test(irq_line_goes_to_kernel_irqchip),
	    cmocka_unit_test(irqchip_after_vcpu_is_busy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
