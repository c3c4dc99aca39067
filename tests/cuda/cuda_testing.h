// Helpers of the cuda backend tests: skip without a GPU (GTEST_SKIP with the backend's
// reason: cudaGetDeviceCount's error, or no cuda backend in this build), and run a graph on
// a cuda backend checking where each node ran.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/kernels/backend.h"
#include "frugal/runtime/session.h"

namespace frugal::cuda_testing {

// Empty when a GPU is usable, else why not.
inline std::string no_gpu_reason() {
  try {
    kernels::make_backend("cuda");
    return "";
  } catch (const UserError& e) {
    return e.what();
  }
}

#define FRUGAL_SKIP_WITHOUT_GPU()                                    \
  do {                                                               \
    const std::string why = ::frugal::cuda_testing::no_gpu_reason(); \
    if (!why.empty()) GTEST_SKIP() << why;                           \
  } while (0)

// Unit roundoff of each cuda precision: tolerances are multiples of it (docs/cuda.md).
inline double unit_roundoff(const std::string& backend) {
  if (backend == "cuda:fp16" || backend == "cuda:tf32") return 0x1p-11;  // 10 stored bits
  if (backend == "cuda:bf16") return 0x1p-8;                             // 7 stored bits
  return 0x1p-24;
}

}  // namespace frugal::cuda_testing
