dvm_guest(rtc.elf 32 start32.S link32.ld ${DVM_GUEST_SRC}/rtc.c)
