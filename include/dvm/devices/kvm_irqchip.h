/* SPDX-License-Identifier: MIT */
/* `pic`, `ioapic` and `pit`: KVM's in-kernel interrupt controllers and timer. */
#ifndef DVM_DEVICES_KVM_IRQCHIP_H
#define DVM_DEVICES_KVM_IRQCHIP_H

/* pic: group 1, attr 0 "master", 1 "slave": struct kvm_pic_state each. */
#define DVM_PIC_GRP_STATE 1
#define DVM_PIC_MASTER 0
#define DVM_PIC_SLAVE 1
/* ioapic: group 1, attr 0 "state": struct kvm_ioapic_state. */
#define DVM_IOAPIC_GRP_STATE 1
/* pit: group 1 attr 0 "state":
 * struct kvm_pit_state2. */

#define DVM_PIT_GRP_STATE 1

#endif
