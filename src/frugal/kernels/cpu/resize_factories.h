// Factories of the cpu backend's kernels for the operators segmentation, detection and
// style-transfer networks (and older exports) add to the classifiers' (resize_kernel.cpp,
// variadic_kernel.cpp, depth_space_kernel.cpp, instance_norm_kernel.cpp). A header of its own so
// that adding operators does not recompile every cpu kernel.
#pragma once

#include <memory>

#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {

std::unique_ptr<kernels::Kernel> make_resize(const Build& b);  // Resize and Upsample
// Two or more inputs, broadcasting as ONNX allows.
std::unique_ptr<kernels::Kernel> make_sum(const Build& b);
std::unique_ptr<kernels::Kernel> make_mean(const Build& b);
std::unique_ptr<kernels::Kernel> make_max(const Build& b);  // inputs of one shape
std::unique_ptr<kernels::Kernel> make_min(const Build& b);
// DepthToSpace and SpaceToDepth (depth_space_kernel.cpp).
std::unique_ptr<kernels::Kernel> make_depth_space(const Build& b);
std::unique_ptr<kernels::Kernel> make_instance_norm(const Build& b);  // instance_norm_kernel.cpp

}  // namespace frugal::kernels::cpu
