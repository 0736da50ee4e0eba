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

# JSON machine files: the command line's options by name; the command line wins.
set(DVM_MACHINE_JSON "{\"memory\": \"64M\", \"cpus\": 2, \"append\": \"cpus=2 mem=64\", \"fw-cfg\": [{\"name\": \"opt/dvm/greeting\", \"string\": \"hello-fw-cfg\"}], \"devices\": [{\"type\": \"serial-8250\", \"base\": \"0x2f8\", \"irq\": 3, \"console\": false}], \"guest\": \"${DVM_TEST_GUESTS}/fwcfg.elf\"}\\n")
dvm_guest_test(machine_file
  --write ${DVM_TEST_SCRATCH}/machine.json "${DVM_MACHINE_JSON}"
  --status 65 --stdout "fwcfg: all ok" --stdout "hello-fw-cfg"
  -- ${DVM_RUN} --machine ${DVM_TEST_SCRATCH}/machine.json)
# --cpus on the command line beats the file's 2: the guest's check fails (status 9).
dvm_guest_test(machine_file_cli_wins
  --write ${DVM_TEST_SCRATCH}/machine2.json "${DVM_MACHINE_JSON}"
  --status 9 --stdout "NB_CPUS differs"
  -- ${DVM_RUN} --machine ${DVM_TEST_SCRATCH}/machine2.json --cpus 1)
dvm_guest_test(machine_file_unknown_key
  --write ${DVM_TEST_SCRATCH}/machine-bad.json "{\"cpus\": 1, \"frobnicate\": true}\\n"
  --status 2 --stderr "unknown key \"frobnicate\""
  -- ${DVM_RUN} --machine ${DVM_TEST_SCRATCH}/machine-bad.json)
dvm_guest_test(machine_file_bad_json
  --write ${DVM_TEST_SCRATCH}/machine-broken.json "{\"cpus\": \\n"
  --status 2 --stderr "not valid JSON"
  -- ${DVM_RUN} --machine ${DVM_TEST_SCRATCH}/machine-broken.json)
dvm_guest_test(machine_file_bad_value
  --write ${DVM_TEST_SCRATCH}/machine-value.json "{\"cpus\": 300}\\n"
  --status 2 --stderr "--cpus 300: expected a number from 1 to 255"
  -- ${DVM_RUN} --machine ${DVM_TEST_SCRATCH}/machine-value.json)
