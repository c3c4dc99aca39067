# The ONNX loader fuzzer, run for a bounded time (built with clang in build-fuzz/).
find_program(FRUGAL_CLANGXX clang++)
if(FRUGAL_FUZZ AND FRUGAL_CLANGXX)
  add_test(NAME fuzz_onnx_loader COMMAND ${CMAKE_SOURCE_DIR}/scripts/fuzz.sh 30
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(fuzz_onnx_loader PROPERTIES LABELS fuzz TIMEOUT 900 RUN_SERIAL TRUE)
  # The .fgz container reader, 10 s (it reuses the build above).
  add_test(NAME fuzz_fgz_reader COMMAND ${CMAKE_SOURCE_DIR}/scripts/fuzz.sh 10 fgz
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(fuzz_fgz_reader PROPERTIES LABELS fuzz TIMEOUT 900 RUN_SERIAL TRUE)
  # Every other parser a user feeds (data sets, YAML specs and devices, the sensor stream),
  # 15 s (tools/fuzz/parsers_fuzz.cpp).
  add_test(NAME fuzz_parsers COMMAND ${CMAKE_SOURCE_DIR}/scripts/fuzz.sh 15 parsers
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(fuzz_parsers PROPERTIES LABELS fuzz TIMEOUT 900 RUN_SERIAL TRUE)
endif()
