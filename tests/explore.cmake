# explore: the main job's quick variant end to end, then its report in headless Chromium
# (skipped where Chromium is absent). The study's model cache stays in the build folder.
add_test(NAME study_quick
         COMMAND ${CMAKE_SOURCE_DIR}/tests/explore/study_quick.sh $<TARGET_FILE:frugal_cli>
                 ${CMAKE_BINARY_DIR}/study-quick ${CMAKE_BINARY_DIR}/study-cache)
set_tests_properties(study_quick PROPERTIES LABELS explore TIMEOUT 400 FIXTURES_SETUP study_report)
add_test(NAME report_browser
         COMMAND ${CMAKE_SOURCE_DIR}/tests/explore/report_browser.sh ${CMAKE_BINARY_DIR}/study-quick/report.html
                 ${CMAKE_BINARY_DIR}/report.png)
set_tests_properties(report_browser PROPERTIES LABELS explore TIMEOUT 120 FIXTURES_REQUIRED study_report
                     SKIP_RETURN_CODE 77)
# A swept Record keeps the compress steps and the graph passes in what.transforms.
add_test(NAME sweep_transforms
         COMMAND ${CMAKE_SOURCE_DIR}/tests/explore/sweep_transforms.sh $<TARGET_FILE:frugal_cli>
                 ${CMAKE_BINARY_DIR}/sweep-transforms)
set_tests_properties(sweep_transforms PROPERTIES LABELS explore TIMEOUT 120)
# The compress families (weight sharing, binary, ternary, block-circulant) as sweep transforms.
add_test(NAME sweep_compress_families
         COMMAND ${CMAKE_SOURCE_DIR}/tests/explore/sweep_compress_families.sh $<TARGET_FILE:frugal_cli>
                 ${CMAKE_BINARY_DIR}/sweep-compress-families)
set_tests_properties(sweep_compress_families PROPERTIES LABELS explore TIMEOUT 120)
