// Tensors from and to files for the CLI: NPY, and seeded random inputs.
#pragma once

#include <string>

#include "frugal/core/tensor.h"
#include "frugal/measure/engine.h"

namespace frugal::cli {

using measure::make_input;  // measure/engine.h
void write_tensor_file(const std::string& path, const Tensor& t);

}  // namespace frugal::cli
