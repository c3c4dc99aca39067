// The precision map's parser, apart from the file I/O so that it builds alone (the parsers
// fuzzer, tools/fuzz).
#include <nlohmann/json.hpp>

#include "frugal/compress/precision_map.h"
#include "frugal/core/error.h"

namespace frugal::compress {

PrecisionMap precision_map_from_json(const std::string& text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw UserError(origin + ": not JSON (" + e.what() + ")");
  }
  if (!j.is_object() || j.empty())
    throw UserError(origin + ": expected an object {\"node\": \"fp32|bf16|int8\"}");
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
      throw UserError(origin + ": node '" + node + "': '" + p + "' is not fp32, bf16 or int8");
  }
  return m;
}

}  // namespace frugal::compress
