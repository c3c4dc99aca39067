# test_numeric checks the emulated dot products against MPFR (libmpfr-dev): link MPFR and
# GMP into that binary only.
find_library(FRUGAL_MPFR_LIB mpfr)
find_library(FRUGAL_GMP_LIB gmp)
find_path(FRUGAL_MPFR_INCLUDE mpfr.h)
if(TARGET test_numeric)
  if(FRUGAL_MPFR_LIB AND FRUGAL_GMP_LIB AND FRUGAL_MPFR_INCLUDE)
    target_include_directories(test_numeric PRIVATE ${FRUGAL_MPFR_INCLUDE})
    target_link_libraries(test_numeric PRIVATE ${FRUGAL_MPFR_LIB} ${FRUGAL_GMP_LIB})
  else()
    message(FATAL_ERROR "test_numeric needs MPFR and GMP (apt-get install libmpfr-dev)")
  endif()
endif()
