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
# The shared-object module (FRUGAL_PYTHON_MODULE=ON, scripts/setup.sh builds it) imported by
# a plain /usr/bin/python3 from the build tree, the pytest suite under that interpreter, and
# `pip install --no-build-isolation` of it into a scratch directory (offline).
if(FRUGAL_PYTHON_BUILT AND FRUGAL_PYTHON_MODULE)
  add_test(NAME python_module_import
           COMMAND ${Python3_EXECUTABLE} -c
                   "import frugal, numpy as np; y, = frugal.Session(frugal.zoo('lenet5')).run(np.zeros((1,1,28,28), np.float32)); assert y.shape == (1, 10); print(frugal._frugal.__file__)")
  set_tests_properties(python_module_import PROPERTIES LABELS python TIMEOUT 60
                       ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python"
                       PASS_REGULAR_EXPRESSION "_frugal[^/]*\\.so")
  add_test(NAME python_module_pytest
           COMMAND ${Python3_EXECUTABLE} -m pytest -q -p no:cacheprovider ${CMAKE_SOURCE_DIR}/tests/python)
  set_tests_properties(python_module_pytest PROPERTIES LABELS python TIMEOUT 300
                       ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python;FRUGAL_CLI=$<TARGET_FILE:frugal_cli>")
  add_test(NAME python_pip_install
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/python/pip_install.sh ${Python3_EXECUTABLE}
                   ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
  set_tests_properties(python_pip_install PROPERTIES LABELS python TIMEOUT 120)
endif()
