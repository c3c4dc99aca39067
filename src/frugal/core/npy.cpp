#include "frugal/core/npy.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace frugal {
namespace {

struct NpyType {
  const char* descr;
  DType dtype;
};
constexpr NpyType kTypes[] = {{"<f4", DType::kF32}, {"<f8", DType::kF64}, {"|i1", DType::kI8},
                              {"|u1", DType::kU8},  {"<i2", DType::kI16}, {"<u2", DType::kU16},
                              {"<i4", DType::kI32}, {"<u4", DType::kU32}, {"<i8", DType::kI64},
                              {"<u8", DType::kU64}, {"|b1", DType::kBool}};

// Value of 'key' in the header dict, as raw text up to the next top-level ',' or '}'.
std::string dict_value(const std::string& h, const std::string& key, const std::string& origin) {
  auto k = h.find("'" + key + "'");
  if (k == std::string::npos) throw UserError(origin + ": .npy header has no '" + key + "'");
  auto colon = h.find(':', k);
  if (colon == std::string::npos) throw UserError(origin + ": malformed .npy header");
  size_t i = colon + 1;
  while (i < h.size() && h[i] == ' ') ++i;
  size_t j = i;
  int depth = 0;
  for (; j < h.size(); ++j) {
    if (h[j] == '(') ++depth;
    else if (h[j] == ')') --depth;
    else if ((h[j] == ',' || h[j] == '}') && depth == 0) break;
  }
  return h.substr(i, j - i);
}

}  // namespace

Tensor parse_npy(const void* data, size_t size, const std::string& origin) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (size < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0)
    throw UserError(origin + ": not a .npy file (bad magic)");
  int major = p[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = p[8] | (p[9] << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw UserError(origin + ": truncated .npy header");
    hlen = p[8] | (p[9] << 8) | (p[10] << 16) | (static_cast<size_t>(p[11]) << 24);
    hstart = 12;
  } else {
    throw UserError(origin + ": unsupported .npy version " + std::to_string(major));
  }
  if (hstart + hlen > size) throw UserError(origin + ": truncated .npy header");
  std::string h(reinterpret_cast<const char*>(p + hstart), hlen);
  std::string descr = dict_value(h, "descr", origin);
  std::string fortran = dict_value(h, "fortran_order", origin);
  std::string shape_text = dict_value(h, "shape", origin);
  if (fortran.find("True") != std::string::npos)
    throw UserError(origin + ": Fortran-order arrays are not supported (save with C order)");
  if (descr.size() < 2) throw UserError(origin + ": malformed dtype in .npy header");
  descr = descr.substr(1, descr.size() - 2);  // strip quotes
  if (descr == "=f4" ) descr = "<f4";
  DType dt = DType::kUndefined;
  for (const auto& t : kTypes)
    if (descr == t.descr || (descr.size() == 3 && descr[0] == '=' && descr.substr(1) == std::string(t.descr).substr(1)))
      dt = t.dtype;
  if (dt == DType::kUndefined)
    throw UserError(origin + ": .npy dtype '" + descr +
                    "' is not supported (little-endian numeric or bool only)");
  Shape shape;
  auto open = shape_text.find('('), close = shape_text.find(')');
  if (open == std::string::npos || close == std::string::npos)
    throw UserError(origin + ": malformed shape in .npy header");
  std::stringstream ss(shape_text.substr(open + 1, close - open - 1));
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t b = item.find_first_not_of(' ');
    if (b == std::string::npos) continue;
    char* end = nullptr;
    long long v = std::strtoll(item.c_str() + b, &end, 10);
    if (v < 0 || end == item.c_str() + b) throw UserError(origin + ": bad dimension in .npy shape");
    shape.push_back(v);
  }
  int64_t n = shape_numel(shape);
  size_t avail = size - hstart - hlen;
  if (static_cast<uint64_t>(n) > avail / dtype_size(dt) || static_cast<size_t>(n) * dtype_size(dt) != avail)
    throw UserError(origin + ": .npy data holds " + std::to_string(avail) + " bytes, shape " +
                    shape_str(shape) + " needs " + std::to_string(n * static_cast<int64_t>(dtype_size(dt))));
  Tensor t(dt, shape);
  if (avail) std::memcpy(t.raw(), p + hstart + hlen, avail);
  return t;
}

Tensor read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UserError(path + ": cannot open (" + std::strerror(errno) + ")");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string bytes = ss.str();
  return parse_npy(bytes.data(), bytes.size(), path);
}

std::string serialize_npy(const Tensor& t) {
  const char* descr = nullptr;
  for (const auto& k : kTypes)
    if (k.dtype == t.dtype()) descr = k.descr;
  if (!descr)
    throw UnsupportedError("cannot write dtype " + std::string(dtype_name(t.dtype())) + " to .npy");
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) shape += std::to_string(t.shape()[i]) + ",";
  if (t.shape().size() > 1) shape.pop_back();
  shape += ")";
  std::string h = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': " +
                  shape + ", }";
  size_t total = 10 + h.size() + 1;
  h += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>((h.size() >> 8) & 0xff);
  out += h;
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string bytes = serialize_npy(t);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw UserError(path + ": cannot write (" + std::strerror(errno) + ")");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw UserError(path + ": write failed");
}

}  // namespace frugal
