# Live migration (src/snapshot/migrate.c): the stream reader on good and bad
# input without /dev/kvm, the handover against fake peers, and source-to-destination
# runs of the counting guest (with fake peers from migrate_peer.py: python3).
dvm_unit_test(test_migrate test_migrate.c)
add_test(NAME migrate_live
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/migrate_test.sh $<TARGET_FILE:dvm> ${DVM_TEST_GUESTS})
set_tests_properties(migrate_live PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 LABELS guest)
