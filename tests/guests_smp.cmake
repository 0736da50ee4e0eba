# SMP, CPUID control and the halt watchdog.
foreach(n 1 2 4)
  math(EXPR last "${n} - 1")
  dvm_guest_test(guest_smp_${n}
    --status 97 --stdout "smp: ${n} of ${n} cpus online"
    --stdout "smp: apic ids 0..${last} match cpuid leaves 1 and 0xb"
    -- ${DVM_RUN} --cpus ${n} --append cpus=${n} ${DVM_TEST_GUESTS}/smp.elf)
endforeach()
# The guest's count must come from the CPUs, not from its command line.
dvm_guest_test(guest_smp_fewer_than_asked
  --status 5 --stdout "smp: 2 of 3 cpus online" --stdout "FAIL: not every CPU came up"
  -- ${DVM_RUN} --cpus 2 --append cpus=3 ${DVM_TEST_GUESTS}/smp.elf)

dvm_guest_test(guest_cpuid_default
  --status 99 --stdout "cpuid: x2apic=1" --stdout "cpuid: hypervisor=1"
  -- ${DVM_RUN} ${DVM_TEST_GUESTS}/cpuid.elf)
dvm_guest_test(guest_cpuid_edit
  --status 99 --stdout "cpuid: x2apic=0" --stdout "cpuid: hypervisor=0" --stdout "cpuid: sse2=1"
  -- ${DVM_RUN} --cpu host,-x2apic,hypervisor=off ${DVM_TEST_GUESTS}/cpuid.elf)
dvm_guest_test(guest_cpuid_unknown_feature
  --status 2 --stderr "unknown cpu feature 'no-such-feature'"
  -- ${DVM_RUN} --cpu +no-such-feature ${DVM_TEST_GUESTS}/cpuid.elf)
# KVM never offers the thermal monitor: adding it must be refused, not dropped.
dvm_guest_test(guest_cpuid_unavailable_feature
  --status 2 --stderr "cpu feature 'tm' is not available on this host"
  -- ${DVM_RUN} --cpu +tm ${DVM_TEST_GUESTS}/cpuid.elf)
dvm_guest_test(guest_cpuid_bad_syntax
  --status 2 --stderr "expected =on or =off"
  -- ${DVM_RUN} --cpu x2apic=maybe ${DVM_TEST_GUESTS}/cpuid.elf)

dvm_guest_test(guest_halt_forever
  --status 8 --stdout "halt: halting for good with interrupts off"
  --stderr "guest halted with interrupts off on every vCPU"
  -- ${DVM_RUN} --halt-timeout 0.3 ${DVM_TEST_GUESTS}/halt.elf)
# Asleep with interrupts on for longer than the timeout: not a halt.
dvm_guest_test(guest_halt_with_interrupts_on
  --status 8 --stdout "halt: woke after 1000 ms" --stdout "halt: halting for good with interrupts off"
  -- ${DVM_RUN} --halt-timeout 0.2 --append wait=1000 ${DVM_TEST_GUESTS}/halt.elf)
# APs parked with cli; hlt while the BSP still runs: not a halt either (smp.elf's
# BSP spins while they park, then exits through debug-exit).
dvm_guest_test(guest_halt_aps_parked
  --status 97 --stdout "smp: 4 of 4 cpus online"
  -- ${DVM_RUN} --halt-timeout 0.05 --cpus 4 --append cpus=4 ${DVM_TEST_GUESTS}/smp.elf)
