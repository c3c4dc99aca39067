#include "frugal/runtime/calibrate.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace frugal::runtime {
namespace {

constexpr const char* kSchema = "frugal.ranges/1";

// Widens `r` (when `seen`) by the finite elements of `t`; returns whether any was finite.
bool observe(const Tensor& t, kernels::ValueRange& r, bool seen) {
  if (!dtype_is_float(t.dtype())) return false;
  auto take = [&](double v) {
    if (!std::isfinite(v)) return;
    const float f = static_cast<float>(v);
    if (!seen) {
      r = {f, f};
      seen = true;
    } else {
      r.min = std::min(r.min, f);
      r.max = std::max(r.max, f);
    }
  };
  if (t.dtype() == DType::kF32) {
    for (float v : t.span<float>()) take(v);
  } else {
    for (int64_t i = 0; i < t.numel(); ++i) take(t.at_double(i));
  }
  return seen;
}

}  // namespace

RangeMap calibrate_minmax(const ir::Graph& graph,
                          const std::vector<std::vector<Tensor>>& input_batches,
                          SessionOptions base) {
  if (input_batches.empty()) throw UserError("calibration: no input batches given");
  // Every node output becomes a graph output, so that the session hands it back.
  ir::Graph observed = graph;
  std::set<std::string> outputs;
  for (const auto& o : observed.outputs) outputs.insert(o.name);
  for (const auto& n : observed.nodes)
    for (const auto& o : n.outputs)
      if (!o.empty() && outputs.insert(o).second)
        observed.outputs.push_back(ir::ValueInfo{o, DType::kUndefined, std::nullopt});
  std::erase_if(base.backends, [](const std::string& b) { return b == "cpu:int8"; });
  if (base.backends.empty()) base.backends = {"ref"};
  Session session(observed, base);

  RangeMap ranges;
  std::set<std::string> seen;
  auto take = [&](const std::string& name, const Tensor& t) {
    if (observe(t, ranges[name], seen.count(name) != 0)) {
      seen.insert(name);
    } else if (!seen.count(name)) {
      ranges.erase(name);
    }
  };
  for (size_t b = 0; b < input_batches.size(); ++b) {
    const auto& batch = input_batches[b];
    if (batch.size() != session.inputs().size())
      throw UserError("calibration batch " + std::to_string(b) + ": " +
                      std::to_string(batch.size()) + " tensors for " +
                      std::to_string(session.inputs().size()) + " graph inputs");
    const std::vector<Tensor> outs = session.run(batch);
    for (size_t i = 0; i < batch.size(); ++i) take(session.inputs()[i].name, batch[i]);
    for (size_t i = 0; i < outs.size(); ++i) take(session.outputs()[i].name, outs[i]);
  }
  return ranges;
}

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
  std::ofstream out(path, std::ios::binary);
  out << ranges_to_json(file);
  if (!out) throw UserError(path + ": cannot write");
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
