#include "frugal/compress/precision_map.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"

namespace frugal::compress {

PrecisionMap load_precision_map(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw UserError("--precision-map " + path + ": cannot read");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw UserError("--precision-map " + path + ": not JSON (" + e.what() + ")");
  }
  if (!j.is_object() || j.empty())
    throw UserError("--precision-map " + path +
                    ": expected an object {\"node\": \"fp32|bf16|int8\"}");
  PrecisionMap m;
  for (const auto& [node, v] : j.items()) {
    const std::string p = v.is_string() ? v.get<std::string>() : v.dump();
    if (p == "fp32")
      m[node] = LayerPrecision::kFp32;
    else if (p == "bf16")
      m[node] = LayerPrecision::kBf16;
    else if (p == "int8")
      m[node] = LayerPrecision::kInt8;
    else
      throw UserError("--precision-map " + path + ": node '" + node + "': '" + p +
                      "' is not fp32, bf16 or int8");
  }
  return m;
}

void save_precision_map(const std::string& path, const PrecisionMap& map) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [node, p] : map) j[node] = precision_name(p);
  std::ofstream f(path);
  f << j.dump(2) << "\n";
  if (!f) throw UserError(path + ": cannot write");
}

}  // namespace frugal::compress
