dvm_unit_test(test_bus test_bus.c)
