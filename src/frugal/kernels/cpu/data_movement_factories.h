// Factories of the cpu backend's data-movement kernels (slice_gather_kernels.cpp,
// pad_kernel.cpp): own
// copies of any dtype, parallel over rows. A header of its own so that adding operators
// does not recompile every cpu kernel.
#pragma once

#include <memory>

#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {

std::unique_ptr<kernels::Kernel> make_slice(const Build& b);
std::unique_ptr<kernels::Kernel> make_gather(const Build& b);
std::unique_ptr<kernels::Kernel> make_pad(const Build& b);

}  // namespace frugal::kernels::cpu
