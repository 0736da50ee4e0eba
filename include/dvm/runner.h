/* SPDX-License-Identifier: MIT */
/* What a device that owns a guest-running thread (the vCPU) needs from the VM. */
#ifndef DVM_RUNNER_H
#define DVM_RUNNER_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

struct dvm_vm;
struct dvm_runner;

/* Start a runner thread calling fn(runner, arg); `run` is its kvm_run page.
 * The VM joins it when it stops. */
int dvm_runner_start(struct dvm_vm *vm, struct kvm_run *run,
		     void (*fn)(struct dvm_runner *r, void *arg), void *arg);
/* Block while the VM is paused.  Returns false when the VM has stopped and the
 * thread must leave.  On true the caller may enter KVM_RUN. */
bool dvm_runner_wait_runnable(struct dvm_vm *vm, struct dvm_runner *r);
/* The thread leaves (after a stop). */
void dvm_runner_exit(struct dvm_vm *vm, struct dvm_runner *r);

#endif
