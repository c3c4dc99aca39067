// NumPy's .npy format (one array) and .npz (a zip archive of .npy files, stored or
// deflated), after the format description in numpy/lib/format.py and PKWARE's APPNOTE
// for zip. Supported element types: float32/64, int8/16/32/64, uint8/16/32/64 and bool,
// little endian, C order (format versions 1.0 to 3.0). Everything read is checked against the
// file's real size before memory is allocated; any fault is a UserError naming the file and the
// reason.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "frugal/core/tensor.h"

namespace frugal {

// `name` is used in error messages (a path, or "archive.npz:x.npy").
Tensor parse_npy(std::span<const uint8_t> bytes, const std::string& name);
Tensor read_npy(const std::string& path);
std::vector<uint8_t> encode_npy(const Tensor& t);  // format version 1.0
void write_npy(const std::string& path, const Tensor& t);

// Arrays of an .npz by name without the ".npy" suffix (np.savez's keys: "x", "arr_0").
std::map<std::string, Tensor> read_npz(const std::string& path);
// Names of the archive's entries (with any ".npy" suffix removed), without decoding them.
std::vector<std::string> list_npz(const std::string& path);

}  // namespace frugal
