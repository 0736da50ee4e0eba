foreach(case help types describe bad-options bad-devices device-config guest-crash closed-stdio signal)
  add_test(NAME cli_${case} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli_test.sh $<TARGET_FILE:dvm> ${case})
  set_tests_properties(cli_${case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
