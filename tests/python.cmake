# The Python module's pytest suite (tests/python), run under build/frugal-python (Debian's
# Python with the module built in); skipped, visibly, where the bindings were not built.
if(FRUGAL_PYTHON_BUILT)
  add_test(NAME python_pytest
           COMMAND $<TARGET_FILE:frugal_python_embed> -m pytest -q -p no:cacheprovider
                   ${CMAKE_SOURCE_DIR}/tests/python)
  set_tests_properties(python_pytest PROPERTIES LABELS python TIMEOUT 300
                       ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python;FRUGAL_CLI=$<TARGET_FILE:frugal_cli>")
else()
  add_test(NAME python_pytest COMMAND ${CMAKE_COMMAND} -E echo
           "skipped: the Python bindings were not built (pybind11-dev, python3-dev, python3-numpy)")
  set_tests_properties(python_pytest PROPERTIES LABELS python SKIP_REGULAR_EXPRESSION "skipped:")
endif()
