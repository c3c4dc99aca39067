# accel: a sweep whose devices axis holds a modeled accelerator of frugal accel (an accel
# device): its points are simulated and stored as estimated Records (docs/accel.md).
add_test(NAME accel_sweep
         COMMAND ${CMAKE_SOURCE_DIR}/tests/accel/accel_sweep.sh $<TARGET_FILE:frugal_cli>
                 ${CMAKE_BINARY_DIR}/accel-sweep)
set_tests_properties(accel_sweep PROPERTIES LABELS accel TIMEOUT 120)
