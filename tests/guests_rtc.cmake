# The MC146818 RTC (cmos-rtc) from a guest: time in every mode, setting it,
# periodic/update/alarm interrupts on IRQ 8 through the 8259s, and the CMOS
# memory-size bytes for the --memory and --cpus given.
dvm_guest_test(guest_rtc
  --timeout 60 --status 165
  --stdout "rtc: registers ok" --stdout "rtc: cmos memory 128 MiB, 1 cpus ok"
  --stdout "rtc: bcd/binary/12h/24h agree" --stdout "rtc: periodic 16 irqs"
  --stdout "rtc: set and read back under SET"
  --stdout "rtc: update-ended irq, clock continues from the time set"
  --stdout "rtc: alarm irq at 00:00:01, leap day rolled over"
  --stdout "rtc: 12 AM and 12 PM ok" --stdout "rtc: all ok"
  -- ${DVM_RUN} --memory 128M --cpus 1 --cmdline "mem=128 cpus=1" ${DVM_TEST_GUESTS}/rtc.elf)
# RAM above 4 GiB (dvm maps 3 GiB below, the rest from 4 GiB) and a second
# CPU: CMOS 0x5b-0x5d and 0x5f follow --memory and --cpus.
dvm_guest_test(guest_rtc_bigmem
  --timeout 60 --status 165
  --stdout "rtc: cmos memory 5120 MiB, 2 cpus ok" --stdout "rtc: all ok"
  -- ${DVM_RUN} --memory 5G --cpus 2 --cmdline "mem=5120 cpus=2" ${DVM_TEST_GUESTS}/rtc.elf)
