# pc-testdev: everything on a VM without /dev/kvm; the page drop also on a
# KVM VM with a vCPU (test_pc_testdev_kvm skips without /dev/kvm).
dvm_unit_test(test_pc_testdev test_pc_testdev.c)
add_test(NAME test_pc_testdev_kvm COMMAND test_pc_testdev --kvm)
set_tests_properties(test_pc_testdev_kvm PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
