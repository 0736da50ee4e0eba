dvm_unit_test(test_cpuid test_cpuid.c)
