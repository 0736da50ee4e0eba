/* SPDX-License-Identifier: MIT */
/* VM lifetime, guest memory, run state, pause and stop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vm_internal.h"
#include "dvm/runner.h"

void dvm_devices_teardown(struct dvm_vm *vm);

/* A forked child shares no VM with its parent: the kernel answers EIO when a
 * device handle is used from another mm; so does dvm, at no cost per call. */
static atomic_int forked;
static void mark_forked(void)
{
	atomic_store(&forked, 1);
}
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void install_atfork(void)
{
	pthread_atfork(NULL, NULL, mark_forked);
}

bool dvm_vm_foreign(const struct dvm_vm *vm)
{
	(void)vm;
	return atomic_load_explicit(&forked, memory_order_relaxed);
}

static void kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return with EINTR */
}

static int install_kick_handler(void)
{
	struct sigaction sa = {.sa_handler = kick_handler};
	sigemptyset(&sa.sa_mask);
	return sigaction(DVM_KICK_SIGNAL, &sa, NULL) ? -errno : 0;
}

/* Slot 0: RAM below the 3 GiB hole at GPA 0; slot 1: the rest from 4 GiB.
 * Setting a slot again with other flags is how KVM turns logging on/off. */
static int set_ram_slots(struct dvm_vm *vm, uint32_t flags)
{
	uint64_t size = vm->mem_size;
	uint64_t low = size < DVM_LOW_RAM_LIMIT ? size : DVM_LOW_RAM_LIMIT;
	struct kvm_userspace_memory_region region = {.slot = 0,
						     .flags = flags,
						     .guest_phys_addr = 0,
						     .memory_size = low,
						     .userspace_addr = (uintptr_t)vm->mem};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region))
		return -errno;
	if (size > low) {
		region.slot = 1;
		region.guest_phys_addr = DVM_HIGH_RAM_BASE;
		region.memory_size = size - low;
		region.userspace_addr = (uintptr_t)vm->mem + low;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region))
			return -errno;
	}
	return 0;
}

static int setup_memory(struct dvm_vm *vm, uint64_t size, int mem_fd)
{
	/* Lazily backed: pages cost nothing until the guest touches them; a
	 * restored VM's come from the snapshot file, copy-on-write. */
	void *mem;

	if (mem_fd >= 0) {
		struct stat st;
		if (fstat(mem_fd, &st))
			return -errno;
		if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < size)
			return -EINVAL;
		mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, mem_fd,
			   0);
	} else {
		mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (mem == MAP_FAILED)
		return -errno;
	madvise(mem, size, MADV_MERGEABLE);
	vm->mem = mem;
	vm->mem_size = size;
	if (vm->vm_fd < 0)
		return 0;

	return set_ram_slots(vm, 0);
}

static int setup_kvm(struct dvm_vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return -errno;
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return -EINVAL;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return -errno;
	/* Intel needs these three pages below 4 GiB kept away from RAM. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		return -errno;
	uint64_t identity_map = 0xfffbc000ull;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0)
		return -errno;
	return 0;
}

#define DVM_MAX_MEM_SIZE (1ull << 40)

int dvm_vm_create(const struct dvm_vm_config *cfg, struct dvm_vm **out)
{
	struct dvm_vm *vm;
	int ret;

	if (!cfg || !out)
		return -EINVAL;
	if (cfg->mem_size == 0 || cfg->mem_size > DVM_MAX_MEM_SIZE || (cfg->mem_size & 4095))
		return -EINVAL;
	pthread_once(&atfork_once, install_atfork);
	ret = install_kick_handler();
	if (ret)
		return ret;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->flags = cfg->flags;
	vm->devices_tail = &vm->devices;
	vm->console_in = 0;
	vm->console_out = 1;
	atomic_init(&vm->refs, 1);
	atomic_init(&vm->state, DVM_VM_CONFIGURING);
	pthread_mutex_init(&vm->lock, NULL);
	pthread_rwlock_init(&vm->handles_lock, NULL);
	for (int s = 0; s < DVM_BUS_NR; s++)
		pthread_rwlock_init(&vm->bus[s].lock, NULL);
	pthread_mutex_init(&vm->state_lock, NULL);
	pthread_mutex_init(&vm->irq_lock, NULL);
	pthread_mutex_init(&vm->event_lock, NULL);
	pthread_cond_init(&vm->state_cond, NULL);

	if (!(cfg->flags & DVM_VM_NO_KVM)) {
		ret = setup_kvm(vm);
		if (ret)
			goto fail;
	}
	ret = setup_memory(vm, cfg->mem_size, (cfg->flags & DVM_VM_MEM_FILE) ? cfg->mem_fd : -1);
	if (ret)
		goto fail;
	*out = vm;
	return 0;
fail:
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	free(vm);
	return ret;
}

void dvm_vm_get_ref(struct dvm_vm *vm)
{
	atomic_fetch_add(&vm->refs, 1);
}

bool dvm_vm_stop_info(struct dvm_vm *vm, enum dvm_stop_reason *reason, int *status, char *message,
		      size_t len)
{
	bool stopped;

	pthread_mutex_lock(&vm->state_lock);
	stopped = vm->stop_reason != DVM_STOP_NONE;
	if (reason)
		*reason = vm->stop_reason;
	if (status)
		*status = vm->stop_status;
	if (message && len)
		snprintf(message, len, "%s", stopped ? vm->stop_message : "");
	pthread_mutex_unlock(&vm->state_lock);
	return stopped;
}

static void stop_runners(struct dvm_vm *vm);

static void teardown(struct dvm_vm *vm)
{
	dvm_vm_request_stop(vm, DVM_STOP_POWEROFF, 0, "VM torn down");
	stop_runners(vm);
	/* Arch teardown first, then the devices, as the kernel does. */
	dvm_devices_teardown(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	munmap(vm->mem, vm->mem_size);
	for (int s = 0; s < DVM_BUS_NR; s++) {
		free(vm->bus[s].ranges);
		pthread_rwlock_destroy(&vm->bus[s].lock);
	}
	free(vm->runners);
	pthread_mutex_destroy(&vm->lock);
	pthread_rwlock_destroy(&vm->handles_lock);
	pthread_mutex_destroy(&vm->state_lock);
	pthread_mutex_destroy(&vm->irq_lock);
	pthread_mutex_destroy(&vm->event_lock);
	pthread_cond_destroy(&vm->state_cond);
	free(vm);
}

void dvm_vm_put(struct dvm_vm *vm)
{
	if (vm && atomic_fetch_sub(&vm->refs, 1) == 1)
		teardown(vm);
}

bool dvm_vm_has_kvm(const struct dvm_vm *vm)
{
	return vm->vm_fd >= 0;
}

int dvm_vm_kvm_fd(const struct dvm_vm *vm)
{
	return vm->kvm_fd;
}

int dvm_vm_fd(const struct dvm_vm *vm)
{
	return vm->vm_fd;
}

int dvm_vm_check_extension(const struct dvm_vm *vm, long cap)
{
	if (vm->vm_fd < 0)
		return 0;
	int r = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

uint64_t dvm_vm_mem_size(const struct dvm_vm *vm)
{
	return vm->mem_size;
}

void *dvm_vm_gpa_to_hva(struct dvm_vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t low = vm->mem_size < DVM_LOW_RAM_LIMIT ? vm->mem_size : DVM_LOW_RAM_LIMIT;

	if (gpa < low) {
		if (len > low - gpa)
			return NULL;
		return vm->mem + gpa;
	}
	if (gpa >= DVM_HIGH_RAM_BASE && vm->mem_size > low) {
		uint64_t off = gpa - DVM_HIGH_RAM_BASE, high = vm->mem_size - low;
		if (off >= high || len > high - off)
			return NULL;
		return vm->mem + low + off;
	}
	return NULL;
}

/*
 * Changing a page's protection makes the kernel call the MMU notifiers for
 * it, and KVM's notifier zaps its mapping of that page; the next guest access
 * faults it back in.  Contents stay (the anonymous page itself is untouched).
 * Adding and then dropping PROT_EXEC does that without ever making the page
 * unreadable or unwritable, so vCPU threads, KVM's own accesses and devices
 * reading guest memory meanwhile are never refused.  (QEMU's pc-testdev goes
 * through PROT_NONE, which would fault such a concurrent access.)  The VMA
 * split by the first call merges back with the second.
 */
int dvm_vm_drop_guest_page(struct dvm_vm *vm, uint64_t gpa)
{
	void *hva = dvm_vm_gpa_to_hva(vm, gpa & ~4095ull, 4096);

	if (!hva)
		return -EFAULT;
	if (mprotect(hva, 4096, PROT_READ | PROT_WRITE | PROT_EXEC))
		return -errno; /* e.g. a policy forbidding executable anonymous memory */
	if (mprotect(hva, 4096, PROT_READ | PROT_WRITE)) {
		/* Can't happen (we only take away what we added); it stays usable. */
		return -errno;
	}
	return 0;
}

/* ---- dirty-page logging ---- */

size_t dvm_vm_dirty_bitmap_words(const struct dvm_vm *vm)
{
	return (size_t)((vm->mem_size / 4096 + 63) / 64);
}

void *dvm_vm_ram_hva(struct dvm_vm *vm, uint64_t offset)
{
	return offset < vm->mem_size ? vm->mem + offset : NULL;
}

static int dirty_log_set(struct dvm_vm *vm, bool on)
{
	int ret;

	if (vm->vm_fd < 0)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&vm->state_lock);
	if (vm->dirty_logging == on) {
		ret = on ? -EBUSY : -EINVAL;
	} else {
		ret = set_ram_slots(vm, on ? KVM_MEM_LOG_DIRTY_PAGES : 0);
		if (!ret)
			vm->dirty_logging = on;
	}
	pthread_mutex_unlock(&vm->state_lock);
	return ret;
}

int dvm_vm_dirty_log_start(struct dvm_vm *vm)
{
	return dirty_log_set(vm, true);
}

int dvm_vm_dirty_log_stop(struct dvm_vm *vm)
{
	return dirty_log_set(vm, false);
}

int dvm_vm_dirty_log_get(struct dvm_vm *vm, uint64_t *bitmap)
{
	uint64_t low = vm->mem_size < DVM_LOW_RAM_LIMIT ? vm->mem_size : DVM_LOW_RAM_LIMIT;
	uint64_t low_pages = low / 4096, high_pages = (vm->mem_size - low) / 4096;
	size_t words = dvm_vm_dirty_bitmap_words(vm);
	int ret = 0;

	if (vm->vm_fd < 0)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&vm->state_lock);
	if (!vm->dirty_logging) {
		pthread_mutex_unlock(&vm->state_lock);
		return -EINVAL;
	}
	/* KVM fills whole 64-bit words per slot: slot 0 fits the bitmap as is
	 * (3 GiB is a multiple of 64 pages, or it is all of RAM). */
	memset(bitmap, 0, words * 8);
	struct kvm_dirty_log log = {.slot = 0, .dirty_bitmap = bitmap};
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log))
		ret = -errno;
	if (!ret && high_pages) {
		/* low_pages is a multiple of 64 here (3 GiB), so slot 1 starts on a word. */
		log = (struct kvm_dirty_log){.slot = 1, .dirty_bitmap = bitmap + low_pages / 64};
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log))
			ret = -errno;
	}
	pthread_mutex_unlock(&vm->state_lock);
	return ret;
}

void dvm_vm_set_console(struct dvm_vm *vm, int in_fd, int out_fd)
{
	vm->console_in = in_fd;
	vm->console_out = out_fd;
}

int dvm_vm_console_in(const struct dvm_vm *vm)
{
	return vm->console_in;
}

int dvm_vm_console_out(const struct dvm_vm *vm)
{
	return vm->console_out;
}

/* ---- run state ---- */

enum dvm_vm_state dvm_vm_state(const struct dvm_vm *vm)
{
	return (enum dvm_vm_state)atomic_load_explicit(&vm->state, memory_order_relaxed);
}

bool dvm_vm_started(const struct dvm_vm *vm)
{
	return __atomic_load_n(&vm->started, __ATOMIC_ACQUIRE);
}

/* Under state_lock: push every runner out of KVM_RUN.  immediate_exit covers
 * a runner that has not entered KVM_RUN yet; the signal one that has. */
static void kick_runners_locked(struct dvm_vm *vm)
{
	for (unsigned i = 0; i < vm->nr_runners; i++) {
		struct dvm_runner *r = vm->runners[i];
		__atomic_store_n(&r->run->immediate_exit, 1, __ATOMIC_RELEASE);
		if (!pthread_equal(r->thread, pthread_self()))
			pthread_kill(r->thread, DVM_KICK_SIGNAL);
	}
}

void dvm_vm_request_stop(struct dvm_vm *vm, enum dvm_stop_reason reason, int status,
			 const char *message)
{
	pthread_mutex_lock(&vm->state_lock);
	if (vm->stop_reason == DVM_STOP_NONE) {
		vm->stop_reason = reason;
		vm->stop_status = status;
		snprintf(vm->stop_message, sizeof(vm->stop_message), "%s", message ? message : "");
		atomic_store(&vm->state, DVM_VM_STOPPED);
		kick_runners_locked(vm);
		pthread_cond_broadcast(&vm->state_cond);
	}
	pthread_mutex_unlock(&vm->state_lock);
}

static void stop_runners(struct dvm_vm *vm)
{
	pthread_mutex_lock(&vm->state_lock);
	unsigned n = vm->nr_runners;
	struct dvm_runner **rs = vm->runners;
	pthread_mutex_unlock(&vm->state_lock);
	for (unsigned i = 0; i < n; i++) {
		if (!pthread_equal(rs[i]->thread, pthread_self()))
			pthread_join(rs[i]->thread, NULL);
		free(rs[i]);
	}
	pthread_mutex_lock(&vm->state_lock);
	vm->nr_runners = 0;
	vm->nr_exited = 0;
	pthread_mutex_unlock(&vm->state_lock);
}

int dvm_vm_start(struct dvm_vm *vm)
{
	int ret = 0;

	if (dvm_vm_state(vm) != DVM_VM_CONFIGURING)
		return -EBUSY;
	pthread_mutex_lock(&vm->lock);
	__atomic_store_n(&vm->started, true, __ATOMIC_RELEASE);
	atomic_store(&vm->state, DVM_VM_RUNNING);
	for (struct dvm_device *d = vm->devices; d && !ret; d = d->next) {
		if (d->ops->start) {
			ret = d->ops->start(d);
			if (ret)
				dvm_device_report(d, ret, "failed to start");
		}
	}
	pthread_mutex_unlock(&vm->lock);
	if (ret)
		dvm_vm_request_stop(vm, DVM_STOP_HOST_ERROR, DVM_STATUS_HOST_ERROR,
				    "a device failed to start");
	return ret;
}

int dvm_vm_wait(struct dvm_vm *vm, enum dvm_stop_reason *reason, const char **message)
{
	pthread_mutex_lock(&vm->state_lock);
	while (vm->stop_reason == DVM_STOP_NONE)
		pthread_cond_wait(&vm->state_cond, &vm->state_lock);
	pthread_mutex_unlock(&vm->state_lock);
	stop_runners(vm);
	if (reason)
		*reason = vm->stop_reason;
	if (message)
		*message = vm->stop_message;
	return vm->stop_status;
}

/* Under state_lock: one more pause; the first stops the vCPUs. */
static int pause_locked(struct dvm_vm *vm)
{
	enum dvm_vm_state st = atomic_load(&vm->state);

	if (st != DVM_VM_RUNNING && st != DVM_VM_PAUSED)
		return -EINVAL;
	vm->pause_depth++;
	if (st == DVM_VM_RUNNING) {
		atomic_store(&vm->state, DVM_VM_PAUSED);
		kick_runners_locked(vm);
	}
	return 0;
}

int dvm_vm_pause(struct dvm_vm *vm)
{
	pthread_mutex_lock(&vm->state_lock);
	int ret = pause_locked(vm);
	while (!ret && atomic_load(&vm->state) == DVM_VM_PAUSED &&
	       vm->nr_parked + vm->nr_exited < vm->nr_runners)
		pthread_cond_wait(&vm->state_cond, &vm->state_lock);
	pthread_mutex_unlock(&vm->state_lock);
	return ret;
}

int dvm_vm_request_pause(struct dvm_vm *vm)
{
	pthread_mutex_lock(&vm->state_lock);
	int ret = pause_locked(vm);
	pthread_mutex_unlock(&vm->state_lock);
	return ret;
}

static int resume_locked(struct dvm_vm *vm)
{
	if (atomic_load(&vm->state) != DVM_VM_PAUSED || vm->pause_depth == 0)
		return -EINVAL;
	if (--vm->pause_depth == 0) {
		atomic_store(&vm->state, DVM_VM_RUNNING);
		pthread_cond_broadcast(&vm->state_cond);
	}
	return 0;
}

int dvm_vm_resume(struct dvm_vm *vm)
{
	pthread_mutex_lock(&vm->state_lock);
	int ret = resume_locked(vm);
	pthread_mutex_unlock(&vm->state_lock);
	return ret;
}

int dvm_vm_pause_operator(struct dvm_vm *vm)
{
	int ret = dvm_vm_pause(vm);
	if (ret == 0) {
		pthread_mutex_lock(&vm->state_lock);
		vm->operator_pauses++;
		pthread_mutex_unlock(&vm->state_lock);
	}
	return ret;
}

int dvm_vm_resume_operator(struct dvm_vm *vm)
{
	int ret;

	pthread_mutex_lock(&vm->state_lock);
	if (vm->operator_pauses == 0)
		ret =
		    atomic_load(&vm->state) == DVM_VM_PAUSED && vm->pause_depth ? -EBUSY : -EINVAL;
	else if ((ret = resume_locked(vm)) == 0)
		vm->operator_pauses--;
	pthread_mutex_unlock(&vm->state_lock);
	return ret;
}

int dvm_vm_pause_to_operator(struct dvm_vm *vm)
{
	int ret = -EINVAL;

	pthread_mutex_lock(&vm->state_lock);
	if (atomic_load(&vm->state) == DVM_VM_PAUSED && vm->pause_depth > vm->operator_pauses) {
		vm->operator_pauses++;
		ret = 0;
	}
	pthread_mutex_unlock(&vm->state_lock);
	return ret;
}

void dvm_vm_pauses(struct dvm_vm *vm, unsigned *operator_pauses, unsigned *all)
{
	pthread_mutex_lock(&vm->state_lock);
	bool paused = atomic_load(&vm->state) == DVM_VM_PAUSED;
	*operator_pauses = paused ? vm->operator_pauses : 0;
	*all = paused ? vm->pause_depth : 0;
	pthread_mutex_unlock(&vm->state_lock);
}

static void *runner_main(void *arg)
{
	struct dvm_runner *r = arg;
	r->fn(r, r->arg);
	return NULL;
}

int dvm_runner_start(struct dvm_vm *vm, struct kvm_run *run,
		     void (*fn)(struct dvm_runner *r, void *arg), void *arg)
{
	struct dvm_runner *r = calloc(1, sizeof(*r));
	int ret = 0;

	if (!r)
		return -ENOMEM;
	r->run = run;
	r->fn = fn;
	r->arg = arg;
	/* Under the lock, so a kick or a join never sees a runner without its thread. */
	pthread_mutex_lock(&vm->state_lock);
	if (vm->nr_runners == vm->cap_runners) {
		unsigned cap = vm->cap_runners ? vm->cap_runners * 2 : 8;
		struct dvm_runner **n = realloc(vm->runners, cap * sizeof(*n));
		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		vm->runners = n;
		vm->cap_runners = cap;
	}
	ret = -pthread_create(&r->thread, NULL, runner_main, r);
	if (ret == 0)
		vm->runners[vm->nr_runners++] = r;
out:
	pthread_mutex_unlock(&vm->state_lock);
	if (ret)
		free(r);
	return ret;
}

bool dvm_runner_wait_runnable(struct dvm_vm *vm, struct dvm_runner *r)
{
	bool runnable;

	pthread_mutex_lock(&vm->state_lock);
	while (atomic_load(&vm->state) == DVM_VM_PAUSED) {
		vm->nr_parked++;
		pthread_cond_broadcast(&vm->state_cond);
		pthread_cond_wait(&vm->state_cond, &vm->state_lock);
		vm->nr_parked--;
	}
	runnable = atomic_load(&vm->state) == DVM_VM_RUNNING;
	if (runnable)
		__atomic_store_n(&r->run->immediate_exit, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->state_lock);
	return runnable;
}

void dvm_runner_exit(struct dvm_vm *vm, struct dvm_runner *r)
{
	(void)r;
	pthread_mutex_lock(&vm->state_lock);
	vm->nr_exited++;
	pthread_cond_broadcast(&vm->state_cond);
	pthread_mutex_unlock(&vm->state_lock);
}
