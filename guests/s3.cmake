dvm_guest(s3.elf 32 start32.S link32.ld ${DVM_GUEST_SRC}/s3.c)
