// Host-side decisions of the cuda backend, kept free of CUDA headers so that tests/cuda
// checks them in every CUDA build, with or without a GPU.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace frugal::kernels::cuda {

// The inputs whose constant values a cuda kernel of `op_type` reads on the GPU: those are
// uploaded once at plan time. Every other constant is read on the host only while the
// kernel is built (Reshape's shape, BatchNorm's statistics, LayerNorm's Scale and B, the
// float weights an int8 kernel quantizes), so it takes no device memory.
std::vector<size_t> inputs_read_on_device(const std::string& op_type, bool int8, size_t inputs);

}  // namespace frugal::kernels::cuda
