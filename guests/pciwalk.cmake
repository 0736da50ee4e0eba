dvm_guest(pciwalk.elf 32 start32.S link32.ld ${DVM_GUEST_SRC}/pciwalk.c)
