# The control socket (src/ctl/): protocol tests over a real socket on a VM
# without /dev/kvm, and `dvm run --api-sock` with `dvm ctl` against a guest.
dvm_unit_test(test_ctl_protocol test_ctl_protocol.c)
target_link_libraries(test_ctl_protocol PRIVATE PkgConfig::JSONC)
dvm_unit_test(test_client test_client.c)
target_link_libraries(test_client PRIVATE dvm-client-static PkgConfig::JSONC)
foreach(case session usage live-socket events)
  add_test(NAME ctl_${case}
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/ctl_test.sh $<TARGET_FILE:dvm> ${CMAKE_BINARY_DIR}/guests ${case})
  set_tests_properties(ctl_${case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 LABELS guest)
endforeach()
