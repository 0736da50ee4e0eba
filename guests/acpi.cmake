dvm_guest(acpi.elf 32 start32.S link32.ld ${DVM_GUEST_SRC}/acpi.c)
