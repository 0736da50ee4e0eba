# Emulated ISA devices: serial-8250, i8042, debug-exit (no /dev/kvm needed).
dvm_unit_test(test_emulated_devices test_emulated_devices.c)
