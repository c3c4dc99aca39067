// Tensors from and to files for the CLI: NPY, and seeded random inputs.
#pragma once

#include <string>

#include "frugal/core/tensor.h"
#include "frugal/runtime/session.h"

namespace frugal::cli {

// "random" / "random:SEED" (floats ~ N(0,1), integers in [0,10), bools fair) or an NPY file,
// checked against the port's dtype and shape (UserError naming the file and input).
Tensor make_input(const std::string& spec, const runtime::Session::Port& port);
void write_tensor_file(const std::string& path, const Tensor& t);

}  // namespace frugal::cli
