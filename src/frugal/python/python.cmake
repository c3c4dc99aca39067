# frugal from Python (docs/python.md). Optional: skipped with a message where pybind11, the
# Python 3 headers or numpy are missing, so the C++ build never depends on them.
#  - frugal-python: Debian's Python 3 with the extension `frugal._frugal` built in (a PIE
#    executable: no second compilation of the library). Built wherever pybind11 is found;
#    the pytest suite runs under it.
#  - FRUGAL_PYTHON_MODULE=ON: the shared-object module build/python/frugal/_frugal*.so for
#    /usr/bin/python3 and pip. A shared object links only position-independent code, so
#    this compiles the library -fPIC (a full rebuild), hence OFF by default.
option(FRUGAL_PYTHON "Build frugal's Python bindings (pybind11, Python 3 headers, numpy)" ON)
option(FRUGAL_PYTHON_MODULE "Also build the importable module (compiles the library -fPIC)" OFF)
set(FRUGAL_PYTHON_BUILT OFF)
if(FRUGAL_PYTHON)
  if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python3_EXECUTABLE /usr/bin/python3)  # not a pyenv/conda python3 earlier on PATH
  endif()
  find_package(Python3 COMPONENTS Interpreter Development.Module Development.Embed NumPy QUIET)
  set(PYBIND11_FINDPYTHON ON)
  find_package(pybind11 CONFIG QUIET)
  if(NOT Python3_FOUND OR NOT Python3_NumPy_FOUND OR NOT pybind11_FOUND)
    message(STATUS "Python bindings: skipped (need pybind11-dev, python3-dev, python3-numpy; found: "
                   "Python3 ${Python3_FOUND}, NumPy ${Python3_NumPy_FOUND}, pybind11 ${pybind11_FOUND})")
  else()
    set(FRUGAL_PYTHON_BUILT ON)
    message(STATUS "Python bindings: ${Python3_EXECUTABLE} ${Python3_VERSION}, pybind11 "
                   "${pybind11_VERSION}; module ${FRUGAL_PYTHON_MODULE}")
    file(GLOB FRUGAL_PY_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/frugal/python/*.cpp)
    set(FRUGAL_PY_DIR ${CMAKE_BINARY_DIR}/python/frugal)
    # The package's pure-Python files, copied to build/python/frugal.
    file(GLOB FRUGAL_PY_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/frugal/python/frugal/*)
    set(FRUGAL_PY_COPIES)
    foreach(f ${FRUGAL_PY_FILES})
      get_filename_component(n ${f} NAME)
      add_custom_command(OUTPUT ${FRUGAL_PY_DIR}/${n} DEPENDS ${f}
                         COMMAND ${CMAKE_COMMAND} -E copy ${f} ${FRUGAL_PY_DIR}/${n})
      list(APPEND FRUGAL_PY_COPIES ${FRUGAL_PY_DIR}/${n})
    endforeach()
    add_custom_target(frugal_python_files ALL DEPENDS ${FRUGAL_PY_COPIES})

    add_executable(frugal_python_embed ${CMAKE_SOURCE_DIR}/src/frugal/python/launcher/frugal_python.cpp
                                       ${FRUGAL_PY_SOURCES})
    set_target_properties(frugal_python_embed PROPERTIES OUTPUT_NAME frugal-python)
    target_compile_options(frugal_python_embed PRIVATE ${FRUGAL_WARNINGS})
    target_link_libraries(frugal_python_embed PRIVATE ${FRUGAL_LINK} pybind11::embed
                          Python3::NumPy)
    add_dependencies(frugal_python_embed frugal_python_files)

    if(FRUGAL_PYTHON_MODULE)
      set_target_properties(frugal PROPERTIES POSITION_INDEPENDENT_CODE ON)
      pybind11_add_module(frugal_python MODULE ${FRUGAL_PY_SOURCES})
      set_target_properties(frugal_python PROPERTIES OUTPUT_NAME _frugal LIBRARY_OUTPUT_DIRECTORY
                                                     ${FRUGAL_PY_DIR})
      target_compile_options(frugal_python PRIVATE ${FRUGAL_WARNINGS})
      target_link_libraries(frugal_python PRIVATE ${FRUGAL_LINK} Python3::NumPy)
      add_dependencies(frugal_python frugal_python_files)
    endif()
  endif()
endif()
