# Sweeps beyond bench points: training points on the real binary (docs/sweep.md).
add_test(NAME sweep_train
         COMMAND ${CMAKE_SOURCE_DIR}/tests/explore/sweep_train.sh $<TARGET_FILE:frugal_cli>
                 ${CMAKE_BINARY_DIR}/sweep-train)
set_tests_properties(sweep_train PROPERTIES LABELS explore TIMEOUT 180)
# MPI (skipped, exit 77, without mpirun or an MPI build): the store of `mpirun -np 3` has
# the serial run's keys; a worker rank killed mid-sweep is recorded and the sweep finishes.
add_test(NAME sweep_mpi
         COMMAND ${CMAKE_SOURCE_DIR}/tests/explore/sweep_mpi.sh $<TARGET_FILE:frugal_cli>
                 ${CMAKE_BINARY_DIR}/sweep-mpi)
add_test(NAME sweep_mpi_kill
         COMMAND ${CMAKE_SOURCE_DIR}/tests/explore/sweep_mpi_kill.sh $<TARGET_FILE:frugal_cli>
                 ${CMAKE_BINARY_DIR}/sweep-mpi-kill)
set_tests_properties(sweep_mpi sweep_mpi_kill PROPERTIES LABELS explore TIMEOUT 240
                     SKIP_RETURN_CODE 77)
