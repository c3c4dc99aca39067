# test_cuda also checks the cuda backend's host-side code (src/frugal/kernels/cuda/host_plan.h),
# which exists only where that backend is built; elsewhere those tests skip and say why.
if(FRUGAL_CUDA_ENABLED AND TARGET test_cuda)
  target_compile_definitions(test_cuda PRIVATE FRUGAL_HAVE_CUDA)
endif()
