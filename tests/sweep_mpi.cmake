# Sweeps beyond bench points: training points on the real binary (docs/sweep.md).
add_test(NAME sweep_train
         COMMAND ${CMAKE_SOURCE_DIR}/tests/explore/sweep_train.sh $<TARGET_FILE:frugal_cli>
                 ${CMAKE_BINARY_DIR}/sweep-train)
set_tests_properties(sweep_train PROPERTIES LABELS explore TIMEOUT 180)
