# The simavr end-to-end test of the sensor firmware (tests/firmware, docs/power.md):
# builds the harness against libsimavr when present; the test skips with the reason
# otherwise.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(FRUGAL_SIMAVR QUIET simavr)
endif()
find_library(FRUGAL_LIBELF elf)
if(FRUGAL_SIMAVR_FOUND AND FRUGAL_LIBELF AND FRUGAL_AVR_ELF)
  add_executable(frugal-simavr ${CMAKE_SOURCE_DIR}/tests/firmware/simavr_harness.cpp)
  target_include_directories(frugal-simavr SYSTEM PRIVATE ${FRUGAL_SIMAVR_INCLUDE_DIRS})
  target_compile_options(frugal-simavr PRIVATE ${FRUGAL_WARNINGS})
  target_link_libraries(frugal-simavr PRIVATE ${FRUGAL_SIMAVR_LINK_LIBRARIES} ${FRUGAL_LIBELF} util)
  if(TARGET test_firmware)
    add_dependencies(test_firmware frugal-simavr firmware frugal_cli)
    target_compile_definitions(test_firmware PRIVATE
      FRUGAL_SIMAVR_HARNESS="$<TARGET_FILE:frugal-simavr>" FRUGAL_AVR_FIRMWARE="${FRUGAL_AVR_ELF}"
      FRUGAL_STM32_FIRMWARE="${FRUGAL_STM32_ELF}")
  endif()
else()
  message(STATUS "firmware: simavr end-to-end test skipped (needs libsimavr-dev, libelf-dev and "
                 "avr-gcc)")
endif()
