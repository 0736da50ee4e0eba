# fw-cfg: unit tests (no /dev/kvm needed).
dvm_unit_test(test_fw_cfg test_fw_cfg.c)
