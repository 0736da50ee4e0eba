dvm_guest(counter.elf 32 start32.S link32.ld ${DVM_GUEST_SRC}/counter.c)
