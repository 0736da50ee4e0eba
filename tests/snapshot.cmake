add_test(NAME snapshot_restore
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/snapshot_test.sh $<TARGET_FILE:dvm> ${DVM_TEST_GUESTS})
set_tests_properties(snapshot_restore PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 LABELS guest)
dvm_unit_test(test_snapshot test_snapshot.c)
add_test(NAME ctl_snapshot_session
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/ctl_snapshot_test.sh $<TARGET_FILE:dvm> ${DVM_TEST_GUESTS})
set_tests_properties(ctl_snapshot_session PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 LABELS guest)
