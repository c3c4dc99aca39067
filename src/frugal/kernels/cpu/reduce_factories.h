// Factories of the cpu backend's reductions (reduce_kernel.cpp). A header of its own so that
// adding operators does not recompile every cpu kernel.
#pragma once

#include <memory>

#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {

std::unique_ptr<kernels::Kernel> make_reduce_mean(const Build& b);

}  // namespace frugal::kernels::cpu
