# acpi: the ACPI table builder and the PM registers; the MP table builder.
dvm_unit_test(test_acpi test_acpi.c)
dvm_unit_test(test_mptable test_mptable.c)
