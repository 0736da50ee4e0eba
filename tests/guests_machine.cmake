# --without: default devices left out, and the ones that can't be.
dvm_guest_test(guest_without_pit
  --status 0 --stdout "Hello from the dvm guest!"
  -- ${DVM_RUN} --without pit ${DVM_TEST_GUESTS}/hello.elf)
# Without the acpi device there are no tables: the guest must notice.
dvm_guest_test(guest_without_acpi
  --status 129 --stdout "acpi: FAIL no RSDP"
  -- ${DVM_RUN} --without acpi ${DVM_TEST_GUESTS}/acpi.elf)
dvm_guest_test(guest_without_irqchip_refused
  --status 2 --stderr "the pic and ioapic are KVM's in-kernel irqchip"
  -- ${DVM_RUN} --without pit,ioapic ${DVM_TEST_GUESTS}/hello.elf)
dvm_guest_test(guest_without_unknown_refused
  --status 2 --stderr "'vga' is not a device of the default machine"
  -- ${DVM_RUN} --without vga ${DVM_TEST_GUESTS}/hello.elf)
# The guest as adversary: nonsense to every port at every width and to MMIO;
# dvm must keep running and the report must still arrive (status 157 = 0x4e).
dvm_guest_test(guest_nonsense_everywhere
  --status 157 --stdout "nonsense: survived"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/nonsense.elf)
