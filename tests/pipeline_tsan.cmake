# The pipeline's queues and stage workers (header-only, pipeline/bounded_queue.h and
# stage_pipeline.h) under ThreadSanitizer: their test alone, compiled with
# -fsanitize=thread into a small executable, so that the library itself is not rebuilt
# with TSan. A data race or a lock-order inversion fails the test (TSan exits 66).
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS -fsanitize=thread)
set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=thread)
check_cxx_source_compiles("int main() { return 0; }" FRUGAL_HAVE_TSAN)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(FRUGAL_HAVE_TSAN)
  add_executable(test_pipeline_tsan ${CMAKE_SOURCE_DIR}/tests/pipeline/stage_pipeline_test.cpp)
  target_include_directories(test_pipeline_tsan PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(test_pipeline_tsan PRIVATE ${FRUGAL_WARNINGS} -fsanitize=thread -g -O1)
  target_link_options(test_pipeline_tsan PRIVATE -fsanitize=thread)
  target_link_libraries(test_pipeline_tsan PRIVATE GTest::gtest GTest::gtest_main Threads::Threads)
  add_test(NAME pipeline_tsan COMMAND test_pipeline_tsan)
  set_tests_properties(pipeline_tsan PROPERTIES LABELS pipeline ENVIRONMENT
                       "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1" TIMEOUT 120)
else()
  message(WARNING "the compiler cannot build with -fsanitize=thread: pipeline_tsan not built")
endif()
