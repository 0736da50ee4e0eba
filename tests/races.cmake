dvm_unit_test(test_races test_races.c)
