# guests/dirty.c alone (the migration test's busy guest): its per-page check
# passes when nothing moves it.
dvm_guest_test(guest_dirty
  --status 89 --stdout "dirty: start" --stdout "pass 256"
  -- ${DVM_RUN} --append passes=256 ${DVM_TEST_GUESTS}/dirty.elf)
