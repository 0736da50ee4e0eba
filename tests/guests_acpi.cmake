# ACPI tables, the PM timer and S5 power-off (guests/acpi.c), and the MP
# table (guests/mptable.c), with one and with four vCPUs.
set(DVM_ACPI_CHECKS
  --stdout "acpi: rsdp at 0x000e0000" --stdout "acpi: rsdp ok" --stdout "acpi: rsdt ok"
  --stdout "acpi: xsdt ok" --stdout "acpi: table FACP ok" --stdout "acpi: table APIC ok"
  --stdout "acpi: facs ok" --stdout "acpi: dsdt ok, _S5 slp_typ 0"
  --stdout "acpi: madt cpus ok" --stdout "acpi: madt ioapic ok" --stdout "acpi: pm timer ok"
  --stdout "acpi: powering off via S5")
dvm_guest_test(guest_acpi
  --status 0 ${DVM_ACPI_CHECKS} --stdout "acpi: madt cpus 1"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/acpi.elf)
dvm_guest_test(guest_acpi_4cpus
  --status 0 ${DVM_ACPI_CHECKS} --stdout "acpi: madt cpus 4"
  -- ${DVM_RUN} --cpus 4 --append cpus=4 ${DVM_TEST_GUESTS}/acpi.elf)
# -v: dvm says why it stopped, so the S5 path (not a reset or a crash) is checked.
dvm_guest_test(guest_acpi_s5_reason
  --status 0 --stdout "acpi: powering off via S5" --stderr "guest powered off (ACPI S5)"
  -- ${DVM_RUN} -v ${DVM_TEST_GUESTS}/acpi.elf)

set(DVM_MPTABLE_CHECKS
  --stdout "mptable: floating pointer ok" --stdout "mptable: config table ok"
  --stdout "mptable: bsp ok" --stdout "mptable: ioapic ok" --stdout "mptable: irq0 -> pin 2 ok")
dvm_guest_test(guest_mptable
  --status 85 ${DVM_MPTABLE_CHECKS} --stdout "mptable: cpus 1"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/mptable.elf)
dvm_guest_test(guest_mptable_4cpus
  --status 85 ${DVM_MPTABLE_CHECKS} --stdout "mptable: cpus 4"
  -- ${DVM_RUN} --cpus 4 --append cpus=4 ${DVM_TEST_GUESTS}/mptable.elf)
# More CPUs than the MADT can list: a clear usage error.
dvm_guest_test(guest_acpi_too_many_cpus
  --status 2 --stderr "--cpus 256: expected a number from 1 to 255"
  -- ${DVM_RUN} --cpus 256 ${DVM_TEST_GUESTS}/acpi.elf)
# Suspend to RAM, woken by the RTC alarm into the FACS waking vector in real
# mode; 167 = debug-exit 0x53 from the resume stub, which also checks that the
# CPU stopped at the sleep request.
dvm_guest_test(guest_acpi_s3
  --status 167 --stdout "s3: suspending to RAM"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/s3.elf)
