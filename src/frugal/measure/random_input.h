// Seeded random tensors to feed a model when no data is given (frugal run --input random,
// profiling a pipeline segment): floats ~ N(0,1), integers in [0, 10), bools fair.
#pragma once

#include <cstdint>

#include "frugal/core/tensor.h"

namespace frugal::measure {

Tensor random_tensor(DType dtype, const Shape& shape, uint64_t seed);

}  // namespace frugal::measure
