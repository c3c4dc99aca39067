// Factories of the cpu backend's kernels for the operators segmentation, detection and
// style-transfer networks add to the classifiers' (resize_kernel.cpp). A header of its own
// so that adding operators does not recompile every cpu kernel.
#pragma once

#include <memory>

#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {

std::unique_ptr<kernels::Kernel> make_resize(const Build& b);  // Resize and Upsample

}  // namespace frugal::kernels::cpu
