// Marks the inline functions that compile both into the device kernels (cuda_kernels.cu) and
// into host code and tests (im2col.h, gather_index.h), so that one definition serves both.
#pragma once

#ifdef __CUDACC__
#define FRUGAL_HOST_DEVICE __host__ __device__
#else
#define FRUGAL_HOST_DEVICE
#endif
