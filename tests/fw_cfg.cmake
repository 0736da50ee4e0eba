# fw-cfg: unit tests (no /dev/kvm needed) and the --fw-cfg option's errors.
dvm_unit_test(test_fw_cfg test_fw_cfg.c)
add_test(NAME cli_fw_cfg
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fw_cfg_cli.sh $<TARGET_FILE:dvm> ${DVM_TEST_GUESTS}/hello.elf)
set_tests_properties(cli_fw_cfg PROPERTIES TIMEOUT 60)
