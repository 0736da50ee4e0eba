dvm_guest(dirty.elf 32 start32.S link32.ld ${DVM_GUEST_SRC}/dirty.c)
