# Loaders (src/boot): ELF64, multiboot, bzImage, flat, on a plain memory view.
dvm_unit_test(test_loaders test_loaders.c)
# The bundled guests must load too; they come from guests/.
add_dependencies(test_loaders guests)
target_compile_definitions(test_loaders PRIVATE DVM_TEST_GUEST_DIR="${CMAKE_BINARY_DIR}/guests")
