# The unit tests of core, numeric, ir, ops and train/data under AddressSanitizer and
# UndefinedBehaviorSanitizer (clang; scripts/sanitize.sh builds build-asan/ and runs them).
find_program(FRUGAL_SAN_CLANGXX clang++)
option(FRUGAL_SANITIZE_TESTS "Run the sanitizer build of the lower layers' unit tests" ON)
if(FRUGAL_SANITIZE_TESTS AND FRUGAL_SAN_CLANGXX)
  add_test(NAME sanitizers COMMAND ${CMAKE_SOURCE_DIR}/scripts/sanitize.sh
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(sanitizers PROPERTIES LABELS sanitize TIMEOUT 2400 RUN_SERIAL TRUE)
endif()
