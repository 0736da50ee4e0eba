# fw-cfg seen by a guest through ports 0x510/0x511 (guests/fwcfg.c): the
# signature, ID, NB_CPUS and RAM_SIZE against --cpus/--memory, KERNEL_DATA
# empty (kvm-unit-tests' MAX_RAM), FILE_DIR and a --fw-cfg file, and the
# command line in CMDLINE_DATA.  Success is debug_exit(0x20): status 65.
set(DVM_FWCFG_OK
  --stdout "fwcfg: signature QEMU" --stdout "fwcfg: id 1"
  --stdout "fwcfg: kernel-data 0 ok" --stdout "fwcfg: unknown selectors read 0"
  --stdout "fwcfg: cmdline ok" --stdout "fwcfg: all ok")
dvm_guest_test(guest_fwcfg_string
  --status 65 ${DVM_FWCFG_OK}
  --stdout "fwcfg: cpus 2 ok" --stdout "fwcfg: max-cpus 2 ok" --stdout "fwcfg: ram 64 MiB ok"
  --stdout "fwcfg: files 1" --stdout "fwcfg: greeting size 12"
  --stdout "fwcfg: greeting hello-fw-cfg" --stdout "fwcfg: cmdline cpus=2 mem=64"
  -- ${DVM_RUN} --cpus 2 --memory 64M --append "cpus=2 mem=64"
     --fw-cfg name=opt/dvm/greeting,string=hello-fw-cfg ${DVM_TEST_GUESTS}/fwcfg.elf)
# From a file, next to a file that sorts before it (so the greeting is not
# at the first selector), and ",," for a comma in a string.
dvm_guest_test(guest_fwcfg_file
  --write ${DVM_TEST_SCRATCH}/fwcfg-greeting.txt "greetings, from a file\\nsecond line\\n"
  --status 65 ${DVM_FWCFG_OK}
  --stdout "fwcfg: cpus 1 ok" --stdout "fwcfg: ram 48 MiB ok" --stdout "fwcfg: files 2"
  --stdout "fwcfg: greeting size 35" --stdout "fwcfg: greeting greetings, from a file"
  -- ${DVM_RUN} --memory 48M --append "cpus=1 mem=48"
     --fw-cfg name=opt/dvm/greeting,file=${DVM_TEST_SCRATCH}/fwcfg-greeting.txt
     --fw-cfg name=opt/a/first,string=a,,b ${DVM_TEST_GUESTS}/fwcfg.elf)
dvm_guest_test(guest_fwcfg_comma
  --status 65 ${DVM_FWCFG_OK} --stdout "fwcfg: greeting hi, there"
  -- ${DVM_RUN} --append "x" --fw-cfg "name=opt/dvm/greeting,string=hi,, there"
     ${DVM_TEST_GUESTS}/fwcfg.elf)
# The guest's checks can fail: RAM_SIZE is not what mem= says (code 5), and
# without the file it says so (code 8).
dvm_guest_test(guest_fwcfg_wrong_ram
  --status 11 --stdout "fwcfg: FAIL RAM_SIZE differs from mem="
  -- ${DVM_RUN} --memory 64M --append "mem=32" ${DVM_TEST_GUESTS}/fwcfg.elf)
dvm_guest_test(guest_fwcfg_no_file
  --status 17 --stdout "fwcfg: files 0" --stdout "fwcfg: FAIL opt/dvm/greeting not in FILE_DIR"
  -- ${DVM_RUN} --append "x" ${DVM_TEST_GUESTS}/fwcfg.elf)
