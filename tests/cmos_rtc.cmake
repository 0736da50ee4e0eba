# cmos-rtc: the MC146818 RTC and CMOS, on a VM without /dev/kvm.
dvm_unit_test(test_cmos_rtc test_cmos_rtc.c)
