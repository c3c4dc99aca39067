// The ranges file (`frugal calibrate` writes it, `--ranges FILE` reads it): apart from
// calibration so that the parser builds alone (the parsers fuzzer, tools/fuzz).
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "frugal/core/atomic_file.h"
#include "frugal/core/error.h"
#include "frugal/runtime/calibrate.h"

namespace frugal::runtime {
namespace {

constexpr const char* kSchema = "frugal.ranges/1";

}  // namespace

std::string ranges_to_json(const RangesFile& file) {
  nlohmann::ordered_json j;
  j["schema"] = kSchema;
  j["method"] = file.method;
  j["samples"] = file.samples;
  j["ranges"] = nlohmann::ordered_json::object();
  for (const auto& [name, r] : file.ranges) j["ranges"][name] = {r.min, r.max};
  return j.dump(1) + "\n";
}

RangesFile ranges_from_json(const std::string& text, const std::string& origin) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw UserError(origin + ": not valid JSON");
  if (!j.is_object()) throw UserError(origin + ": expected a JSON object");
  auto field = [&](const char* key) -> const nlohmann::json& {
    auto it = j.find(key);
    if (it == j.end()) throw UserError(origin + ": missing '" + key + "'");
    return *it;
  };
  const nlohmann::json& schema = field("schema");
  if (!schema.is_string() || schema.get<std::string>() != kSchema)
    throw UserError(origin + ": schema is " + schema.dump() + ", expected \"" + kSchema + "\"");
  RangesFile f;
  const nlohmann::json& method = field("method");
  if (!method.is_string()) throw UserError(origin + ": 'method' must be a string");
  f.method = method.get<std::string>();
  const nlohmann::json& samples = field("samples");
  if (!samples.is_number_integer() || samples.get<int64_t>() < 0)
    throw UserError(origin + ": 'samples' must be a non-negative integer");
  f.samples = samples.get<int64_t>();
  const nlohmann::json& ranges = field("ranges");
  if (!ranges.is_object()) throw UserError(origin + ": 'ranges' must be an object");
  for (const auto& [name, r] : ranges.items()) {
    const std::string where = origin + ": range '" + name + "'";
    if (!r.is_array() || r.size() != 2 || !r[0].is_number() || !r[1].is_number())
      throw UserError(where + ": expected [min, max], got " + r.dump());
    const double lo = r[0].get<double>(), hi = r[1].get<double>();
    if (!std::isfinite(static_cast<float>(lo)) || !std::isfinite(static_cast<float>(hi)) || lo > hi)
      throw UserError(where + ": [" + r[0].dump() + ", " + r[1].dump() +
                      "] is not a finite float32 interval with min <= max");
    f.ranges[name] = {static_cast<float>(lo), static_cast<float>(hi)};
  }
  return f;
}

void save_ranges(const std::string& path, const RangesFile& file) {
  write_file_atomically(path, ranges_to_json(file));
}

RangesFile load_ranges(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot open (no such file or not readable)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw UserError(path + ": cannot read");
  return ranges_from_json(text.str(), path);
}

}  // namespace frugal::runtime
