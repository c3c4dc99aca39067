// The cpu backend's RMSNormalization (rms_norm_kernel.cpp). A header of its own so that
// adding operators does not recompile every cpu kernel.
#pragma once

#include <memory>

#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {

// RMSNormalization (opset 23, and what fuse_layer_norm makes of T5's and LLaMA's norm):
// rows of the dimensions from `axis` on, plain float32, a constant Scale.
std::unique_ptr<kernels::Kernel> make_rms_norm(const Build& b);

}  // namespace frugal::kernels::cpu
