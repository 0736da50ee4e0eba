# fw-cfg: reads QEMU's fw_cfg items and files through ports 0x510/0x511.
dvm_guest(fwcfg.elf 32 start32.S link32.ld ${DVM_GUEST_SRC}/fwcfg.c)
