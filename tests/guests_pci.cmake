# Guest tests of pci-host and pc-testdev (guests/pciwalk.c, guests/testdev.c).
# Each checked line is printed only once its checks have passed.
dvm_guest_test(guest_pciwalk
  --status 161 --stdout "pci: 00:00.0 8086:29c0 class 060000"
  --stdout "pci: bus 0: 1 functions, 31 empty slots"
  --stdout "pci: host bridge 8086:29c0 class 060000 ok"
  --stdout "pci: command writable, vendor ID read-only"
  --stdout "pci: byte and word reads agree with dwords"
  --stdout "pci: CONFIG_ADDRESS latch ok"
  --stdout "pci: all checks passed"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/pciwalk.elf)
dvm_guest_test(guest_testdev
  --status 169 --stdout "testdev: latch ok" --stdout "testdev: string io ok"
  --stdout "testdev: page drop ok" --stdout "testdev: irq lines ok"
  --stdout "testdev: iomem ok" --stdout "testdev: all checks passed"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/testdev.elf)
