dvm_guest(halt.elf 32 start32.S link32.ld ${DVM_GUEST_SRC}/halt.c)
