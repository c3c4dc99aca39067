# The cuda backend (src/frugal/kernels/cuda): built where the CUDA toolkit with cuDNN is
# found. FRUGAL_CUDA=AUTO (default) builds it where nvcc is found (on PATH, under
# $CUDA_PATH or /usr/local/cuda), ON requires it, OFF leaves the build CPU-only exactly as
# before. Included by the top-level CMakeLists.txt after the `frugal` library is defined.
set(FRUGAL_CUDA AUTO CACHE STRING "CUDA backend: AUTO (where nvcc and cuDNN are found), ON, OFF")
set_property(CACHE FRUGAL_CUDA PROPERTY STRINGS AUTO ON OFF)

set(FRUGAL_CUDA_ENABLED OFF)
if(NOT FRUGAL_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER)
    find_program(FRUGAL_NVCC nvcc HINTS ENV CUDA_PATH PATH_SUFFIXES bin PATHS /usr/local/cuda/bin)
    if(FRUGAL_NVCC)
      set(CMAKE_CUDA_COMPILER ${FRUGAL_NVCC})
    endif()
  endif()
  if(CMAKE_CUDA_COMPILER)
    get_filename_component(FRUGAL_CUDA_ROOT "${CMAKE_CUDA_COMPILER}" DIRECTORY)
    get_filename_component(FRUGAL_CUDA_ROOT "${FRUGAL_CUDA_ROOT}" DIRECTORY)
    find_path(FRUGAL_CUDNN_INCLUDE cudnn.h HINTS ${FRUGAL_CUDA_ROOT}/include)
    find_library(FRUGAL_CUDNN_LIBRARY cudnn HINTS ${FRUGAL_CUDA_ROOT}/lib64 ${FRUGAL_CUDA_ROOT}/lib)
    find_path(FRUGAL_CUBLASLT_INCLUDE cublasLt.h HINTS ${FRUGAL_CUDA_ROOT}/include)
  endif()
  if(CMAKE_CUDA_COMPILER AND FRUGAL_CUDNN_INCLUDE AND FRUGAL_CUDNN_LIBRARY AND FRUGAL_CUBLASLT_INCLUDE)
    set(FRUGAL_CUDA_ENABLED ON)
  elseif(FRUGAL_CUDA STREQUAL "ON")
    message(FATAL_ERROR "FRUGAL_CUDA=ON: nvcc (${CMAKE_CUDA_COMPILER}), cudnn.h/libcudnn "
                        "(${FRUGAL_CUDNN_INCLUDE}, ${FRUGAL_CUDNN_LIBRARY}) or cublasLt.h not found")
  else()
    message(STATUS "frugal: CUDA backend off (FRUGAL_CUDA=AUTO: nvcc or cuDNN not found)")
  endif()
endif()

if(FRUGAL_CUDA_ENABLED)
  # H100/H200 (sm_90) machine code, and compute_90 PTX that the driver compiles for newer GPUs.
  if(NOT CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "90-real;90-virtual")
  endif()
  set(CMAKE_CUDA_HOST_COMPILER ${CMAKE_CXX_COMPILER})
  if(CMAKE_CXX_COMPILER_LAUNCHER AND NOT CMAKE_CUDA_COMPILER_LAUNCHER)
    set(CMAKE_CUDA_COMPILER_LAUNCHER ${CMAKE_CXX_COMPILER_LAUNCHER})
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  message(STATUS "frugal: CUDA backend on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
                 "architectures ${CMAKE_CUDA_ARCHITECTURES})")

  set(FRUGAL_CUDA_DIR ${CMAKE_SOURCE_DIR}/src/frugal/kernels/cuda)
  # Device code: one .cu (nvcc is slow; every own kernel is in it), C++17, its own header
  # free of frugal's C++20 headers. Host warnings are errors as for the rest.
  file(GLOB FRUGAL_CUDA_CU CONFIGURE_DEPENDS ${FRUGAL_CUDA_DIR}/*.cu)
  add_library(frugal_cuda_device OBJECT ${FRUGAL_CUDA_CU})
  target_include_directories(frugal_cuda_device PRIVATE ${CMAKE_SOURCE_DIR}/src)
  set_target_properties(frugal_cuda_device PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON
                                                      POSITION_INDEPENDENT_CODE ON)
  set(FRUGAL_CUDA_HOST_WARNINGS -Wall,-Wextra,-Wno-unused-parameter)
  if(FRUGAL_WERROR)
    string(APPEND FRUGAL_CUDA_HOST_WARNINGS ",-Werror")
    target_compile_options(frugal_cuda_device PRIVATE --Werror=all-warnings)
  endif()
  target_compile_options(frugal_cuda_device PRIVATE -Xcompiler=${FRUGAL_CUDA_HOST_WARNINGS})

  # Host code of the backend: compiled with the library's flags, plus the CUDA headers (as
  # system headers) on these files only, so that no other object's command line changes.
  file(GLOB FRUGAL_CUDA_HOST CONFIGURE_DEPENDS ${FRUGAL_CUDA_DIR}/*.cpp)
  set(FRUGAL_CUDA_INCLUDE_FLAGS)
  foreach(dir ${CUDAToolkit_INCLUDE_DIRS} ${FRUGAL_CUDNN_INCLUDE})
    list(APPEND FRUGAL_CUDA_INCLUDE_FLAGS -isystem ${dir})
  endforeach()
  set_source_files_properties(${FRUGAL_CUDA_HOST} PROPERTIES COMPILE_OPTIONS "${FRUGAL_CUDA_INCLUDE_FLAGS}")
  set_source_files_properties(${FRUGAL_CUDA_DIR}/cublaslt_api.cpp PROPERTIES COMPILE_DEFINITIONS
                              "FRUGAL_CUDA_LIBRARY_DIR=\"${CUDAToolkit_LIBRARY_DIR}\"")
  target_sources(frugal PRIVATE ${FRUGAL_CUDA_HOST} $<TARGET_OBJECTS:frugal_cuda_device>)
  # cuBLASLt is opened with dlopen at first use (cublaslt_api.cpp): linked, its 500 MB would
  # add about 0.25 s to the start of every process, every test included.
  target_link_libraries(frugal PUBLIC ${CUDA_cudart_LIBRARY} ${FRUGAL_CUDNN_LIBRARY})
endif()
