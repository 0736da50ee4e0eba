# Guest tests of the core machine: the guests from issue 2.
dvm_guest_test(guest_hello
  --status 0 --stdout "Hello from the dvm guest!" --stdout "cmdline: ${DVM_TEST_GUESTS}/hello.elf"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/hello.elf)
dvm_guest_test(guest_hello_exit
  --status 7 --stdout "Hello from the dvm guest!" --stdout "cmdline: ${DVM_TEST_GUESTS}/hello.elf exit=3"
  -- ${DVM_RUN} --cmdline exit=3 ${DVM_TEST_GUESTS}/hello.elf)
dvm_guest_test(guest_timer
  --status 67 --stdout "timer: start" --stdout "timer: 3 ticks"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/timer.elf)
# The UART's THR-empty and receive interrupts through the in-kernel irqchip;
# the receive half reads "ping" typed on the console (dvm's stdin).
dvm_guest_test(guest_uartirq
  --stdin "ping\\n" --timeout 20
  --status 99 --stdout "uart: route pic" --stdout "uart: thre irq ok" --stdout "uart: got ping"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/uartirq.elf)
dvm_guest_test(guest_uartirq_ioapic
  --stdin "ping\\n" --timeout 20
  --status 99 --stdout "uart: route ioapic" --stdout "uart: thre irq ok" --stdout "uart: got ping"
  -- ${DVM_RUN} --cmdline ioapic=1 ${DVM_TEST_GUESTS}/uartirq.elf)
dvm_guest_test(guest_reboot
  --status 0 --stdout "rebooting"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/reboot.elf)
dvm_guest_test(guest_long64
  --status 11 --stdout "hello from long mode"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/long64.elf)
dvm_guest_test(guest_flat
  --status 15 --stdout "hello from a flat binary"
  -- ${DVM_RUN} --format flat --load-addr 0x100000 ${DVM_TEST_GUESTS}/flat.bin)
dvm_guest_test(guest_mbmods
  --write ${DVM_TEST_SCRATCH}/module.txt "first line of the module\\nsecond line\\n"
  --status 1 --stdout "modules: 1" --stdout "module0: ${DVM_TEST_SCRATCH}/module.txt"
  --stdout "data: first line of the module" --stdout "info: ok"
  -- ${DVM_RUN} --module ${DVM_TEST_SCRATCH}/module.txt ${DVM_TEST_GUESTS}/mbmods.elf)
# A truncated ELF64 header: the loader refuses it, a usage/config error.
dvm_guest_test(guest_malformed_elf
  --write ${DVM_TEST_SCRATCH}/truncated.elf "\\177ELF\\002\\001\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\002\\000\\076\\000"
  --status 2 --stderr "${DVM_TEST_SCRATCH}/truncated.elf" --stderr "ELF header truncated"
  -- ${DVM_RUN} ${DVM_TEST_SCRATCH}/truncated.elf)
# Not any known format.
dvm_guest_test(guest_unknown_format
  --write ${DVM_TEST_SCRATCH}/garbage.img "this is not a kernel image\\n"
  --status 2 --stderr "${DVM_TEST_SCRATCH}/garbage.img"
  -- ${DVM_RUN} ${DVM_TEST_SCRATCH}/garbage.img)
dvm_guest_test(guest_missing_file
  --status 2 --stderr "${DVM_TEST_SCRATCH}/no-such-guest.elf"
  -- ${DVM_RUN} ${DVM_TEST_SCRATCH}/no-such-guest.elf)
