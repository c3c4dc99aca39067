// NumPy .npy files (format versions 1.0-3.0): C-order, little-endian, numeric dtypes.
#pragma once

#include <string>

#include "frugal/core/tensor.h"

namespace frugal {

// Reads an .npy file; UserError naming the file for anything malformed or unsupported
// (Fortran order, big-endian, object arrays, a header that disagrees with the file size).
Tensor read_npy(const std::string& path);
// Parses .npy bytes; `origin` names the source in errors.
Tensor parse_npy(const void* data, size_t size, const std::string& origin);
void write_npy(const std::string& path, const Tensor& t);
std::string serialize_npy(const Tensor& t);

}  // namespace frugal
