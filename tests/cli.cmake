add_test(NAME cli_errors COMMAND ${CMAKE_SOURCE_DIR}/tests/cli_errors.sh $<TARGET_FILE:frugal_cli>)
set_tests_properties(cli_errors PROPERTIES LABELS cli TIMEOUT 600)
